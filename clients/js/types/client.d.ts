/** @typedef {import("./transport.js").ApiResponse} ApiResponse */
export const REGISTER: "/api/v1/device/register/";
export const GET_TOKEN: "/api/v1/auth/get-token/";
export const REFRESH: "/api/v1/auth/refresh-token/";
export const LOGOUT: "/api/v1/auth/logout/";
/**
 * What registration returns. Store the secret like a password (Keychain / Keystore).
 * @typedef {object} DeviceCredentials
 * @property {string} deviceId
 * @property {string} deviceSecret
 * @property {number} userId
 */
/**
 * @typedef {object} Tokens
 * @property {string} access
 * @property {string} refresh
 * @property {number} expiresAt  local clock (Date.now(), ms) at which the access token expires
 * @property {number} refreshExpiresAt
 * @property {number} [lifetime]  ms the access token was issued for: caps the refresh margin at
 *   half of it
 */
/**
 * @typedef {object} DeviceClientOptions
 * @property {string} appKeyId
 * @property {string} appSecret
 * @property {DeviceCredentials | null} [credentials]  restored from secure storage
 * @property {Record<string, any> | null} [registration]  the body to register again with
 * @property {(credentials: DeviceCredentials) => void | Promise<void>} [onCredentials]
 *   called with new credentials, for the app to store. It runs inside the renewal under way:
 *   store them and return; a request sent through this client from it would wait for ever. If
 *   it throws, the credentials stay pending and are handed over again before the client's next
 *   step, which throws too until they are stored
 * @property {number} [refreshMargin]  seconds before expiry a token is refreshed (60), at most
 *   half its lifetime
 * @property {number} [timeout]  ms after which an HTTP call is abandoned (10 000)
 * @property {typeof fetch} [fetch]
 * @property {import("./signing.js").WebCrypto} [crypto]
 */
/**
 * Talks to the API as one device.
 *
 * - `register()` signs with the app key and keeps the returned credentials;
 * - `getToken()` / `refresh()` sign with the device secret;
 * - `request()` sends a bearer request: it gets a token if there is none, refreshes it
 *   `refreshMargin` seconds (at most half its lifetime) before it expires, and on a 401 renews
 *   once and sends again
 *   (token_expired: refresh; token_revoked / token_invalid / token_reused: get-token;
 *   device_unknown / device_revoked: register again with `registration`, then get-token).
 * Signed requests correct the clock from `server_time` on `timestamp_out_of_window`, and sign
 * again with a fresh nonce on `nonce_reused` (once each). An HTTP call with no answer after
 * `timeout` ms fails with a TimeoutError.
 *
 * The app secret, the credentials and the tokens are accessors over private fields, so that
 * neither console.log nor JSON.stringify of a client shows them.
 */
export class DeviceClient {
    /**
     * @param {string} baseUrl
     * @param {DeviceClientOptions} options
     */
    constructor(baseUrl: string, options: DeviceClientOptions);
    baseUrl: string;
    appKeyId: string;
    /** @type {Record<string, any> | null} */
    registration: Record<string, any> | null;
    onCredentials: ((credentials: DeviceCredentials) => void | Promise<void>) | undefined;
    refreshMargin: number;
    timeout: number;
    fetch: typeof fetch;
    crypto: Pick<Crypto, "subtle" | "getRandomValues">;
    /** Seconds to add to the local clock for X-Timestamp (learnt from `server_time`). */
    clockOffset: number;
    /** @type {Promise<void> | null} the renewal in flight; settles, never rejects */
    renewal: Promise<void> | null;
    set appSecret(value: string);
    get appSecret(): string;
    set credentials(value: DeviceCredentials | null);
    get credentials(): DeviceCredentials | null;
    set tokens(value: Tokens | null);
    get tokens(): Tokens | null;
    /**
     * POST /api/v1/device/register/ signed with the app key. `platform` is required.
     * @param {Record<string, any>} fields
     * @returns {Promise<DeviceCredentials>}
     */
    register(fields: Record<string, any>): Promise<DeviceCredentials>;
    /**
     * POST /api/v1/auth/get-token/: a new session. An unknown or revoked device registers again
     * (with `registration`) first.
     * @param {Record<string, any>} [fields]
     * @returns {Promise<Tokens>}
     */
    getToken(fields?: Record<string, any>): Promise<Tokens>;
    /**
     * POST /api/v1/auth/refresh-token/: rotate; the old refresh token is spent. A refresh token
     * that no longer works (expired, revoked, reused) falls back to get-token, straight away when
     * it has expired by the local clock (the server would only refuse it).
     * @returns {Promise<Tokens>}
     */
    refresh(): Promise<Tokens>;
    /**
     * POST /api/v1/auth/logout/: every token of this device stops working.
     *
     * Sent with tokens refreshed first if they are about to expire, as `request()` does. The
     * tokens are forgotten (unless a get-token replaced them meanwhile) once the server confirms,
     * or answers that they are refused for good (`token_revoked`, `device_revoked`,
     * `user_inactive`...: nothing is left to end). Any other failure throws and keeps them, so that
     * `logout()` can be tried again.
     */
    logout(): Promise<void>;
    /**
     * A bearer request; see the class comment for what it renews on its own.
     * @param {string} method
     * @param {string} path
     * @param {unknown} [jsonBody]
     * @returns {Promise<ApiResponse>}
     */
    request(method: string, path: string, jsonBody?: unknown): Promise<ApiResponse>;
    /**
     * One HTTP request; throws ApiError on a non-2xx answer, and an Error named TimeoutError when
     * the whole answer has not come within `timeout` ms. `target` is sent as `targetAsSent()`
     * puts it, the form `sign()` signs.
     * @param {string} method
     * @param {string} target
     * @param {Uint8Array | null} body
     * @param {Record<string, string>} headers
     * @returns {Promise<ApiResponse>}
     */
    send(method: string, target: string, body: Uint8Array | null, headers: Record<string, string>): Promise<ApiResponse>;
    /**
     * Signature headers with this client's clock correction and a fresh nonce, for `target` as
     * `send()` puts it on the wire (the server verifies the target it receives).
     * @param {string} method
     * @param {string} target
     * @param {Uint8Array} body
     * @param {string} keyId
     * @param {string} secret
     */
    sign(method: string, target: string, body: Uint8Array, keyId: string, secret: string): Promise<import("./signing.js").SignatureHeaders>;
    #private;
}
export type ApiResponse = import("./transport.js").ApiResponse;
/**
 * What registration returns. Store the secret like a password (Keychain / Keystore).
 */
export type DeviceCredentials = {
    deviceId: string;
    deviceSecret: string;
    userId: number;
};
export type Tokens = {
    access: string;
    refresh: string;
    /**
     * local clock (Date.now(), ms) at which the access token expires
     */
    expiresAt: number;
    refreshExpiresAt: number;
    /**
     * ms the access token was issued for: caps the refresh margin at
     * half of it
     */
    lifetime?: number | undefined;
};
export type DeviceClientOptions = {
    appKeyId: string;
    appSecret: string;
    /**
     * restored from secure storage
     */
    credentials?: DeviceCredentials | null | undefined;
    /**
     * the body to register again with
     */
    registration?: Record<string, any> | null | undefined;
    /**
     * called with new credentials, for the app to store. It runs inside the renewal under way:
     * store them and return; a request sent through this client from it would wait for ever. If
     * it throws, the credentials stay pending and are handed over again before the client's next
     * step, which throws too until they are stored
     */
    onCredentials?: ((credentials: DeviceCredentials) => void | Promise<void>) | undefined;
    /**
     * seconds before expiry a token is refreshed (60), at most
     * half its lifetime
     */
    refreshMargin?: number | undefined;
    /**
     * ms after which an HTTP call is abandoned (10 000)
     */
    timeout?: number | undefined;
    fetch?: typeof fetch | undefined;
    crypto?: Pick<Crypto, "subtle" | "getRandomValues"> | undefined;
};
