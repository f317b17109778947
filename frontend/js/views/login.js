// "/login": the password step; hands over to the second-factor step when the account has one.
import * as api from '../api.js';
import { emailField, h, link, onSubmit, passwordField } from '../dom.js';
import { renderSecondFactor } from './second_factor.js';

export const title = 'Log in';

export function render(root, ctx) {
  const email = emailField();
  const password = passwordField('current-password');
  const form = h('form', { class: 'stack' },
    email.wrap,
    password.wrap,
    h('button', { type: 'submit', class: 'primary' }, 'Log in'));

  onSubmit(form, ctx, async () => {
    const result = await api.login(email.input.value.trim(), password.input.value);
    if (result.status === 'two_factor_required') {
      root.replaceChildren();
      renderSecondFactor(root, ctx, result);
    } else {
      ctx.navigate('/settings');
    }
  });

  root.append(form, h('p', { class: 'aside' }, 'New to twostep? ', link('/signup', 'Create an account')));
}
