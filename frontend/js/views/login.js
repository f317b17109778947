// "/login": the password step (handing over to the second-factor step when the account has
// one), or a passkey alone: its button, or the browser's autofill on the email field.
import * as api from '../api.js';
import { emailField, h, link, onSubmit, passwordField } from '../dom.js';
import * as webauthn from '../webauthn.js';
import { renderSecondFactor } from './second_factor.js';

export const title = 'Log in';

export function render(root, ctx) {
  const email = emailField();
  email.input.setAttribute('autocomplete', 'username webauthn');
  const password = passwordField('current-password');
  const form = h('form', { class: 'stack' },
    email.wrap,
    password.wrap,
    h('button', { type: 'submit', class: 'primary' }, 'Log in'));
  const autofill = passkeyAutofill(ctx, email.input);

  onSubmit(form, ctx, async () => {
    await autofill.stop();
    const result = await api.login(email.input.value.trim(), password.input.value);
    if (result.status === 'two_factor_required') {
      root.replaceChildren();
      renderSecondFactor(root, ctx, result);
    } else {
      ctx.navigate('/settings');
    }
  });

  const passkey = h('div', { class: 'section' });
  root.append(form, passkey, h('p', { class: 'aside' }, 'New to twostep? ', link('/signup', 'Create an account')));
  offerPasskey(ctx, passkey, autofill);
}

/** The passkey button, once the API says this deployment has passkeys and this page can use them. */
async function offerPasskey(ctx, slot, autofill) {
  let described;
  try {
    described = webauthn.describedIn(await api.methods());
  } catch {
    return; // the password form works without it
  }
  if (!ctx.live() || !described) return;
  const note = webauthn.unusableNote(described.rp_id);
  if (note) {
    slot.append(note);
    return;
  }
  const form = h('form', { class: 'stack' },
    h('p', {}, 'Or sign in with a passkey on this device or your phone: no password needed.'),
    h('button', { type: 'submit' }, 'Sign in with a passkey'));
  onSubmit(form, ctx, async () => {
    await autofill.stop();
    try {
      await signIn(ctx, {});
    } catch (err) {
      if (!(err instanceof DOMException)) throw err; // the API's refusal, in its words
      ctx.say(`${webauthn.problem(err, false)} Try again, or log in with your email and password.`, 'error');
    }
  });
  slot.append(form);
  autofill.enable();
}

async function signIn(ctx, { mediation, signal }) {
  const { passkey_token: token, publicKey } = await api.passkeyOptions();
  const credential = await webauthn.get(publicKey, { mediation, signal });
  await api.passkeyLogin(token, credential);
  ctx.navigate('/settings');
}

/**
 * Passkeys offered in the email field's autofill (conditional mediation). Never started on
 * page load: it starts when the email field gets focus, with a fresh passkey token, and is
 * aborted when the password form or the passkey button is used, or the page is left.
 */
function passkeyAutofill(ctx, input) {
  let enabled = false;
  let off = false; // not available here, or the API refused: not retried on this page
  let controller = null;
  let running = null;

  function start() {
    if (!enabled || off || running) return;
    const aborter = new AbortController();
    const { signal } = aborter;
    controller = aborter;
    ctx.onLeave(() => aborter.abort());
    running = (async () => {
      if (!(await webauthn.conditionalAvailable())) {
        off = true;
        return;
      }
      if (!signal.aborted) await signIn(ctx, { mediation: 'conditional', signal });
    })().catch((err) => {
      if (signal.aborted) return;
      // a token that outlived its 5 minutes is fetched afresh at the next focus; else not again here
      off = !(err.status === 401 && err.code === 'unauthenticated');
      if (!(err instanceof DOMException)) ctx.fail(err);
    }).finally(() => {
      running = null;
    });
  }

  input.addEventListener('focus', start);
  return {
    enable() {
      enabled = true;
      if (document.activeElement === input) start();
    },
    async stop() {
      if (controller) controller.abort();
      if (running) await running; // a new request waits until the browser has let go of this one
    },
  };
}
