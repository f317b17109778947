// "/settings": the account page. Two-factor set-up, sessions and the security log join later.
import * as api from '../api.js';
import { field, h, onSubmit } from '../dom.js';

export const title = 'Your account';
export const requiresSession = true; // a 401 here sends the person to /login

export async function render(root, ctx) {
  const loading = h('p', { class: 'muted' }, 'Loading…');
  root.append(loading);
  let data;
  try {
    data = await api.account();
  } catch (err) {
    loading.remove();
    ctx.fail(err);
    return;
  }
  if (!ctx.live()) return;
  root.replaceChildren(summary(data), apiKeySection(ctx, data.user.email), logoutSection(ctx));
}

function summary({ user, two_factor: twoFactor }) {
  return h('dl', { class: 'facts' },
    h('dt', {}, 'Email'),
    h('dd', {}, user.email),
    h('dt', {}, 'Two-factor authentication'),
    h('dd', {}, twoFactorStatus(twoFactor)));
}

function twoFactorStatus(twoFactor) {
  if (!twoFactor || !twoFactor.enabled) return h('span', { class: 'badge off' }, 'Off');
  const since = twoFactor.enabled_at ? ` since ${new Date(twoFactor.enabled_at).toLocaleDateString()}` : '';
  return h('span', {},
    h('span', { class: 'badge on' }, 'On'), since,
    twoFactor.recovery_codes_low
      ? h('span', { class: 'hint' }, ` Only ${twoFactor.recovery_codes_remaining} recovery codes left.`)
      : null);
}

function apiKeySection(ctx, email) {
  const password = field('Password', { type: 'password', name: 'password',
    autocomplete: 'current-password', required: true });
  const result = h('div', { class: 'stack reveal' });
  const form = h('form', { class: 'stack' },
    h('p', {}, 'Your API key lets the twostep command line and scripts act as you. '
      + 'Enter your password to see it.'),
    // For password managers: which account this password belongs to.
    h('input', { type: 'email', name: 'username', autocomplete: 'username', value: email,
      hidden: true, readonly: true, tabindex: '-1' }),
    password.wrap,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary', value: 'reveal' }, 'Reveal API key'),
      h('button', { type: 'submit', value: 'regenerate' }, 'Regenerate API key')));

  onSubmit(form, ctx, async (submitter) => {
    const regenerate = submitter && submitter.value === 'regenerate';
    if (regenerate && !window.confirm('Make a new API key? The current key stops working at once.')) return;
    const { api_key: key } = await api.apiKey(password.input.value, regenerate);
    password.input.value = '';
    result.replaceChildren(...keyDisplay(key, ctx));
    ctx.say(regenerate ? 'A new API key was made. The old one no longer works.' : '');
    result.querySelector('input').focus();
  });

  return h('section', { class: 'section' },
    h('h2', {}, 'API key'), form, result);
}

function keyDisplay(key, ctx) {
  const shown = field('API key', { type: 'text', readonly: true, value: key, class: 'mono',
    spellcheck: 'false', autocomplete: 'off' });
  const copy = h('button', { type: 'button' }, 'Copy');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(key);
      ctx.say('API key copied.');
    } catch {
      shown.input.select();
      ctx.say('Copying failed: the key is selected, press Ctrl+C (⌘C) to copy it.');
    }
  });
  return [shown.wrap, h('div', { class: 'actions' }, copy)];
}

function logoutSection(ctx) {
  const form = h('form', { class: 'section' }, h('button', { type: 'submit' }, 'Log out'));
  onSubmit(form, ctx, async () => {
    try {
      await api.logout();
    } catch (err) {
      if (err.status !== 401) throw err; // already gone is as good as logged out
      if (err.handled) return;
    }
    ctx.navigate('/login', { message: 'You have logged out.' });
  });
  return form;
}
