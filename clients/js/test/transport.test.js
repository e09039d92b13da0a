// What the client does with answers this API never gives, from local HTTP servers standing in
// for something else on the way (a proxy, a captive portal, a misconfigured load balancer, a
// server that never answers), and with answers a live server cannot be made to give on demand
// (tokens issued for a minute).
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import { after, test } from "node:test";

import {
  ApiError,
  DeviceClient,
  GET_TOKEN,
  LOGOUT,
  REFRESH,
  REGISTER,
  signRequest,
  targetAsSent,
} from "../src/index.js";

const ME = "/api/v1/me/";
const servers = [];
after(() => {
  for (const server of servers) {
    server.close();
    server.closeAllConnections();
  }
});

/** @typedef {import("node:http").IncomingMessage} IncomingMessage */
/** @typedef {import("node:http").ServerResponse} ServerResponse */

/**
 * A local HTTP server that records every request it receives and answers with `answer`.
 * @param {(request: IncomingMessage, response: ServerResponse) => void} answer
 */
async function serve(answer) {
  const received = [];
  const server = createServer(async (request, response) => {
    let body = "";
    for await (const chunk of request) body += chunk;
    received.push({ method: request.method, url: request.url, headers: request.headers, body });
    answer(request, response);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  servers.push(server);
  return { url: `http://127.0.0.1:${server.address().port}`, received };
}

function newClient(url, options = {}) {
  return new DeviceClient(url, { appKeyId: "ios-dev", appSecret: "an-app-secret", ...options });
}

/** Tokens good for 15 more minutes, with the default margin. */
function validTokens() {
  const expiresAt = Date.now() + 900_000;
  const refreshExpiresAt = expiresAt + 86_400_000;
  return { access: "an-access-token", refresh: "r", expiresAt, refreshExpiresAt };
}

function problem(response, status, body) {
  response.writeHead(status, { "Content-Type": "application/problem+json" });
  response.end(JSON.stringify(body));
}

test("a redirect is not followed: the caller gets it, nothing reaches its target", async () => {
  const target = await serve((_, response) => problem(response, 200, {}));
  const redirecting = await serve((request, response) => {
    response.writeHead(302, { Location: target.url + request.url });
    response.end();
  });
  const client = newClient(redirecting.url);
  client.tokens = validTokens();
  /** @param {string} path */
  const redirectedTo = (path) => (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 302);
    assert.equal(error.response.headers.get("location"), target.url + path);
    return true;
  };
  // A bearer request: the token must not travel on.
  await assert.rejects(client.request("GET", ME), redirectedTo(ME));
  // A signed POST: neither sent on as a POST nor turned into a GET.
  await assert.rejects(client.register({ platform: "ios" }), redirectedTo(REGISTER));
  assert.deepEqual(
    redirecting.received.map(({ method, url }) => [method, url]),
    [
      ["GET", ME],
      ["POST", REGISTER],
    ],
  );
  assert.equal(redirecting.received[0].headers.authorization, "Bearer an-access-token");
  assert.deepEqual(target.received, []);
});

for (const [label, serverTime] of [
  ["no server_time", undefined],
  ["a server_time that is not a number", "soon"],
  ["a null server_time", null],
]) {
  test(`timestamp_out_of_window with ${label} is an error: no clock change, no retry`, async () => {
    const other = await serve((_, response) =>
      problem(response, 401, {
        status: 401,
        code: "timestamp_out_of_window",
        detail: "Not this API's answer.",
        ...(serverTime === undefined ? {} : { server_time: serverTime }),
      }),
    );
    const client = newClient(other.url);
    await assert.rejects(
      client.register({ platform: "ios" }),
      (error) => error instanceof ApiError && error.code === "timestamp_out_of_window",
    );
    assert.equal(client.clockOffset, 0);
    assert.equal(other.received.length, 1);
    assert.match(other.received[0].headers["x-timestamp"], /^\d+$/);
  });
}

// Given a deadline of its own, so that without one in the client it fails rather than hangs.
const noAnswer = "a server that never answers: the call times out, and every caller waiting on it";
test(noAnswer, { timeout: 5_000 }, async () => {
  const silent = await serve(() => {}); // reads the request, never answers
  const client = newClient(silent.url, {
    credentials: { deviceId: "a-device", deviceSecret: "its-secret", userId: 7 },
    timeout: 200,
  });
  // Inside the refresh margin: both requests wait for one refresh, and getToken() after it.
  client.tokens = { ...validTokens(), expiresAt: Date.now() + 30_000 };
  const outcomes = await Promise.allSettled([
    client.request("GET", ME),
    client.request("GET", ME),
    client.getToken(),
  ]);
  assert.deepEqual(
    outcomes.map((outcome) => outcome.status),
    ["rejected", "rejected", "rejected"],
  );
  const [refresh, shared, getToken] = outcomes.map((outcome) => outcome.reason);
  assert.equal(refresh.name, "TimeoutError");
  assert.equal(refresh.message, `POST ${REFRESH}: no answer within 200 ms`);
  assert.equal(shared, refresh);
  assert.equal(getToken.message, `POST ${GET_TOKEN}: no answer within 200 ms`);
  assert.deepEqual(silent.received.map(({ url }) => url), [REFRESH, GET_TOKEN]);
  // Nothing is left in flight: the next request tries to refresh again.
  assert.equal(client.renewal, null);
  await assert.rejects(client.request("GET", ME), (error) => error.name === "TimeoutError");
  assert.equal(silent.received.at(-1).url, REFRESH);
});

/**
 * A fake API: registration, tokens issued for `expiresIn` seconds, and 200 to everything else.
 * @param {number} [expiresIn]
 */
function fakeApi(expiresIn = 900) {
  return serve((request, response) => {
    if (request.url === REGISTER) {
      problem(response, 201, { device_id: "a-new-device", device_secret: "s", user_id: 7 });
    } else if (request.url === GET_TOKEN || request.url === REFRESH) {
      const tokens = { access: "a", refresh: "r", expires_in: expiresIn };
      problem(response, 200, { ...tokens, refresh_expires_in: 86400 });
    } else problem(response, 200, {});
  });
}

test("a token issued for the refresh margin is not refreshed before every request", async () => {
  // JWT_ACCESS_TTL=60, the default margin: refreshing before each request would soon hit the
  // auth_token rate limit (5/min).
  const api = await fakeApi(60);
  const client = newClient(api.url);
  await client.register({ platform: "ios" });
  for (let i = 0; i < 4; i++) assert.equal((await client.request("GET", ME)).status, 200);
  const urls = () => api.received.map(({ url }) => url);
  assert.deepEqual(urls(), [REGISTER, GET_TOKEN, ME, ME, ME, ME]);
  // Once half its lifetime is gone, it is refreshed.
  client.tokens = { ...client.tokens, expiresAt: Date.now() + 29_000 };
  await client.request("GET", ME);
  assert.deepEqual(urls().slice(-2), [REFRESH, ME]);
});

test("a request with a null body sends no body, as one without a body", async () => {
  const api = await serve((_, response) => problem(response, 200, {}));
  const client = newClient(api.url);
  client.tokens = validTokens();
  await client.request("POST", ME, null);
  await client.request("POST", ME);
  assert.deepEqual(
    api.received.map(({ headers, body }) => [headers["content-type"], body]),
    [
      [undefined, ""],
      [undefined, ""],
    ],
  );
});

test("targets that fetch would change are sent and signed in a form it sends as it is", async () => {
  const api = await serve((_, response) => problem(response, 200, {}));
  const client = newClient(api.url);
  const body = new TextEncoder().encode("{}");
  const targets = {
    [`${GET_TOKEN}?q=café`]: `${GET_TOKEN}?q=caf%C3%A9`,
    [`${GET_TOKEN}?q=a b&tag=50%25`]: `${GET_TOKEN}?q=a%20b&tag=50%25`,
    [`${GET_TOKEN}?q={x}"'`]: `${GET_TOKEN}?q=%7Bx%7D%22%27`,
    [`${GET_TOKEN}?q=🔐#part`]: `${GET_TOKEN}?q=%F0%9F%94%90`,
    "/api/v1/auth/./x/%2e%2E/get-token/": GET_TOKEN,
  };
  for (const target of Object.keys(targets)) {
    const headers = await client.sign("POST", target, body, "a-device", "its-secret");
    await client.send("POST", target, body, headers);
  }
  assert.deepEqual(
    api.received.map(({ url }) => url),
    Object.values(targets),
  );
  // The server verifies the target it receives.
  for (const { url, headers } of api.received) {
    const expected = await signRequest({
      keyId: "a-device",
      secret: "its-secret",
      method: "POST",
      target: url,
      body,
      timestamp: Number(headers["x-timestamp"]),
      nonce: headers["x-nonce"],
    });
    assert.equal(headers["x-signature"], expected["X-Signature"], url);
  }
});

test("targetAsSent() gives what fetch's URL parser leaves as it is", () => {
  const characters = [" ", "é", "日", "🔐", "\u00a0"];
  for (let code = 0x21; code < 0x7f; code++) characters.push(String.fromCharCode(code));
  for (const character of characters) {
    const target = targetAsSent(`/a${character}b/?q=${character}&r=${character}${character}`);
    const url = new URL(`http://127.0.0.1${target}`);
    assert.equal(url.pathname + url.search, target, JSON.stringify(character));
  }
});

test("an answer's body is its bytes as they came, UTF-8 or not", async () => {
  const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0xff, 0x00, 0xc3, 0x28]);
  const api = await serve((_, response) => {
    response.writeHead(200, { "Content-Type": "image/png" });
    response.end(bytes);
  });
  const answer = await newClient(api.url).send("GET", "/avatar.png", null, {});
  assert.deepEqual(answer.body, bytes);
});

test("a logout whose refresh finds the device revoked forgets the tokens, registers no device", async () => {
  const api = await serve((request, response) => {
    if (request.url === REFRESH) problem(response, 401, { status: 401, code: "device_revoked" });
    else problem(response, 201, { device_id: "a-new-device", device_secret: "s", user_id: 7 });
  });
  const client = newClient(api.url, {
    credentials: { deviceId: "a-device", deviceSecret: "its-secret", userId: 7 },
    registration: { platform: "ios" },
  });
  // About to expire: logout() refreshes first.
  client.tokens = { ...validTokens(), expiresAt: Date.now() + 30_000 };
  await client.logout();
  assert.equal(client.tokens, null);
  assert.equal(client.credentials.deviceId, "a-device");
  assert.deepEqual(
    api.received.map(({ url }) => url),
    [REFRESH],
  );
});

/**
 * An `onCredentials` that fails `failures` times (a Keychain locked during a background fetch),
 * then stores.
 * @param {number} failures
 */
function lockedStorage(failures) {
  const stored = [];
  const store = async (credentials) => {
    if (failures-- > 0) throw new Error("the keychain is locked");
    stored.push(credentials);
  };
  return { store, stored };
}

const NEW_DEVICE = { deviceId: "a-new-device", deviceSecret: "s", userId: 7 };
const locked = { message: "the keychain is locked" };

test("credentials the app failed to store are handed over again before the next request", async () => {
  const api = await fakeApi();
  const storage = lockedStorage(1);
  const client = newClient(api.url, { onCredentials: storage.store });
  await assert.rejects(client.register({ platform: "ios" }), locked);
  assert.deepEqual(storage.stored, []);
  assert.equal((await client.request("GET", ME)).status, 200);
  assert.equal((await client.request("GET", ME)).status, 200);
  // Stored once, before the first request went out; not registered again.
  assert.deepEqual(storage.stored, [NEW_DEVICE]);
  assert.deepEqual(
    api.received.map(({ url }) => url),
    [REGISTER, GET_TOKEN, ME, ME],
  );
});

test("while the app cannot store new credentials, nothing is sent with them", async () => {
  const api = await fakeApi();
  const storage = lockedStorage(4);
  const client = newClient(api.url, { onCredentials: storage.store });
  await assert.rejects(client.register({ platform: "ios" }), locked);
  await assert.rejects(client.getToken(), locked);
  await assert.rejects(client.refresh(), locked);
  await assert.rejects(client.logout(), locked);
  client.tokens = validTokens();
  assert.equal((await client.request("GET", ME)).status, 200);
  assert.deepEqual(storage.stored, [NEW_DEVICE]);
  assert.deepEqual(
    api.received.map(({ url }) => url),
    [REGISTER, ME],
  );
});

test("a refresh token expired by the local clock is not sent", async () => {
  // The server would only refuse it (token_expired), and spend an auth_token request on it.
  const api = await fakeApi();
  const client = newClient(api.url, { credentials: NEW_DEVICE });
  const expired = { ...validTokens(), expiresAt: Date.now() - 60_000, refreshExpiresAt: 0 };
  client.tokens = expired;
  assert.equal((await client.request("GET", ME)).status, 200);
  client.tokens = { ...client.tokens, refreshExpiresAt: Date.now() - 1000 };
  await client.refresh();
  assert.deepEqual(
    api.received.map(({ url }) => url),
    [GET_TOKEN, ME, GET_TOKEN],
  );
});

test("an error answer without problem details says its status", async () => {
  const api = await serve((_, response) => {
    response.writeHead(502, { "Content-Type": "text/html" });
    response.end("<html>Bad Gateway</html>");
  });
  const client = newClient(api.url);
  await assert.rejects(client.register({ platform: "ios" }), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 502);
    assert.equal(error.code, undefined);
    assert.equal(error.message, "502 error: no problem details in the answer");
    return true;
  });
});

test("a session another caller starts during a logout is kept", async () => {
  // The new session is live on the server: forgotten, it would stay there unknown.
  /** @type {DeviceClient} */
  let client;
  let started;
  const api = await serve(async (request, response) => {
    if (request.url === LOGOUT) {
      started = await client.getToken(); // another caller, while the logout is on the wire
      response.writeHead(204);
      response.end();
    } else {
      const tokens = { access: "a-new-session", refresh: "r", expires_in: 900 };
      problem(response, 200, { ...tokens, refresh_expires_in: 86400 });
    }
  });
  client = newClient(api.url, { credentials: NEW_DEVICE });
  client.tokens = validTokens();
  await client.logout();
  assert.deepEqual(
    api.received.map(({ url }) => url),
    [LOGOUT, GET_TOKEN],
  );
  assert.equal(client.tokens, started);
  assert.equal(client.tokens?.access, "a-new-session");
});
