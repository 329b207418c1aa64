// The typed client of the vdc management API. Every path, parameter and body type comes
// from src/schema.d.ts, which openapi-typescript generates from docs/openapi.json (the
// document the server serves at /api/v1/openapi.json); `npm run check-generated` fails when
// it is stale. What a generator does not give is written here: the API key header, errors
// as exceptions (VdcApiError), and the long-poll helpers over `?wait=N`.

import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema.js";
import { VdcApiError, VdcWaitError } from "./errors.js";

export type { components, paths, operations } from "./schema.js";

/** Every schema of the OpenAPI document, by name (`Schemas["OfferStatus"]`). */
export type Schemas = components["schemas"];
export type ErrorBody = Schemas["ErrorBody"];
export type IssuerDefinition = Schemas["IssuerDefinition"];
export type IssuerObject = Schemas["IssuerObject"];
export type CreateOffer = Schemas["CreateOffer"];
export type OfferCreated = Schemas["OfferCreated"];
export type OfferStatus = Schemas["OfferStatus"];
export type CredentialObject = Schemas["CredentialObject"];
export type StatusChange = Schemas["StatusChange"];
export type StatusChangeBatch = Schemas["StatusChangeBatch"];
export type VerifierDefinition = Schemas["VerifierDefinition"];
export type VerifierObject = Schemas["VerifierObject"];
export type CreateRequest = Schemas["CreateRequest"];
export type RequestCreated = Schemas["RequestCreated"];
export type RequestResult = Schemas["RequestResult"];
export type CreateWebhook = Schemas["CreateWebhook"];
export type CreatedWebhook = Schemas["CreatedWebhook"];
export type WebhookObject = Schemas["WebhookObject"];
export type DeliveryList = Schemas["DeliveryList"];
export type CreateApiKey = Schemas["CreateApiKey"];
export type CreatedApiKey = Schemas["CreatedApiKey"];
export type AuditPage = Schemas["AuditPage"];

/** Offer statuses after which `?wait` answers at once (the server's final statuses). */
export const FINAL_OFFER_STATUSES: readonly string[] = ["credential_issued", "cancelled", "expired"];
/** Presentation request statuses after which `?wait` answers at once. */
export const FINAL_REQUEST_STATUSES: readonly string[] = ["verified", "rejected", "expired"];
/** The longest `?wait` the server accepts, in seconds. */
export const MAX_WAIT_SECONDS = 60;

export interface VdcClientOptions {
  /** The server's base URL (`http://127.0.0.1:8080`); the API paths start with `/api/v1`. */
  baseUrl: string;
  /** The admin key (`VDC_ADMIN_KEY`) or a scoped key from `POST /api/v1/api-keys`. */
  apiKey: string;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof globalThis.fetch;
}

export interface WaitOptions {
  /** Give up after this many milliseconds (default 120000). */
  timeoutMs?: number;
  /** The `?wait` of each long-poll call, in seconds (1 to 60, default 30). */
  pollSeconds?: number;
}

/** The `data` of a successful openapi-fetch answer (the error branch has no `data`). */
type DataOf<R> = R extends { data: infer D } ? D : never;

/**
 * Awaits an openapi-fetch call and returns its data, or throws VdcApiError for a non-2xx
 * answer. Use it with `client.raw` for any operation: `await unwrap(client.raw.GET(...))`.
 */
export async function unwrap<R extends { response: Response; error?: unknown }>(call: Promise<R>): Promise<DataOf<R>> {
  const r = await call;
  if (!r.response.ok) {
    const url = new URL(r.response.url || "http://invalid/");
    throw VdcApiError.from(r.response, r.error, `${requestMethod(r.response)} ${url.pathname}`);
  }
  return (r as unknown as { data: DataOf<R> }).data;
}

// openapi-fetch keeps the Request of each answer on a WeakMap; the method is only for
// error messages, so it comes from there when the middleware recorded it.
const methods = new WeakMap<Response, string>();
function requestMethod(response: Response): string {
  return methods.get(response) ?? "HTTP";
}

/** Creates a client; see the README of sdks/typescript for an example. */
export function createVdcClient(options: VdcClientOptions) {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const raw: Client<paths> = createClient<paths>({
    baseUrl,
    // The contract's auth: `Authorization: Bearer <api key>` on every management call.
    headers: { Authorization: `Bearer ${options.apiKey}` },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  raw.use({
    onResponse({ request, response }) {
      methods.set(response, request.method);
      return undefined;
    },
  });

  const issuers = {
    list: () => unwrap(raw.GET("/api/v1/issuers")),
    get: (issuer: string) => unwrap(raw.GET("/api/v1/issuers/{issuer}", { params: { path: { issuer } } })),
    create: (body: IssuerDefinition) => unwrap(raw.POST("/api/v1/issuers", { body })),
    /** Offboarding: revokes every authorization code flow login of `subject` at the issuer. */
    revokeSubject: (issuer: string, subject: string) =>
      unwrap(raw.DELETE("/api/v1/issuers/{issuer}/authorizations", { params: { path: { issuer }, query: { subject } } })),
  };

  const offers = {
    create: (issuer: string, body: CreateOffer) =>
      unwrap(raw.POST("/api/v1/issuers/{issuer}/offers", { params: { path: { issuer } }, body })),
    /** One offer; with `wait` (seconds, 0 to 60) the server holds the call until its status changes. */
    get: (issuer: string, id: string, wait?: number) =>
      unwrap(
        raw.GET("/api/v1/issuers/{issuer}/offers/{id}", {
          params: { path: { issuer, id }, query: wait === undefined ? {} : { wait } },
        }),
      ),
    cancel: (issuer: string, id: string) =>
      unwrap(raw.DELETE("/api/v1/issuers/{issuer}/offers/{id}", { params: { path: { issuer, id } } })),
    /** Supplies the claims of a deferred offer. */
    supplyClaims: (issuer: string, id: string, claims: Record<string, unknown>) =>
      unwrap(
        raw.PUT("/api/v1/issuers/{issuer}/offers/{id}/claims", {
          params: { path: { issuer, id } },
          body: claims,
        }),
      ),
    /** The offer URI as a QR code (SVG text). */
    qrSvg: (issuer: string, id: string) =>
      unwrap(
        raw.GET("/api/v1/issuers/{issuer}/offers/{id}/qr.svg", { params: { path: { issuer, id } }, parseAs: "text" }),
      ) as Promise<string>,
  };

  const credentials = {
    get: (issuer: string, id: string) =>
      unwrap(raw.GET("/api/v1/issuers/{issuer}/credentials/{id}", { params: { path: { issuer, id } } })),
    setStatus: (issuer: string, id: string, status: StatusChange["status"]) =>
      unwrap(
        raw.POST("/api/v1/issuers/{issuer}/credentials/{id}/status", {
          params: { path: { issuer, id } },
          body: { status },
        }),
      ),
    /** Changes many statuses at once, all or nothing. */
    setStatuses: (issuer: string, items: StatusChangeBatch["items"]) =>
      unwrap(raw.POST("/api/v1/issuers/{issuer}/credentials/status", { params: { path: { issuer } }, body: { items } })),
  };

  const verifiers = {
    list: () => unwrap(raw.GET("/api/v1/verifiers")),
    get: (verifier: string) => unwrap(raw.GET("/api/v1/verifiers/{verifier}", { params: { path: { verifier } } })),
    create: (body: VerifierDefinition) => unwrap(raw.POST("/api/v1/verifiers", { body })),
  };

  const requests = {
    create: (verifier: string, body: CreateRequest) =>
      unwrap(raw.POST("/api/v1/verifiers/{verifier}/requests", { params: { path: { verifier } }, body })),
    /** One request's result; with `wait` (seconds, 0 to 60) the server holds the call until its status changes. */
    get: (verifier: string, id: string, wait?: number) =>
      unwrap(
        raw.GET("/api/v1/verifiers/{verifier}/requests/{id}", {
          params: { path: { verifier, id }, query: wait === undefined ? {} : { wait } },
        }),
      ),
    /** Redeems the response code of a same-device flow. */
    redeemResponseCode: (verifier: string, body: Schemas["RedeemResponseCode"]) =>
      unwrap(raw.POST("/api/v1/verifiers/{verifier}/response-codes", { params: { path: { verifier } }, body })),
  };

  const webhooks = {
    list: () => unwrap(raw.GET("/api/v1/webhooks")),
    get: (id: string) => unwrap(raw.GET("/api/v1/webhooks/{id}", { params: { path: { id } } })),
    /** Subscribes; the answer's `secret` is shown once: keep it for verifyWebhook. */
    create: (body: CreateWebhook) => unwrap(raw.POST("/api/v1/webhooks", { body })),
    delete: (id: string) => unwrap(raw.DELETE("/api/v1/webhooks/{id}", { params: { path: { id } } })),
    deliveries: (id: string) => unwrap(raw.GET("/api/v1/webhooks/{id}/deliveries", { params: { path: { id } } })),
  };

  const apiKeys = {
    list: () => unwrap(raw.GET("/api/v1/api-keys")),
    /** Creates a scoped key; the answer's `key` is shown once. */
    create: (body: CreateApiKey) => unwrap(raw.POST("/api/v1/api-keys", { body })),
    revoke: (id: string) => unwrap(raw.DELETE("/api/v1/api-keys/{id}", { params: { path: { id } } })),
  };

  const audit = (query: NonNullable<paths["/api/v1/audit"]["get"]["parameters"]["query"]> = {}) =>
    unwrap(raw.GET("/api/v1/audit", { params: { query } }));

  /**
   * Long-polls an offer until `predicate` holds (default: a final status), calling
   * `GET .../offers/{id}?wait=N` so that the server answers as soon as the status changes.
   * Throws VdcWaitError when the offer reaches a final status that does not satisfy the
   * predicate, or when the deadline passes.
   */
  const waitForOffer = (
    issuer: string,
    offerId: string,
    predicate: (offer: OfferStatus) => boolean = (o) => FINAL_OFFER_STATUSES.includes(o.status),
    opts: WaitOptions = {},
  ) => longPoll((wait) => offers.get(issuer, offerId, wait), predicate, FINAL_OFFER_STATUSES, `offer ${offerId}`, opts);

  /**
   * Long-polls a presentation request until it is no longer `pending` (or until
   * `predicate` holds), with `GET .../requests/{id}?wait=N`. Throws VdcWaitError as
   * waitForOffer does.
   */
  const waitForPresentation = (
    verifier: string,
    requestId: string,
    predicate: (result: RequestResult) => boolean = (r) => FINAL_REQUEST_STATUSES.includes(r.status),
    opts: WaitOptions = {},
  ) =>
    longPoll(
      (wait) => requests.get(verifier, requestId, wait),
      predicate,
      FINAL_REQUEST_STATUSES,
      `presentation request ${requestId}`,
      opts,
    );

  return {
    /** The generated openapi-fetch client (every operation, typed), with the API key set. */
    raw,
    baseUrl,
    issuers,
    offers,
    credentials,
    verifiers,
    requests,
    webhooks,
    apiKeys,
    audit,
    waitForOffer,
    waitForPresentation,
  };
}

export type VdcClient = ReturnType<typeof createVdcClient>;

async function longPoll<T extends { status: string }>(
  fetchOnce: (wait: number) => Promise<T>,
  predicate: (value: T) => boolean,
  finals: readonly string[],
  what: string,
  opts: WaitOptions,
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const pollSeconds = Math.min(Math.max(Math.floor(opts.pollSeconds ?? 30), 1), MAX_WAIT_SECONDS);
  const deadline = Date.now() + timeoutMs;
  // The first call does not wait: the condition may already hold.
  let current = await fetchOnce(0);
  for (;;) {
    if (predicate(current)) return current;
    if (finals.includes(current.status)) {
      throw new VdcWaitError("final", `${what} reached the final status ${current.status}`, current);
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new VdcWaitError("timeout", `${what} still ${current.status} after ${timeoutMs} ms`, current);
    }
    // Never hold the server longer than the caller's remaining time (rounded up, at least 1 s).
    current = await fetchOnce(Math.min(pollSeconds, Math.max(1, Math.ceil(left / 1000))));
  }
}
