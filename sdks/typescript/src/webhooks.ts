// Webhook deliveries: vdc signs each one with the Standard Webhooks scheme (headers
// `webhook-id`, `webhook-timestamp`, `webhook-signature`; HMAC-SHA256 keyed by the secret
// that `POST /api/v1/webhooks` answered once). Verification is the reference library's
// (npm `standardwebhooks`), not a re-implementation: it also checks the timestamp window
// and compares in constant time. The OpenAPI document does not describe deliveries, so
// their types are written here from the contract ("Webhooks and audit").

import { Webhook, WebhookVerificationError } from "standardwebhooks";

export { WebhookVerificationError };

/** The envelope of every delivery. `data` carries ids and statuses, never claim values. */
export interface WebhookEnvelope<T extends string, D> {
  /** The event id (`evt_...`), one per event; the `webhook-id` header names the message. */
  id: string;
  type: T;
  /** When the event happened (RFC 3339). */
  created_at: string;
  data: D;
}

export type OfferTokenIssuedEvent = WebhookEnvelope<"offer.token_issued", { issuer: string; offer_id: string }>;

export type CredentialIssuedEvent = WebhookEnvelope<
  "credential.issued",
  { issuer: string; credential_id: string; offer_id: string; credential_configuration_id: string; status: string }
>;

export type CredentialStatusChangedEvent = WebhookEnvelope<
  "credential.status_changed",
  { issuer: string; credential_id: string; status: "valid" | "revoked" | "suspended" }
>;

/** `status` is `verified`, `expired`, or for a rejection the reason (`wallet_error`, ...). */
export type PresentationEvent = WebhookEnvelope<
  "presentation.verified" | "presentation.rejected" | "presentation.expired",
  { verifier: string; request_id: string; status: string }
>;

/** Every event a subscription can ask for (`events` of `POST /api/v1/webhooks`). */
export type WebhookEvent = OfferTokenIssuedEvent | CredentialIssuedEvent | CredentialStatusChangedEvent | PresentationEvent;

export type WebhookEventType = WebhookEvent["type"];

/** Request headers as Node's `IncomingMessage.headers`, a fetch `Headers`, or a plain map. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

function plainHeaders(headers: WebhookHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof Headers !== "undefined" && headers instanceof Headers) {
    headers.forEach((value, name) => {
      out[name.toLowerCase()] = value;
    });
    return out;
  }
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    // A repeated header is ambiguous; joining keeps every signature candidate visible to
    // the library, which then accepts only if one of them is valid.
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(" ") : value;
  }
  return out;
}

/**
 * Verifies one delivery and returns its event.
 *
 * @param secret the webhook's `secret` (`whsec_...`) from `POST /api/v1/webhooks`
 * @param headers the delivery's request headers
 * @param body the raw request body, exactly as received (a re-serialised JSON object would
 *   not verify)
 * @throws WebhookVerificationError when the signature, the timestamp or the payload shape
 *   is wrong
 */
export function verifyWebhook(secret: string, headers: WebhookHeaders, body: string | Uint8Array): WebhookEvent {
  const raw = typeof body === "string" ? body : Buffer.from(body).toString("utf8");
  const payload: unknown = new Webhook(secret).verify(raw, plainHeaders(headers));
  // A valid signature proves the sender, not the shape; check the envelope so that callers
  // can rely on the type.
  const p = payload as Record<string, unknown> | null;
  if (
    p === null ||
    typeof p !== "object" ||
    typeof p.id !== "string" ||
    typeof p.type !== "string" ||
    typeof p.created_at !== "string" ||
    p.data === null ||
    typeof p.data !== "object"
  ) {
    throw new WebhookVerificationError("the payload is not a vdc webhook event");
  }
  return payload as WebhookEvent;
}
