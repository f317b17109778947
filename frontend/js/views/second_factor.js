// The login's second step. The API says which kinds of factor exist (GET /api/methods) and
// which this account can use (the login's `methods`); the first kind the account enrolled
// (its authenticator app, say) is asked for first, the others are a click away, and a kind
// with a challenge (a code sent by SMS) asks for it before its field appears.
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
    const field = view.field(challenged);
    const form = h('form', { class: 'stack' }, field.wrap, timer,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Verify'),
        h('button', { type: 'button', onclick: () => ctx.navigate('/login', { replace: true }) }, 'Start over')));

    onSubmit(form, ctx, async () => {
      if (waiting()) return;
      let result;
      try {
        result = await api.verifyLogin(token, { [view.described.field]: view.read(field.input) });
      } catch (err) {
        failed(err, field.input);
      }
      const skew = result && result.clock_skew_seconds;
      ctx.navigate('/settings', skew ? {
        message: `Logged in. Your phone's clock seems ${Math.abs(skew)} seconds ${skew > 0 ? 'ahead' : 'behind'}: `
          + 'set it to update automatically so that your codes keep working.',
      } : {});
    });

    const others = h('div', { class: 'actions' });
    const notes = [];
    for (const [other, otherView] of views) {
      if (other === method && !otherView.described.challenge) continue;
      const label = other === method ? otherView.again : otherView.use;
      others.append(h('button', { type: 'button', onclick: () => use(other) }, label));
      if (otherView.note) notes.push(h('p', { class: 'hint' }, otherView.note));
    }
    root.replaceChildren(form, h('div', { class: 'section' },
      h('h2', {}, view.instead || 'Other ways to log in'), others, ...notes));
    field.input.focus();
  }

  async function use(method) {
    if (!views.get(method).described.challenge) {
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

  const first = methods.find((m) => views.has(m) && views.get(m).described.enrols && !views.get(m).described.challenge);
  show(first || 'recovery_code');
  if (!methods.some((m) => views.has(m) && views.get(m).described.enrols)) {
    ctx.say('Your authenticator app and SMS codes are locked after too many wrong codes. Log in with a recovery code.', 'error');
  }
}
