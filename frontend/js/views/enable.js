// "/settings/two-factor": the enable wizard. Password, scan and confirm, save the recovery
// codes (and prove it by typing one back), then the optional phone for SMS recovery. The last
// two steps are shared with a first security key or passkey (keys.js).
import * as api from '../api.js';
import { h, onSubmit, passwordField, recoveryField, stepHeading } from '../dom.js';
import { load } from './account.js';
import { scanStep } from './enroll.js';
import { phoneForm } from './phone.js';
import { codesBlock, normalise } from './recovery_codes.js';

export const title = 'Enable two-factor authentication';
export const requiresSession = true;

export async function render(root, ctx) {
  const data = await load(root, ctx);
  if (!data) return;
  if (data.two_factor && data.two_factor.enabled) {
    ctx.navigate('/settings', { replace: true, message: 'Two-factor authentication is already on.' });
    return;
  }
  const step = stepper(root, 4);
  const pw = passwordField('current-password');
  const start = h('form', { class: 'stack' },
    h('p', {}, 'After your password, twostep will ask for a 6-digit code from an authenticator app on your phone.'),
    h('p', { class: 'warn' }, 'Turning it on logs you out everywhere except here, and gives you a new API key: '
      + 'scripts and the command line need the new one.'),
    pw.wrap,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Continue'),
      h('a', { href: '/settings', class: 'button' }, 'Cancel')));
  onSubmit(start, ctx, async () => {
    const setup = await api.setupTwoFactor(pw.input.value);
    const password = pw.input.value;
    step(2, 'Scan the QR code', scanStep(ctx, setup, 'Turn on two-factor',
      (answer) => saveCodes(ctx, step, { codes: answer.recovery_codes, password,
        lost: 'your phone', factor: 'your phone’s app' })));
  });
  step(1, 'Confirm your password', start);
  pw.input.focus();
}

/** A wizard's step `n` of `total`: its own content in `root`, its heading focused. */
export function stepper(root, total) {
  return (n, heading, ...content) => {
    const h2 = stepHeading(heading);
    root.replaceChildren(h('p', { class: 'muted' }, `Step ${n} of ${total}`), h2, ...content);
    h2.focus();
  };
}

/**
 * After a first factor (an authenticator app, a security key) turned two-factor on: save the
 * recovery codes and prove it by typing one back, then the optional phone. These are the
 * last two steps of `step` (a stepper, ending at `last`); `lost` is what the codes stand in
 * for, `factor` what the phone's texts do.
 */
export function saveCodes(ctx, step, { codes, password, lost, factor = lost, last = 4 }) {
  ctx.say('Two-factor authentication is on.');
  const again = recoveryField('Type one of your recovery codes', 'To check that you saved them.');
  const check = h('form', { class: 'stack' }, again.wrap,
    h('button', { type: 'submit', class: 'primary' }, 'Continue'));
  onSubmit(check, ctx, async () => {
    if (codes.some((c) => normalise(c) === normalise(again.input.value))) return addPhone();
    again.input.setAttribute('aria-invalid', 'true');
    again.input.focus();
    ctx.say('That is not one of your new codes. Check what you saved and type one in.', 'error');
  });
  step(last - 1, 'Save your recovery codes',
    h('p', { class: 'ok' }, 'Two-factor authentication is on. Your other sessions have ended, and your API key '
      + 'was regenerated: give the new one to any scripts that used the old one.'),
    h('p', {}, `If you lose ${lost}, these codes are how you get back in. Each works once. `
      + `Download or print them and keep them somewhere safe, away from ${lost}.`),
    codesBlock(ctx, codes.map((code) => ({ code, used_at: null }))),
    check);

  function addPhone() {
    const finish = (message) => {
      password = '';
      ctx.navigate('/settings', { replace: true, message });
    };
    step(last, 'Add a phone for SMS recovery',
      h('p', {}, `Optional: a text message can get you in if you lose both ${factor} and your recovery codes.`),
      phoneForm(ctx, password, () => finish('Two-factor authentication is on, with SMS recovery.')),
      h('p', { class: 'section' }, h('button', { type: 'button',
        onclick: () => finish('Two-factor authentication is on.') }, 'Skip for now')));
  }
}
