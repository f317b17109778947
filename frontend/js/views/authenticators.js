// Authenticator apps: the list, add another (a new phone, before the old one is retired), remove.
import * as api from '../api.js';
import { field, h, section, stepHeading, when, withPassword } from '../dom.js';
import { scanStep } from './enroll.js';

export function authenticatorsSection(ctx) {
  const list = h('ul', { class: 'items' });
  const slot = h('div');
  const adding = h('div', { class: 'reveal' });

  async function refresh() {
    try {
      const { authenticators } = await api.authenticators();
      list.replaceChildren(...authenticators.map(item));
      list.hidden = !authenticators.length; // two-factor on with security keys alone
      none.hidden = Boolean(authenticators.length);
      more.textContent = authenticators.length ? 'Add another authenticator' : 'Add an authenticator app';
    } catch (err) {
      ctx.fail(err);
    }
  }

  function item(a) {
    return h('li', {},
      h('div', {}, h('strong', {}, a.name),
        h('p', { class: 'hint' }, `Added ${when(a.created_at)} · last used ${when(a.last_used_at)}`)),
      h('button', { type: 'button', 'aria-label': `Remove ${a.name}`, onclick: () => withPassword(ctx, slot,
        `Enter your password to remove “${a.name}”.`, async (password) => {
          await api.removeAuthenticator(a.id, password);
          ctx.say(`“${a.name}” was removed.`);
          await refresh();
          more.focus();
        }) }, 'Remove'));
  }

  function add() {
    const name = field('Name of the new device', { name: 'name', autocomplete: 'off', maxlength: '64', required: true },
      'For example “Pixel 8” or “Work iPhone”.');
    withPassword(ctx, slot, 'Enter your password to add an authenticator app.', async (password) => {
      const label = name.input.value.trim();
      const setup = await api.setupTwoFactor(password, label);
      const heading = stepHeading(`Set up “${label}”`);
      adding.replaceChildren(heading, scanStep(ctx, setup, 'Add authenticator', async () => {
        adding.replaceChildren();
        ctx.say('The new authenticator app was added. Both apps now work.');
        await refresh();
      }));
      heading.focus();
    }, name.wrap);
  }

  const more = h('button', { type: 'button', onclick: add }, 'Add another authenticator');
  const none = h('p', { class: 'hint', hidden: true }, 'You have no authenticator app.');
  refresh();
  return section('Authenticator apps',
    h('p', {}, 'Codes from any of these apps log you in. Moving to a new phone? Add it here first, then remove the old one.'),
    list, none,
    h('p', {}, more),
    slot, adding);
}
