// Small DOM helpers: every node is built with createElement and text nodes, never innerHTML.

let nextId = 0;

/** h('p', {class: 'hint'}, 'text', child): attributes, `on*` listeners, then children. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'value') el.value = value;
    else el.setAttribute(name, value === true ? '' : value);
  }
  el.append(...children.filter((child) => child !== null && child !== undefined));
  return el;
}

/** A labelled input, with an optional hint tied to it by aria-describedby. */
export function field(label, attrs, hint) {
  const id = `f${++nextId}`;
  const hintId = hint ? `${id}-hint` : null;
  const input = h('input', { id, 'aria-describedby': hintId, ...attrs });
  const wrap = h('div', { class: 'field' },
    h('label', { for: id }, label),
    hint ? h('p', { id: hintId, class: 'hint' }, hint) : null,
    input);
  return { wrap, input };
}

export function emailField() {
  return field('Email', { type: 'email', name: 'email', autocomplete: 'email', required: true });
}

export function passwordField(autocomplete, hint) {
  return field('Password', { type: 'password', name: 'password', autocomplete, required: true }, hint);
}

export function link(href, text) {
  return h('a', { href }, text);
}

/**
 * Run `action(submitter)` on submit, one at a time. Buttons are marked aria-disabled rather
 * than disabled so that keyboard focus stays where it was; errors go to ctx.fail.
 */
export function onSubmit(form, ctx, action) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (form.getAttribute('aria-busy') === 'true') return;
    setBusy(form, true);
    ctx.say('');
    try {
      await action(event.submitter);
    } catch (err) {
      ctx.fail(err);
    } finally {
      setBusy(form, false);
    }
  });
}

function setBusy(form, busy) {
  form.setAttribute('aria-busy', String(busy));
  for (const button of form.querySelectorAll('button')) {
    if (busy) button.setAttribute('aria-disabled', 'true');
    else button.removeAttribute('aria-disabled');
  }
}
