// @ts-check
/**
 * Reference client for the template's device authentication, for React Native and browsers.
 *
 *     import { DeviceClient } from "deviceauth";
 *     const client = new DeviceClient("https://api.example.com", { appKeyId, appSecret });
 *     await client.register({ platform: "ios", app_version: "1.4.0" }); // store client.credentials
 *     const me = (await client.request("GET", "/api/v1/me/")).json(); // tokens are handled
 */

export { DeviceClient, GET_TOKEN, LOGOUT, REFRESH, REGISTER } from "./client.js";
export { hmacSha256Hex, newNonce, sha256Hex, signRequest, stringToSign } from "./signing.js";
export { ApiError, targetAsSent } from "./transport.js";

// The types a TypeScript app names (`import type { Tokens } from "deviceauth"`).
/** @typedef {import("./client.js").DeviceClientOptions} DeviceClientOptions */
/** @typedef {import("./client.js").DeviceCredentials} DeviceCredentials */
/** @typedef {import("./client.js").Tokens} Tokens */
/** @typedef {import("./transport.js").ApiResponse} ApiResponse */
/** @typedef {import("./signing.js").SignatureHeaders} SignatureHeaders */
/** @typedef {import("./signing.js").WebCrypto} WebCrypto */
