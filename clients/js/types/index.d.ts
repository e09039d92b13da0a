export type DeviceClientOptions = import("./client.js").DeviceClientOptions;
export type DeviceCredentials = import("./client.js").DeviceCredentials;
export type Tokens = import("./client.js").Tokens;
export type ApiResponse = import("./transport.js").ApiResponse;
export type SignatureHeaders = import("./signing.js").SignatureHeaders;
export type WebCrypto = import("./signing.js").WebCrypto;
export { DeviceClient, GET_TOKEN, LOGOUT, REFRESH, REGISTER } from "./client.js";
export { hmacSha256Hex, newNonce, sha256Hex, signRequest, stringToSign } from "./signing.js";
export { ApiError, targetAsSent } from "./transport.js";
