// The signing code against every worked example of clients/signature-vectors.json, byte for byte.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";

import { hmacSha256Hex, newNonce, sha256Hex, signRequest, stringToSign } from "../src/index.js";

const vectors = JSON.parse(
  await readFile(new URL("../../signature-vectors.json", import.meta.url), "utf8"),
);

for (const vector of vectors.cases) {
  test(`${vector.name}: body hash, string to sign and every header`, async () => {
    const headers = vector.headers;
    assert.equal(await sha256Hex(vector.body_utf8), vector.body_sha256);
    const message = await stringToSign({
      method: vector.method,
      target: vector.target,
      keyId: headers["X-Key-Id"],
      timestamp: headers["X-Timestamp"],
      nonce: headers["X-Nonce"],
      body: new TextEncoder().encode(vector.body_utf8),
    });
    assert.equal(message, vector.string_to_sign);
    assert.equal(await hmacSha256Hex(vector.key, message), vector.signature);
    const signed = await signRequest({
      keyId: headers["X-Key-Id"],
      secret: vector.key,
      method: vector.method,
      target: vector.target,
      body: vector.body_utf8,
      timestamp: Number(headers["X-Timestamp"]),
      nonce: headers["X-Nonce"],
    });
    assert.deepEqual(signed, headers);
  });
}

test("an empty body hashes as zero bytes, whether null, empty string or empty array", async () => {
  const empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  assert.equal(await sha256Hex(null), empty);
  assert.equal(await sha256Hex(""), empty);
  assert.equal(await sha256Hex(new Uint8Array()), empty);
});

test("nonces are fresh and within the server's alphabet and length", () => {
  const nonces = new Set(Array.from({ length: 100 }, () => newNonce()));
  assert.equal(nonces.size, 100);
  for (const nonce of nonces) assert.match(nonce, /^[A-Za-z0-9_-]{16,64}$/);
});

test("the timestamp defaults to the current Unix second", async () => {
  const before = Math.floor(Date.now() / 1000);
  const headers = await signRequest({ keyId: "k", secret: "s", method: "POST", target: "/" });
  const stamp = Number(headers["X-Timestamp"]);
  assert.ok(stamp >= before && stamp <= before + 1);
});
