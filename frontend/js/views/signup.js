// "/signup": create an account; the server answers with a session cookie.
import * as api from '../api.js';
import { emailField, h, link, onSubmit, passwordField } from '../dom.js';

export const title = 'Create your account';

export function render(root, ctx) {
  const email = emailField();
  const password = passwordField('new-password',
    'At least 8 characters. A long passphrase is best; common passwords are refused.');
  const form = h('form', { class: 'stack' },
    email.wrap,
    password.wrap,
    h('button', { type: 'submit', class: 'primary' }, 'Create account'));

  onSubmit(form, ctx, async () => {
    password.input.removeAttribute('aria-invalid');
    try {
      await api.signup(email.input.value.trim(), password.input.value);
    } catch (err) {
      if (err.code === 'weak_password') password.input.setAttribute('aria-invalid', 'true');
      throw err;
    }
    ctx.navigate('/settings');
  });

  root.append(form, h('p', { class: 'aside' }, 'Already have an account? ', link('/login', 'Log in')));
}
