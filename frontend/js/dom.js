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

/** A 6-digit code field (authenticator app or text message). */
export function codeField(label, hint) {
  return field(label, { name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code',
    pattern: '[0-9 ]{6,7}', maxlength: '7', required: true, class: 'mono' }, hint);
}

export function recoveryField(label, hint) {
  return field(label, { name: 'recovery_code', autocomplete: 'one-time-code', spellcheck: 'false',
    autocapitalize: 'off', autocorrect: 'off', required: true, class: 'mono' }, hint);
}

export const digits = (input) => input.value.replace(/\s+/g, '');

/** A settings section: a border, a heading, the content. */
export function section(heading, ...children) {
  return h('section', { class: 'section' }, h('h2', {}, heading), ...children);
}

/** A focusable step heading, focused when a wizard moves on. */
export function stepHeading(text) {
  return h('h2', { tabindex: '-1' }, text);
}

export function copyButton(ctx, text, what) {
  return h('button', { type: 'button', onclick: async () => {
    try {
      await navigator.clipboard.writeText(text());
      ctx.say(`${what} copied.`);
    } catch {
      ctx.say(`Copying failed here: select the ${what.toLowerCase()} and press Ctrl+C (⌘C).`, 'error');
    }
  } }, 'Copy');
}

/** Save `text` as a file: a Blob and a temporary <a download> (a navigation, not a fetch). */
export function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  h('a', { href: url, download: name }).click();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

let openPrompt = null;

/**
 * Ask for the password again before a sensitive action. The prompt opens in `slot` (one at a
 * time on a page), after any other `fields`; `action(password)` runs on submit, and the prompt
 * closes when it succeeds.
 */
export function withPassword(ctx, slot, text, action, ...fields) {
  const opener = document.activeElement;
  if (openPrompt) openPrompt.close();
  const password = passwordField('current-password', text);
  const form = h('form', { class: 'stack prompt' }, ...fields, password.wrap,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Continue'),
      h('button', { type: 'button', onclick: () => close(true) }, 'Cancel')));
  const prompt = { close };
  function close(refocus) {
    form.remove();
    if (openPrompt === prompt) openPrompt = null;
    if (refocus && opener && opener.isConnected) opener.focus();
  }
  onSubmit(form, ctx, async () => {
    await action(password.input.value);
    close(false);
  });
  openPrompt = prompt;
  slot.append(form);
  form.querySelector('input').focus();
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : 'never';
}

export function settingsNav(current) {
  return h('nav', { class: 'tabs', 'aria-label': 'Settings' }, ...[
    ['/settings', 'Account and two-factor'], ['/settings/security', 'Sessions and activity'],
  ].map(([href, text]) => h('a', { href, 'aria-current': href === current ? 'page' : null }, text)));
}
