// The login's second step. The API says which kinds of factor exist (GET /api/methods) and
// which this account can use (the login's `methods`); a security key is asked for first when
// the account has one (and this page can use it), else the first kind the account enrolled
// (its authenticator app, say); the others are a click away. A kind with a challenge (a code
// sent by SMS) asks for it before its field appears; a kind the browser proves (a security
// key) asks for its challenge each time its button is pressed.
import * as api from '../api.js';
import { viewOf } from '../factors.js';
import { h, onSubmit } from '../dom.js';

export async function renderSecondFactor(root, ctx, { login_token: token, methods = [] }) {
  ctx.setTitle('Two-factor authentication');
  const timer = h('p', { class: 'hint', role: 'timer' });
  let waitUntil = 0;
  let described;
  try {
    described = await api.methods();
  } catch (err) {
    ctx.fail(err);
    return;
  }
  if (!ctx.live()) return;
  const views = new Map();
  for (const method of methods) {
    const found = described.find((d) => d.method === method);
    const view = found && viewOf(found);
    if (view) views.set(method, view);
  }

  function tick() {
    if (!ctx.live()) return;
    const left = Math.ceil((waitUntil - Date.now()) / 1000);
    timer.textContent = left > 0 ? `You can try again in ${left} second${left === 1 ? '' : 's'}.` : '';
    if (left > 0) setTimeout(tick, 1000);
    else if (waitUntil) {
      waitUntil = 0;
      ctx.say('You can try again now.');
    }
  }

  function waiting() {
    if (Date.now() >= waitUntil) return false;
    ctx.say(timer.textContent, 'error');
    return true;
  }

  function failed(err, input) {
    if (err.status === 429 && err.retryAfter) {
      waitUntil = Date.now() + err.retryAfter * 1000;
      tick();
    } else if (err.code === 'two_factor_locked') {
      show('recovery_code');
    } else if (err.status === 401 && err.code !== 'invalid_code') {
      ctx.navigate('/login', { replace: true, message: err.message, kind: 'error' });
      return; // the login token has died: start again
    } else if (input) {
      input.value = '';
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    }
    throw err;
  }

  function show(method, challenged) {
    const view = views.get(method);
    if (view.prove) return showProve(method);
    const field = view.field(challenged);
    const form = h('form', { class: 'stack' }, field.wrap, timer,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Verify'),
        h('button', { type: 'button', onclick: () => ctx.navigate('/login', { replace: true }) }, 'Start over')));

    onSubmit(form, ctx, async () => {
      if (waiting()) return;
      await verify(view, view.read(field.input), field.input);
    });
    root.replaceChildren(form, othersSection(method));
    field.input.focus();
    return form;
  }

  async function verify(view, value, input) {
    let result;
    try {
      result = await api.verifyLogin(token, { [view.described.field]: value });
    } catch (err) {
      failed(err, input);
    }
    const skew = result && result.clock_skew_seconds;
    ctx.navigate('/settings', skew ? {
      message: `Logged in. Your phone's clock seems ${Math.abs(skew)} seconds ${skew > 0 ? 'ahead' : 'behind'}: `
        + 'set it to update automatically so that your codes keep working.',
    } : {});
  }

  /** A kind whose proof the browser makes: its button asks for a challenge, then the browser. */
  function showProve(method) {
    const view = views.get(method);
    const note = view.unusable(view.described);
    const submit = h('button', { type: 'submit', class: 'primary' }, view.use);
    const form = h('form', { class: 'stack' },
      note || h('p', {}, view.intro), timer,
      h('div', { class: 'actions' },
        note ? null : submit,
        h('button', { type: 'button', onclick: () => ctx.navigate('/login', { replace: true }) }, 'Start over')));

    onSubmit(form, ctx, async () => {
      if (waiting()) return;
      let value;
      try {
        value = await view.prove(await api.loginChallenge(token, method));
      } catch (err) {
        if (!(err instanceof DOMException)) failed(err);
        ctx.say(view.problem(err), 'error');
        return;
      } finally {
        if (submit.isConnected) submit.focus();
      }
      await verify(view, value, null);
    });
    root.replaceChildren(form, othersSection(method));
    (note ? form.querySelector('a, button') : submit).focus();
    return note ? null : form;
  }

  /** The other ways to log in: a button for each (a note instead where one cannot work here). */
  function othersSection(method) {
    const view = views.get(method);
    const others = h('div', { class: 'actions' });
    const notes = [];
    for (const [other, otherView] of views) {
      if (other === method && (!otherView.described.challenge || otherView.prove)) continue;
      const note = otherView.unusable && otherView.unusable(otherView.described);
      if (note) {
        notes.push(note);
        continue;
      }
      const label = other === method ? otherView.again : otherView.use;
      others.append(h('button', { type: 'button', onclick: () => use(other) }, label));
      if (otherView.note) notes.push(h('p', { class: 'hint' }, otherView.note));
    }
    return h('div', { class: 'section' }, h('h2', {}, view.instead || 'Other ways to log in'), others, ...notes);
  }

  async function use(method) {
    const view = views.get(method);
    if (view.prove) {
      const form = show(method);
      if (form) form.requestSubmit(); // the person pressed "Use your security key": go on at once
      return;
    }
    if (!view.described.challenge) {
      show(method);
      return;
    }
    if (waiting()) return;
    ctx.say('');
    try {
      const challenged = await api.loginChallenge(token, method);
      show(method, challenged);
      if (challenged.phone_hint) ctx.say(`Code sent to ${challenged.phone_hint}.`);
    } catch (err) {
      try {
        failed(err);
      } catch {
        ctx.fail(err);
      }
    }
  }

  const usable = (m) => views.has(m) && !(views.get(m).unusable && views.get(m).unusable(views.get(m).described));
  const first = methods.find((m) => usable(m) && views.get(m).first)
    || methods.find((m) => usable(m) && views.get(m).described.enrols && !views.get(m).described.challenge)
    || methods.find((m) => views.has(m) && views.get(m).first);
  show(first || 'recovery_code');
  if (!methods.some((m) => views.has(m) && views.get(m).described.enrols)) {
    ctx.say('Your authenticator app and SMS codes are locked after too many wrong codes. Log in with a recovery code.', 'error');
  }
}
