#!/usr/bin/env node
// The Node peer of issue 11 ("Throughput"): an OpenID4VCI issuer and an OpenID4VP verifier
// built the way a Node implementer would build them on the OpenWallet Foundation libraries
// (@openid4vc/oauth2, @openid4vc/openid4vci, @openid4vc/openid4vp 0.4.6; @sd-jwt/sd-jwt-vc
// and @sd-jwt/jwt-status-list 0.19.0), with node:crypto for ES256, everything in memory, on
// one event loop. It serves exactly the part of vdc's HTTP interface that `vdc bench
// issuance` and `vdc bench presentation` use, with the same paths and answer shapes, so the
// load generator runs against it unchanged. See README.md next to this file.
//
// Usage: node conformance/peer/server.mjs [--port 8091] [--host 127.0.0.1]
//          [--public-url http://127.0.0.1:8091] [--admin-key KEY]
// Environment: PORT, HOST, PUBLIC_URL, ADMIN_KEY (or VDC_ADMIN_KEY); without a key one is
// generated and printed. Prints one line when listening.

import http from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createDecipheriv,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  randomInt,
  sign as nodeSign,
  timingSafeEqual,
  verify as nodeVerify,
} from "node:crypto";
import {
  Oauth2AuthorizationServer,
  Oauth2ResourceServer,
  Oauth2ResourceUnauthorizedError,
  Oauth2ServerErrorResponseError,
  Oauth2ErrorCodes,
  calculateJwkThumbprint,
  clientAuthenticationAnonymous,
  preAuthorizedCodeGrantIdentifier,
  setGlobalConfig,
} from "@openid4vc/oauth2";
import { Openid4vciIssuer, Openid4vciVersion } from "@openid4vc/openid4vci";
import { Openid4vpVerifier } from "@openid4vc/openid4vp";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { StatusList, createHeaderAndPayload, getListFromStatusListJWT } from "@sd-jwt/jwt-status-list";
import { makeCertificate, toPem } from "./x509.mjs";

// ------------------------------------------------------------------------- settings

function arg(name) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const PORT = Number(arg("port") ?? process.env.PORT ?? 8091);
const HOST = arg("host") ?? process.env.HOST ?? "127.0.0.1";
const BASE = (arg("public-url") ?? process.env.PUBLIC_URL ?? `http://${HOST}:${PORT}`).replace(/\/$/, "");
let ADMIN_KEY = arg("admin-key") ?? process.env.ADMIN_KEY ?? process.env.VDC_ADMIN_KEY;
const generatedAdminKey = !ADMIN_KEY;
if (!ADMIN_KEY) ADMIN_KEY = randomBytes(24).toString("base64url");

const SLUG = "demo"; // the only issuer and the only verifier, as `vdc serve --demo` seeds them
const OFFER_TTL = 600; // s
const TOKEN_TTL = 300; // s
const NONCE_TTL = 300; // s
const REQUEST_TTL = 300; // s (vdc's default presentation request lifetime)
const CREDENTIAL_TTL = 31536000; // s (the demo configuration's expires_in)
const KB_MAX_AGE = 300; // s
const SKEW = 60; // s
const STATUS_LIST_SIZE = Number(process.env.PEER_STATUS_LIST_SIZE ?? 131072); // = VDC_STATUS_LIST_SIZE default
const MAX_BODY = 256 * 1024;

// The libraries refuse http:// URLs (zHttpsUrl) unless told otherwise; the bench runs on
// loopback over plain HTTP.
if (BASE.startsWith("http://")) setGlobalConfig({ allowInsecureUrls: true });

const ISSUER_URL = `${BASE}/issuers/${SLUG}`;
const VERIFIER_RESPONSE_URI = `${BASE}/verifiers/${SLUG}/response`;

// --------------------------------------------------------------------- crypto helpers

const b64u = (buf) => Buffer.from(buf).toString("base64url");
const b64uJson = (v) => b64u(Buffer.from(JSON.stringify(v), "utf8"));
const sha256 = (data) => createHash("sha256").update(data).digest();
const randomId = (n = 16) => b64u(randomBytes(n));
const nowSecs = () => Math.floor(Date.now() / 1000);
const isObj = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
const publicJwkOf = (keyObject) => {
  const { kty, crv, x, y } = keyObject.export({ format: "jwk" });
  return { kty, crv, x, y };
};
const thumbprint = (jwk) => b64u(sha256(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })));
const es256Sign = (privateKey, input) => nodeSign("sha256", Buffer.from(input, "utf8"), { key: privateKey, dsaEncoding: "ieee-p1363" });
const es256Verify = (publicKey, input, sig) =>
  sig.length === 64 && nodeVerify("sha256", Buffer.from(input, "utf8"), { key: publicKey, dsaEncoding: "ieee-p1363" }, sig);

/** A P-256 key with its public JWK and `kid` (RFC 7638 thumbprint). */
function makeKey() {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const publicJwk = publicJwkOf(publicKey);
  return { privateKey, publicKey, publicJwk, kid: thumbprint(publicJwk) };
}

// Public KeyObjects of JWKs seen before (the issuer's, the AS's); holder keys are new each time.
const keyCache = new Map();
function publicKeyFromJwk(jwk) {
  if (!isObj(jwk) || jwk.kty !== "EC" || jwk.crv !== "P-256" || typeof jwk.x !== "string" || typeof jwk.y !== "string") {
    throw new Error("only P-256 keys are supported");
  }
  const id = `${jwk.x}.${jwk.y}`;
  const cached = keyCache.get(id);
  if (cached) return cached;
  return createPublicKey({ key: { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y }, format: "jwk" });
}

const asKey = makeKey(); // signs access tokens (RFC 9068 JWTs)
const issuerKey = makeKey(); // signs SD-JWT VCs and status list tokens
const verifierKey = makeKey(); // signs request objects (certified by the verifier's CA)
for (const k of [asKey, issuerKey]) keyCache.set(`${k.publicJwk.x}.${k.publicJwk.y}`, k.publicKey);
const privateKeyByKid = new Map([asKey, issuerKey, verifierKey].map((k) => [k.kid, k]));

// The verifier's certificates: a per-verifier CA (the anchor `GET /api/v1/verifiers/demo`
// hands out, as vdc's does) and a leaf with the DNS SAN of the client identifier. vdc names
// a loopback public host `localhost` (a DNS SAN cannot hold an IP address).
const publicHost = new URL(BASE).hostname;
const DNS_NAME = /^(127\.|\[?::1\]?$)/.test(publicHost) ? "localhost" : publicHost;
const CLIENT_ID = `x509_san_dns:${DNS_NAME}`;
const certNotBefore = new Date(Date.now() - 60_000);
const certNotAfter = new Date(Date.now() + 365 * 86400_000);
const caKey = makeKey();
const caDer = makeCertificate({
  subject: `peer verifier CA ${SLUG}`,
  issuer: `peer verifier CA ${SLUG}`,
  subjectPublicKey: caKey.publicKey,
  issuerPublicKey: caKey.publicKey,
  issuerPrivateKey: caKey.privateKey,
  ca: true,
  notBefore: certNotBefore,
  notAfter: certNotAfter,
});
const leafDer = makeCertificate({
  subject: `peer verifier ${SLUG}`,
  issuer: `peer verifier CA ${SLUG}`,
  subjectPublicKey: verifierKey.publicKey,
  issuerPublicKey: caKey.publicKey,
  issuerPrivateKey: caKey.privateKey,
  ca: false,
  dnsName: DNS_NAME,
  notBefore: certNotBefore,
  notAfter: certNotAfter,
});
const verifierCreatedAt = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

// ------------------------------------------------------- library callbacks (node:crypto)

const HASHES = { "sha-256": "sha256", "sha-384": "sha384", "sha-512": "sha512" };
const ASJWKS_URI = `${ISSUER_URL}/jwks`;
const asJwks = { keys: [{ ...asKey.publicJwk, kid: asKey.kid, use: "sig", alg: "ES256" }] };

const callbacks = {
  hash: (data, alg) => {
    const h = HASHES[String(alg).toLowerCase()];
    if (!h) throw new Error(`unsupported hash algorithm ${String(alg).slice(0, 20)}`);
    return new Uint8Array(createHash(h).update(data).digest());
  },
  generateRandom: (n) => new Uint8Array(randomBytes(n)),
  // The resource server fetches the AS's JWKS on every access token it checks
  // (verifyJwtProfileAccessToken); the AS is this process, so its own jwks_uri is answered
  // here instead of over a loopback connection.
  fetch: async (input, init) => {
    const url = typeof input === "string" ? input : input.url;
    if (url === ASJWKS_URI) {
      return new Response(JSON.stringify(asJwks), { status: 200, headers: { "content-type": "application/jwk-set+json" } });
    }
    return fetch(input, init);
  },
  signJwt: async (signer, { header, payload }) => {
    let key;
    if (signer.method === "jwk") key = privateKeyByKid.get(thumbprint(signer.publicJwk));
    else if (signer.method === "x5c") key = verifierKey;
    if (!key || signer.alg !== "ES256") throw new Error(`cannot sign for ${signer.method}/${signer.alg}`);
    const h = signer.method === "jwk" ? { ...header, kid: key.kid } : header;
    delete h.jwk; // the AS key is found through jwks_uri + kid, not an embedded key
    const input = `${b64uJson(h)}.${b64uJson(payload)}`;
    return { jwt: `${input}.${b64u(es256Sign(key.privateKey, input))}`, signerJwk: key.publicJwk };
  },
  verifyJwt: async (signer, { compact, header }) => {
    if (signer.method !== "jwk" || header.alg !== "ES256") return { verified: false };
    let key;
    try {
      key = publicKeyFromJwk(signer.publicJwk);
    } catch {
      return { verified: false };
    }
    const dot = compact.lastIndexOf(".");
    const ok = es256Verify(key, compact.slice(0, dot), Buffer.from(compact.slice(dot + 1), "base64url"));
    return ok ? { verified: true, signerJwk: signer.publicJwk } : { verified: false };
  },
  encryptJwe: () => {
    throw new Error("the peer encrypts nothing");
  },
  // direct_post.jwt: ECDH-ES (direct key agreement) + A128GCM/A256GCM, to the ephemeral key
  // of the request (OID4VP 1.0 §8.3).
  decryptJwe: async (jwe, options) => {
    const [protectedB64, encryptedKey, ivB64, ctB64, tagB64] = jwe.split(".");
    const header = JSON.parse(Buffer.from(protectedB64, "base64url").toString("utf8"));
    const entry = responseKeys.get(header.kid);
    if (!entry || header.alg !== "ECDH-ES" || encryptedKey !== "") return { decrypted: false };
    const keyBits = { A128GCM: 128, A256GCM: 256 }[header.enc];
    if (!keyBits || !isObj(header.epk)) return { decrypted: false };
    const z = diffieHellman({ privateKey: entry.privateKey, publicKey: publicKeyFromJwk(header.epk) });
    const cek = concatKdf(z, header.enc, keyBits);
    const decipher = createDecipheriv(`aes-${keyBits}-gcm`, cek, Buffer.from(ivB64, "base64url"));
    decipher.setAAD(Buffer.from(protectedB64, "ascii"));
    decipher.setAuthTag(Buffer.from(tagB64, "base64url"));
    const payload = Buffer.concat([decipher.update(Buffer.from(ctB64, "base64url")), decipher.final()]).toString("utf8");
    return { decrypted: true, decryptionJwk: entry.publicJwk, payload, header };
  },
  clientAuthentication: clientAuthenticationAnonymous(),
};

/** Spec: RFC 7518 §4.6.2 Concat KDF, one SHA-256 round (keys of at most 256 bits). */
function concatKdf(z, enc, keyBits) {
  const lenPrefixed = (buf) => {
    const l = Buffer.alloc(4);
    l.writeUInt32BE(buf.length);
    return Buffer.concat([l, buf]);
  };
  const bitsBuf = Buffer.alloc(4);
  bitsBuf.writeUInt32BE(keyBits);
  const otherInfo = Buffer.concat([lenPrefixed(Buffer.from(enc)), lenPrefixed(Buffer.alloc(0)), lenPrefixed(Buffer.alloc(0)), bitsBuf]);
  return sha256(Buffer.concat([Buffer.from([0, 0, 0, 1]), z, otherInfo])).subarray(0, keyBits / 8);
}

const authorizationServer = new Oauth2AuthorizationServer({ callbacks });
const resourceServer = new Oauth2ResourceServer({ callbacks });
const vciIssuer = new Openid4vciIssuer({ callbacks });
const vpVerifier = new Openid4vpVerifier({ callbacks });

// ------------------------------------------------------------------ issuer metadata

const VCT = "https://vdc.example/vct/employee-badge";
const CONFIGURATIONS = {
  EmployeeBadge: {
    format: "dc+sd-jwt",
    vct: VCT,
    scope: "EmployeeBadge",
    cryptographic_binding_methods_supported: ["jwk"],
    credential_signing_alg_values_supported: ["ES256"],
    proof_types_supported: { jwt: { proof_signing_alg_values_supported: ["ES256"] } },
    credential_metadata: {
      display: [{ name: "Employee badge", locale: "en" }],
      claims: [
        { path: ["given_name"] },
        { path: ["family_name"] },
        { path: ["employee_id"], mandatory: true },
        { path: ["department"] },
      ],
    },
  },
};
const credentialIssuerMetadata = vciIssuer.createCredentialIssuerMetadata({
  credential_issuer: ISSUER_URL,
  credential_endpoint: `${ISSUER_URL}/credential`,
  nonce_endpoint: `${ISSUER_URL}/nonce`,
  display: [{ name: "Node peer demo issuer", locale: "en" }],
  credential_configurations_supported: CONFIGURATIONS,
});
const authorizationServerMetadata = authorizationServer.createAuthorizationServerMetadata({
  issuer: ISSUER_URL,
  token_endpoint: `${ISSUER_URL}/token`,
  jwks_uri: ASJWKS_URI,
  grant_types_supported: [preAuthorizedCodeGrantIdentifier],
  "pre-authorized_grant_anonymous_access_supported": true,
  token_endpoint_auth_methods_supported: ["none"],
});
const issuerMetadata = {
  originalDraftVersion: Openid4vciVersion.V1,
  credentialIssuer: credentialIssuerMetadata,
  authorizationServers: [authorizationServerMetadata],
  knownCredentialConfigurations: vciIssuer.getKnownCredentialConfigurationsSupported(credentialIssuerMetadata),
};
const jwtVcIssuerMetadata = {
  issuer: ISSUER_URL,
  jwks: { keys: [{ ...issuerKey.publicJwk, kid: issuerKey.kid, use: "sig", alg: "ES256" }] },
};

// ------------------------------------------------------------------------ state (Maps)

/** offer id -> {id, ref, code, configurationIds, claims, expiresAt, credentialIssued} */
const offers = new Map();
const offersByCode = new Map(); // pre-authorized code -> offer (deleted on redemption: single use)
const offersByRef = new Map(); // credential_offer_uri secret segment -> offer
const nonces = new Map(); // c_nonce -> expiry (ms); deleted on use: single use
const requests = new Map(); // presentation request id -> record
const requestsByState = new Map(); // state -> record
const responseKeys = new Map(); // kid (= request id) -> ephemeral ECDH key (direct_post.jwt)

// Status lists: allocated at random in lists of STATUS_LIST_SIZE entries, all valid (0);
// the peer never revokes, so a list's token only has to be made once.
const statusLists = []; // {n, uri, used: Uint8Array, free, token}
function allocateStatus() {
  let list = statusLists.find((l) => l.free > 0);
  if (!list) {
    const n = statusLists.length + 1;
    list = { n, uri: `${ISSUER_URL}/status-lists/${n}`, used: new Uint8Array(STATUS_LIST_SIZE), free: STATUS_LIST_SIZE, token: null };
    statusLists.push(list);
  }
  let idx = randomInt(STATUS_LIST_SIZE);
  while (list.used[idx]) idx = (idx + 1) % STATUS_LIST_SIZE;
  list.used[idx] = 1;
  list.free -= 1;
  return { idx, uri: list.uri };
}
function statusListToken(list) {
  if (list.token) return list.token;
  const { header, payload } = createHeaderAndPayload(
    new StatusList(new Array(STATUS_LIST_SIZE).fill(0), 1),
    { sub: list.uri, iss: ISSUER_URL, iat: nowSecs(), ttl: 300 },
    { alg: "ES256", typ: "statuslist+jwt", kid: issuerKey.kid },
  );
  const input = `${b64uJson(header)}.${b64uJson(payload)}`;
  list.token = `${input}.${b64u(es256Sign(issuerKey.privateKey, input))}`;
  return list.token;
}
const statusListByUri = (uri) => statusLists.find((l) => l.uri === uri);

// Expired artifacts are dropped once a second (nothing is durable anyway).
setInterval(() => {
  const now = Date.now();
  for (const [n, exp] of nonces) if (exp <= now) nonces.delete(n);
  for (const [id, o] of offers) {
    if (o.expiresAt <= now) {
      offers.delete(id);
      offersByCode.delete(o.code);
      offersByRef.delete(o.ref);
    }
  }
  for (const [id, r] of requests) {
    if (r.expiresAt + 3600_000 <= now) {
      requests.delete(id);
      requestsByState.delete(r.state);
      responseKeys.delete(id);
    }
  }
}, 1000).unref();

// ------------------------------------------------------------------------ SD-JWT VC

const sdHasher = (data, alg) => {
  if (String(alg).toLowerCase() !== "sha-256") throw new Error(`unsupported _sd_alg ${String(alg).slice(0, 20)}`);
  return new Uint8Array(sha256(data));
};
const sdIssuer = new SDJwtVcInstance({
  signer: (data) => b64u(es256Sign(issuerKey.privateKey, data)),
  signAlg: "ES256",
  hasher: sdHasher,
  hashAlg: "sha-256",
  // 128-bit salts (RFC 9901 §9.3); @sd-jwt/crypto-nodejs's generateSalt(16) gives 64 bits.
  saltGenerator: () => b64u(randomBytes(16)),
});

/** Trusted issuers of the verifier: issuer identifier -> public keys by kid (in process). */
const trustedIssuers = new Map([[ISSUER_URL, new Map([[issuerKey.kid, issuerKey.publicKey]])]]);

const verifyWith = (publicKey) => (data, sig) => {
  const s = Buffer.from(sig, "base64url");
  return es256Verify(publicKey, data, s);
};

// ------------------------------------------------------------------------------ HTTP

class HttpError extends Error {
  constructor(status, error, description, headers) {
    super(description ?? error);
    this.status = status;
    this.body = { error, ...(description ? { error_description: description } : {}) };
    this.headers = headers;
  }
}

function send(res, status, body, headers = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": typeof body === "string" ? headers["content-type"] ?? "text/plain" : "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
const noStore = { "cache-control": "no-store" };

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, "invalid_request", "body too large"));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
async function jsonBody(req) {
  const text = await readBody(req);
  if (text === "") return {};
  try {
    const v = JSON.parse(text);
    if (isObj(v)) return v;
  } catch {
    // fall through
  }
  throw new HttpError(400, "invalid_request", "the body must be a JSON object");
}
async function formBody(req) {
  return Object.fromEntries(new URLSearchParams(await readBody(req)));
}

/** The library's RequestLike: headers as a Headers object, method, full URL. */
function requestLike(req) {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
  return { headers, method: req.method, url: `${BASE}${req.url}` };
}

function requireAdmin(req) {
  const auth = req.headers.authorization ?? "";
  const given = auth.startsWith("Bearer ") ? auth.slice(7) : "";
  if (!timingSafeEqual(sha256(given), sha256(ADMIN_KEY))) {
    throw new HttpError(401, "unauthorized", "a valid admin key is required", { "www-authenticate": "Bearer" });
  }
}

const rfc3339 = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

// --------------------------------------------------------------------------- issuer

/** POST /api/v1/issuers/demo/offers: vdc's creation answer (201). */
async function createOffer(req, res) {
  requireAdmin(req);
  const body = await jsonBody(req);
  const ids = body.credential_configuration_ids;
  if (!Array.isArray(ids) || ids.length !== 1 || typeof ids[0] !== "string" || !CONFIGURATIONS[ids[0]]) {
    throw new HttpError(400, "invalid_request", "credential_configuration_ids must name one configuration of the issuer");
  }
  const claims = isObj(body.claims) ? body.claims[ids[0]] : undefined;
  if (!isObj(claims) || typeof claims.employee_id !== "string") {
    throw new HttpError(400, "invalid_request", `claims.${ids[0]} must be an object with the mandatory employee_id`);
  }
  const id = randomId(16);
  const ref = randomId(16); // the offer id alone does not fetch the offer (as in vdc)
  const credentialOfferUri = `${ISSUER_URL}/offers/${id}.${ref}`;
  const { credentialOffer, credentialOfferObject } = await vciIssuer.createCredentialOffer({
    issuerMetadata,
    credentialConfigurationIds: ids,
    grants: { [preAuthorizedCodeGrantIdentifier]: {} }, // the library makes the code (32 random bytes)
    credentialOfferUri,
  });
  const code = credentialOfferObject.grants[preAuthorizedCodeGrantIdentifier]["pre-authorized_code"];
  const expiresAt = Date.now() + OFFER_TTL * 1000;
  const offer = { id, ref: `${id}.${ref}`, code, configurationIds: ids, claims, expiresAt, credentialIssued: false, object: credentialOfferObject };
  offers.set(id, offer);
  offersByCode.set(code, offer);
  offersByRef.set(offer.ref, offer);
  send(res, 201, {
    id,
    credential_offer: credentialOfferObject,
    credential_offer_uri: credentialOfferUri,
    offer_uri: credentialOffer,
    tx_code: null,
    expires_at: rfc3339(expiresAt),
  });
}

/** GET /issuers/demo/offers/{id}.{tag}: the offer by reference, while its code is unspent. */
function getOffer(res, ref) {
  const offer = offersByRef.get(ref);
  if (!offer || !offersByCode.has(offer.code) || offer.expiresAt <= Date.now()) throw new HttpError(404, "not_found", "no such offer");
  send(res, 200, offer.object, noStore);
}

/** POST /issuers/demo/token: pre-authorized code grant (OID4VCI 1.0 §6). */
async function token(req, res) {
  const body = await formBody(req);
  const request = requestLike(req);
  const parsed = authorizationServer.parseAccessTokenRequest({ request, accessTokenRequest: body });
  if (parsed.grant.grantType !== preAuthorizedCodeGrantIdentifier) {
    throw new HttpError(400, Oauth2ErrorCodes.UnsupportedGrantType, "only the pre-authorized code grant");
  }
  const code = parsed.grant.preAuthorizedCode;
  const offer = offersByCode.get(code);
  // Single use: the code is gone before anything is awaited.
  if (!offer || offer.expiresAt <= Date.now()) throw new HttpError(400, Oauth2ErrorCodes.InvalidGrant, "unknown, used or expired pre-authorized code");
  offersByCode.delete(code);
  await authorizationServer.verifyPreAuthorizedCodeAccessTokenRequest({
    grant: parsed.grant,
    accessTokenRequest: parsed.accessTokenRequest,
    request,
    expectedPreAuthorizedCode: offer.code,
    preAuthorizedCodeExpiresAt: new Date(offer.expiresAt),
    authorizationServerMetadata,
  });
  const answer = await authorizationServer.createAccessTokenResponse({
    authorizationServer: ISSUER_URL,
    audience: ISSUER_URL,
    subject: offer.id,
    expiresInSeconds: TOKEN_TTL,
    signer: { method: "jwk", alg: "ES256", publicJwk: asKey.publicJwk },
  });
  send(res, 200, answer, noStore);
}

/** POST /issuers/demo/nonce (OID4VCI 1.0 §7). */
function nonce(res) {
  const cNonce = randomId(32);
  nonces.set(cNonce, Date.now() + NONCE_TTL * 1000);
  send(res, 200, vciIssuer.createNonceResponse({ cNonce, cNonceExpiresIn: NONCE_TTL }), noStore);
}

/** POST /issuers/demo/credential (OID4VCI 1.0 §8). */
async function credential(req, res) {
  const request = requestLike(req);
  const body = await jsonBody(req);
  const { tokenPayload } = await resourceServer.verifyResourceRequest({
    request,
    resourceServer: ISSUER_URL,
    authorizationServers: [authorizationServerMetadata],
    allowedAuthenticationSchemes: ["Bearer"],
  });
  const offer = offers.get(tokenPayload.sub);
  if (!offer) throw new HttpError(401, "invalid_token", "the offer of this token is gone", { "www-authenticate": 'Bearer error="invalid_token"' });
  const parsed = vciIssuer.parseCredentialRequest({ issuerMetadata, credentialRequest: body });
  const configurationId = parsed.credentialConfigurationId;
  if (!configurationId || !offer.configurationIds.includes(configurationId)) {
    throw new HttpError(400, "invalid_credential_request", "credential_configuration_id is not one of the offer");
  }
  const jwts = parsed.proofs?.jwt;
  if (!Array.isArray(jwts) || jwts.length !== 1) throw new HttpError(400, "invalid_proof", "exactly one jwt proof");
  if (offer.credentialIssued) throw new HttpError(400, "credential_request_denied", "the offer's credential was issued");
  // The proof's c_nonce must be one this issuer handed out and nobody used yet.
  let claimedNonce;
  try {
    claimedNonce = JSON.parse(Buffer.from(jwts[0].split(".")[1], "base64url").toString("utf8")).nonce;
  } catch {
    throw new HttpError(400, "invalid_proof", "the proof is not a JWT");
  }
  const nonceExp = typeof claimedNonce === "string" ? nonces.get(claimedNonce) : undefined;
  if (!nonceExp || nonceExp <= Date.now()) throw new HttpError(400, "invalid_nonce", "unknown, used or expired c_nonce");
  const { signer } = await vciIssuer.verifyCredentialRequestJwtProof({
    issuerMetadata,
    jwt: jwts[0],
    expectedNonce: claimedNonce,
    nonceExpiresAt: new Date(nonceExp),
  });
  // Single use of the nonce and of the offer, decided without an await in between.
  if (!nonces.delete(claimedNonce)) throw new HttpError(400, "invalid_nonce", "c_nonce was used meanwhile");
  if (offer.credentialIssued) throw new HttpError(400, "credential_request_denied", "the offer's credential was issued");
  offer.credentialIssued = true;
  const holderJwk = signer.publicJwk;
  const config = CONFIGURATIONS[configurationId];
  const iat = nowSecs();
  const status = allocateStatus();
  const compact = await sdIssuer.issue(
    {
      iss: ISSUER_URL,
      iat,
      exp: iat + CREDENTIAL_TTL,
      vct: config.vct,
      cnf: { jwk: { kty: holderJwk.kty, crv: holderJwk.crv, x: holderJwk.x, y: holderJwk.y } },
      status: { status_list: { idx: status.idx, uri: status.uri } },
      ...offer.claims,
    },
    { _sd: Object.keys(offer.claims) },
    { header: { typ: "dc+sd-jwt", kid: issuerKey.kid } },
  );
  const answer = vciIssuer.createCredentialResponse({ credentialRequest: parsed, credentials: [{ credential: compact }] });
  // The offer stays (marked issued) until it expires, so a second request is refused as
  // vdc refuses it (credential_request_denied), not as an unknown token.
  offersByRef.delete(offer.ref);
  send(res, 200, answer, noStore);
}

// ------------------------------------------------------------------------- verifier

function verifierObject() {
  return {
    id: SLUG,
    client_id_prefix: "x509_san_dns",
    client_id: CLIENT_ID,
    display: { name: "Node peer demo verifier" },
    trusted_issuers: [...trustedIssuers.keys()],
    require_status: false,
    trusted_issuer_anchors: [],
    response_uri: VERIFIER_RESPONSE_URI,
    created_at: verifierCreatedAt,
    certificate: toPem(leafDer),
    trust_anchor: toPem(caDer),
  };
}

/** POST /api/v1/verifiers/demo/requests: vdc's creation answer. */
async function createRequest(req, res) {
  requireAdmin(req);
  const body = await jsonBody(req);
  const mode = body.response_mode ?? "direct_post";
  if (mode !== "direct_post" && mode !== "direct_post.jwt") throw new HttpError(400, "invalid_request", "response_mode must be direct_post or direct_post.jwt");
  if (!isObj(body.dcql_query) || !Array.isArray(body.dcql_query.credentials) || body.dcql_query.credentials.length === 0) {
    throw new HttpError(400, "invalid_request", "dcql_query must have credentials");
  }
  const ttl = body.expires_in ?? REQUEST_TTL;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86400) throw new HttpError(400, "invalid_request", "expires_in must be 1 s to 1 day");
  const id = randomId(16);
  const nonceValue = randomId(32);
  const state = randomId(32);
  const clientMetadata = {
    vp_formats_supported: {
      "dc+sd-jwt": { "sd-jwt_alg_values": ["ES256"], "kb-jwt_alg_values": ["ES256"] },
    },
  };
  if (mode === "direct_post.jwt") {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const publicJwk = { ...publicJwkOf(publicKey), kid: id, use: "enc", alg: "ECDH-ES" };
    responseKeys.set(id, { privateKey, publicJwk });
    clientMetadata.jwks = { keys: [publicJwk] };
    clientMetadata.encrypted_response_enc_values_supported = ["A128GCM", "A256GCM"];
  }
  const requestUri = `${BASE}/verifiers/${SLUG}/requests/${id}/request.jwt`;
  const created = await vpVerifier.createOpenId4vpAuthorizationRequest({
    authorizationRequestPayload: {
      response_type: "vp_token",
      client_id: CLIENT_ID,
      response_mode: mode,
      response_uri: VERIFIER_RESPONSE_URI,
      nonce: nonceValue,
      state,
      dcql_query: body.dcql_query,
      client_metadata: clientMetadata,
    },
    jar: {
      requestUri,
      jwtSigner: { method: "x5c", alg: "ES256", x5c: [leafDer.toString("base64")] },
      expiresInSeconds: ttl,
      // Spec: OID4VP 1.0 §5.8: the static aud when the wallet's issuer is not known (the
      // library would put the request_uri there).
      additionalJwtPayload: { aud: "https://self-issued.me/v2" },
    },
  });
  const now = Date.now();
  const record = {
    id,
    state,
    nonce: nonceValue,
    mode,
    payload: created.authorizationRequestPayload,
    requestJwt: created.jar.authorizationRequestJwt,
    dcql: body.dcql_query,
    status: "pending",
    presentation: null,
    error: null,
    createdAt: now,
    expiresAt: now + ttl * 1000,
  };
  requests.set(id, record);
  requestsByState.set(state, record);
  send(res, 201, {
    id,
    request_uri: requestUri,
    authorization_request: created.authorizationRequest,
    expires_at: rfc3339(record.expiresAt),
  });
}

function resultObject(r) {
  if (r.status === "pending" && r.expiresAt <= Date.now()) r.status = "expired";
  return {
    id: r.id,
    status: r.status,
    presentation: r.presentation,
    error: r.error,
    created_at: rfc3339(r.createdAt),
    expires_at: rfc3339(r.expiresAt),
  };
}

/** GET /verifiers/demo/requests/{id}/request.jwt: the signed request object of a pending request. */
function requestObject(res, id) {
  const r = requests.get(id);
  if (!r) throw new HttpError(404, "not_found", "no such presentation request");
  if (r.status !== "pending" || r.expiresAt <= Date.now()) throw new HttpError(400, "invalid_request", "the request is not pending");
  send(res, 200, r.requestJwt, { "content-type": "application/oauth-authz-req+jwt", ...noStore });
}

/** uri -> {list: StatusList, until}: decoded status lists, kept for the token's ttl. */
const statusListCache = new Map();
async function cachedStatusList(uri) {
  const hit = statusListCache.get(uri);
  if (hit && hit.until > Date.now()) return hit.list;
  // The list is this process's own: its token is taken from memory, not fetched over HTTP,
  // and checked as a fetched one would be (signature of the issuer, typ, sub).
  const own = statusListByUri(uri);
  if (!own) throw new Error("unknown status list");
  const token = statusListToken(own);
  const [h, p, s] = token.split(".");
  const header = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
  const payload = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
  if (header.typ !== "statuslist+jwt" || payload.sub !== uri) throw new Error("not the status list token of this uri");
  if (!verifyWith(issuerKey.publicKey)(`${h}.${p}`, s)) throw new Error("status list token signature");
  const list = getListFromStatusListJWT(token);
  statusListCache.set(uri, { list, until: Date.now() + (payload.ttl ?? 300) * 1000 });
  return list;
}

/** Checks one SD-JWT VC presentation against its credential query; returns the result entry. */
async function checkPresentation(presentation, query, r) {
  if (typeof presentation !== "string") throw new Error("presentation is not a string");
  const [jwt] = presentation.split("~");
  const [h, p] = jwt.split(".");
  const header = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
  const payload = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
  const keys = trustedIssuers.get(payload.iss);
  if (!keys) throw new Error("the credential's issuer is not trusted");
  const issuerPublicKey = keys.get(header.kid);
  if (!issuerPublicKey) throw new Error("no key of the issuer has this kid");
  if (header.typ !== "dc+sd-jwt") throw new Error("typ is not dc+sd-jwt");
  let kbChecked = false;
  const sd = new SDJwtVcInstance({
    hasher: sdHasher,
    hashAlg: "sha-256",
    verifier: verifyWith(issuerPublicKey),
    kbVerifier: (data, sig, credentialPayload) => {
      kbChecked = true;
      return verifyWith(publicKeyFromJwk(credentialPayload?.cnf?.jwk))(data, sig);
    },
  });
  // Status (draft-ietf-oauth-status-list §8.3) through a cache of decoded lists instead of the
  // library's verifyStatus: that one fetches and decodes the whole token on every
  // verification, and decoding a 131,072-entry list with @sd-jwt/jwt-status-list 0.19.0
  // takes about 16 ms (it builds a number[] bit by bit). A relying party may cache the list
  // for the token's ttl, and any Node deployment would.
  sd.verifyStatus = async (res) => {
    const ref = res.payload.status?.status_list;
    if (!ref) return;
    const list = await cachedStatusList(ref.uri);
    if (list.getStatus(ref.idx) !== 0) throw new Error("the credential is not valid (status list)");
  };
  const result = await sd.verify(presentation, {
    keyBindingNonce: r.nonce,
    currentDate: nowSecs(),
    skewSeconds: SKEW,
    requiredClaimKeys: (query.claims ?? []).map((c) => c.path[0]),
  });
  if (!kbChecked || !result.kb) throw new Error("no key binding");
  // Spec: RFC 9901 §7.3: aud and a fresh iat are the verifier's to check.
  if (result.kb.payload.aud !== r.payload.client_id) throw new Error("KB-JWT aud is not the client_id");
  const now = nowSecs();
  const kbIat = result.kb.payload.iat;
  if (typeof kbIat !== "number" || kbIat < now - KB_MAX_AGE - SKEW || kbIat > now + SKEW) throw new Error("KB-JWT iat is not recent");
  const vcts = query.meta?.vct_values;
  if (Array.isArray(vcts) && !vcts.includes(result.payload.vct)) throw new Error("vct is not among the query's vct_values");
  const claims = {};
  for (const c of query.claims ?? []) {
    if (c.path.length !== 1 || typeof c.path[0] !== "string") throw new Error("only top-level claims are queried here");
    const v = result.payload[c.path[0]];
    if (v === undefined) throw new Error(`claim ${c.path[0]} was not disclosed`);
    if (Array.isArray(c.values) && !c.values.includes(v)) throw new Error(`claim ${c.path[0]} has another value`);
    claims[c.path[0]] = v;
  }
  return { issuer: result.payload.iss, vct: result.payload.vct, claims, status: result.payload.status ? "valid" : null };
}

/** POST /verifiers/demo/response: direct_post or direct_post.jwt (OID4VP 1.0 §8.2, §8.3). */
async function response(req, res) {
  const form = await formBody(req);
  let r;
  if (typeof form.response === "string") {
    // The state is inside the JWE; the request is found through the key's kid.
    try {
      r = requests.get(JSON.parse(Buffer.from(form.response.split(".")[0], "base64url").toString("utf8")).kid);
    } catch {
      r = undefined;
    }
  } else if (typeof form.state === "string") r = requestsByState.get(form.state);
  if (!r) throw new HttpError(400, "invalid_request", "no presentation request has this state");
  if (r.status !== "pending" || r.expiresAt <= Date.now()) throw new HttpError(400, "invalid_request", "the request is not pending");
  r.status = "answering"; // single use: a second response finds the request no longer pending
  try {
    const parsed = await vpVerifier.parseOpenid4vpAuthorizationResponse({
      authorizationResponse: form,
      authorizationRequestPayload: r.payload,
      callbacks,
    });
    if (parsed.authorizationResponsePayload.state !== r.state) throw new Error("state does not match");
    if (parsed.type !== "dcql") throw new Error("not a DCQL response");
    const presentations = parsed.dcql.presentations;
    const out = {};
    for (const query of r.dcql.credentials) {
      const list = presentations[query.id];
      if (!Array.isArray(list) || list.length === 0) throw new Error(`nothing presented for ${query.id}`);
      out[query.id] = [];
      for (const p of list) out[query.id].push(await checkPresentation(p, query, r));
    }
    r.status = "verified";
    r.presentation = out;
    send(res, 200, {}, noStore);
  } catch (e) {
    r.status = "rejected";
    r.error = { error: "invalid_request", error_description: String(e?.errorResponse?.error_description ?? e?.message ?? e).slice(0, 500) };
    throw new HttpError(400, "invalid_request", r.error.error_description);
  } finally {
    responseKeys.delete(r.id);
  }
}

// ---------------------------------------------------------------------------- routing

const ISS = `/issuers/${SLUG}`;
const routes = [
  ["GET", "/healthz", (q, s) => send(s, 200, { status: "ok" })],
  ["GET", "/readyz", (q, s) => send(s, 200, { status: "ready" })],
  ["GET", `/.well-known/openid-credential-issuer${ISS}`, (q, s) => send(s, 200, credentialIssuerMetadata)],
  ["GET", `${ISS}/.well-known/openid-credential-issuer`, (q, s) => send(s, 200, credentialIssuerMetadata)],
  ["GET", `/.well-known/oauth-authorization-server${ISS}`, (q, s) => send(s, 200, authorizationServerMetadata)],
  ["GET", `${ISS}/.well-known/oauth-authorization-server`, (q, s) => send(s, 200, authorizationServerMetadata)],
  ["GET", `/.well-known/jwt-vc-issuer${ISS}`, (q, s) => send(s, 200, jwtVcIssuerMetadata)],
  ["GET", `${ISS}/.well-known/jwt-vc-issuer`, (q, s) => send(s, 200, jwtVcIssuerMetadata)],
  ["GET", `${ISS}/jwks`, (q, s) => send(s, 200, asJwks, { "content-type": "application/jwk-set+json" })],
  ["POST", `${ISS}/token`, token],
  ["POST", `${ISS}/nonce`, (q, s) => nonce(s)],
  ["POST", `${ISS}/credential`, credential],
  ["GET", new RegExp(`^${ISS}/offers/([A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+)$`), (q, s, m) => getOffer(s, m[1])],
  [
    "GET",
    new RegExp(`^${ISS}/status-lists/(\\d+)$`),
    (q, s, m) => {
      const list = statusLists[Number(m[1]) - 1];
      if (!list) throw new HttpError(404, "not_found", "no such status list");
      send(s, 200, statusListToken(list), { "content-type": "application/statuslist+jwt" });
    },
  ],
  ["POST", `/api/v1${ISS}/offers`, createOffer],
  [
    "GET",
    `/api/v1/verifiers/${SLUG}`,
    (q, s) => {
      requireAdmin(q);
      send(s, 200, verifierObject());
    },
  ],
  ["POST", `/api/v1/verifiers/${SLUG}/requests`, createRequest],
  [
    "GET",
    new RegExp(`^/api/v1/verifiers/${SLUG}/requests/([A-Za-z0-9_-]+)$`),
    (q, s, m) => {
      requireAdmin(q);
      const r = requests.get(m[1]);
      if (!r) throw new HttpError(404, "not_found", "no such presentation request");
      send(s, 200, resultObject(r));
    },
  ],
  ["GET", new RegExp(`^/verifiers/${SLUG}/requests/([A-Za-z0-9_-]+)/request\\.jwt$`), (q, s, m) => requestObject(s, m[1])],
  ["POST", `/verifiers/${SLUG}/response`, response],
];

function route(method, path) {
  let pathMatched = false;
  for (const [m, p, handler] of routes) {
    const match = typeof p === "string" ? (p === path ? [path] : null) : path.match(p);
    if (!match) continue;
    pathMatched = true;
    if (m === method) return { handler, match };
  }
  return { pathMatched };
}

/** Maps a library error to its OAuth error answer. */
function errorAnswer(e) {
  if (e instanceof HttpError) return { status: e.status, body: e.body, headers: e.headers };
  if (e instanceof Oauth2ResourceUnauthorizedError) {
    const h = e.wwwAuthenticateHeaders[0] ?? {};
    return {
      status: 401,
      body: { error: h.error ?? "invalid_token", ...(h.error_description ? { error_description: h.error_description } : {}) },
      headers: { "www-authenticate": e.toHeaderValue() },
    };
  }
  if (e instanceof Oauth2ServerErrorResponseError) return { status: e.status ?? 400, body: e.errorResponse };
  return { status: 500, body: { error: "server_error", error_description: "internal error" }, internal: e };
}

// PEER_STATS=1: on exit, print per-route handler times (from the request's arrival to the
// answer) and the event loop delay to stderr.
const stats = process.env.PEER_STATS ? new Map() : null;
const loopDelay = stats ? monitorEventLoopDelay({ resolution: 10 }) : null;
loopDelay?.enable();
function printStats() {
  if (!stats) return;
  for (const [k, v] of stats) {
    v.sort((a, b) => a - b);
    const q = (f) => v[Math.min(v.length - 1, Math.floor(v.length * f))].toFixed(1);
    process.stderr.write(`peer stats: ${k}: ${v.length} requests, p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms\n`);
  }
  const ms = (ns) => (ns / 1e6).toFixed(1);
  process.stderr.write(`peer stats: event loop delay p50 ${ms(loopDelay.percentile(50))} ms, p99 ${ms(loopDelay.percentile(99))} ms, max ${ms(loopDelay.max)} ms\n`);
}

const server = http.createServer({ keepAlive: true }, async (req, res) => {
  const path = req.url.split("?")[0];
  if (stats) {
    const t0 = performance.now();
    res.on("finish", () => {
      const key = `${req.method} ${path.replace(/[A-Za-z0-9_-]{22,}(\.[A-Za-z0-9_-]+)?/g, "{id}")}`;
      if (!stats.has(key)) stats.set(key, []);
      stats.get(key).push(performance.now() - t0);
    });
  }
  try {
    const { handler, match, pathMatched } = route(req.method, path);
    if (!handler) {
      if (pathMatched) throw new HttpError(405, "method_not_allowed", `${req.method} is not allowed here`);
      throw new HttpError(404, "not_found", "no such path");
    }
    await handler(req, res, match);
  } catch (e) {
    const a = errorAnswer(e);
    if (a.internal) process.stderr.write(`peer: ${req.method} ${path}: ${a.internal?.stack ?? a.internal}\n`);
    else if (process.env.PEER_LOG_ERRORS) process.stderr.write(`peer: ${req.method} ${path}: ${a.status} ${JSON.stringify(a.body)}\n`);
    if (!res.headersSent) send(res, a.status, a.body, { ...noStore, ...(a.headers ?? {}) });
    else res.destroy();
  }
});
if (stats) {
  let connections = 0;
  server.on("connection", () => (connections += 1));
  process.on("exit", () => process.stderr.write(`peer stats: ${connections} connections accepted\n`));
}
server.keepAliveTimeout = 75_000;
server.headersTimeout = 80_000;
server.listen(PORT, HOST, () => {
  const key = generatedAdminKey ? ` admin key ${ADMIN_KEY}` : "";
  process.stdout.write(`node peer listening on ${HOST}:${PORT} (public URL ${BASE}; issuer ${ISSUER_URL}, verifier ${CLIENT_ID})${key}\n`);
});
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    printStats();
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 500).unref();
  });
}
