// "/": send the person to their account when signed in, else to the login page.
import * as api from '../api.js';
import { h } from '../dom.js';

export const title = 'twostep';

export async function render(root, ctx) {
  root.append(h('p', { class: 'muted' }, 'Loading…'));
  try {
    await api.account();
    if (ctx.live()) ctx.navigate('/settings', { replace: true });
  } catch (err) {
    if (!ctx.live()) return;
    if (err.status === 401) ctx.navigate('/login', { replace: true });
    else ctx.fail(err);
  }
}
