// Every WebAuthn call of the browser app: creating and using security keys and passkeys, the
// JSON forms the API speaks (WebAuthn Level 3, base64url), a small fallback where a browser
// lacks the native conversions, whether this page can use them at all, and what to tell a
// person when the browser's prompt fails.
import { h } from './dom.js';

const PKC = globalThis.PublicKeyCredential;

export const supported = () => Boolean(PKC && navigator.credentials);

/** The security keys' kind in GET /api/methods (its `rp_id` among the rest), or undefined. */
export function describedIn(described) {
  return described.find((d) => d.method === 'webauthn');
}

/** Whether this page's host can use keys of `rpId`: the same host, or a subdomain of it. */
function hostMatches(rpId) {
  const host = location.hostname.toLowerCase();
  const rp = rpId.toLowerCase();
  return host === rp || host.endsWith(`.${rp}`);
}

const IP_ADDRESS = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\])$/i; // location.hostname brackets IPv6

/**
 * Why keys and passkeys cannot be used on this page, as a note to show in place of their
 * buttons, or null when they can. `rpId` is the API's (null when the deployment has none).
 */
export function unusableNote(rpId) {
  if (!rpId) {
    return h('p', { class: 'hint' }, 'Security keys and passkeys are not available on this site.');
  }
  if (!hostMatches(rpId)) {
    const why = IP_ADDRESS.test(location.hostname)
      ? ' (browsers refuse them on an IP address)' : '';
    const port = location.port ? `:${location.port}` : '';
    if (rpId === 'localhost') {
      const there = `${location.protocol}//localhost${port}${location.pathname}`;
      return h('p', { class: 'hint' }, 'Security keys and passkeys work only at ',
        h('a', { href: there }, `${location.protocol}//localhost${port}/`),
        `${why}. You will need to log in again there.`);
    }
    return h('p', { class: 'hint' }, `Security keys and passkeys work only at ${rpId}${why}.`);
  }
  if (!supported()) {
    return h('p', { class: 'hint' }, 'This browser cannot use security keys or passkeys.');
  }
  return null;
}

/** Whether the browser can offer passkeys in the email field's autofill. */
export async function conditionalAvailable() {
  try {
    return Boolean(supported() && PKC.isConditionalMediationAvailable
      && await PKC.isConditionalMediationAvailable());
  } catch {
    return false;
  }
}

/** Make a new credential from PublicKeyCredentialCreationOptionsJSON; its RegistrationResponseJSON. */
export async function create(optionsJSON) {
  const publicKey = PKC.parseCreationOptionsFromJSON
    ? PKC.parseCreationOptionsFromJSON(optionsJSON) : creationOptions(optionsJSON);
  return toJSON(await navigator.credentials.create({ publicKey }));
}

/**
 * Sign a challenge from PublicKeyCredentialRequestOptionsJSON; its AuthenticationResponseJSON.
 * `mediation: 'conditional'` with a `signal` waits for the person to pick a passkey from autofill.
 */
export async function get(optionsJSON, { mediation, signal } = {}) {
  const publicKey = PKC.parseRequestOptionsFromJSON
    ? PKC.parseRequestOptionsFromJSON(optionsJSON) : requestOptions(optionsJSON);
  const options = { publicKey };
  if (mediation) options.mediation = mediation;
  if (signal) options.signal = signal;
  const credential = await navigator.credentials.get(options);
  if (!credential) throw new DOMException('No credential was chosen.', 'NotAllowedError');
  return toJSON(credential);
}

/** What to tell a person when the browser's prompt failed (a DOMException, not an ApiError). */
export function problem(err, creating) {
  switch (err && err.name) {
    case 'NotAllowedError':
      return creating ? 'The browser’s prompt was closed or timed out, so nothing was added.'
        : 'The browser’s prompt was closed or timed out.';
    case 'InvalidStateError':
      return creating ? 'This security key or device is already registered to your account: use another one.'
        : 'Your security key or device could not be used.';
    case 'SecurityError':
      return 'The browser refused to use security keys and passkeys on this address.';
    case 'NotSupportedError':
      return 'This browser or security key cannot do what twostep asks for: try another one.';
    case 'AbortError':
      return 'The request was cancelled.';
    default:
      return 'Your browser could not use the security key or passkey.';
  }
}

// --- fallback for browsers without the Level 3 JSON methods ------------------------------

function decode(text) {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

function encode(buffer) {
  if (!buffer) return null;
  const bytes = new Uint8Array(buffer instanceof ArrayBuffer ? buffer : buffer.buffer);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const descriptors = (list) => list && list.map((d) => ({ ...d, id: decode(d.id) }));

function creationOptions(json) {
  return { ...json, challenge: decode(json.challenge), user: { ...json.user, id: decode(json.user.id) },
    excludeCredentials: descriptors(json.excludeCredentials) || [] };
}

function requestOptions(json) {
  return { ...json, challenge: decode(json.challenge),
    allowCredentials: descriptors(json.allowCredentials) || [] };
}

function toJSON(credential) {
  if (typeof credential.toJSON === 'function') return credential.toJSON();
  const r = credential.response;
  const response = { clientDataJSON: encode(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = encode(r.attestationObject);
    if (r.getTransports) response.transports = r.getTransports();
    if (r.getAuthenticatorData) response.authenticatorData = encode(r.getAuthenticatorData());
    if (r.getPublicKey) response.publicKey = encode(r.getPublicKey());
    if (r.getPublicKeyAlgorithm) response.publicKeyAlgorithm = r.getPublicKeyAlgorithm();
  } else {
    response.authenticatorData = encode(r.authenticatorData);
    response.signature = encode(r.signature);
    response.userHandle = encode(r.userHandle);
  }
  return {
    id: credential.id,
    rawId: encode(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment || null,
    clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
    response,
  };
}
