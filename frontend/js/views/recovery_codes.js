// Recovery codes: the set shown with Download, Print and Copy; the settings section that views
// them again or generates a new set (both ask for the password again).
import * as api from '../api.js';
import { copyButton, download, h, section, withPassword } from '../dom.js';

/** Codes compare in any case, without dashes or spaces, reading o as 0 and i, l as 1. */
export const normalise = (code) => code.toLowerCase().replace(/[\s-]/g, '').replace(/o/g, '0').replace(/[il]/g, '1');

/** `codes` as the API gives them: [{code, used_at}] (used ones are struck through). */
export function codesBlock(ctx, codes) {
  const unused = codes.filter((c) => !c.used_at).map((c) => c.code);
  const file = 'twostep recovery codes\nEach code works once. Keep them somewhere safe.\n\n'
    + `${unused.join('\n')}\n`;
  return h('div', { class: 'stack' },
    h('ol', { class: 'codes mono printable', 'aria-label': 'Recovery codes' }, ...codes.map((c) => h('li', {},
      c.used_at ? h('del', {}, c.code) : c.code,
      c.used_at ? h('span', { class: 'hint' }, ' (used)') : null))),
    h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: () => download('twostep-recovery-codes.txt', file) }, 'Download'),
      h('button', { type: 'button', onclick: () => window.print() }, 'Print'),
      copyButton(ctx, () => unused.join('\n'), 'Recovery codes')));
}

export function recoverySection(ctx, tf) {
  const slot = h('div');
  const result = h('div', { class: 'reveal' });
  const ask = (regenerate) => () => withPassword(ctx, slot, regenerate
    ? 'Enter your password to generate a new set. Your current codes stop working at once.'
    : 'Enter your password to see your recovery codes.', async (password) => {
    const { codes } = await api.recoveryCodes(password, regenerate);
    const heading = h('h3', { tabindex: '-1' }, regenerate ? 'Your new recovery codes' : 'Your recovery codes');
    result.replaceChildren(heading, codesBlock(ctx, codes));
    if (regenerate) ctx.say('New recovery codes made. The old ones no longer work: save these now.');
    heading.focus();
  });
  const left = tf.recovery_codes_remaining;
  return section('Recovery codes',
    h('p', {}, 'If you lose your phone, a recovery code logs you in instead of a code from the app. '
      + `Each code works once. You have ${left} left.`),
    tf.recovery_codes_low ? h('p', { class: 'warn' },
      `Only ${left} recovery code${left === 1 ? '' : 's'} left. Generate a new set and save it.`) : null,
    h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: ask(false) }, 'View recovery codes'),
      h('button', { type: 'button', onclick: ask(true) }, 'Generate new codes')),
    slot, result);
}
