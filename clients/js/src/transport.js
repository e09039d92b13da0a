// @ts-check
/** One HTTP exchange over fetch, with a deadline, and the error a non-2xx answer raises. */

const encoder = new TextEncoder();

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
  constructor(response, problem) {
    super(`${response.status} ${problem.code}: ${problem.detail}`);
    this.name = "ApiError";
    this.response = response;
    this.problem = problem;
  }

  get status() {
    return this.response.status;
  }

  /** @returns {string | undefined} */
  get code() {
    return typeof this.problem.code === "string" ? this.problem.code : undefined;
  }
}

/**
 * Send one request to `baseUrl + target`; resolve with a 2xx answer, reject with an ApiError
 * for any other (3xx included), or an Error named TimeoutError when the whole answer has not
 * come within `timeout` ms.
 * @param {typeof fetch} fetchFn
 * @param {string} baseUrl
 * @param {{ method: string, target: string, body: Uint8Array | null,
 *   headers: Record<string, string>, timeout: number }} request
 * @returns {Promise<ApiResponse>}
 */
export async function exchange(fetchFn, baseUrl, { method, target, body, headers, timeout }) {
  const deadline = abortAfter(timeout);
  /** @type {Response} */
  let answer;
  /** @type {string} */
  let text;
  try {
    answer = await fetchFn(baseUrl + target, {
      method,
      headers,
      body: body ?? undefined,
      // The API never redirects. Following one would send the token or the signed request
      // elsewhere: a 3xx is an ApiError instead (status 0 where fetch hides it, in browsers).
      redirect: "manual",
      signal: deadline.signal,
    });
    // fetch decodes the UTF-8 itself: React Native's Hermes has no TextDecoder. Under the
    // same deadline: a server can stall in the middle of the body too.
    text = await answer.text();
  } catch (error) {
    if (!deadline.signal.aborted) throw error;
    const timedOut = new Error(`${method} ${target}: no answer within ${timeout} ms`, {
      cause: error,
    });
    timedOut.name = "TimeoutError";
    throw timedOut;
  } finally {
    deadline.clear();
  }
  /** @type {ApiResponse} */
  const response = {
    status: answer.status,
    headers: answer.headers,
    body: encoder.encode(text),
    json: () => (text ? JSON.parse(text) : null),
  };
  if (answer.ok) return response;
  let problem = {};
  try {
    const parsed = response.json();
    if (parsed && typeof parsed === "object") problem = parsed;
  } catch {
    // Not JSON (a proxy's error page): the status is all there is.
  }
  throw new ApiError(response, problem);
}

/**
 * A signal that aborts after `ms`, and how to stop its timer once the call is done.
 * AbortSignal.timeout where there is one; React Native's Hermes has only AbortController.
 * @param {number} ms
 */
function abortAfter(ms) {
  if (typeof globalThis.AbortSignal?.timeout === "function") {
    return { signal: AbortSignal.timeout(ms), clear: () => {} };
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
