#!/usr/bin/env node
// Independent third-party OpenID4VCI wallet driven by vdc's issuer conformance
// tests. It runs the pre-authorized code flow of OpenID for Verifiable
// Credential Issuance 1.0 against an issuer using the @openid4vc/openid4vci and
// @openid4vc/oauth2 client classes (openwallet-foundation-labs/oid4vc-ts), then
// verifies the received SD-JWT VC with @sd-jwt/sd-jwt-vc. See ../README.md for
// the JSON contract and ../../docs/INTEROP.md for the libraries' quirks.
//
// Usage: node wallet.mjs < request.json
//   request:  {"offer_uri": "openid-credential-offer://?...", "tx_code": "123456" | null,
//              "allow_http": true, "credential_configuration_id": "..." (optional)}
//   answer:   {"ok": true, "credentials": [...], "format", "claims", "steps", ...}
//          or {"ok": false, "step": "...", "error": "...", "error_code"?: "...", "steps": [...]}
// Exit status: 0 whenever an answer was produced (also ok:false); 2 for bad
// usage / malformed request; 1 for an internal crash.

import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import {
  Openid4vciClient,
  Openid4vciRetrieveCredentialsError,
  setGlobalConfig,
} from "@openid4vc/openid4vci";
import {
  Oauth2ClientErrorResponseError,
  clientAuthenticationAnonymous,
  preAuthorizedCodeGrantIdentifier,
  resourceRequest,
} from "@openid4vc/oauth2";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";

const MAX_ERR = 1500;
const FETCH_TIMEOUT_MS = 15000;
const SKEW = 60; // seconds, = vdc_core::time::DEFAULT_SKEW_SECS
const SD_JWT_VC_FORMAT = "dc+sd-jwt";

class StepError extends Error {
  constructor(step, message, code) {
    super(message);
    this.step = step;
    this.code = code;
  }
}
const isObj = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
const b64u = (buf) => Buffer.from(buf).toString("base64url");
const b64uJson = (v) => b64u(Buffer.from(JSON.stringify(v), "utf8"));
const B64URL_RE = /^[A-Za-z0-9_-]*$/;
const publicJwk = (jwk) => ({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y });
const sameP256Key = (a, b) =>
  isObj(a) && isObj(b) && a.kty === "EC" && a.crv === "P-256" && a.kty === b.kty && a.crv === b.crv && a.x === b.x && a.y === b.y;

function decodeJwt(compact, what, step) {
  const parts = typeof compact === "string" ? compact.split(".") : [];
  if (parts.length !== 3 || !parts.every((p) => B64URL_RE.test(p))) throw new StepError(step, `${what} is not a compact JWS`);
  try {
    const header = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8"));
    const payload = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
    if (isObj(header) && isObj(payload)) return { header, payload };
  } catch {
    // fall through
  }
  throw new StepError(step, `${what} header/payload is not a JSON object`);
}

// ------------------------------------------------ crypto callbacks (node:crypto)

/** Fresh P-256 holder key; the private key never leaves this process. */
function makeHolderKey() {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { privateKey, publicJwk: publicJwk(publicKey.export({ format: "jwk" })) };
}

/** ES256 over a JWS signing input: JOSE r||s (RFC 7518 §3.4), not DER. */
const es256Sign = (key, input) => nodeSign("sha256", Buffer.from(input, "utf8"), { key, dsaEncoding: "ieee-p1363" });

function es256Verify(jwk, input, sigB64u) {
  if (!isObj(jwk) || jwk.kty !== "EC" || jwk.crv !== "P-256") return false;
  if (typeof sigB64u !== "string" || !B64URL_RE.test(sigB64u)) return false;
  const sig = Buffer.from(sigB64u, "base64url");
  if (sig.length !== 64) return false;
  let key;
  try {
    key = createPublicKey({ key: publicJwk(jwk), format: "jwk" });
  } catch {
    return false;
  }
  return nodeVerify("sha256", Buffer.from(input, "utf8"), { key, dsaEncoding: "ieee-p1363" }, sig);
}

const HASHES = { "sha-256": "sha256", "sha-384": "sha384", "sha-512": "sha512" };

function makeCallbacks(holder) {
  return {
    // Every HTTP request the libraries make goes through here: no redirects
    // followed, a timeout, and `Accept: application/json` on GETs that name no
    // Accept (the library sends none; OID4VCI 1.0 §12.2.2 RECOMMENDS one).
    fetch: (input, init = {}) => {
      const headers = new Headers(init.headers);
      if ((init.method ?? "GET").toUpperCase() === "GET" && !headers.has("accept")) headers.set("accept", "application/json");
      return fetch(input, { ...init, headers, redirect: "manual", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    },
    hash: (data, alg) => {
      const h = HASHES[alg];
      if (!h) throw new Error(`unsupported hash algorithm ${String(alg).slice(0, 20)}`);
      return new Uint8Array(createHash(h).update(data).digest());
    },
    generateRandom: (n) => new Uint8Array(randomBytes(n)),
    // Only the key proof is signed: ES256 with the holder key, key in the `jwk` header.
    signJwt: async (signer, { header, payload }) => {
      if (signer.method !== "jwk" || signer.alg !== "ES256" || !sameP256Key(signer.publicJwk, holder.publicJwk)) {
        throw new Error(`wallet only signs ES256 with its holder jwk (asked: ${signer.method}/${signer.alg})`);
      }
      const input = `${b64uJson(header)}.${b64uJson(payload)}`;
      return { jwt: `${input}.${b64u(es256Sign(holder.privateKey, input))}`, signerJwk: holder.publicJwk };
    },
    // Used by the library only for signed issuer metadata (application/jwt).
    verifyJwt: async (signer, { compact }) => {
      const parts = compact.split(".");
      if (signer.method !== "jwk" || signer.alg !== "ES256" || parts.length !== 3) return { verified: false };
      const ok = es256Verify(signer.publicJwk, `${parts[0]}.${parts[1]}`, parts[2]);
      return ok ? { verified: true, signerJwk: signer.publicJwk } : { verified: false };
    },
    encryptJwe: () => {
      throw new Error("JWE is not supported by this wallet");
    },
    decryptJwe: () => {
      throw new Error("JWE is not supported by this wallet");
    },
    // Spec: OID4VCI 1.0 §6.1 (pre-authorized code): client_id is optional; the
    // wallet is anonymous (AS metadata `pre-authorized_grant_anonymous_access_supported`).
    clientAuthentication: clientAuthenticationAnonymous(),
  };
}

// ------------------------------------------------------------ SD-JWT VC check

/**
 * Verifies the issued SD-JWT VC: issuer key from the JWT VC Issuer Metadata
 * (draft-ietf-oauth-sd-jwt-vc §"JWT VC Issuer Metadata"), signature and
 * disclosures with @sd-jwt/sd-jwt-vc, then typ, vct, iss and cnf (= holder key).
 */
async function verifyCredential(credential, { callbacks, credentialIssuer, expectedVct, holderJwk, allowHttp }) {
  const step = "verify";
  if (typeof credential !== "string") throw new StepError(step, "credential is not a string (dc+sd-jwt is a compact SD-JWT)");
  const tilde = credential.indexOf("~");
  // Spec: RFC 9901 §4: `<jwt>~<disclosures>~`; an issued credential carries no KB-JWT.
  if (tilde < 0 || !credential.endsWith("~")) throw new StepError(step, "credential is not an SD-JWT ending in '~' (no KB-JWT at issuance)");
  const { header, payload } = decodeJwt(credential.slice(0, tilde), "issuer-signed JWT", step);
  // Spec: draft-ietf-oauth-sd-jwt-vc §"JOSE Header": typ dc+sd-jwt.
  if (header.typ !== "dc+sd-jwt") throw new StepError(step, `issuer JWT typ is ${JSON.stringify(header.typ)}, want "dc+sd-jwt"`);
  if (header.alg !== "ES256") throw new StepError(step, `issuer JWT alg ${JSON.stringify(header.alg)} is not ES256`);
  const iss = payload.iss;
  if (typeof iss !== "string") throw new StepError(step, "credential has no iss");
  if (iss !== credentialIssuer) throw new StepError(step, `credential iss ${iss} != credential issuer ${credentialIssuer}`);

  // Spec: draft-ietf-oauth-sd-jwt-vc §"JWT VC Issuer Metadata Request": insert
  // /.well-known/jwt-vc-issuer between host and path of `iss`.
  const issUrl = new URL(iss);
  if (issUrl.protocol !== "https:" && !(allowHttp && issUrl.protocol === "http:")) throw new StepError(step, "iss is not an https URL");
  const path = issUrl.pathname === "/" ? "" : issUrl.pathname.replace(/\/$/, "");
  const metaUrl = `${issUrl.origin}/.well-known/jwt-vc-issuer${path}`;
  let meta;
  try {
    const res = await callbacks.fetch(metaUrl, { headers: { Accept: "application/json" } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    meta = await res.json();
  } catch (e) {
    throw new StepError(step, `fetching JWT VC issuer metadata ${metaUrl}: ${errText(e)}`);
  }
  if (!isObj(meta) || meta.issuer !== iss) throw new StepError(step, `JWT VC issuer metadata issuer ${JSON.stringify(meta && meta.issuer)} != iss`);
  let jwks = meta.jwks;
  if (jwks === undefined && typeof meta.jwks_uri === "string") {
    try {
      const res = await callbacks.fetch(meta.jwks_uri, { headers: { Accept: "application/json" } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      jwks = await res.json();
    } catch (e) {
      throw new StepError(step, `fetching jwks_uri: ${errText(e)}`);
    }
  }
  if (!isObj(jwks) || !Array.isArray(jwks.keys)) throw new StepError(step, "JWT VC issuer metadata has no jwks");
  const usable = jwks.keys.filter((k) => isObj(k) && k.kty === "EC" && k.crv === "P-256" && (k.use === undefined || k.use === "sig"));
  const candidates = header.kid !== undefined ? usable.filter((k) => k.kid === header.kid) : usable;
  if (candidates.length === 0) throw new StepError(step, `no P-256 key${header.kid !== undefined ? ` with kid ${JSON.stringify(header.kid)}` : ""} in the issuer's jwks`);

  let verifiedWith = null;
  const sdjwt = new SDJwtVcInstance({
    hasher: (data, alg) => {
      if (String(alg).toLowerCase() !== "sha-256") throw new Error(`unsupported _sd_alg ${String(alg).slice(0, 20)}`);
      return new Uint8Array(createHash("sha256").update(data).digest());
    },
    verifier: async (data, sig) => {
      for (const k of candidates) {
        if (es256Verify(k, data, sig)) {
          verifiedWith = k;
          return true;
        }
      }
      return false;
    },
  });
  sdjwt.verifyStatus = async () => {}; // a status list would be fetched; not part of issuance
  let result;
  try {
    result = await sdjwt.verify(credential, { currentDate: Math.floor(Date.now() / 1000), skewSeconds: SKEW });
  } catch (e) {
    throw new StepError(step, `@sd-jwt/sd-jwt-vc rejected the credential: ${errText(e)}`);
  }
  const claims = result.payload;
  if (!verifiedWith) throw new StepError(step, "signature was not checked");
  // Spec: draft-ietf-oauth-sd-jwt-vc §"vct": REQUIRED; must be the configuration's vct.
  if (typeof claims.vct !== "string") throw new StepError(step, "credential has no vct");
  if (expectedVct !== undefined && claims.vct !== expectedVct) throw new StepError(step, `vct ${claims.vct} != configured ${expectedVct}`);
  // Spec: OID4VCI 1.0 §8.2 / SD-JWT VC §"cnf": the credential is bound to the proof key.
  const cnfJwk = isObj(claims.cnf) ? claims.cnf.jwk : undefined;
  if (!sameP256Key(cnfJwk, holderJwk)) throw new StepError(step, "cnf.jwk is not the holder key used in the proof");
  if (isObj(cnfJwk) && typeof cnfJwk.d === "string") throw new StepError(step, "cnf.jwk contains a private key");
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp === "number" && now - SKEW >= claims.exp) throw new StepError(step, "credential already expired");
  if (typeof claims.iat === "number" && claims.iat > now + SKEW) throw new StepError(step, "credential iat in the future");
  return { claims, kid: verifiedWith.kid };
}

// -------------------------------------------------------------------- flow

function errText(e) {
  const m = e && typeof e.message === "string" ? e.message : String(e);
  const cause = e && e.cause ? ` (cause: ${e.cause.message || e.cause})` : "";
  return `${m}${cause}`.slice(0, MAX_ERR);
}

/** Maps a library error to {error, error_code}; error_code is the OAuth `error` value if any. */
function libError(step, e) {
  let code;
  if (e instanceof Oauth2ClientErrorResponseError && isObj(e.errorResponse)) code = e.errorResponse.error;
  if (e instanceof Openid4vciRetrieveCredentialsError) {
    const r = e.response && e.response.credentialErrorResponseResult;
    if (r && r.success) code = r.data.error;
  }
  return new StepError(step, errText(e), typeof code === "string" ? code : undefined);
}

async function run(req) {
  const steps = [];
  const extra = {};
  const at = async (step, fn) => {
    try {
      const v = await fn();
      steps.push(step);
      return v;
    } catch (e) {
      if (e instanceof StepError) throw Object.assign(e, { steps });
      throw Object.assign(libError(step, e), { steps });
    }
  };
  const allowHttp = req.allow_http === true;
  // The libraries refuse http:// URLs (zHttpsUrl) unless this global flag is set.
  setGlobalConfig({ allowInsecureUrls: allowHttp });
  const holder = makeHolderKey();
  const callbacks = makeCallbacks(holder);
  const client = new Openid4vciClient({ callbacks });

  const offer = await at("resolve_offer", async () => {
    // The library fetches credential_offer_uri without looking at its scheme.
    // Spec: OID4VCI 1.0 §4.1.3: the wallet dereferences it; https unless testing.
    let q;
    try {
      q = new URL(req.offer_uri).searchParams;
    } catch {
      throw new StepError("resolve_offer", "offer_uri is not a URL");
    }
    const ref = q.get("credential_offer_uri");
    if (ref !== null && !ref.startsWith("https://") && !(allowHttp && ref.startsWith("http://"))) {
      throw new StepError("resolve_offer", "credential_offer_uri is not https (set allow_http)");
    }
    const o = await client.resolveCredentialOffer(req.offer_uri);
    if (!o.grants || !o.grants[preAuthorizedCodeGrantIdentifier]) {
      throw new StepError("resolve_offer", "offer has no pre-authorized_code grant (only that flow is driven)");
    }
    return o;
  });
  extra.credential_issuer = offer.credential_issuer;

  const { issuerMetadata, configId, config } = await at("metadata", async () => {
    const md = await client.resolveIssuerMetadata(offer.credential_issuer);
    const id = req.credential_configuration_id ?? offer.credential_configuration_ids[0];
    if (!offer.credential_configuration_ids.includes(id)) throw new StepError("metadata", `credential configuration ${id} is not in the offer`);
    const cfg = md.credentialIssuer.credential_configurations_supported[id];
    if (!cfg) throw new StepError("metadata", `credential configuration ${id} not in issuer metadata`);
    if (cfg.format !== SD_JWT_VC_FORMAT) throw new StepError("metadata", `configuration ${id} has format ${cfg.format}; this wallet verifies ${SD_JWT_VC_FORMAT} only`);
    const enc = md.credentialIssuer.credential_response_encryption;
    if (enc && enc.encryption_required) throw new StepError("metadata", "issuer requires credential response encryption; not supported by this wallet");
    return { issuerMetadata: md, configId: id, config: cfg };
  });
  extra.metadata_version = issuerMetadata.originalDraftVersion;
  extra.credential_configuration_id = configId;

  const token = await at("token", async () => {
    const txCode = typeof req.tx_code === "string" ? req.tx_code : undefined;
    const r = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer: offer,
      issuerMetadata,
      txCode,
    });
    return r.accessTokenResponse;
  });

  const nonce = await at("nonce", async () => {
    // Spec: OID4VCI 1.0 §7: c_nonce comes from the Nonce Endpoint when the issuer has one.
    if (!issuerMetadata.credentialIssuer.nonce_endpoint) return undefined;
    const r = await client.requestNonce({ issuerMetadata });
    return r.c_nonce;
  });

  const response = await at("credential", async () => {
    const { jwt } = await client.createCredentialRequestJwtProof({
      issuerMetadata,
      credentialConfigurationId: configId,
      signer: { method: "jwk", alg: "ES256", publicJwk: holder.publicJwk },
      nonce,
      issuedAt: new Date(),
    });
    // Spec: OID4VCI 1.0 §8.2: `proofs` (the single-`proof` parameter is gone in 1.0).
    const proofs = { jwt: [jwt] };
    // Spec: OID4VCI 1.0 §8.2: if the token response has authorization_details with
    // credential_identifiers, the request MUST use credential_identifier instead.
    const detail = Array.isArray(token.authorization_details)
      ? token.authorization_details.find((d) => d && d.credential_configuration_id === configId && Array.isArray(d.credential_identifiers) && d.credential_identifiers.length > 0)
      : undefined;
    if (detail) return credentialByIdentifier({ callbacks, issuerMetadata, accessToken: token.access_token, identifier: detail.credential_identifiers[0], proofs });
    const r = await client.retrieveCredentials({
      issuerMetadata,
      credentialConfigurationId: configId,
      accessToken: token.access_token,
      proofs,
    });
    return r.credentialResponse;
  });

  const { credentials, claims, kid } = await at("verify", async () => {
    // Spec: OID4VCI 1.0 §8.3: `credentials` is an array of objects with `credential`.
    const list = response.credentials;
    if (!Array.isArray(list) || list.length === 0) throw new StepError("verify", "credential response has no `credentials` array (OID4VCI 1.0 §8.3)");
    const creds = list.map((c) => (isObj(c) ? c.credential : undefined));
    if (creds.some((c) => typeof c !== "string")) throw new StepError("verify", "each `credentials` entry must be an object with a string `credential`");
    let first;
    for (const c of creds) {
      const v = await verifyCredential(c, {
        callbacks,
        credentialIssuer: offer.credential_issuer,
        expectedVct: config.vct,
        holderJwk: holder.publicJwk,
        allowHttp,
      });
      first ??= v;
    }
    return { credentials: creds, claims: first.claims, kid: first.kid };
  });

  return {
    ok: true,
    credentials,
    format: config.format,
    claims,
    steps,
    ...extra,
    issuer_kid: kid,
    holder_jwk: holder.publicJwk,
    // Only on request (conformance/e2e.mjs hands the credential to the independent OpenID4VP
    // wallet, which must sign the KB-JWT with this key).
    ...(req.export_holder_private_jwk === true ? { holder_private_jwk: holder.privateKey.export({ format: "jwk" }) } : {}),
    notification_id: response.notification_id,
  };
}

/** Credential request by credential_identifier (library 0.4.6 only builds credential_configuration_id requests). */
async function credentialByIdentifier({ callbacks, issuerMetadata, accessToken, identifier, proofs }) {
  const r = await resourceRequest({
    callbacks,
    accessToken,
    url: issuerMetadata.credentialIssuer.credential_endpoint,
    requestOptions: {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ credential_identifier: identifier, proofs }),
    },
  });
  const text = await r.response.clone().text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!r.ok) throw new StepError("credential", `credential endpoint returned HTTP ${r.response.status}: ${text.slice(0, 500)}`, isObj(body) ? body.error : undefined);
  if (!isObj(body)) throw new StepError("credential", "credential response is not a JSON object");
  return body;
}

// -------------------------------------------------------------------- main

async function main() {
  const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
  if (process.argv.length !== 2) {
    process.stderr.write("usage: node wallet.mjs < request.json\n");
    out({ ok: false, step: "input", error: "usage: node wallet.mjs < request.json" });
    process.exit(2);
  }
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  let req;
  try {
    req = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    req = undefined;
  }
  const bad = (msg) => {
    out({ ok: false, step: "input", error: msg });
    process.exit(2);
  };
  if (!isObj(req)) bad("stdin is not one JSON object");
  if (typeof req.offer_uri !== "string") bad("offer_uri must be a string");
  if (req.tx_code !== undefined && req.tx_code !== null && typeof req.tx_code !== "string") bad("tx_code must be a string or null");
  if (req.allow_http !== undefined && typeof req.allow_http !== "boolean") bad("allow_http must be a boolean");
  if (req.credential_configuration_id !== undefined && typeof req.credential_configuration_id !== "string") bad("credential_configuration_id must be a string");
  if (req.export_holder_private_jwk !== undefined && typeof req.export_holder_private_jwk !== "boolean") bad("export_holder_private_jwk must be a boolean");
  let answer;
  try {
    answer = await run(req);
  } catch (e) {
    if (e instanceof StepError) {
      answer = { ok: false, step: e.step, error: e.message.slice(0, MAX_ERR), steps: e.steps ?? [] };
      if (e.code !== undefined) answer.error_code = e.code;
    } else {
      out({ ok: false, step: "crash", error: errText(e) });
      process.exit(1);
    }
  }
  out(answer);
  process.exit(0);
}

main().catch((e) => {
  process.stdout.write(`${JSON.stringify({ ok: false, step: "crash", error: errText(e) })}\n`);
  process.exit(1);
});
