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
    // A proxy's error page has no code or detail: the status is all there is.
    const code = typeof problem.code === "string" ? problem.code : "error";
    super(`${response.status} ${code}: ${problem.detail || "no problem details in the answer"}`);
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

// What targetAsSent() percent-encodes: all but what every HTTP stack sends as it is, in a path
// and in a query: RFC 3986's unreserved characters, its sub-delimiters but "'", ":@/?", and "%"
// (so that escapes already in a target stay as they are). fetch's URL parser encodes some of the
// others (space, '"', "<", ">", "`", "{", "}", and "'" in a query) and reads "\" as "/";
// OkHttp and others encode yet others.
const NOT_SENT_AS_IS = /[^A-Za-z0-9\-._~!$&()*+,;=:@/?%]/gu;

/**
 * `target` (path and query) in the form that goes on the wire unchanged, whatever the HTTP stack:
 * the #fragment dropped, "." and ".." segments resolved, every other character percent-encoded
 * as UTF-8. fetch would otherwise send something other than the target a signature covers, and
 * the server verifies the target it receives. (Not with `new URL()`: React Native's has no
 * `pathname`.)
 * @param {string} target
 */
export function targetAsSent(target) {
  const [beforeFragment] = target.split("#", 1);
  const query = beforeFragment.indexOf("?");
  const path = query < 0 ? beforeFragment : beforeFragment.slice(0, query);
  const rest = query < 0 ? "" : beforeFragment.slice(query);
  return (withoutDotSegments(path) + rest).replace(NOT_SENT_AS_IS, percentEncoded);
}

/** @param {string} character */
function percentEncoded(character) {
  // encodeURIComponent leaves "'" as it is.
  return character === "'" ? "%27" : encodeURIComponent(character);
}

/**
 * `path` with its "." and ".." segments (also spelt "%2e") resolved, as a URL parser does
 * (RFC 3986, 5.2.4).
 * @param {string} path
 */
function withoutDotSegments(path) {
  const segments = path.split("/");
  /** @type {string[]} */
  const kept = [];
  segments.forEach((segment, index) => {
    const dots = segment.replace(/%2e/giu, ".");
    if (dots !== "." && dots !== "..") {
      kept.push(segment);
      return;
    }
    if (dots === ".." && kept.length > 1) kept.pop();
    // A path ending in a dot segment keeps the slash before it: "/a/b/.." is "/a/".
    if (index === segments.length - 1) kept.push("");
  });
  return kept.join("/");
}

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
export async function exchange(fetchFn, baseUrl, { method, target, body, headers, timeout }) {
  const deadline = abortAfter(timeout);
  /** @type {Response} */
  let answer;
  /** @type {{ bytes: Uint8Array, text: () => string }} */
  let content;
  try {
    answer = await fetchFn(baseUrl + targetAsSent(target), {
      method,
      headers,
      // Cast: TypeScript's DOM types take only bytes over an ArrayBuffer, which these are.
      body: /** @type {Uint8Array<ArrayBuffer> | null} */ (body) ?? undefined,
      // The API never redirects. Following one would send the token or the signed request
      // elsewhere: a 3xx is an ApiError instead (status 0 where fetch hides it, in browsers).
      redirect: "manual",
      signal: deadline.signal,
    });
    // Under the same deadline: a server can stall in the middle of the body too.
    content = await read(answer);
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
    body: content.bytes,
    json: () => {
      const text = content.text();
      return text ? JSON.parse(text) : null;
    },
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
 * The body's bytes as they came, and their text. Without TextDecoder (React Native's Hermes),
 * fetch decodes the UTF-8 itself, and the bytes are those of its text: the same for every
 * answer in UTF-8, which is all this API sends.
 * @param {Response} answer
 */
async function read(answer) {
  if (typeof globalThis.TextDecoder === "function") {
    const bytes = new Uint8Array(await answer.arrayBuffer());
    return { bytes, text: () => new TextDecoder().decode(bytes) };
  }
  const text = await answer.text();
  return { bytes: encoder.encode(text), text: () => text };
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
