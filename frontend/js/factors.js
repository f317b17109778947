// Each kind of second factor's own view at the login's second step, keyed by its method.
// Which kinds exist and what each needs (its label, the field it is sent in, whether it has a
// challenge step) comes from the API (GET /api/methods), and which of them this account can
// use from the login's answer; a kind without a view here is drawn from that description.
// A kind whose proof the browser makes (a security key's signature) has `prove` instead of a
// field: the second step shows a button that asks the browser for it.
import { codeField, digits, recoveryField } from './dom.js';
import * as webauthn from './webauthn.js';

const SMS_WEAKER = 'SMS is the weaker method: use it only when you cannot use your authenticator app or a recovery code.';

const VIEWS = {
  webauthn: {
    use: 'Use your security key',
    instead: 'Can’t use your security key?',
    first: true, // offered before the others when the account has one and this page can use it
    intro: 'Insert your security key and touch it, or use your passkey (fingerprint, face or screen lock) '
      + 'when your browser asks.',
    unusable: (described) => webauthn.unusableNote(described.rp_id),
    prove: (challenged) => webauthn.get(challenged.publicKey),
    problem: (err) => `${webauthn.problem(err, false)} Try again, or choose another way below.`,
  },
  totp: {
    use: 'Use your authenticator app',
    instead: 'Can’t use your authenticator app?',
    field: () => codeField('Authentication code', 'Enter the 6-digit code your authenticator app shows.'),
  },
  recovery_code: {
    use: 'Enter a Recovery Code',
    field: () => recoveryField('Recovery code', 'Enter one of the recovery codes you saved. Each code works once.'),
    read: (input) => input.value.trim(),
  },
  sms: {
    use: 'Get a code via SMS',
    again: 'Send a new code',
    note: SMS_WEAKER,
    field: (sent) => codeField('Code from the text message', `We sent a 6-digit code to ${sent.phone_hint}.`),
  },
};

/** The view of a kind: its own, or one drawn from the API's description of it (null if none can be). */
export function viewOf(described) {
  const own = VIEWS[described.method];
  if (!own && described.input === 'credential') return null; // an object only its own view can make
  const generic = {
    use: `Use ${described.label.toLowerCase()}`,
    field: () => (described.input === 'recovery_code' ? recoveryField : codeField)(described.label, ''),
  };
  return { read: digits, ...generic, ...own, described };
}
