// DeviceClient against a live server: the renewals an app relies on, each through the server's
// real answers. tests/clients/test_js_client.py starts the servers and runs this file with:
//   DEVICEAUTH_SERVER_URL           a server with the default token lifetimes
//   DEVICEAUTH_EXPIRING_SERVER_URL  one whose access tokens expire after DEVICEAUTH_EXPIRING_TTL s
//   DEVICEAUTH_APP_KEY_ID, DEVICEAUTH_APP_SECRET  an app key of both
//   DEVICEAUTH_REVOKED_DEVICE       JSON credentials of a device revoked on the first
// Without them these tests are skipped (and that test fails on any skip).
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { ApiError, DeviceClient, GET_TOKEN, LOGOUT, REFRESH, REGISTER } from "../src/index.js";

const env = process.env;
const ME = "/api/v1/me/";

class RecordingClient extends DeviceClient {
  /** @type {Array<[string, number | string]>} target and status, or the problem's code */
  sent = [];

  async send(method, target, body, headers) {
    try {
      const response = await super.send(method, target, body, headers);
      this.sent.push([target, response.status]);
      return response;
    } catch (error) {
      this.sent.push([target, error instanceof ApiError ? (error.code ?? error.status) : "error"]);
      throw error;
    }
  }

  targets() {
    return this.sent.map(([target]) => target);
  }
}

function newClient(url, options = {}) {
  return new RecordingClient(url, {
    appKeyId: env.DEVICEAUTH_APP_KEY_ID,
    appSecret: env.DEVICEAUTH_APP_SECRET,
    ...options,
  });
}

/**
 * An HTTP proxy to `upstream` that, while `failing`, answers `path` itself with a 503 and
 * Retry-After (as a load balancer does while the API is down) and passes everything else on.
 * @param {string} upstream
 * @param {string} path
 */
async function failingProxy(upstream, path) {
  const hopByHop = ["host", "connection", "keep-alive", "content-length", "transfer-encoding"];
  const proxy = { failing: true, url: "", close: () => {} };
  const server = createServer(async (request, response) => {
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    if (proxy.failing && request.url === path) {
      response.writeHead(503, { "Content-Type": "application/problem+json", "Retry-After": "30" });
      response.end(JSON.stringify({ status: 503, code: "service_unavailable", detail: "Down." }));
      return;
    }
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter(([name]) => !hopByHop.includes(name)),
    );
    const answer = await fetch(upstream + request.url, {
      method: request.method,
      headers: /** @type {Record<string, string>} */ (headers),
      body: chunks.length ? Buffer.concat(chunks) : undefined,
      redirect: "manual",
    });
    const body = Buffer.from(await answer.arrayBuffer());
    response.writeHead(
      answer.status,
      Object.fromEntries([...answer.headers].filter(([name]) => !hopByHop.includes(name))),
    );
    response.end(body);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  proxy.url = `http://127.0.0.1:${/** @type {any} */ (server.address()).port}`;
  proxy.close = () => {
    server.close();
    server.closeAllConnections();
  };
  return proxy;
}

describe("DeviceClient on a live server", { skip: !env.DEVICEAUTH_SERVER_URL }, () => {
  const url = env.DEVICEAUTH_SERVER_URL;

  test("a registered client gets its first token by itself", async () => {
    const client = newClient(url);
    await client.register({ platform: "web", app_version: "2.0.0" });
    const me = (await client.request("GET", ME)).json();
    assert.equal(me.device.id, client.credentials.deviceId);
    assert.equal(me.device.app_version, "2.0.0");
    assert.deepEqual(client.targets(), [REGISTER, GET_TOKEN, ME]);
  });

  test("concurrent requests near expiry share one refresh", async () => {
    const client = newClient(url);
    await client.register({ platform: "android" });
    await client.getToken();
    // 30 s left, inside the 60 s margin: the next requests must refresh first.
    client.tokens = { ...client.tokens, expiresAt: Date.now() + 30_000 };
    client.sent = [];
    const answers = await Promise.all(Array.from({ length: 8 }, () => client.request("GET", ME)));
    assert.deepEqual(
      answers.map((answer) => answer.status),
      Array(8).fill(200),
    );
    // One refresh: a second one would have presented a spent token (token_reused).
    assert.equal(client.targets().filter((target) => target === REFRESH).length, 1);
    assert.ok(client.tokens.expiresAt > Date.now() + 600_000);
  });

  test("a refresh that fails fails every caller that waited for it; none tries again", async () => {
    const proxy = await failingProxy(url, REFRESH);
    try {
      const client = newClient(proxy.url);
      await client.register({ platform: "android" });
      await client.getToken();
      client.tokens = { ...client.tokens, expiresAt: Date.now() + 30_000 };
      client.sent = [];
      const outcomes = await Promise.allSettled(
        Array.from({ length: 8 }, () => client.request("GET", ME)),
      );
      assert.deepEqual(
        outcomes.map((outcome) => outcome.status),
        Array(8).fill("rejected"),
      );
      // One attempt, not eight: one after another, they would ignore Retry-After and spend
      // the auth_token rate limit. And its error, for all of them.
      assert.deepEqual(client.sent, [[REFRESH, "service_unavailable"]]);
      const error = outcomes[0].reason;
      assert.ok(outcomes.every((outcome) => outcome.reason === error));
      assert.ok(error instanceof ApiError);
      assert.equal(error.status, 503);
      assert.equal(error.response.headers.get("retry-after"), "30");
      // Later, with the API back, a request refreshes with the unspent refresh token.
      proxy.failing = false;
      client.sent = [];
      assert.equal((await client.request("GET", ME)).status, 200);
      assert.deepEqual(client.sent, [
        [REFRESH, 200],
        [ME, 200],
      ]);
    } finally {
      proxy.close();
    }
  });

  test("a session ended by another get-token is renewed with get-token", async () => {
    const client = newClient(url);
    await client.register({ platform: "ios" });
    await client.getToken();
    await newClient(url, { credentials: client.credentials }).getToken();
    client.sent = [];
    assert.equal((await client.request("GET", ME)).status, 200);
    assert.deepEqual(client.sent, [
      [ME, "token_revoked"],
      [GET_TOKEN, 200],
      [ME, 200],
    ]);
  });

  test("a revoked device registers again and hands over its new credentials", async () => {
    const revoked = JSON.parse(env.DEVICEAUTH_REVOKED_DEVICE);
    const stored = [];
    const client = newClient(url, {
      credentials: revoked,
      registration: { platform: "ios", device_model: "iPhone 17" },
      onCredentials: (credentials) => stored.push(credentials),
    });
    const me = (await client.request("GET", ME)).json();
    assert.deepEqual(client.sent, [
      [GET_TOKEN, "device_revoked"],
      [REGISTER, 201],
      [GET_TOKEN, 200],
      [ME, 200],
    ]);
    assert.deepEqual(stored, [client.credentials]);
    assert.notEqual(client.credentials.deviceId, revoked.deviceId);
    assert.equal(me.device.device_model, "iPhone 17");
  });

  test("an unknown device without registration fields is an error", async () => {
    const client = newClient(url, {
      credentials: { deviceId: crypto.randomUUID(), deviceSecret: "never-issued", userId: 1 },
    });
    await assert.rejects(client.request("GET", ME), (error) => error.code === "device_unknown");
    assert.deepEqual(client.targets(), [GET_TOKEN]);
  });

  test("a clock an hour behind is corrected from server_time", async (t) => {
    const now = Date.now;
    t.mock.method(Date, "now", () => now() - 3_600_000);
    const client = newClient(url);
    await client.register({ platform: "web" });
    assert.deepEqual(client.sent, [
      [REGISTER, "timestamp_out_of_window"],
      [REGISTER, 201],
    ]);
    // Added to the local clock: an hour, give or take the seconds the requests took.
    assert.ok(Math.abs(client.clockOffset - 3600) <= 2, `clockOffset ${client.clockOffset}`);
    // And what is signed from then on is in the window at the first attempt.
    client.sent = [];
    assert.equal((await client.request("GET", ME)).status, 200);
    assert.deepEqual(client.sent, [
      [GET_TOKEN, 200],
      [ME, 200],
    ]);
  });

  test("targets that fetch would change are signed as sent", async () => {
    const client = newClient(url);
    const { deviceId, deviceSecret } = await client.register({ platform: "web" });
    const body = new TextEncoder().encode("{}");
    client.sent = [];
    const targets = ["?q=café", "?q=a b", '?q={x}"', "?q=it's#part"].map((q) => GET_TOKEN + q);
    targets.push("/api/v1/auth/./get-token/");
    for (const target of targets) {
      const headers = await client.sign("POST", target, body, deviceId, deviceSecret);
      await client.send("POST", target, body, { "Content-Type": "application/json", ...headers });
    }
    assert.deepEqual(
      client.sent,
      targets.map((target) => [target, 200]),
    );
  });

  test("a replayed nonce is signed again with a fresh one", async () => {
    const client = newClient(url);
    await client.register({ platform: "web" });
    let replay = null;
    const sign = client.sign.bind(client);
    client.sign = async (method, target, body, keyId, secret) => {
      const headers = await sign(method, target, body, keyId, secret);
      if (replay === null) replay = headers; // the first get-token's headers...
      else if (replay !== "sent") {
        const again = replay; // ...sent once more, as a broken nonce source would
        replay = "sent";
        return again;
      }
      return headers;
    };
    await client.getToken();
    client.sent = [];
    await client.getToken();
    assert.deepEqual(client.sent, [
      [GET_TOKEN, "nonce_reused"],
      [GET_TOKEN, 200],
    ]);
  });

  test("a logout that fails keeps the tokens, so that it can be tried again", async () => {
    const proxy = await failingProxy(url, LOGOUT);
    try {
      const client = newClient(proxy.url);
      await client.register({ platform: "web" });
      const tokens = await client.getToken();
      client.sent = [];
      await assert.rejects(client.logout(), (error) => error.code === "service_unavailable");
      assert.equal(client.tokens, tokens);
      proxy.failing = false;
      await client.logout();
      assert.equal(client.tokens, null);
      assert.deepEqual(client.sent, [
        [LOGOUT, "service_unavailable"],
        [LOGOUT, 204],
      ]);
      await assert.rejects(
        client.send("GET", ME, null, { Authorization: `Bearer ${tokens.access}` }),
        (error) => error.code === "token_revoked",
      );
    } finally {
      proxy.close();
    }
  });

  test("a logout of a session that has ended already forgets its tokens", async () => {
    const client = newClient(url);
    await client.register({ platform: "web" });
    await client.getToken();
    await newClient(url, { credentials: client.credentials }).getToken();
    client.sent = [];
    await client.logout();
    assert.equal(client.tokens, null);
    // Without a new session started just to end it.
    assert.deepEqual(client.sent, [[LOGOUT, "token_revoked"]]);
  });

  test("logout ends the session for every process", async () => {
    const client = newClient(url);
    await client.register({ platform: "web" });
    await client.getToken();
    const access = client.tokens.access;
    await client.logout();
    await assert.rejects(
      client.send("GET", ME, null, { Authorization: `Bearer ${access}` }),
      (error) => error.status === 401 && error.code === "token_revoked",
    );
  });
});

describe("DeviceClient with short-lived tokens", { skip: !env.DEVICEAUTH_EXPIRING_SERVER_URL }, () => {
  test("a logout after the access token expired refreshes first, then ends the session", async () => {
    const client = newClient(env.DEVICEAUTH_EXPIRING_SERVER_URL);
    await client.register({ platform: "ios" });
    const expired = await client.getToken();
    await sleep((Number(env.DEVICEAUTH_EXPIRING_TTL) + 1.1) * 1000);
    client.sent = [];
    await client.logout();
    assert.deepEqual(client.sent, [
      [REFRESH, 200],
      [LOGOUT, 204],
    ]);
    assert.equal(client.tokens, null);
    // The chain has ended: the refresh token of before is revoked (while the chain lived,
    // presenting it once spent was token_reused).
    const body = new TextEncoder().encode(JSON.stringify({ refresh: expired.refresh }));
    const { deviceId, deviceSecret } = client.credentials;
    const headers = await client.sign("POST", REFRESH, body, deviceId, deviceSecret);
    await assert.rejects(
      client.send("POST", REFRESH, body, { "Content-Type": "application/json", ...headers }),
      (error) => error.code === "token_revoked",
    );
  });

  test("an expired access token is refreshed and the request sent again", async () => {
    const client = newClient(env.DEVICEAUTH_EXPIRING_SERVER_URL);
    await client.register({ platform: "ios" });
    await client.getToken();
    // The token has expired on the server's clock.
    await sleep((Number(env.DEVICEAUTH_EXPIRING_TTL) + 1.1) * 1000);
    // A device whose clock runs behind still believes it valid, so only the server can say.
    client.tokens = { ...client.tokens, expiresAt: Date.now() + 600_000 };
    client.sent = [];
    assert.equal((await client.request("GET", ME)).status, 200);
    assert.deepEqual(client.sent, [
      [ME, "token_expired"],
      [REFRESH, 200],
      [ME, 200],
    ]);
  });
});
