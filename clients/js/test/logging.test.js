// What a client shows when it is logged: neither its secrets nor its tokens, as the Python client
// leaves them out of repr().
import assert from "node:assert/strict";
import { test } from "node:test";
import { inspect } from "node:util";

import { DeviceClient } from "../src/index.js";

const SECRETS = ["the-app-secret", "the-device-secret", "the-access-token", "the-refresh-token"];

function clientWithSecrets() {
  const client = new DeviceClient("http://127.0.0.1:9", {
    appKeyId: "ios-dev",
    appSecret: "the-app-secret",
    credentials: { deviceId: "a-device", deviceSecret: "the-device-secret", userId: 7 },
  });
  const expiresAt = Date.now() + 900_000;
  const [access, refresh] = ["the-access-token", "the-refresh-token"];
  client.tokens = { access, refresh, expiresAt, refreshExpiresAt: 0 };
  return client;
}

test("neither console.log nor JSON.stringify shows the secrets or the tokens", () => {
  const client = clientWithSecrets();
  const logged = inspect(client, { depth: null, showHidden: true });
  for (const shown of [logged, JSON.stringify(client)]) {
    assert.match(shown, /ios-dev/);
    for (const secret of SECRETS) assert.ok(!shown.includes(secret), `${secret} in ${shown}`);
  }
});

test("the client still reads and sets them as before", () => {
  const client = clientWithSecrets();
  assert.equal(client.appSecret, "the-app-secret");
  assert.equal(client.credentials?.deviceSecret, "the-device-secret");
  assert.equal(client.tokens?.access, "the-access-token");
  client.tokens = null;
  client.credentials = null;
  assert.equal(client.tokens, null);
  assert.equal(client.credentials, null);
});
