// What the client does with answers this API never gives, from local HTTP servers standing in
// for something else on the way (a proxy, a captive portal, a misconfigured load balancer).
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import { after, test } from "node:test";

import { ApiError, DeviceClient, REGISTER } from "../src/index.js";

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

function newClient(url) {
  return new DeviceClient(url, { appKeyId: "ios-dev", appSecret: "an-app-secret" });
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
  const expiresAt = Date.now() + 900_000;
  client.tokens = { access: "an-access-token", refresh: "r", expiresAt, refreshExpiresAt: 0 };
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
