/**
 * `target` (path and query) in the form that goes on the wire unchanged, whatever the HTTP stack:
 * the #fragment dropped, "." and ".." segments resolved, every other character percent-encoded
 * as UTF-8. fetch would otherwise send something other than the target a signature covers, and
 * the server verifies the target it receives. (Not with `new URL()`: React Native's has no
 * `pathname`.)
 * @param {string} target
 */
export function targetAsSent(target: string): string;
/**
 * Send one request to `baseUrl + targetAsSent(target)`; resolve with a 2xx answer, reject with
 * an ApiError for any other (3xx included), or an Error named TimeoutError when the whole answer
 * has not come within `timeout` ms.
 * @param {typeof fetch} fetchFn
 * @param {string} baseUrl
 * @param {{ method: string, target: string, body: Uint8Array | null,
 *   headers: Record<string, string>, timeout: number }} request
 * @returns {Promise<ApiResponse>}
 */
export function exchange(fetchFn: typeof fetch, baseUrl: string, { method, target, body, headers, timeout }: {
    method: string;
    target: string;
    body: Uint8Array | null;
    headers: Record<string, string>;
    timeout: number;
}): Promise<ApiResponse>;
/**
 * @typedef {object} ApiResponse
 * @property {number} status
 * @property {Headers} headers
 * @property {Uint8Array} body
 * @property {() => any} json
 */
/** A non-2xx answer: an RFC 9457 problem with a stable `code`. */
export class ApiError extends Error {
    /**
     * @param {ApiResponse} response
     * @param {Record<string, any>} problem
     */
    constructor(response: ApiResponse, problem: Record<string, any>);
    response: ApiResponse;
    problem: Record<string, any>;
    get status(): number;
    /** @returns {string | undefined} */
    get code(): string | undefined;
}
export type ApiResponse = {
    status: number;
    headers: Headers;
    body: Uint8Array;
    json: () => any;
};
