// Each kind of second factor's own view at the login's second step, keyed by its method.
// Which kinds exist and what each needs (its label, the field it is sent in, whether it has a
// challenge step) comes from the API (GET /api/methods), and which of them this account can
// use from the login's answer; a kind without a view here is drawn from that description.
import { codeField, digits, recoveryField } from './dom.js';

const SMS_WEAKER = 'SMS is the weaker method: use it only when you cannot use your authenticator app or a recovery code.';

const VIEWS = {
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
