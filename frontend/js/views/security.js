// "/settings/security": where the account is signed in (with revoke) and the security log.
import * as api from '../api.js';
import { h, section, settingsNav, when } from '../dom.js';
import { load, logoutSection } from './account.js';

export const title = 'Sessions and activity';
export const requiresSession = true;

const EVENTS = {
  signup: 'Account created',
  login: 'Logged in',
  login_failed: 'Failed login: wrong password',
  password_failed: 'Wrong password entered to confirm an action',
  logout: 'Logged out',
  two_factor_failed: 'Wrong two-factor code entered',
  two_factor_locked: 'Authenticator app and SMS codes locked after too many wrong codes',
  two_factor_enabled: 'Two-factor authentication turned on',
  two_factor_disabled: 'Two-factor authentication turned off',
  authenticator_added: 'Authenticator app added',
  authenticator_removed: 'Authenticator app removed',
  factor_added: 'Two-factor method added',
  factor_removed: 'Two-factor method removed',
  security_key_added: 'Security key or passkey added',
  security_key_removed: 'Security key or passkey removed',
  security_key_cloned: 'Security key refused: its signature counter went back (a copy of it may exist)',
  passkey_failed: 'Passkey sign-in refused',
  recovery_codes_viewed: 'Recovery codes viewed',
  recovery_code_used: 'Recovery code used',
  recovery_codes_regenerated: 'New recovery codes generated',
  phone_added: 'Phone number added',
  phone_verified: 'Phone number verified',
  phone_verify_failed: 'Wrong phone verification code entered',
  phone_removed: 'Phone number removed',
  sms_sent: 'Code sent by text message',
  sms_failed: 'Text message could not be sent',
  api_key_revealed: 'API key revealed',
  api_key_regenerated: 'API key regenerated',
  session_revoked: 'Session revoked',
};

const METHODS = {
  totp: 'an authenticator app',
  recovery_code: 'a recovery code',
  sms: 'a text message code',
  webauthn: 'a security key or passkey',
  passkey: 'a passkey',
};
const KEY_EVENTS = { security_key_added: 'added', security_key_removed: 'removed' };

function sentence({ type, detail = {} }) {
  let text = EVENTS[type] || type.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
  if (KEY_EVENTS[type] && typeof detail.passkey === 'boolean') {
    text = `${detail.passkey ? 'Passkey' : 'Security key'} ${KEY_EVENTS[type]}`;
  }
  if (type === 'login' && METHODS[detail.method]) text += ` with ${METHODS[detail.method]}`;
  if (type === 'two_factor_enabled' && detail.method === 'webauthn') {
    text += ` with ${detail.passkey ? 'a passkey' : 'a security key'}`;
  }
  if (type === 'login' && detail.client === 'cli') text += ' (command line)';
  if (detail.name) text += `: ${detail.name}`;
  if (detail.reason === 'two_factor_enabled') text += ', as two-factor authentication was turned on';
  if (detail.phone_hint) text += ` (${detail.phone_hint})`;
  return `${text}.`;
}

export async function render(root, ctx) {
  const data = await load(root, ctx, () => Promise.all([api.sessions(), api.events()]));
  if (!data) return;
  const [{ sessions }, { events }] = data;
  root.append(settingsNav('/settings/security'),
    section('Sessions', h('p', {}, 'Where your account is signed in. Revoke any you do not recognise.'),
      h('ul', { class: 'items' }, ...sessions.map((s) => session(ctx, s)))),
    section('Security log', h('ol', { class: 'log' }, ...events.map((e) => h('li', {},
      h('strong', {}, sentence(e)),
      h('p', { class: 'hint' }, h('time', { datetime: e.at }, when(e.at)), ` · ${e.ip || 'unknown address'}`),
      e.user_agent ? h('p', { class: 'hint ua' }, e.user_agent) : null)))),
    logoutSection(ctx));
}

function session(ctx, s) {
  const kind = s.kind === 'browser' ? 'Browser' : 'Command line';
  return h('li', {},
    h('div', {},
      h('strong', {}, kind, s.current ? ' · this session' : ''),
      h('p', { class: 'hint ua' }, s.user_agent || 'Unknown client'),
      h('p', { class: 'hint' }, `${s.ip || 'unknown address'} · since ${when(s.created_at)} · last seen ${when(s.last_seen_at)}`)),
    h('button', { type: 'button', 'aria-label': `Revoke ${s.current ? 'this session' : `${kind.toLowerCase()} session from ${when(s.created_at)}`}`,
      onclick: async (event) => {
        try {
          await api.revokeSession(s.id);
        } catch (err) {
          ctx.fail(err);
          return;
        }
        if (s.current) ctx.navigate('/login', { message: 'You revoked this session, so you are logged out.' });
        else {
          const li = event.target.closest('li');
          const next = li.nextElementSibling || li.previousElementSibling;
          li.remove();
          if (next) next.querySelector('button').focus();
          ctx.say('The session was revoked.');
        }
      } }, 'Revoke'));
}
