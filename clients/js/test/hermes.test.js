// The client on an engine without TextDecoder, as React Native's Hermes is (it has TextEncoder):
// the module must load, and answers must decode as TextDecoder would decode them.
// Node's own fetch needs TextDecoder when it first loads, so it is loaded before the global goes.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

const RealTextDecoder = globalThis.TextDecoder;
void globalThis.fetch;
void globalThis.Response;
delete globalThis.TextDecoder;
const { ApiError, DeviceClient } = await import("../src/index.js");

const env = process.env;
const ME = "/api/v1/me/";
const encoder = new TextEncoder();
const realDecoder = new RealTextDecoder();

/** A client whose fetch answers `bytes` (200, or `status`) to every request. */
function answering(bytes, status = 200) {
  return new DeviceClient("http://127.0.0.1:9", {
    appKeyId: "ios-dev",
    appSecret: "unused",
    fetch: async () => new Response(bytes, { status }),
  });
}

/** `inner` between double quotes: a JSON string whatever TextDecoder makes of the bytes. */
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

test("malformed UTF-8 gives what TextDecoder gives: U+FFFD for each bad sequence", async () => {
  const cases = [
    [0xef, 0xbb, 0xbf, 0x41], // a byte order mark, dropped
    [0xc3], // cut short at the end
    [0xe2, 0x82], // cut short at the end
    [0xf0, 0x9f, 0x94], // cut short at the end
    [0xc3, 0x41], // cut short by ASCII
    [0xe2, 0x28, 0xa1], // a bad second byte
    [0xc0, 0xaf], // overlong
    [0xe0, 0x80, 0xaf], // overlong
    [0xf0, 0x80, 0x80, 0xaf], // overlong
    [0xed, 0xa0, 0x80], // a surrogate
    [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
    [0xf5, 0x80], // never a lead byte
    [0xff, 0xfe], // never in UTF-8
    [0x80, 0xbf], // lone continuation bytes
  ];
  for (const inner of cases) {
    const bytes = quoted(inner);
    const decoded = (await answering(bytes).send("GET", ME, null, {})).json();
    assert.equal(decoded, JSON.parse(realDecoder.decode(bytes)), `bytes ${inner}`);
  }
});

test("random byte strings decode as TextDecoder decodes them", async () => {
  // Printable ASCII but `"` and `\`, bytes above 0x7F, and whole characters: a JSON string.
  const pieces = () => {
    const roll = Math.random();
    if (roll < 0.3) {
      const byte = 0x20 + Math.floor(Math.random() * 95);
      return byte === 0x22 || byte === 0x5c ? [] : [byte];
    }
    if (roll < 0.7) return [0x80 + Math.floor(Math.random() * 128)];
    const codePoint = 0xa0 + Math.floor(Math.random() * (0x10ffff - 0xa0));
    if (codePoint >= 0xd800 && codePoint <= 0xdfff) return [];
    return [...encoder.encode(String.fromCodePoint(codePoint))];
  };
  for (let run = 0; run < 3000; run++) {
    const inner = Array.from({ length: Math.floor(Math.random() * 24) }, pieces).flat();
    const bytes = quoted(inner);
    const decoded = (await answering(bytes).send("GET", ME, null, {})).json();
    assert.equal(decoded, JSON.parse(realDecoder.decode(bytes)), `bytes ${inner}`);
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
