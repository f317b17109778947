// Scanning step shared by the enable wizard and "add another authenticator": the QR code,
// the key as text, and the 6-digit code that confirms the app (POST .../confirm).
import * as api from '../api.js';
import { codeField, copyButton, digits, h, onSubmit } from '../dom.js';

export function scanStep(ctx, setup, submitText, onConfirmed) {
  const code = codeField('6-digit code from the app');
  const form = h('form', { class: 'stack' }, code.wrap,
    h('button', { type: 'submit', class: 'primary' }, submitText));
  onSubmit(form, ctx, async () => {
    let answer;
    try {
      answer = await api.confirmTwoFactor(setup.authenticator_id, digits(code.input));
    } catch (err) {
      if (err.code === 'invalid_code') {
        code.input.value = '';
        code.input.setAttribute('aria-invalid', 'true');
        code.input.focus();
      }
      throw err;
    }
    await onConfirmed(answer);
  });
  return h('div', { class: 'stack' },
    h('ol', { class: 'steps' },
      h('li', {}, 'Open an authenticator app on your phone (such as Google Authenticator, Authy or 1Password) and add an account.'),
      h('li', {}, 'Scan this QR code with it, or type in the key below.'),
      h('li', {}, 'Enter the 6-digit code the app then shows.')),
    h('img', { class: 'qr', src: `data:image/svg+xml,${encodeURIComponent(setup.qr_svg)}`,
      alt: 'QR code to scan with your authenticator app' }),
    h('p', { class: 'key' }, 'Key: ', h('code', { class: 'mono' }, setup.secret.match(/.{1,4}/g).join(' ')), ' ',
      copyButton(ctx, () => setup.secret, 'Key')),
    form);
}
