// SMS recovery: add a phone, verify it with the texted code, remove it.
import * as api from '../api.js';
import { codeField, digits, field, h, onSubmit, section, withPassword } from '../dom.js';

export const WARNING = 'SMS is the weaker method: text messages can be redirected or intercepted, so keep it '
  + 'as a last resort. VoIP numbers (such as Google Voice) are refused, because they can be taken over online.';

/**
 * Add and verify a number. `password` is known in the enable wizard; elsewhere it is asked
 * for. `pending` is the hint of a number that still waits for its code.
 */
export function phoneForm(ctx, password, onVerified, pending) {
  const number = field('Mobile phone number', { type: 'tel', name: 'phone', autocomplete: 'tel', required: true },
    'With its country code, for example +44 7400 123456.');
  const slot = h('div');
  const verify = h('div', { class: 'reveal' });
  const form = h('form', { class: 'stack' }, number.wrap,
    h('button', { type: 'submit', class: pending ? null : 'primary' }, 'Text me a code'));

  async function send(pw) {
    number.input.removeAttribute('aria-invalid');
    try {
      const { phone_hint: hint } = await api.addPhone(number.input.value.trim(), pw);
      showVerify(hint);
    } catch (err) {
      if (err.code === 'phone_not_allowed') number.input.setAttribute('aria-invalid', 'true');
      throw err;
    }
  }

  function showVerify(hint, quiet) {
    const code = codeField('Code from the text message', `We sent a 6-digit code to ${hint}.`);
    const check = h('form', { class: 'stack' }, code.wrap,
      h('button', { type: 'submit', class: 'primary' }, 'Verify phone'));
    onSubmit(check, ctx, async () => onVerified(await api.verifyPhone(digits(code.input))));
    verify.replaceChildren(check);
    if (!quiet) code.input.focus();
  }

  onSubmit(form, ctx, async () => {
    if (password) await send(password);
    else withPassword(ctx, slot, 'Enter your password to add this phone.', send);
  });
  if (pending) showVerify(pending, true);
  return h('div', { class: 'stack' }, h('p', { class: 'warn' }, WARNING), form, slot, verify);
}

export function phoneSection(ctx, phone) {
  const done = (message) => ctx.navigate('/settings', { replace: true, message });
  if (phone && phone.verified) {
    const slot = h('div');
    return section('SMS recovery',
      h('p', {}, `If you cannot use your authenticator app or a recovery code, a login code can be texted to ${phone.hint}.`),
      h('p', {}, h('button', { type: 'button', onclick: () => withPassword(ctx, slot,
        'Enter your password to remove this phone.', async (password) => {
          await api.removePhone(password);
          done('Your phone was removed.');
        }) }, 'Remove phone')),
      slot);
  }
  return section('SMS recovery',
    h('p', {}, 'Add a mobile number to get a login code by text message if you lose your authenticator app.'),
    phoneForm(ctx, null, () => done('Your phone is verified for SMS recovery.'), phone && phone.hint));
}
