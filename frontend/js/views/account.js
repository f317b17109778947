// "/settings": the account page. Two-factor status at a glance, then each part of it.
import * as api from '../api.js';
import { copyButton, field, h, link, onSubmit, section, settingsNav, withPassword } from '../dom.js';
import { authenticatorsSection } from './authenticators.js';
import { keysSection } from './keys.js';
import { phoneSection } from './phone.js';
import { recoverySection } from './recovery_codes.js';

export const title = 'Your account';
export const requiresSession = true; // a 401 here sends the person to /login

/** Load GET /api/account for a settings view; null when it failed (already reported). */
export async function load(root, ctx, call = api.account) {
  const loading = h('p', { class: 'muted' }, 'Loading…');
  root.append(loading);
  try {
    const data = await call();
    loading.remove();
    return ctx.live() ? data : null;
  } catch (err) {
    loading.remove();
    ctx.fail(err);
    return null;
  }
}

export async function render(root, ctx) {
  const data = await load(root, ctx);
  if (!data) return;
  const tf = data.two_factor || {};
  root.append(settingsNav('/settings'), summary(data.user, tf));
  if (tf.enabled) {
    root.append(
      authenticatorsSection(ctx),
      keysSection(ctx, root, true),
      recoverySection(ctx, tf),
      phoneSection(ctx, tf.phone),
      disableSection(ctx));
  } else {
    root.append(section('Two-factor authentication',
      h('p', {}, 'Two-factor authentication asks for a code from your phone, or your security key or passkey, '
        + 'after your password, so a stolen password alone cannot open your account.'),
      h('p', {}, 'Turn it on with an authenticator app, or by adding a security key or passkey below.'),
      h('p', { class: 'actions' }, link('/settings/two-factor', 'Enable two-factor authentication'))),
    keysSection(ctx, root, false));
  }
  root.append(apiKeySection(ctx), logoutSection(ctx));
}

function summary(user, tf) {
  const rows = [['Email', user.email], ['Two-factor authentication', status(tf)]];
  if (tf.enabled) {
    rows.push(['Recovery codes', `${tf.recovery_codes_remaining} unused`],
      ['SMS recovery', tf.phone && tf.phone.verified ? tf.phone.hint : 'No phone']);
  }
  return h('dl', { class: 'facts' }, ...rows.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));
}

function status(tf) {
  if (!tf.enabled) return h('span', { class: 'badge off' }, 'Off');
  const since = tf.enabled_at ? ` since ${new Date(tf.enabled_at).toLocaleDateString()}` : '';
  return h('span', {}, h('span', { class: 'badge on' }, 'On'), since);
}

function disableSection(ctx) {
  const slot = h('div');
  return section('Turn off two-factor authentication',
    h('p', {}, 'This removes your authenticator apps, security keys, passkeys, recovery codes and phone. '
      + 'Your account is then protected by your password alone.'),
    h('p', {}, h('button', { type: 'button', onclick: () => withPassword(ctx, slot,
      'Enter your password to turn off two-factor authentication.', async (password) => {
        await api.disableTwoFactor(password);
        ctx.navigate('/settings', { replace: true, message: 'Two-factor authentication is off.' });
      }) }, 'Disable two-factor authentication')),
    slot);
}

function apiKeySection(ctx) {
  const slot = h('div');
  const result = h('div', { class: 'stack reveal' });
  const ask = (regenerate) => () => {
    withPassword(ctx, slot, regenerate
      ? 'Enter your password to make a new API key. The current key stops working at once.'
      : 'Enter your password to see your API key.',
      async (password) => {
        const { api_key: key } = await api.apiKey(password, regenerate);
        const shown = field('API key', { type: 'text', readonly: true, value: key, class: 'mono',
          spellcheck: 'false', autocomplete: 'off' });
        result.replaceChildren(shown.wrap, h('div', { class: 'actions' }, copyButton(ctx, () => key, 'API key')));
        ctx.say(regenerate ? 'A new API key was made. The old one no longer works.' : '');
        shown.input.focus();
      });
  };
  return section('API key',
    h('p', {}, 'Your API key lets the twostep command line and scripts act as you.'),
    h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: ask(false) }, 'Reveal API key'),
      h('button', { type: 'button', onclick: ask(true) }, 'Regenerate API key')),
    slot, result);
}

export function logoutSection(ctx) {
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
