// @ts-check
/**
 * DeviceClient: registration, tokens and bearer requests, with the recoveries an app needs.
 *
 * Token renewals are single-flight: callers that find the token about to expire (or refused)
 * while a renewal is in flight wait for it and use its result, so a refresh token is never
 * presented twice (which the server answers with `token_reused`, revoking the session). If that
 * renewal fails, they all get its error: none tries again on its own, one after another.
 */

import { signRequest } from "./signing.js";
import { ApiError, exchange, targetAsSent } from "./transport.js";

/** @typedef {import("./transport.js").ApiResponse} ApiResponse */

export const REGISTER = "/api/v1/device/register/";
export const GET_TOKEN = "/api/v1/auth/get-token/";
export const REFRESH = "/api/v1/auth/refresh-token/";
export const LOGOUT = "/api/v1/auth/logout/";

// Answers that a new token pair (get-token) cures, and those only a new device cures.
const SESSION_ENDED = new Set(["token_expired", "token_invalid", "token_revoked", "token_reused"]);
const DEVICE_GONE = new Set(["device_unknown", "device_revoked"]);
// Answers that say there is no session left for logout() to end: these tokens are refused for
// good (the server ends a deactivated user's sessions too).
const NOTHING_TO_END = new Set([...SESSION_ENDED, ...DEVICE_GONE, "user_inactive"]);

const encoder = new TextEncoder();
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
  constructor(baseUrl, options) {
    if (!/^https?:\/\//.test(baseUrl)) throw new TypeError("baseUrl must be an http(s) URL");
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.appKeyId = options.appKeyId;
    this.#appSecret = options.appSecret;
    this.#credentials = options.credentials ?? null;
    /** @type {Record<string, any> | null} */
    this.registration = options.registration ?? null;
    this.onCredentials = options.onCredentials;
    this.refreshMargin = options.refreshMargin ?? 60;
    this.timeout = options.timeout ?? 10_000;
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.crypto = options.crypto ?? globalThis.crypto;
    /** Seconds to add to the local clock for X-Timestamp (learnt from `server_time`). */
    this.clockOffset = 0;
    /** @type {Promise<void> | null} the renewal in flight; settles, never rejects */
    this.renewal = null;
  }

  #appSecret = "";
  /** @type {DeviceCredentials | null} */
  #credentials = null;
  /** @type {Tokens | null} */
  #tokens = null;

  get appSecret() {
    return this.#appSecret;
  }

  set appSecret(value) {
    this.#appSecret = value;
  }

  get credentials() {
    return this.#credentials;
  }

  set credentials(value) {
    this.#credentials = value;
  }

  get tokens() {
    return this.#tokens;
  }

  set tokens(value) {
    this.#tokens = value;
  }

  /** @type {DeviceCredentials | null} credentials `onCredentials` has not taken yet (it threw) */
  #unsaved = null;

  /** How many renewals on behalf of `request()` have settled. */
  #renewals = 0;
  /** @type {{ error: unknown } | null} how the last of them failed, if it did */
  #failure = null;

  // -- the four steps -------------------------------------------------------------------------

  /**
   * POST /api/v1/device/register/ signed with the app key. `platform` is required.
   * @param {Record<string, any>} fields
   * @returns {Promise<DeviceCredentials>}
   */
  register(fields) {
    return this.#afterRenewals(() => this.#register(fields));
  }

  /**
   * POST /api/v1/auth/get-token/: a new session. An unknown or revoked device registers again
   * (with `registration`) first.
   * @param {Record<string, any>} [fields]
   * @returns {Promise<Tokens>}
   */
  getToken(fields = {}) {
    return this.#afterRenewals(async () => {
      await this.#handOverCredentials();
      return this.#getToken(fields);
    });
  }

  /**
   * POST /api/v1/auth/refresh-token/: rotate; the old refresh token is spent. A refresh token
   * that no longer works (expired, revoked, reused) falls back to get-token, straight away when
   * it has expired by the local clock (the server would only refuse it).
   * @returns {Promise<Tokens>}
   */
  refresh() {
    return this.#afterRenewals(async () => {
      await this.#handOverCredentials();
      return this.#refresh();
    });
  }

  /**
   * POST /api/v1/auth/logout/: every token of this device stops working.
   *
   * Sent with tokens refreshed first if they are about to expire, as `request()` does. The
   * tokens are forgotten (unless a get-token replaced them meanwhile) once the server confirms,
   * or answers that they are refused for good (`token_revoked`, `device_revoked`,
   * `user_inactive`...: nothing is left to end). Any other failure throws and keeps them, so that
   * `logout()` can be tried again.
   */
  async logout() {
    if (this.#unsaved) await this.#pendingHandedOver();
    let tokens = this.tokens;
    if (!tokens) return;
    const renewals = this.#renewals;
    // Rotation only: a refresh that fell back to get-token, or to registering again, would
    // start a session (or a device) just to end it.
    const rotate = () => this.#rotate();
    try {
      if (!this.#lasts(tokens)) tokens = await this.#renewAfter(tokens, renewals, rotate);
      try {
        await this.send("POST", LOGOUT, null, bearer(tokens));
      } catch (error) {
        if (!(error instanceof ApiError && error.code === "token_expired")) throw error;
        // Expired by the server's clock, not yet by ours: the refresh token still works.
        tokens = await this.#renewAfter(tokens, renewals, rotate);
        await this.send("POST", LOGOUT, null, bearer(tokens));
      }
    } catch (error) {
      const code = error instanceof ApiError && error.status === 401 ? error.code : undefined;
      if (!code || !NOTHING_TO_END.has(code)) throw error;
    }
    await this.#afterRenewals(async () => {
      // Only the tokens it ended: a session that another caller started meanwhile is live on
      // the server, and forgetting it would leave it there unknown.
      if (this.tokens === tokens) this.tokens = null;
    });
  }

  /**
   * A bearer request; see the class comment for what it renews on its own.
   * @param {string} method
   * @param {string} path
   * @param {unknown} [jsonBody]
   * @returns {Promise<ApiResponse>}
   */
  async request(method, path, jsonBody) {
    // No body for null either, as the Python client sends none for None.
    const body = jsonBody == null ? null : encoder.encode(JSON.stringify(jsonBody));
    /** @type {Record<string, string>} */
    const headers = body ? { "Content-Type": "application/json" } : {};
    if (this.#unsaved) await this.#pendingHandedOver();
    // A renewal that fails from here on fails this request too, rather than being tried again.
    const renewals = this.#renewals;
    let tokens = await this.#freshTokens(renewals);
    try {
      return await this.send(method, path, body, { ...headers, ...bearer(tokens) });
    } catch (error) {
      const code = error instanceof ApiError && error.status === 401 ? error.code : undefined;
      if (!code || !(SESSION_ENDED.has(code) || DEVICE_GONE.has(code))) throw error;
      tokens = await this.#renewAfter(tokens, renewals, () => {
        if (code === "token_expired") return this.#refresh();
        if (DEVICE_GONE.has(code) && this.registration) return this.#registerAgain();
        return this.#getToken({});
      });
    }
    return this.send(method, path, body, { ...headers, ...bearer(tokens) });
  }

  // -- renewals -------------------------------------------------------------------------------

  /**
   * Give `onCredentials` the credentials it has not taken yet, if any. Until it returns they
   * stay pending, and every step begins here: an app whose secure storage was locked when the
   * device registered again stores them later, rather than restoring the revoked device on its
   * next launch and registering yet another user. The caller is the renewal in flight.
   */
  async #handOverCredentials() {
    const pending = this.#unsaved;
    if (pending && this.onCredentials) await this.onCredentials(pending);
    if (this.#unsaved === pending) this.#unsaved = null;
  }

  /**
   * `#handOverCredentials()` as the renewal in flight. Callers await it only when credentials
   * are pending: an await of nothing would still let callers that came later go first.
   */
  #pendingHandedOver() {
    return this.#afterRenewals(() => this.#handOverCredentials());
  }

  /**
   * Run `action` once no renewal is in flight, as the renewal in flight.
   * @template T
   * @param {() => Promise<T>} action
   * @returns {Promise<T>}
   */
  async #afterRenewals(action) {
    // No await between the last check and #exclusive, so two callers cannot both pass it.
    while (this.renewal) await this.renewal;
    return this.#exclusive(action);
  }

  /**
   * Run `action` as the renewal in flight. Callers make sure none is. A `shared` one is a
   * renewal for `request()`: its outcome is kept for the callers that waited for it.
   * @template T
   * @param {() => Promise<T>} action
   * @param {boolean} [shared]
   * @returns {Promise<T>}
   */
  #exclusive(action, shared = false) {
    const run = action();
    /** @param {{ error: unknown } | null} failure */
    const outcome = (failure) => {
      if (!shared) return;
      this.#renewals += 1;
      this.#failure = failure;
    };
    /** @type {Promise<void>} */
    const settled = run.then(
      () => outcome(null),
      (error) => outcome({ error }),
    );
    const tracked = settled.then(() => {
      if (this.renewal === tracked) this.renewal = null;
    });
    this.renewal = tracked;
    return run;
  }

  /**
   * Tokens that were renewed after `seen`: by a renewal already in flight, else by `action`.
   * If a renewal for `request()` failed since `renewals` (the count when the caller began), its
   * error is thrown instead: every caller that waited for it gets its outcome, and none tries
   * again on its own (one after another, they would hammer a failing or rate-limited server).
   * @param {Tokens | null} seen
   * @param {number} renewals
   * @param {() => Promise<Tokens>} action
   * @returns {Promise<Tokens>}
   */
  async #renewAfter(seen, renewals, action) {
    for (;;) {
      if (this.tokens && this.tokens !== seen) return this.tokens;
      if (this.#failure && this.#renewals !== renewals) throw this.#failure.error;
      if (!this.renewal) return this.#exclusive(action, true);
      await this.renewal;
    }
  }

  /**
   * Tokens good for at least `refreshMargin` more seconds, or half their lifetime if that is
   * shorter; one renewal for all callers.
   * @param {number} renewals
   */
  async #freshTokens(renewals) {
    const tokens = this.tokens;
    if (tokens && this.#lasts(tokens)) return tokens;
    return this.#renewAfter(tokens, renewals, () =>
      tokens ? this.#refresh() : this.#getToken({}),
    );
  }

  /**
   * Whether `tokens` are good for `refreshMargin` more seconds, or half their lifetime.
   * @param {Tokens} tokens
   */
  #lasts(tokens) {
    // Capped: a token issued for the margin or less would otherwise be refreshed before every
    // request, and the refreshes would soon hit the auth_token rate limit.
    const margin = Math.min(this.refreshMargin * 1000, (tokens.lifetime ?? Infinity) / 2);
    return tokens.expiresAt - margin > Date.now();
  }

  /** @param {Record<string, any>} fields */
  async #register(fields) {
    const body = await this.#signed(REGISTER, fields, this.appKeyId, this.appSecret);
    this.registration = fields;
    this.credentials = {
      deviceId: body.device_id,
      deviceSecret: body.device_secret,
      userId: Number(body.user_id),
    };
    this.tokens = null;
    this.#unsaved = this.credentials;
    await this.#handOverCredentials();
    return this.credentials;
  }

  async #registerAgain() {
    await this.#register(/** @type {Record<string, any>} */ (this.registration));
    return this.#issue({});
  }

  /** @param {Record<string, any>} fields */
  async #getToken(fields) {
    try {
      return await this.#issue(fields);
    } catch (error) {
      const code = error instanceof ApiError ? error.code : undefined;
      if (!code || !DEVICE_GONE.has(code) || !this.registration) throw error;
    }
    await this.#register(this.registration);
    return this.#issue(fields);
  }

  /** @param {Record<string, any>} fields */
  async #issue(fields) {
    const credentials = this.#requireCredentials();
    return this.#keepTokens(
      await this.#signed(GET_TOKEN, fields, credentials.deviceId, credentials.deviceSecret),
    );
  }

  async #refresh() {
    const tokens = this.tokens;
    if (!tokens || tokens.refreshExpiresAt > Date.now()) {
      try {
        return await this.#rotate();
      } catch (error) {
        const code = error instanceof ApiError ? error.code : undefined;
        if (!code || !(SESSION_ENDED.has(code) || DEVICE_GONE.has(code))) throw error;
      }
    }
    return this.#getToken({});
  }

  /** Refresh-token alone, without falling back to get-token. */
  async #rotate() {
    if (!this.tokens) throw new Error("no refresh token: call getToken() first");
    const credentials = this.#requireCredentials();
    return this.#keepTokens(
      await this.#signed(
        REFRESH,
        { refresh: this.tokens.refresh },
        credentials.deviceId,
        credentials.deviceSecret,
      ),
    );
  }

  // -- plumbing -------------------------------------------------------------------------------

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
  async send(method, target, body, headers) {
    return exchange(this.fetch, this.baseUrl, {
      method,
      target,
      body,
      headers,
      timeout: this.timeout,
    });
  }

  /**
   * Signature headers with this client's clock correction and a fresh nonce, for `target` as
   * `send()` puts it on the wire (the server verifies the target it receives).
   * @param {string} method
   * @param {string} target
   * @param {Uint8Array} body
   * @param {string} keyId
   * @param {string} secret
   */
  sign(method, target, body, keyId, secret) {
    return signRequest({
      keyId,
      secret,
      method,
      target: targetAsSent(target),
      body,
      timestamp: Math.floor(Date.now() / 1000) + this.clockOffset,
      crypto: this.crypto,
    });
  }

  /**
   * POST a signed JSON body; retry once each after a clock correction or a used nonce.
   * @param {string} target
   * @param {unknown} payload
   * @param {string} keyId
   * @param {string} secret
   */
  async #signed(target, payload, keyId, secret) {
    const body = encoder.encode(JSON.stringify(payload));
    const retried = new Set();
    for (;;) {
      const headers = {
        "Content-Type": "application/json",
        ...(await this.sign("POST", target, body, keyId, secret)),
      };
      try {
        return (await this.send("POST", target, body, headers)).json();
      } catch (error) {
        const code = error instanceof ApiError ? error.code : undefined;
        const retriable = code === "timestamp_out_of_window" || code === "nonce_reused";
        if (!retriable || retried.has(code)) throw error;
        retried.add(code);
        if (code === "timestamp_out_of_window") {
          // Without a number of seconds (not this API's answer) there is nothing to correct.
          const serverTime = /** @type {ApiError} */ (error).problem.server_time;
          if (typeof serverTime !== "number" || !Number.isFinite(serverTime)) throw error;
          this.clockOffset = Math.trunc(serverTime) - Math.floor(Date.now() / 1000);
        }
      }
    }
  }

  /**
   * @param {Record<string, any>} body
   * @returns {Tokens}
   */
  #keepTokens(body) {
    const now = Date.now();
    const lifetime = Number(body.expires_in) * 1000;
    this.tokens = {
      access: body.access,
      refresh: body.refresh,
      expiresAt: now + lifetime,
      refreshExpiresAt: now + Number(body.refresh_expires_in) * 1000,
      lifetime,
    };
    return this.tokens;
  }

  #requireCredentials() {
    if (!this.credentials) throw new Error("no device credentials: call register() first");
    return this.credentials;
  }
}

/** @param {Tokens} tokens */
function bearer(tokens) {
  return { Authorization: `Bearer ${tokens.access}` };
}
