// The login's second step. For now: an authenticator app code only; recovery codes and
// SMS join this module later (the answer's `methods` says which the account has).
import * as api from '../api.js';
import { field, h, onSubmit } from '../dom.js';

export function renderSecondFactor(root, ctx, { login_token: loginToken }) {
  ctx.setTitle('Two-factor authentication');
  const code = field('Two-factor code', {
    name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', required: true,
  }, 'Enter the 6-digit code from your authenticator app.');
  const form = h('form', { class: 'stack' },
    code.wrap,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Verify'),
      h('button', { type: 'button', onclick: () => ctx.navigate('/login', { replace: true }) },
        'Start over')));

  onSubmit(form, ctx, async () => {
    const result = await api.verifyLogin(loginToken, code.input.value.replace(/\s+/g, ''));
    const skew = result && result.clock_skew_seconds;
    ctx.navigate('/settings', skew ? {
      message: `Your device's clock looks ${skew > 0 ? 'fast' : 'slow'} by about ${Math.abs(skew)} seconds. `
        + 'Setting it to update automatically keeps your codes working.',
    } : {});
  });

  root.append(form);
  code.input.focus();
}
