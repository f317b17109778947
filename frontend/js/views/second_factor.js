// The login's second step: an authenticator app code, or the alternatives the answer's
// `methods` offers: "Enter a Recovery Code" always, "Get a code via SMS" with a verified phone.
import * as api from '../api.js';
import { codeField, digits, h, onSubmit, recoveryField } from '../dom.js';

const SMS_WEAKER = 'SMS is the weaker method: use it only when you cannot use your authenticator app or a recovery code.';

export function renderSecondFactor(root, ctx, { login_token: token, methods = [], phone_hint: hint }) {
  ctx.setTitle('Two-factor authentication');
  const timer = h('p', { class: 'hint', role: 'timer' });
  let waitUntil = 0;

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

  function show(method, sentTo) {
    const field = method === 'recovery_code'
      ? recoveryField('Recovery code', 'Enter one of the recovery codes you saved. Each code works once.')
      : method === 'sms_code'
        ? codeField('Code from the text message', `We sent a 6-digit code to ${sentTo || hint}.`)
        : codeField('Authentication code', 'Enter the 6-digit code your authenticator app shows.');
    const form = h('form', { class: 'stack' }, field.wrap, timer,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Verify'),
        h('button', { type: 'button', onclick: () => ctx.navigate('/login', { replace: true }) }, 'Start over')));

    onSubmit(form, ctx, async () => {
      if (waiting()) return;
      const value = method === 'recovery_code' ? field.input.value.trim() : digits(field.input);
      let result;
      try {
        result = await api.verifyLogin(token, { [method]: value });
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
    if (method !== 'code' && methods.includes('totp')) {
      others.append(h('button', { type: 'button', onclick: () => show('code') }, 'Use your authenticator app'));
    }
    if (method !== 'recovery_code') {
      others.append(h('button', { type: 'button', onclick: () => show('recovery_code') }, 'Enter a Recovery Code'));
    }
    const sms = methods.includes('sms');
    if (sms) others.append(h('button', { type: 'button', onclick: sendSms },
      method === 'sms_code' ? 'Send a new code' : 'Get a code via SMS'));

    root.replaceChildren(form, h('div', { class: 'section' },
      h('h2', {}, method === 'code' ? 'Can’t use your authenticator app?' : 'Other ways to log in'),
      others, sms ? h('p', { class: 'hint' }, SMS_WEAKER) : null));
    field.input.focus();
  }

  async function sendSms() {
    if (waiting()) return;
    ctx.say('');
    try {
      const { phone_hint: sentTo } = await api.sendLoginSms(token);
      show('sms_code', sentTo);
      ctx.say(`Code sent to ${sentTo}.`);
    } catch (err) {
      try {
        failed(err);
      } catch {
        ctx.fail(err);
      }
    }
  }

  show(methods.includes('totp') ? 'code' : 'recovery_code');
  if (!methods.includes('totp')) {
    ctx.say('Your authenticator app and SMS codes are locked after too many wrong codes. Log in with a recovery code.', 'error');
  }
}
