// The one place that talks to the twostep API (API.md). Views call the named functions.

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.handled = false; // set when the session-ended handler has already dealt with it
  }
}

const SESSION_ENDED = new Set(['session_revoked', 'unauthenticated']);
let sessionEnded = () => false;

/** Register fn(err) -> bool, called on a 401 that means "no session"; true if it handled it. */
export function onSessionEnded(fn) {
  sessionEnded = fn;
}

export async function request(method, path, body) {
  const init = {
    method,
    credentials: 'same-origin',
    headers: {
      'Content-Type': 'application/json',
      'X-Requested-With': 'twostep',
    },
  };
  if (method !== 'GET' && method !== 'HEAD') init.body = JSON.stringify(body ?? {});

  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network', 'Could not reach twostep. Check your connection and try again.');
  }
  const data = await readJson(response);
  if (response.ok) return data;

  const error = data && data.error;
  const err = new ApiError(
    response.status,
    (error && error.code) || 'http_error',
    (error && error.message) || `Something went wrong (HTTP ${response.status}). Please try again.`,
    retryAfterSeconds(response.headers.get('Retry-After')),
  );
  if (response.status === 401 && SESSION_ENDED.has(err.code)) err.handled = sessionEnded(err);
  throw err;
}

async function readJson(response) {
  if (response.status === 204) return null;
  const type = response.headers.get('Content-Type') || '';
  if (!type.includes('json')) return null;
  try {
    return await response.json();
  } catch {
    return null;
  }
}

function retryAfterSeconds(header) {
  const seconds = Number.parseInt(header, 10);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

/** The text to show a person for an error: the server's message, plus the wait on a 429. */
export function errorText(err) {
  if (!(err instanceof ApiError)) return 'Something went wrong. Please try again.';
  let text = err.message.trim();
  if (err.retryAfter !== null) {
    text = text.replace(/\s*try again later\.?$/i, '') || 'Too many attempts.';
    if (!/[.!?]$/.test(text)) text += '.';
    text += ` Try again in ${duration(err.retryAfter)}.`;
  }
  return text;
}

function duration(seconds) {
  if (seconds < 120) return seconds === 1 ? '1 second' : `${seconds} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

export const signup = (email, password) => request('POST', '/api/signup', { email, password });
export const login = (email, password) =>
  request('POST', '/api/login', { email, password, client: 'browser' });
/** The kinds of second factor this deployment has: [{method, label, field, input, challenge, enrols}]. */
let methodsOnce = null;
export const methods = () => {
  methodsOnce = methodsOnce || request('GET', '/api/methods').then((body) => body.methods)
    .catch((err) => { methodsOnce = null; throw err; });
  return methodsOnce;
};
/** `proof` is {<the method's field>: value}. */
export const verifyLogin = (loginToken, proof) =>
  request('POST', '/api/login/verify', { login_token: loginToken, ...proof });
export const loginChallenge = (loginToken, method) =>
  request('POST', '/api/login/challenge', { login_token: loginToken, method });
export const logout = () => request('POST', '/api/logout');
export const account = () => request('GET', '/api/account');
export const apiKey = (password, regenerate = false) =>
  request('POST', '/api/account/api-key', regenerate ? { password, regenerate: true } : { password });

const TF = '/api/account/two-factor';
export const setupTwoFactor = (password, name) => request('POST', `${TF}/setup`, name ? { password, name } : { password });
export const confirmTwoFactor = (id, code) => request('POST', `${TF}/confirm`, { authenticator_id: id, code });
export const disableTwoFactor = (password) => request('POST', `${TF}/disable`, { password });
export const authenticators = () => request('GET', `${TF}/authenticators`);
export const removeAuthenticator = (id, password) =>
  request('DELETE', `${TF}/authenticators/${encodeURIComponent(id)}`, { password });
export const recoveryCodes = (password, regenerate = false) =>
  request('POST', `/api/account/recovery-codes${regenerate ? '/regenerate' : ''}`, { password });
export const addPhone = (phone, password) => request('POST', '/api/account/phone', { phone, password });
export const verifyPhone = (code) => request('POST', '/api/account/phone/verify', { code });
export const removePhone = (password) => request('DELETE', '/api/account/phone', { password });
export const sessions = () => request('GET', '/api/account/sessions');
export const revokeSession = (id) => request('DELETE', `/api/account/sessions/${encodeURIComponent(id)}`);
export const events = () => request('GET', '/api/account/events');

// Security keys and passkeys (WebAuthn): options and answers are WebAuthn Level 3 JSON.
const WA = '/api/account/webauthn';
export const webauthnCredentials = () => request('GET', WA);
export const beginWebauthn = (password, passkey) => request('POST', `${WA}/register`, { password, passkey });
export const finishWebauthn = (registrationId, credential, name) =>
  request('POST', WA, { registration_id: registrationId, credential, name });
export const removeWebauthn = (id, password) => request('DELETE', `${WA}/${encodeURIComponent(id)}`, { password });
export const passkeyOptions = () => request('POST', '/api/login/passkey/options', {});
export const passkeyLogin = (passkeyToken, credential) =>
  request('POST', '/api/login/passkey', { passkey_token: passkeyToken, credential, client: 'browser' });
