// The client on an engine without TextDecoder, as React Native's Hermes is (it has TextEncoder):
// the module must load and answers must decode, fetch's Response doing the decoding.
// Node's own fetch needs TextDecoder when it first loads, so it is loaded before the global goes.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

void globalThis.fetch;
void globalThis.Response;
delete globalThis.TextDecoder;
const { ApiError, DeviceClient } = await import("../src/index.js");

const env = process.env;
const ME = "/api/v1/me/";
const encoder = new TextEncoder();

/** A client whose fetch answers `bytes` (200, or `status`) to every request. */
function answering(bytes, status = 200) {
  return new DeviceClient("http://127.0.0.1:9", {
    appKeyId: "ios-dev",
    appSecret: "unused",
    fetch: async () => new Response(bytes, { status }),
  });
}

/** `inner` between double quotes: a JSON string. */
const quoted = (inner) => new Uint8Array([0x22, ...inner, 0x22]);

test("TextDecoder is gone and the client loaded anyway", () => {
  assert.equal(typeof globalThis.TextDecoder, "undefined");
  assert.equal(typeof DeviceClient, "function");
});

test("answers with non-ASCII text decode as TextDecoder decodes them", async () => {
  const problem = {
    code: "validation_error",
    detail: "Zoë’s “device” — 日本語, Ελληνικά, emoji 🔐🇫🇷, U+FFFF \uffff, U+10FFFF \u{10ffff}",
  };
  const bytes = encoder.encode(JSON.stringify(problem));
  assert.deepEqual((await answering(bytes).send("GET", ME, null, {})).json(), problem);
  await assert.rejects(answering(bytes, 400).send("GET", ME, null, {}), (error) => {
    assert.ok(error instanceof ApiError);
    assert.deepEqual(error.problem, problem);
    return true;
  });
});

test("without AbortSignal.timeout, an AbortController ends a call with no answer", async () => {
  // React Native (Hermes) has AbortController but no AbortSignal.timeout.
  const { timeout } = AbortSignal;
  delete AbortSignal.timeout;
  try {
    let aborted = false;
    const client = new DeviceClient("http://127.0.0.1:9", {
      appKeyId: "ios-dev",
      appSecret: "unused",
      timeout: 50,
      // A fetch that never answers, and gives up only when its signal aborts.
      fetch: (_, init) =>
        new Promise((_, reject) =>
          init.signal.addEventListener("abort", () => {
            aborted = true;
            reject(new Error("aborted"));
          }),
        ),
    });
    await assert.rejects(client.send("GET", ME, null, {}), (error) => {
      assert.equal(error.name, "TimeoutError");
      assert.equal(error.message, `GET ${ME}: no answer within 50 ms`);
      return true;
    });
    assert.ok(aborted);
  } finally {
    AbortSignal.timeout = timeout;
  }
});

test("a long answer decodes whole", async () => {
  const text = "é🔐a".repeat(20_000);
  const answer = await answering(quoted(encoder.encode(text))).send("GET", ME, null, {});
  assert.equal(answer.json(), text);
});

describe("without TextDecoder, on a live server", { skip: !env.DEVICEAUTH_SERVER_URL }, () => {
  test("registration, a token and a request; non-ASCII fields come back intact", async () => {
    const client = new DeviceClient(env.DEVICEAUTH_SERVER_URL, {
      appKeyId: env.DEVICEAUTH_APP_KEY_ID,
      appSecret: env.DEVICEAUTH_APP_SECRET,
    });
    const model = "Zoë’s Pixel 日本 🔐";
    await client.register({ platform: "android", device_model: model, locale: "fr-FR" });
    const me = (await client.request("GET", ME)).json();
    assert.equal(me.device.id, client.credentials.deviceId);
    assert.equal(me.device.device_model, model);
  });
});
