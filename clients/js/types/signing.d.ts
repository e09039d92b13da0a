/**
 * @param {string | Uint8Array | null | undefined} body
 * @returns {Uint8Array}
 */
export function bodyBytes(body: string | Uint8Array | null | undefined): Uint8Array;
/**
 * Lower-case hex SHA-256 of the exact body bytes.
 * @param {string | Uint8Array | null | undefined} body
 * @param {WebCrypto} [crypto]
 */
export function sha256Hex(body: string | Uint8Array | null | undefined, crypto?: WebCrypto): Promise<string>;
/**
 * The seven lines a signature covers.
 * @param {{method: string, target: string, keyId: string, timestamp: string, nonce: string,
 *   body?: string | Uint8Array | null, crypto?: WebCrypto}} parts
 * @returns {Promise<string>}
 */
export function stringToSign({ method, target, keyId, timestamp, nonce, body, crypto }: {
    method: string;
    target: string;
    keyId: string;
    timestamp: string;
    nonce: string;
    body?: string | Uint8Array | null;
    crypto?: WebCrypto;
}): Promise<string>;
/**
 * Lower-case hex HMAC-SHA256 of `message`, keyed with the UTF-8 bytes of `secret`.
 * @param {string} secret
 * @param {string} message
 * @param {WebCrypto} [crypto]
 */
export function hmacSha256Hex(secret: string, message: string, crypto?: WebCrypto): Promise<string>;
/**
 * A fresh nonce: 32 hex characters from 16 random bytes.
 * @param {WebCrypto} [crypto]
 */
export function newNonce(crypto?: WebCrypto): string;
/**
 * The four signature headers for a request to `target` (path and query, exactly as sent).
 * @param {{keyId: string, secret: string, method: string, target: string,
 *   body?: string | Uint8Array | null, timestamp?: number, nonce?: string, crypto?: WebCrypto}} request
 * @returns {Promise<SignatureHeaders>}
 */
export function signRequest({ keyId, secret, method, target, body, timestamp, nonce, crypto }: {
    keyId: string;
    secret: string;
    method: string;
    target: string;
    body?: string | Uint8Array | null;
    timestamp?: number;
    nonce?: string;
    crypto?: WebCrypto;
}): Promise<SignatureHeaders>;
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
export const SCHEME: "DEVICE-HMAC-SHA256";
export type WebCrypto = Pick<Crypto, "subtle" | "getRandomValues">;
export type SignatureHeaders = {
    "X-Key-Id": string;
    "X-Timestamp": string;
    "X-Nonce": string;
    "X-Signature": string;
};
