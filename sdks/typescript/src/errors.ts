// Typed errors of the SDK. The management API answers every error as
// `{"error": "<snake_case_code>", "error_description": "<text>"}` with its HTTP status
// (docs/contract/management-api.md); VdcApiError carries exactly those three.

/** A non-2xx answer of the management API. */
export class VdcApiError extends Error {
  /** The HTTP status (400, 401, 403, 404, 409, 413, 415, ...). */
  readonly status: number;
  /** The contract's snake_case code (`invalid_request`, `not_found`, ...). */
  readonly error: string;
  /** The server's human-readable explanation. */
  readonly error_description: string;
  /** The request that failed, as `METHOD path`. */
  readonly request: string;

  constructor(status: number, error: string, errorDescription: string, request: string) {
    super(`${request}: ${status} ${error}: ${errorDescription}`);
    this.name = "VdcApiError";
    this.status = status;
    this.error = error;
    this.error_description = errorDescription;
    this.request = request;
  }

  /**
   * Builds the error from what openapi-fetch parsed of an error body: the contract's
   * `ErrorBody` when the server sent one, else (a proxy's HTML page, an empty body) a code
   * derived from the status so that callers can always switch on `error`.
   */
  static from(response: Response, body: unknown, request: string): VdcApiError {
    if (body !== null && typeof body === "object") {
      const b = body as Record<string, unknown>;
      if (typeof b.error === "string") {
        return new VdcApiError(
          response.status,
          b.error,
          typeof b.error_description === "string" ? b.error_description : "",
          request,
        );
      }
    }
    const text = typeof body === "string" ? body.slice(0, 500) : response.statusText;
    return new VdcApiError(response.status, `http_${response.status}`, text, request);
  }
}

/** A long-poll helper gave up: the deadline passed, or the object reached a final status
 * that does not satisfy the caller's predicate. */
export class VdcWaitError<T> extends Error {
  /** `timeout` (the deadline passed) or `final` (a final status, predicate unmet). */
  readonly reason: "timeout" | "final";
  /** The newest object seen. */
  readonly last: T;

  constructor(reason: "timeout" | "final", message: string, last: T) {
    super(message);
    this.name = "VdcWaitError";
    this.reason = reason;
    this.last = last;
  }
}
