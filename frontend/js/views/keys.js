// Security keys and passkeys on the account page: the list, add a security key or create a
// passkey (the first factor of an account turns two-factor on, as a first authenticator app
// does: its recovery codes follow), remove one.
import * as api from '../api.js';
import { field, h, section, when, withPassword } from '../dom.js';
import * as webauthn from '../webauthn.js';
import { saveCodes, stepper } from './enable.js';

const KINDS = [
  {
    passkey: false,
    noun: 'security key',
    action: 'Add a security key',
    label: 'Name of the security key',
    hint: 'For example “YubiKey 5C”.',
  },
  {
    passkey: true,
    noun: 'passkey',
    action: 'Create a passkey',
    label: 'Name of the passkey',
    hint: 'For example “MacBook Touch ID” or “Pixel 8”.',
  },
];

/** The section; `root` is the page's, which a first key's recovery codes take over. */
export function keysSection(ctx, root, enabled) {
  const list = h('ul', { class: 'items', 'aria-label': 'Your security keys and passkeys' });
  const none = h('p', { class: 'hint' }, 'You have no security keys or passkeys yet.');
  const actions = h('div', { class: 'actions' });
  const slot = h('div');
  const intro = enabled
    ? 'A security key (such as a YubiKey) or a passkey (on this device or your phone, unlocked with your '
      + 'fingerprint, face or screen lock) logs you in instead of a code from your app. A passkey also signs '
      + 'you in without your password.'
    : 'Adding a security key (such as a YubiKey) or a passkey (on this device or your phone, unlocked with '
      + 'your fingerprint, face or screen lock) turns on two-factor authentication, as an authenticator app '
      + 'does: you get recovery codes, you are logged out everywhere except here, and your API key is regenerated.';
  const part = section('Security keys and passkeys', h('p', {}, intro), list, none, actions, slot);

  async function refresh() {
    try {
      const { credentials } = await api.webauthnCredentials();
      list.replaceChildren(...credentials.map(item));
      list.hidden = !credentials.length;
      none.hidden = Boolean(credentials.length);
    } catch (err) {
      ctx.fail(err);
    }
  }

  function item(key) {
    const kind = key.passkey ? 'Passkey' : 'Security key';
    return h('li', {},
      h('div', {}, h('strong', {}, key.name),
        h('p', { class: 'hint' }, `${kind} · added ${when(key.created_at)} · last used ${when(key.last_used_at)}`)),
      h('button', { type: 'button', 'aria-label': `Remove ${key.name}`, onclick: () => withPassword(ctx, slot,
        `Enter your password to remove “${key.name}”.`, async (password) => {
          await api.removeWebauthn(key.id, password);
          ctx.say(`“${key.name}” was removed.`);
          await refresh();
          const next = actions.querySelector('button, a');
          if (next) next.focus();
        }) }, 'Remove'));
  }

  function add(kind) {
    const name = field(kind.label, { name: 'name', autocomplete: 'off', maxlength: '64', required: true }, kind.hint);
    withPassword(ctx, slot, `Enter your password to ${kind.action.toLowerCase()}.`, async (password) => {
      const label = name.input.value.trim();
      const { registration_id: id, publicKey } = await api.beginWebauthn(password, kind.passkey);
      let credential;
      try {
        credential = await webauthn.create(publicKey);
      } catch (err) {
        if (!(err instanceof DOMException)) throw err;
        ctx.say(`${webauthn.problem(err, true)} Try again when your key or device is ready.`, 'error');
        throw Object.assign(err, { handled: true }); // keeps the prompt open, said already
      }
      const added = await api.finishWebauthn(id, credential, label);
      if (added.recovery_codes) {
        saveCodes(ctx, stepper(root, 2), { codes: added.recovery_codes, password, lost: `your ${kind.noun}`, last: 2 });
        return;
      }
      ctx.say(`The ${kind.noun} “${added.credential.name}” was added.`);
      await refresh();
    }, name.wrap);
  }

  api.methods().then((described) => {
    if (!ctx.live()) return;
    const keys = webauthn.describedIn(described);
    if (!keys) {
      part.remove(); // this deployment has no such kind
      return;
    }
    const note = webauthn.unusableNote(keys.rp_id);
    actions.replaceChildren(...(note ? [note] : KINDS.map((kind) => h('button', {
      type: 'button', onclick: () => add(kind) }, kind.action))));
    refresh();
  }, (err) => ctx.fail(err));
  list.hidden = true;
  none.hidden = true;
  return part;
}
