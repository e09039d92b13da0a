// @ts-check
/**
 * How a request is signed. A mobile implementation must reproduce exactly this; the worked
 * examples of clients/signature-vectors.json are the test.
 *
 * string_to_sign is seven lines joined by "\n", no trailing newline:
 *
 *     DEVICE-HMAC-SHA256
 *     <METHOD in upper case>
 *     <path, with ?query exactly as sent>
 *     <X-Key-Id>
 *     <X-Timestamp: Unix seconds>
 *     <X-Nonce: 16-64 chars of [A-Za-z0-9_-], fresh each time>
 *     <lower-case hex SHA-256 of the raw body bytes (of zero bytes when empty)>
 *
 * X-Signature = lower-case hex HMAC-SHA256(key = UTF-8 bytes of the secret, string_to_sign).
 *
 * Crypto is WebCrypto (SubtleCrypto), `globalThis.crypto` by default: browsers and Node 20 have
 * it; on React Native install a WebCrypto implementation (e.g. react-native-quick-crypto) and
 * pass it as `crypto`.
 */

export const SCHEME = "DEVICE-HMAC-SHA256";

const encoder = new TextEncoder();

/** @typedef {Pick<Crypto, "subtle" | "getRandomValues">} WebCrypto */

/**
 * @typedef {object} SignatureHeaders
 * @property {string} X-Key-Id
 * @property {string} X-Timestamp
 * @property {string} X-Nonce
 * @property {string} X-Signature
 */

/** @param {ArrayBuffer | Uint8Array} bytes */
function hex(bytes) {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return Array.from(view, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * @param {string | Uint8Array | null | undefined} body
 * @returns {Uint8Array}
 */
export function bodyBytes(body) {
  if (body == null) return new Uint8Array();
  return typeof body === "string" ? encoder.encode(body) : body;
}

/**
 * Lower-case hex SHA-256 of the exact body bytes.
 * @param {string | Uint8Array | null | undefined} body
 * @param {WebCrypto} [crypto]
 */
export async function sha256Hex(body, crypto = globalThis.crypto) {
  // Cast: TypeScript's DOM types take only bytes over an ArrayBuffer, which these are.
  const bytes = /** @type {Uint8Array<ArrayBuffer>} */ (bodyBytes(body));
  return hex(await crypto.subtle.digest("SHA-256", bytes));
}

/**
 * The seven lines a signature covers.
 * @param {{method: string, target: string, keyId: string, timestamp: string, nonce: string,
 *   body?: string | Uint8Array | null, crypto?: WebCrypto}} parts
 * @returns {Promise<string>}
 */
export async function stringToSign({ method, target, keyId, timestamp, nonce, body, crypto }) {
  const bodyHash = await sha256Hex(body, crypto);
  return [SCHEME, method.toUpperCase(), target, keyId, timestamp, nonce, bodyHash].join("\n");
}

/**
 * Lower-case hex HMAC-SHA256 of `message`, keyed with the UTF-8 bytes of `secret`.
 * @param {string} secret
 * @param {string} message
 * @param {WebCrypto} [crypto]
 */
export async function hmacSha256Hex(secret, message, crypto = globalThis.crypto) {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return hex(await crypto.subtle.sign("HMAC", key, encoder.encode(message)));
}

/**
 * A fresh nonce: 32 hex characters from 16 random bytes.
 * @param {WebCrypto} [crypto]
 */
export function newNonce(crypto = globalThis.crypto) {
  return hex(crypto.getRandomValues(new Uint8Array(16)));
}

/**
 * The four signature headers for a request to `target` (path and query, exactly as sent).
 * @param {{keyId: string, secret: string, method: string, target: string,
 *   body?: string | Uint8Array | null, timestamp?: number, nonce?: string, crypto?: WebCrypto}} request
 * @returns {Promise<SignatureHeaders>}
 */
export async function signRequest({ keyId, secret, method, target, body, timestamp, nonce, crypto }) {
  const stamp = String(timestamp ?? Math.floor(Date.now() / 1000));
  const usedNonce = nonce ?? newNonce(crypto);
  const message = await stringToSign({
    method,
    target,
    keyId,
    timestamp: stamp,
    nonce: usedNonce,
    body,
    crypto,
  });
  return {
    "X-Key-Id": keyId,
    "X-Timestamp": stamp,
    "X-Nonce": usedNonce,
    "X-Signature": await hmacSha256Hex(secret, message, crypto),
  };
}
