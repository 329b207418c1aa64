#!/usr/bin/env node
// The HAIP 1.0 conformance suite: independent implementations judge vdc's HAIP mode.
//
// Through the management API it creates a HAIP-mode issuer (wallet-provider and
// key-attestation trust anchors made here, the IdP from haip.sh, DPoP required) and a
// HAIP-mode verifier, then drives them as a wallet with the pinned libraries:
//
//   issuer   @openid4vc/openid4vci + @openid4vc/oauth2 0.4.6 (metadata, the client attestation
//            headers at PAR and token, DPoP, key attestations, `resourceRequest`);
//            jose 6.2.19 for what the libraries lack (OID4VCI 1.0 §10 JWE request/response,
//            x5c → key, JWS verification)
//   verifier @openid4vc/openid4vp 0.4.6 (x509_hash request object, direct_post.jwt with a jose
//            ECDH-ES JWE honouring the library's apu/apv), @sd-jwt/sd-jwt-vc (KB-JWT),
//            the DCQL `trusted_authorities` `aki` match done here (the library does none)
//
// Steps (each prints PASS/FAIL; SKIP when a prerequisite failed; INFO for library-vs-spec
// observations that do not decide the run):
//   setup     issuer + verifier created in HAIP mode, /haip reports, AS and issuer metadata,
//             signed metadata (Accept: application/jwt), direct_post refused by the verifier
//   (a)       pre-authorized code + wallet attestation + DPoP → `attestation` proof type →
//             encrypted request, encrypted response (jose compactDecrypt)
//   (b)       authorization code flow: PAR with wallet attestation, login at the IdP, code +
//             attestation + DPoP, `jwt` proof with `key_attestation` in an encrypted request
//             (jose CompactEncrypt ECDH-ES/A256GCM to credential_request_encryption.jwks)
//   (c)       each SD-JWT VC's x5c: no anchor, leaf not self-signed, chain to
//             /issuers/{i}/trust-anchor.pem, signature (jose, @sd-jwt); Status List Token too
//   (d)       presentation to the HAIP verifier (x509_hash, direct_post.jwt, DCQL aki)
//   (e)       refusals: no attestation (401 invalid_client), untrusted / self-signed / expired
//             attestations, wrong PoP aud, PoP replay and a 6-way race (one winner),
//             untrusted / wrong-nonce / missing / mismatched key attestations, plain request
//             with credential_response_encryption, a credential outside trusted_authorities
//   encryption_required (PATCH require_credential_encryption), ABCA challenges (missing,
//             header retry, reused, made up), PAR with/without attestation and a wrong client_id
// Environment: VDC_BASE_URL, VDC_ADMIN_KEY, VDC_HAIP_ISSUER_ID, VDC_HAIP_IDP_ISSUER,
// VDC_HAIP_IDP_CLIENT_ID, VDC_HAIP_IDP_SECRET (suites/haip.sh sets them).
// Exit: 0 iff no step failed.

import { execFile } from "node:child_process";
import { X509Certificate, createHash, randomBytes, sign as nodeSign } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import {
  Oauth2Client,
  Oauth2ClientErrorResponseError,
  clientAuthenticationClientAttestationJwt,
  resourceRequest,
  setGlobalConfig as setOauth2Config,
} from "@openid4vc/oauth2";
import {
  Openid4vciClient,
  Openid4vciRetrieveCredentialsError,
  Openid4vciWalletProvider,
  createKeyAttestationJwt,
  setGlobalConfig as setVciConfig,
} from "@openid4vc/openid4vci";
import { Openid4vpClient } from "@openid4vc/openid4vp";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { CompactEncrypt, compactDecrypt, compactVerify, decodeProtectedHeader, importJWK } from "jose";

import { b64u, decodeJws, es256Key, isObj, isSelfSigned, keyIdentifiers, makeCa, makeCallbacks, makeLeaf, sameJwk, signEs256 } from "./lib.mjs";

const MAX = 1200;
const base = (process.env.VDC_BASE_URL ?? "").replace(/\/+$/, "");
const adminKey = process.env.VDC_ADMIN_KEY ?? "";
const issuerId = process.env.VDC_HAIP_ISSUER_ID ?? `haip-${randomBytes(4).toString("hex")}`;
const idp = {
  issuer: process.env.VDC_HAIP_IDP_ISSUER,
  client_id: process.env.VDC_HAIP_IDP_CLIENT_ID ?? "vdc-haip-issuer",
  client_secret: process.env.VDC_HAIP_IDP_SECRET,
};
if (!base || !adminKey || !idp.issuer || !idp.client_secret) {
  console.error("haip/suite.mjs: set VDC_BASE_URL, VDC_ADMIN_KEY, VDC_HAIP_IDP_ISSUER, VDC_HAIP_IDP_SECRET (run suites/haip.sh)");
  process.exit(2);
}
setOauth2Config({ allowInsecureUrls: true });
setVciConfig({ allowInsecureUrls: true });
const credentialIssuer = `${base}/issuers/${issuerId}`;
const CONFIG_ID = "EmployeeBadge";
const VCT = "https://acme.example/vct/employee-badge";
const CLIENT_ID = "https://wallet.example/vdc-haip-conformance";
const CLAIMS = { given_name: "Ada", family_name: "Lovelace", employee_id: "E-HAIP-1" };
// What the IdP (conformance/idp/provider.mjs, user ada) yields through the claim_mapping.
const LOGIN_CLAIMS = { given_name: "Ada", family_name: "Lovelace", employee_id: "1001" };

// ------------------------------------------------------------------ reporting

let failed = 0;
let passed = 0;
const short = (d) => (typeof d === "string" ? d : JSON.stringify(d)).slice(0, MAX);
function pass(name) {
  passed += 1;
  console.log(`  PASS  ${name}`);
  return true;
}
function fail(name, detail) {
  failed += 1;
  console.log(`  FAIL  ${name}${detail === undefined ? "" : `: ${short(detail)}`}`);
  return false;
}
const check = (name, ok, detail) => (ok ? pass(name) : fail(name, detail));
function skip(name, why) {
  console.log(`  SKIP  ${name} (${why})`);
}
function section(title) {
  console.log(`-- ${title}`);
}
function errDetail(e) {
  if (e instanceof Oauth2ClientErrorResponseError) return { status: e.response?.status, body: e.errorResponse };
  if (e instanceof Openid4vciRetrieveCredentialsError) {
    return { status: e.response?.response?.status, body: e.response?.credentialErrorResponseResult?.data ?? e.message };
  }
  let m = e?.message ?? String(e);
  if (e?.cause) m += ` (cause: ${e.cause.message ?? e.cause})`;
  return m;
}
/** Runs `fn`; a throw is a FAIL with the server's answer. Returns the value or undefined. */
async function step(name, fn) {
  try {
    const v = await fn();
    pass(name);
    return v;
  } catch (e) {
    fail(name, errDetail(e));
    return undefined;
  }
}

// ------------------------------------------------------------------ HTTP helpers

async function api(method, path, body) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15000),
  });
  const text = await r.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, body: json };
}
async function getText(url) {
  const r = await fetch(url, { signal: AbortSignal.timeout(15000) });
  return { status: r.status, type: r.headers.get("content-type") ?? "", text: await r.text() };
}

/** Plays the browser (conformance/idp/login.mjs): authorization URL → IdP login → redirect. */
async function login(authorizationUrl, redirectUri, user, password) {
  const script = join(dirname(fileURLToPath(import.meta.url)), "../idp/login.mjs");
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [script, authorizationUrl, redirectUri, user, password], { timeout: 30000 });
    const out = JSON.parse(stdout.trim().split("\n").pop());
    if (typeof out.redirect !== "string") throw new Error(`login.mjs printed ${stdout.slice(0, 300)}`);
    return out.redirect;
  } catch (e) {
    throw new Error(`login.mjs: ${(e.stderr || "").trim() || e.message}`);
  }
}

// ------------------------------------------------------------------ X.509 chains

/**
 * HAIP 1.0 §6.1.1 / §4.4.1 / §4.5.1 / §5: `x5c` holds the signer's certificate (and
 * intermediates), never the trust anchor; the signing certificate is not self-signed; every
 * certificate is issued by the next, the last by the anchor; all are valid now.
 * Returns the leaf certificate or throws with the broken rule.
 */
function checkChain(x5c, anchorPem, what) {
  if (!Array.isArray(x5c) || x5c.length === 0 || x5c.some((c) => typeof c !== "string")) throw new Error(`${what}: no x5c`);
  const anchor = new X509Certificate(anchorPem);
  const certs = x5c.map((c) => new X509Certificate(Buffer.from(c, "base64")));
  if (certs.some((c) => c.raw.equals(anchor.raw))) throw new Error(`${what}: x5c includes the trust anchor (HAIP 1.0 forbids it)`);
  if (isSelfSigned(certs[0])) throw new Error(`${what}: the x5c leaf is self-signed (HAIP 1.0 forbids it)`);
  const now = Date.now();
  for (let i = 0; i < certs.length; i++) {
    const c = certs[i];
    const up = i + 1 < certs.length ? certs[i + 1] : anchor;
    if (!c.checkIssued(up) || !c.verify(up.publicKey)) throw new Error(`${what}: x5c[${i}] is not issued by ${i + 1 < certs.length ? `x5c[${i + 1}]` : "the trust anchor"}`);
    if (now < Date.parse(c.validFrom) || now > Date.parse(c.validTo)) throw new Error(`${what}: x5c[${i}] is not valid now`);
  }
  return certs[0];
}

/** The base64url AKI keyIdentifiers of every certificate in an x5c (OID4VP 1.0 §6.1.1.1). */
const chainAkis = (x5c) => x5c.map((c) => keyIdentifiers(Buffer.from(c, "base64")).aki).filter(Boolean).map((b) => b64u(b));

// ------------------------------------------------------------------ the wallet

const walletProviderCa = makeCa("HAIP conformance Wallet Provider CA");
const walletProviderLeaf = makeLeaf(walletProviderCa, "HAIP conformance wallet attestation signer");
const keyAttesterCa = makeCa("HAIP conformance Key Attestation CA");
const keyAttesterLeaf = makeLeaf(keyAttesterCa, "HAIP conformance key attestation signer");
const rogueCa = makeCa("Untrusted CA");
const rogueLeaf = makeLeaf(rogueCa, "Untrusted attestation signer");

/**
 * A wallet instance: its attestation key (cnf of the wallet attestation), a DPoP key, the
 * attestation signer, and the library callbacks. When the AS publishes a `challenge_endpoint`
 * (ABCA §"Challenges"), each PoP gets a fresh `challenge` (added in signJwt: the library has no
 * challenge support; FINDINGS.md).
 */
function makeWallet({ signer = walletProviderLeaf, clientId = CLIENT_ID, popAud, replayHeaders, keys = [], challenge, expiresIn = 3600 } = {}) {
  const instance = es256Key();
  const dpopKey = es256Key();
  const box = { challenge: undefined, lastPop: undefined, lastAttestation: undefined };
  const callbacks = makeCallbacks({
    keys: [instance, dpopKey, signer, ...keys],
    rewrite: (header, payload) => {
      if (header.typ === "oauth-client-attestation-pop+jwt") {
        if (box.challenge) payload.challenge = box.challenge;
        if (popAud) payload.aud = popAud;
      }
      return { header, payload };
    },
  });
  const attestation = () =>
    new Openid4vciWalletProvider({ callbacks }).createWalletAttestationJwt({
      signer: { method: "x5c", alg: "ES256", x5c: signer.x5c },
      issuer: "https://wallet-provider.example",
      clientId,
      issuedAt: new Date(Date.now() - 5000 - Math.max(0, -expiresIn) * 2000),
      expiresAt: new Date(Date.now() + expiresIn * 1000),
      confirmation: { jwk: instance.publicJwk },
      walletName: "vdc HAIP conformance wallet",
    });
  const clientAuthentication = async (opts) => {
    if (replayHeaders) {
      for (const [k, v] of Object.entries(replayHeaders)) opts.headers.set(k, v);
      return;
    }
    const jwt = await attestation();
    const ep = opts.authorizationServerMetadata.challenge_endpoint;
    box.challenge = undefined;
    if (challenge !== undefined) {
      // A given challenge (or none: null), not a fresh one from the endpoint.
      box.challenge = challenge ?? undefined;
    } else if (typeof ep === "string") {
      const r = await fetch(ep, { method: "POST", signal: AbortSignal.timeout(15000) });
      const j = await r.json().catch(() => ({}));
      if (!r.ok || typeof j.attestation_challenge !== "string") throw new Error(`challenge endpoint ${ep}: HTTP ${r.status} ${short(j)}`);
      box.challenge = j.attestation_challenge;
    }
    await clientAuthenticationClientAttestationJwt({ clientAttestationJwt: jwt, callbacks })(opts);
    box.challenge = undefined;
    box.lastAttestation = opts.headers.get("OAuth-Client-Attestation");
    box.lastPop = opts.headers.get("OAuth-Client-Attestation-PoP");
  };
  const full = { ...callbacks, clientAuthentication };
  return {
    instance,
    dpopKey,
    box,
    callbacks: full,
    vci: new Openid4vciClient({ callbacks: full }),
    oauth2: new Oauth2Client({ callbacks: full }),
    dpop: (nonce) => ({ signer: { method: "jwk", alg: "ES256", publicJwk: dpopKey.publicJwk }, nonce }),
  };
}

/** A key attestation (OID4VCI 1.0 Appendix D.1) made by the library, with the spec `typ`. */
async function keyAttestation({ use, nonce, keys, signer = keyAttesterLeaf, specTyp = true }) {
  const callbacks = makeCallbacks({
    keys: [signer],
    // The library writes typ "keyattestation+jwt"; OID4VCI 1.0 §D.1 says key-attestation+jwt.
    rewrite: (h, p) => ({ header: specTyp ? { ...h, typ: "key-attestation+jwt" } : h, payload: p }),
  });
  return createKeyAttestationJwt({
    callbacks,
    signer: { method: "x5c", alg: "ES256", x5c: signer.x5c },
    use,
    issuedAt: new Date(Date.now() - 5000),
    expiresAt: new Date(Date.now() + 3600 * 1000),
    nonce,
    attestedKeys: keys.map((k) => k.publicJwk),
    keyStorage: ["iso_18045_high"],
    userAuthentication: ["iso_18045_high"],
  });
}

// ------------------------------------------------------------------ issuance helpers

async function newOffer(wallet) {
  const r = await api("POST", `/api/v1/issuers/${issuerId}/offers`, { credential_configuration_ids: [CONFIG_ID], claims: { [CONFIG_ID]: CLAIMS } });
  if (r.status !== 201) throw new Error(`POST offers: HTTP ${r.status} ${short(r.body)}`);
  return wallet.vci.resolveCredentialOffer(r.body.offer_uri);
}

/** Token Request for a fresh offer with the wallet's client authentication + DPoP. */
async function token(wallet, issuerMetadata, { offer, dpopNonce } = {}) {
  const credentialOffer = offer ?? (await newOffer(wallet));
  const r = await wallet.vci.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer, issuerMetadata, dpop: wallet.dpop(dpopNonce) });
  return { accessToken: r.accessTokenResponse.access_token, tokenResponse: r.accessTokenResponse, dpopNonce: r.dpop?.nonce };
}

/** The Credential Request body (OID4VCI 1.0 §8.2) for a token response. */
function requestBody(tokenResponse, proofs, extra = {}) {
  const detail = Array.isArray(tokenResponse.authorization_details)
    ? tokenResponse.authorization_details.find((d) => d?.credential_configuration_id === CONFIG_ID && d.credential_identifiers?.length)
    : undefined;
  return { ...(detail ? { credential_identifier: detail.credential_identifiers[0] } : { credential_configuration_id: CONFIG_ID }), proofs, ...extra };
}

/** The issuer's request encryption key and enc (OID4VCI 1.0 §12.2.4, §10). */
function requestEncryption(md) {
  const cre = md.credential_request_encryption;
  if (!isObj(cre) || !Array.isArray(cre.jwks?.keys) || cre.jwks.keys.length === 0) throw new Error("no credential_request_encryption.jwks in the metadata");
  const key = cre.jwks.keys.find((k) => k.kty === "EC" && k.crv === "P-256" && (k.alg ?? "ECDH-ES") === "ECDH-ES") ?? cre.jwks.keys[0];
  const enc = (cre.enc_values_supported ?? []).includes("A256GCM") ? "A256GCM" : cre.enc_values_supported?.[0];
  return { key, enc };
}

/** Encrypts a request as OID4VCI 1.0 §10 says: JWE alg = the JWK's alg, kid repeated. */
async function encryptRequest(md, body) {
  const { key, enc } = requestEncryption(md);
  const header = { alg: key.alg ?? "ECDH-ES", enc, ...(key.kid ? { kid: key.kid } : {}) };
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(body))).setProtectedHeader(header).encrypt(await importJWK(key, "ECDH-ES"));
}

/** POSTs a credential request with the library's DPoP resource request (nonce retry included). */
async function credentialRequest(wallet, issuerMetadata, accessToken, { json, jwe, dpopNonce }) {
  const r = await resourceRequest({
    callbacks: wallet.callbacks,
    url: issuerMetadata.credentialIssuer.credential_endpoint,
    accessToken,
    dpop: wallet.dpop(dpopNonce),
    requestOptions: {
      method: "POST",
      headers: { "Content-Type": jwe ? "application/jwt" : "application/json" },
      body: jwe ?? JSON.stringify(json),
    },
  });
  const type = r.response.headers.get("content-type") ?? "";
  const text = await r.response.text();
  return { status: r.response.status, type, text, dpopNonce: r.dpop?.nonce };
}
const jsonOf = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

// ------------------------------------------------------------------ credential checks

const sha256 = (data) => new Uint8Array(createHash("sha256").update(data).digest());
const trustAnchorPem = { issuer: undefined, verifier: undefined };

/** (c): x5c chain to the issuer's trust anchor, signature, claims, cnf — with jose and @sd-jwt. */
async function checkCredential(label, credential, holderKey, expected) {
  const jwt = credential.split("~")[0];
  const { header, payload } = decodeJws(jwt);
  let leaf;
  try {
    leaf = checkChain(header.x5c, trustAnchorPem.issuer, `${label} SD-JWT VC`);
    pass(`(c) ${label}: x5c = issuer certificate chain without the anchor, leaf not self-signed, chains to /issuers/${issuerId}/trust-anchor.pem`);
  } catch (e) {
    return fail(`(c) ${label}: x5c chain`, e.message);
  }
  try {
    const { protectedHeader } = await compactVerify(jwt, leaf.publicKey);
    check(`(c) ${label}: jose verifies the issuer signature with the x5c leaf key (${protectedHeader.alg}, typ ${protectedHeader.typ})`, protectedHeader.alg === "ES256" && protectedHeader.typ === "dc+sd-jwt", protectedHeader);
  } catch (e) {
    fail(`(c) ${label}: jose compactVerify with the x5c leaf key`, e.message);
  }
  try {
    const sdjwt = new SDJwtVcInstance({
      hasher: (d) => sha256(d),
      hashAlg: "sha-256",
      verifier: async (data, sig) => compactVerify(`${data}.${sig}`, leaf.publicKey).then(() => true, () => false),
    });
    const { payload: claims } = await sdjwt.verify(credential);
    check(
      `(c) ${label}: @sd-jwt/sd-jwt-vc verifies it; iss, vct, cnf.jwk = the attested key, claims`,
      claims.iss === credentialIssuer && claims.vct === VCT && sameJwk(claims.cnf?.jwk, holderKey.publicJwk) && Object.entries(expected).every(([k, v]) => claims[k] === v),
      { iss: claims.iss, vct: claims.vct, cnf: claims.cnf, claims: Object.fromEntries(Object.keys(expected).map((k) => [k, claims[k]])) },
    );
  } catch (e) {
    fail(`(c) ${label}: @sd-jwt/sd-jwt-vc verify`, e.message);
  }
  check(`(c) ${label}: validity limited (exp or status, HAIP 1.0 §6.1)`, typeof payload.exp === "number" || isObj(payload.status), payload);
  const sl = payload.status?.status_list;
  if (isObj(sl) && typeof sl.uri === "string") {
    const r = await getText(sl.uri);
    try {
      const tok = decodeJws(r.text.trim());
      const sleaf = checkChain(tok.header.x5c, trustAnchorPem.issuer, "Status List Token");
      await compactVerify(r.text.trim(), sleaf.publicKey);
      pass(`(c) ${label}: the Status List Token carries x5c without the anchor, leaf not self-signed, signature verifies (HAIP 1.0 §6.1)`);
    } catch (e) {
      fail(`(c) ${label}: Status List Token x5c (HAIP 1.0 §6.1)`, `${e.message} (HTTP ${r.status})`);
    }
  }
  return true;
}

// ------------------------------------------------------------------ presentation (d)

/** x5c verification for request objects: chain to the verifier's trust anchor (HAIP 1.0 §5). */
function vpCallbacks() {
  const cb = makeCallbacks({ keys: [] });
  return {
    ...cb,
    getX509CertificateMetadata: (certB64) => {
      const cert = new X509Certificate(Buffer.from(certB64, "base64"));
      const names = (cert.subjectAltName ?? "").split(",").map((s) => s.trim());
      return { sanDnsNames: names.filter((n) => n.startsWith("DNS:")).map((n) => n.slice(4)), sanUriNames: names.filter((n) => n.startsWith("URI:")).map((n) => n.slice(4)) };
    },
    verifyJwt: async (signer, { compact, header }) => {
      if (signer.method !== "x5c" || header.alg !== "ES256") return { verified: false };
      try {
        const leaf = checkChain(signer.x5c, trustAnchorPem.verifier, "request object");
        await compactVerify(compact, leaf.publicKey);
        return { verified: true, signerJwk: leaf.publicKey.export({ format: "jwk" }) };
      } catch (e) {
        console.log(`        (request object refused: ${e.message})`);
        return { verified: false };
      }
    },
    // OID4VP 1.0 §8.3 with the library's apu/apv (RFC 7518 §4.6.1.2, §4.6.2).
    encryptJwe: async (encryptor, data) => {
      const enc = new CompactEncrypt(new TextEncoder().encode(data)).setProtectedHeader({
        alg: encryptor.alg,
        enc: encryptor.enc,
        ...(encryptor.publicJwk.kid ? { kid: encryptor.publicJwk.kid } : {}),
      });
      const kmp = {};
      if (encryptor.apu) kmp.apu = Buffer.from(encryptor.apu, "base64url");
      if (encryptor.apv) kmp.apv = Buffer.from(encryptor.apv, "base64url");
      if (Object.keys(kmp).length) enc.setKeyManagementParameters(kmp);
      return { encryptionJwk: encryptor.publicJwk, jwe: await enc.encrypt(await importJWK(encryptor.publicJwk, encryptor.alg)) };
    },
  };
}

async function present({ verifierId, credential, holderKey, dcql, label, expectVerified, expected, tag = "(d)" }) {
  const req = await api("POST", `/api/v1/verifiers/${verifierId}/requests`, { dcql_query: dcql, response_mode: "direct_post.jwt" });
  if (!check(`${tag} ${label}: presentation request created (direct_post.jwt)`, req.status === 201, req)) return;
  const callbacks = vpCallbacks();
  const client = new Openid4vpClient({ callbacks });
  let resolved;
  try {
    const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: req.body.authorization_request });
    resolved = await client.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params });
  } catch (e) {
    return fail(`${tag} ${label}: @openid4vc/openid4vp resolves and verifies the signed request`, errDetail(e));
  }
  const request = resolved.authorizationRequestPayload;
  check(
    `(d) ${label}: request object: client_id x509_hash (leaf not self-signed, anchor not in x5c), direct_post.jwt, A128GCM+A256GCM offered`,
    String(request.client_id).startsWith("x509_hash:") &&
      request.response_mode === "direct_post.jwt" &&
      ["A128GCM", "A256GCM"].every((e) => request.client_metadata?.encrypted_response_enc_values_supported?.includes(e)),
    { client_id: request.client_id, response_mode: request.response_mode, client_metadata: request.client_metadata },
  );
  const query = resolved.dcql?.query;
  const cq = query?.credentials?.[0];
  if (!cq) return fail(`${tag} ${label}: DCQL query`, query);
  // Spec: OID4VP 1.0 §6.1.1.1: an aki value matches an AuthorityKeyIdentifier in the chain.
  const akis = chainAkis(decodeJws(credential.split("~")[0]).header.x5c ?? []);
  const taValues = (cq.trusted_authorities ?? []).filter((t) => t.type === "aki").flatMap((t) => t.values);
  const walletMatch = taValues.length === 0 || taValues.some((v) => akis.includes(v));
  const frame = Object.fromEntries((cq.claims ?? []).map((c) => [c.path[0], true]));
  const holderPriv = holderKey.privateKey;
  const sdjwt = new SDJwtVcInstance({
    hasher: (d) => sha256(d),
    hashAlg: "sha-256",
    kbSigner: (input) => b64u(nodeSign("sha256", Buffer.from(input, "utf8"), { key: holderPriv, dsaEncoding: "ieee-p1363" })),
    kbSignAlg: "ES256",
    saltGenerator: () => b64u(randomBytes(16)),
  });
  const presentation = await sdjwt.present(credential, frame, { kb: { payload: { aud: request.client_id, nonce: request.nonce, iat: Math.floor(Date.now() / 1000) } } });
  let submitted;
  try {
    const response = await client.createOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: request,
      authorizationResponsePayload: { vp_token: { [cq.id]: [presentation] } },
      jarm: {
        encryption: { nonce: b64u(randomBytes(16)) },
        serverMetadata: {
          authorization_signing_alg_values_supported: ["ES256"],
          authorization_encryption_alg_values_supported: ["ECDH-ES"],
          // HAIP 1.0 §5: "If both are supported, the Wallet SHOULD use A256GCM".
          authorization_encryption_enc_values_supported: ["A256GCM", "A128GCM"],
        },
      },
    });
    const jweHeader = decodeProtectedHeader(response.jarm.responseJwt);
    check(`${tag} ${label}: the wallet's response JWE is ECDH-ES + A256GCM with apu/apv (from the library)`, jweHeader.alg === "ECDH-ES" && jweHeader.enc === "A256GCM" && jweHeader.apv, jweHeader);
    submitted = await client.submitOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: request,
      authorizationResponsePayload: response.authorizationResponsePayload,
      jarm: { responseJwt: response.jarm.responseJwt },
    });
  } catch (e) {
    return fail(`${tag} ${label}: @openid4vc/openid4vp creates and submits the direct_post.jwt response`, errDetail(e));
  }
  const text = await submitted.response.text();
  const result = await api("GET", `/api/v1/verifiers/${verifierId}/requests/${req.body.id}`);
  if (expectVerified) {
    check(`${tag} ${label}: the wallet's own DCQL trusted_authorities match finds the issuer CA's aki in the credential's x5c`, walletMatch, { akis, taValues });
    check(`${tag} ${label}: response endpoint accepts the encrypted response (HTTP 200)`, submitted.response.status === 200, { status: submitted.response.status, body: text.slice(0, 600) });
    check(
      `(d) ${label}: vdc verified exactly the requested claims`,
      result.body?.status === "verified" && result.body?.presentation?.[cq.id]?.[0]?.claims?.employee_id === expected.employee_id,
      result.body,
    );
  } else {
    check(`(e) ${label}: the wallet's aki match fails too (the credential's chain has no such AKI)`, !walletMatch, { akis, taValues });
    check(`(e) ${label}: vdc does not verify the presentation`, result.body?.status !== "verified", { response: submitted.response.status, body: text.slice(0, 400), result: result.body });
  }
}

// ------------------------------------------------------------------ main

async function main() {
  section("setup: HAIP-mode issuer and verifier");
  const issuerBody = {
    id: issuerId,
    haip: true,
    signing_alg: "ES256",
    signed_metadata: true,
    require_dpop: true,
    wallet_attestation_trust_anchors: [walletProviderCa.pem],
    key_attestation_trust_anchors: [keyAttesterCa.pem],
    credential_configurations: {
      [CONFIG_ID]: {
        format: "dc+sd-jwt",
        vct: VCT,
        scope: "employee_badge",
        claims: [{ path: ["given_name"] }, { path: ["family_name"] }, { path: ["employee_id"], mandatory: true }],
        cryptographic_binding_methods_supported: ["jwk"],
        key_attestations_required: {},
      },
    },
    identity_provider: {
      issuer: idp.issuer,
      client_id: idp.client_id,
      client_secret: idp.client_secret,
      scopes: ["openid", "profile", "employee"],
      claim_mapping: [
        { path: ["given_name"], from: "given_name" },
        { path: ["family_name"], from: "family_name" },
        { path: ["employee_id"], from: "employee_number" },
      ],
    },
  };
  const created = await api("POST", "/api/v1/issuers", issuerBody);
  if (!check(`HAIP issuer ${issuerId} created (POST /api/v1/issuers, haip: true)`, created.status === 201 && created.body?.haip === true, created)) {
    return;
  }
  const report = await api("GET", `/api/v1/issuers/${issuerId}/haip`);
  const unmet = (report.body?.rules ?? []).filter((r) => !r.met).map((r) => r.id);
  check(
    "GET /haip: haip true, every rule met but the deployment's https",
    report.status === 200 && report.body?.haip === true && unmet.every((id) => id === "https"),
    { status: report.status, unmet, body: report.body },
  );
  const ta = await getText(`${credentialIssuer}/trust-anchor.pem`);
  trustAnchorPem.issuer = ta.text;
  if (!check("GET /issuers/{i}/trust-anchor.pem: a CA certificate", ta.status === 200 && /BEGIN CERTIFICATE/.test(ta.text), ta)) return;
  const issuerCa = new X509Certificate(ta.text);
  const issuerCaSki = keyIdentifiers(issuerCa.raw).ski;

  const wallet = makeWallet();
  const issuerMetadata = await step("@openid4vc/openid4vci resolves Credential Issuer and AS metadata", () => wallet.vci.resolveIssuerMetadata(credentialIssuer));
  if (!issuerMetadata) return;
  const md = issuerMetadata.credentialIssuer;
  const as = issuerMetadata.authorizationServers[0];
  const cfg = md.credential_configurations_supported[CONFIG_ID];
  check(
    "AS metadata: token_endpoint_auth_methods_supported has attest_jwt_client_auth, no anonymous pre-authorized access, DPoP ES256",
    as.token_endpoint_auth_methods_supported?.includes("attest_jwt_client_auth") && as["pre-authorized_grant_anonymous_access_supported"] !== true && as.dpop_signing_alg_values_supported?.includes("ES256"),
    as,
  );
  console.log(`  INFO  AS metadata: challenge_endpoint (ABCA §"Challenges", optional) ${as.challenge_endpoint ? `published (${as.challenge_endpoint}): every PoP carries a fresh challenge` : "absent: PoPs rely on jti"}`);
  check(
    "issuer metadata: proof_types_supported jwt + attestation (ES256) with key_attestations_required, nonce_endpoint, scope",
    cfg?.proof_types_supported?.jwt?.key_attestations_required !== undefined &&
      cfg?.proof_types_supported?.attestation?.proof_signing_alg_values_supported?.includes("ES256") &&
      typeof md.nonce_endpoint === "string" &&
      cfg?.scope === "employee_badge",
    cfg,
  );
  let encOk = false;
  try {
    const { key, enc } = requestEncryption(md);
    const cre = md.credential_response_encryption;
    encOk = check(
      "issuer metadata: credential_request_encryption (jwks with kid, ECDH-ES P-256) and credential_response_encryption (ECDH-ES, A128GCM+A256GCM)",
      typeof key.kid === "string" && key.crv === "P-256" && enc === "A256GCM" && cre?.alg_values_supported?.includes("ECDH-ES") && ["A128GCM", "A256GCM"].every((e) => cre.enc_values_supported?.includes(e)),
      { credential_request_encryption: md.credential_request_encryption, credential_response_encryption: cre },
    );
  } catch (e) {
    fail("issuer metadata: credential_request_encryption / credential_response_encryption (OID4VCI 1.0 §12.2.4)", e.message);
  }
  // Signed metadata (OID4VCI 1.0 §12.2.2/§12.2.3, HAIP 1.0 §4.1): asked for with
  // Accept: application/jwt; the library never asks (FINDINGS.md), so plain fetch + jose.
  {
    const u = new URL(credentialIssuer);
    const r = await fetch(`${u.origin}/.well-known/openid-credential-issuer${u.pathname}`, { headers: { accept: "application/jwt" } });
    const text = (await r.text()).trim();
    try {
      if (r.status !== 200 || !(r.headers.get("content-type") ?? "").startsWith("application/jwt")) throw new Error(`HTTP ${r.status} ${r.headers.get("content-type")}: ${text.slice(0, 200)}`);
      const { header, payload } = decodeJws(text);
      const leaf = checkChain(header.x5c, trustAnchorPem.issuer, "signed metadata");
      await compactVerify(text, leaf.publicKey);
      check(
        "signed metadata (Accept: application/jwt): typ openidvci-issuer-metadata+jwt, x5c without anchor, leaf not self-signed, signature (jose), sub = credential_issuer, same metadata",
        header.typ === "openidvci-issuer-metadata+jwt" && payload.sub === credentialIssuer && payload.credential_issuer === credentialIssuer && payload.credential_endpoint === md.credential_endpoint && typeof payload.iat === "number",
        { typ: header.typ, sub: payload.sub, credential_issuer: payload.credential_issuer },
      );
    } catch (e) {
      fail("signed metadata (OID4VCI 1.0 §12.2.3, HAIP 1.0 §4.1: x5c, not self-signed, no anchor)", e.message);
    }
  }

  // A HAIP verifier.
  const verifierId = `haip-v-${randomBytes(3).toString("hex")}`;
  const verifier = await api("POST", "/api/v1/verifiers", {
    id: verifierId,
    haip: true,
    client_id_prefix: "x509_hash",
    trusted_issuers: [credentialIssuer],
    trusted_issuer_anchors: [trustAnchorPem.issuer],
  });
  const verifierOk = check(`HAIP verifier ${verifierId} created (x509_hash)`, verifier.status === 201 && verifier.body?.haip === true, verifier);
  if (verifierOk) {
    const vta = await getText(`${base}/verifiers/${verifierId}/trust-anchor.pem`);
    trustAnchorPem.verifier = vta.status === 200 ? vta.text : verifier.body.trust_anchor;
    const vr = await api("GET", `/api/v1/verifiers/${verifierId}/haip`);
    check("GET /api/v1/verifiers/{v}/haip: haip true", vr.status === 200 && vr.body?.haip === true, vr);
    const plain = await api("POST", `/api/v1/verifiers/${verifierId}/requests`, {
      dcql_query: { credentials: [{ id: "badge", format: "dc+sd-jwt", meta: { vct_values: [VCT] }, claims: [{ path: ["employee_id"] }] }] },
      response_mode: "direct_post",
    });
    check("HAIP verifier refuses response_mode direct_post (HAIP 1.0 §5.1: direct_post.jwt only) with 400", plain.status === 400, plain);
  }
  const noAnchors = await api("POST", "/api/v1/issuers", { ...issuerBody, id: `${issuerId}-x`, wallet_attestation_trust_anchors: [] });
  check("a HAIP issuer without wallet_attestation_trust_anchors is refused (400, HAIP 1.0 §4.4.1)", noAnchors.status === 400, noAnchors);

  // ---------------------------------------------------------------- (a)
  section("(a) pre-authorized code + wallet attestation + DPoP, attestation proof, encrypted request and response");
  const holders = [es256Key(), es256Key()];
  const batch = Math.min(2, md.batch_credential_issuance?.batch_size ?? 1);
  let issuedA;
  const tokA = await step("(a) token request with OAuth-Client-Attestation + -PoP (library) and DPoP: 200, token_type DPoP", async () => {
    const t = await token(wallet, issuerMetadata);
    if (!/^dpop$/i.test(t.tokenResponse.token_type)) throw new Error(`token_type ${t.tokenResponse.token_type}`);
    return t;
  });
  if (tokA) {
    const pop = decodeJws(wallet.box.lastPop ?? "");
    check(`(a) the PoP the library sent: typ oauth-client-attestation-pop+jwt, aud = AS issuer${pop.payload.challenge ? ", with challenge" : ""}`, pop.header.typ === "oauth-client-attestation-pop+jwt" && pop.payload.aud === as.issuer, pop);
    const nonce = await step("(a) nonce endpoint: c_nonce", async () => (await wallet.vci.requestNonce({ issuerMetadata })).c_nonce);
    if (nonce && encOk) {
      const respKey = es256Key();
      const respJwk = { ...respKey.publicJwk, kid: "wallet-resp-1", use: "enc", alg: "ECDH-ES" };
      const ka = await keyAttestation({ use: "proof_type.attestation", nonce, keys: holders.slice(0, batch) });
      // Spec: OID4VCI 1.0 §8.2: {jwk, enc} (no alg: it is the JWK's); §10: request encrypted too.
      const body = requestBody(tokA.tokenResponse, { attestation: [ka] }, { credential_response_encryption: { jwk: respJwk, enc: "A256GCM" } });
      const r = await credentialRequest(wallet, issuerMetadata, tokA.accessToken, { jwe: await encryptRequest(md, body), dpopNonce: tokA.dpopNonce });
      if (check("(a) encrypted credential request (attestation proof) answered 200 application/jwt", r.status === 200 && r.type.startsWith("application/jwt"), { status: r.status, type: r.type, body: r.text.slice(0, 600) })) {
        try {
          const { plaintext, protectedHeader } = await compactDecrypt(r.text.trim(), respKey.privateKey);
          check("(a) response JWE: alg ECDH-ES, enc A256GCM, kid of the wallet key (OID4VCI 1.0 §10)", protectedHeader.alg === "ECDH-ES" && protectedHeader.enc === "A256GCM" && protectedHeader.kid === "wallet-resp-1", protectedHeader);
          const resp = JSON.parse(new TextDecoder().decode(plaintext));
          const list = (resp.credentials ?? []).map((c) => c.credential);
          if (check(`(a) jose compactDecrypt: credentials[] with ${batch} credential(s), one per attested key`, list.length === batch && list.every((c) => typeof c === "string"), resp)) issuedA = list;
        } catch (e) {
          fail("(a) jose compactDecrypt of the credential response", e.message);
        }
      }
    } else skip("(a) credential request", nonce ? "issuer metadata has no usable encryption" : "no c_nonce");
  }
  if (issuedA) {
    section("(c) x5c chains of the (a) credentials");
    for (let i = 0; i < issuedA.length; i++) {
      const jwk = decodeJws(issuedA[i].split("~")[0]).payload.cnf?.jwk;
      const holder = holders.find((h) => sameJwk(h.publicJwk, jwk)) ?? holders[i];
      await checkCredential(`(a) credential ${i + 1}`, issuedA[i], holder, CLAIMS);
    }
  } else skip("(c) for (a)", "no credential from (a)");

  // ---------------------------------------------------------------- (b)
  section("(b) authorization code flow: PAR + wallet attestation, login at the IdP, jwt proof with key_attestation, encrypted request");
  let issuedB;
  const holderB = es256Key();
  const walletB = makeWallet({ keys: [holderB] });
  const redirectUri = "https://wallet.example/haip-cb";
  const state = b64u(randomBytes(16));
  const auth = await step("(b) Oauth2Client.initiateAuthorization: PAR with OAuth-Client-Attestation + -PoP, PKCE S256, DPoP, client_id = attestation sub", () =>
    walletB.oauth2.initiateAuthorization({ authorizationServerMetadata: as, clientId: CLIENT_ID, redirectUri, scope: "employee_badge", state, resource: credentialIssuer, dpop: walletB.dpop() }),
  );
  const redirect = auth && (await step("(b) login at the IdP (ada) and back to the wallet's redirect_uri", () => login(auth.authorizationRequestUrl, redirectUri, "ada", "lovelace-test")));
  const ar =
    redirect &&
    (await step("(b) authorization response: code, state, iss = AS issuer (RFC 9207)", () => {
      const r = walletB.oauth2.parseAuthorizationResponseRedirectUrl({ url: redirect });
      walletB.oauth2.verifyAuthorizationResponse({ authorizationResponse: r, authorizationServerMetadata: as });
      if (r.state !== state || typeof r.code !== "string") throw new Error(`state/code: ${short(r)}`);
      return r;
    }));
  const tokB =
    ar &&
    (await step("(b) authorization_code token request with wallet attestation + DPoP", async () => {
      const r = await walletB.oauth2.retrieveAuthorizationCodeAccessToken({
        authorizationServerMetadata: as,
        authorizationCode: ar.code,
        pkceCodeVerifier: auth.pkce.codeVerifier,
        redirectUri,
        resource: credentialIssuer,
        dpop: { ...walletB.dpop(), nonce: auth.dpop?.nonce },
      });
      return { accessToken: r.accessTokenResponse.access_token, tokenResponse: r.accessTokenResponse, dpopNonce: r.dpop?.nonce };
    }));
  if (tokB && encOk) {
    const nonce = (await walletB.vci.requestNonce({ issuerMetadata })).c_nonce;
    const ka = await keyAttestation({ use: "proof_type.jwt", nonce, keys: [holderB] });
    const proof = await step("(b) Openid4vciClient.createCredentialRequestJwtProof with keyAttestationJwt (header key_attestation)", async () =>
      (await walletB.vci.createCredentialRequestJwtProof({ issuerMetadata, credentialConfigurationId: CONFIG_ID, signer: { method: "jwk", alg: "ES256", publicJwk: holderB.publicJwk }, nonce, keyAttestationJwt: ka })).jwt,
    );
    if (proof) {
      const jwe = await encryptRequest(md, requestBody(tokB.tokenResponse, { jwt: [proof] }));
      const hdr = decodeProtectedHeader(jwe);
      const r = await credentialRequest(walletB, issuerMetadata, tokB.accessToken, { jwe, dpopNonce: tokB.dpopNonce });
      const j = jsonOf(r.text);
      if (check(`(b) jose CompactEncrypt request (${hdr.alg}/${hdr.enc}, kid ${hdr.kid}) without credential_response_encryption: 200 application/json`, r.status === 200 && r.type.startsWith("application/json") && typeof j?.credentials?.[0]?.credential === "string", { status: r.status, type: r.type, body: r.text.slice(0, 600) })) {
        issuedB = j.credentials[0].credential;
      }
    }
  } else if (!encOk) skip("(b) credential request", "issuer metadata has no usable encryption");
  if (issuedB) {
    section("(c) x5c chain of the (b) credential");
    await checkCredential("(b) credential", issuedB, holderB, LOGIN_CLAIMS);
  } else skip("(c) for (b)", "no credential from (b)");

  // ---------------------------------------------------------------- (d)
  section("(d) presentation to the HAIP verifier");
  const presentable = issuedB ? { credential: issuedB, holder: holderB, expected: LOGIN_CLAIMS } : issuedA ? { credential: issuedA[0], holder: holders[0], expected: CLAIMS } : undefined;
  if (verifierOk && presentable) {
    const dcql = (aki) => ({
      credentials: [
        {
          id: "badge",
          format: "dc+sd-jwt",
          meta: { vct_values: [VCT] },
          claims: [{ path: ["given_name"] }, { path: ["employee_id"] }],
          trusted_authorities: [{ type: "aki", values: [aki] }],
        },
      ],
    });
    if (!issuerCaSki) fail("(d) the issuer trust anchor has a SubjectKeyIdentifier (needed for the aki query)");
    await present({ verifierId, credential: presentable.credential, holderKey: presentable.holder, dcql: dcql(b64u(issuerCaSki ?? Buffer.alloc(20))), label: "aki of the issuer CA", expectVerified: true, expected: presentable.expected });
    section("(e) refusal: trusted_authorities naming another CA");
    await present({ verifierId, credential: presentable.credential, holderKey: presentable.holder, dcql: dcql(b64u(keyIdentifiers(rogueCa.cert.raw).ski)), label: "aki of an unrelated CA", expectVerified: false, tag: "(e)" });
  } else skip("(d) presentation", verifierOk ? "no credential issued" : "no HAIP verifier");

  // ---------------------------------------------------------------- (e)
  section("(e) refusals at the token and credential endpoints");
  const refuse = async (name, fn, want) => {
    try {
      await fn();
      fail(name, "accepted");
    } catch (e) {
      const d = errDetail(e);
      check(name, d?.status === want.status && d?.body?.error === want.error, d);
    }
  };
  const anon = makeWallet();
  anon.callbacks.clientAuthentication = () => {};
  anon.vci = new Openid4vciClient({ callbacks: anon.callbacks });
  await refuse("(e) token request without client attestation → 401 invalid_client", () => token(anon, issuerMetadata), { status: 401, error: "invalid_client" });
  await refuse("(e) wallet attestation signed under an untrusted CA → 401 invalid_client", () => token(makeWallet({ signer: rogueLeaf }), issuerMetadata), { status: 401, error: "invalid_client" });
  const selfSigned = { ...walletProviderCa, x5c: [walletProviderCa.cert.raw.toString("base64")] };
  await refuse("(e) wallet attestation signed by the (self-signed) anchor itself → 401 invalid_client (HAIP 1.0 §4.4.1)", () => token(makeWallet({ signer: selfSigned }), issuerMetadata), { status: 401, error: "invalid_client" });
  // Spec: ABCA §"Client Attestation JWT": a passed exp MUST be rejected; §"Errors":
  // use_fresh_attestation "MUST be used when the Client Attestation JWT is deemed to be not
  // fresh enough" (invalid_client is the general code).
  try {
    await token(makeWallet({ expiresIn: -600 }), issuerMetadata);
    fail("(e) wallet attestation whose exp has passed (10 min ago) is refused", "accepted");
  } catch (e) {
    const d = errDetail(e);
    check(
      "(e) wallet attestation whose exp has passed (10 min ago) → 400 use_fresh_attestation / 401 invalid_client",
      (d?.status === 400 && d?.body?.error === "use_fresh_attestation") || (d?.status === 401 && d?.body?.error === "invalid_client"),
      d,
    );
  }
  await refuse("(e) PoP with another aud → 401 invalid_client (ABCA §5.2)", () => token(makeWallet({ popAud: `${base}/issuers/someone-else` }), issuerMetadata), { status: 401, error: "invalid_client" });
  // Replay: the exact attestation + PoP headers of an accepted request, on a second offer.
  {
    const w = makeWallet();
    const first = await step("(e) replay setup: a fresh token request succeeds", () => token(w, issuerMetadata));
    if (first && w.box.lastPop) {
      const replayer = makeWallet({ replayHeaders: { "OAuth-Client-Attestation": w.box.lastAttestation, "OAuth-Client-Attestation-PoP": w.box.lastPop } });
      await refuse("(e) the same attestation + PoP again (replay: same jti and challenge) → 401 invalid_client", () => token(replayer, issuerMetadata), { status: 401, error: "invalid_client" });
    }
  }
  // Racing: one fresh attestation + PoP pair sent by 6 token requests at once (each for its
  // own offer): exactly one is accepted, the others get 401 invalid_client, never a 5xx.
  {
    const w = makeWallet();
    const headers = new Headers();
    await w.callbacks.clientAuthentication({ headers, authorizationServerMetadata: as, url: as.token_endpoint, method: "POST", body: {} });
    const replayHeaders = { "OAuth-Client-Attestation": headers.get("OAuth-Client-Attestation"), "OAuth-Client-Attestation-PoP": headers.get("OAuth-Client-Attestation-PoP") };
    const offers = await Promise.all(Array.from({ length: 6 }, () => newOffer(w)));
    const outcomes = await Promise.all(
      offers.map((offer) =>
        token(makeWallet({ replayHeaders }), issuerMetadata, { offer }).then(
          () => "ok",
          (e) => {
            const d = errDetail(e);
            return `${d?.status} ${d?.body?.error ?? short(d)}`;
          },
        ),
      ),
    );
    const wins = outcomes.filter((o) => o === "ok").length;
    check("(e) one PoP raced by 6 token requests: exactly one accepted, the rest 401 invalid_client, no 5xx", wins === 1 && outcomes.every((o) => o === "ok" || o === "401 invalid_client"), outcomes);
  }
  // Key attestation refusals.
  {
    const w = makeWallet();
    const t = await step("(e) token for the key attestation refusals", () => token(w, issuerMetadata));
    if (t && encOk) {
      let dpopNonce = t.dpopNonce;
      const attempt = async (name, proofs, want = ["invalid_proof"]) => {
        const nonce = (await w.vci.requestNonce({ issuerMetadata })).c_nonce;
        const r = await credentialRequest(w, issuerMetadata, t.accessToken, { jwe: await encryptRequest(md, requestBody(t.tokenResponse, await proofs(nonce))), dpopNonce });
        dpopNonce = r.dpopNonce ?? dpopNonce;
        const j = jsonOf(r.text);
        check(name, r.status === 400 && want.includes(j?.error), { status: r.status, body: r.text.slice(0, 500) });
      };
      const h = es256Key();
      await attempt("(e) attestation proof signed under an untrusted CA → 400 invalid_proof", async (nonce) => ({
        attestation: [await keyAttestation({ use: "proof_type.attestation", nonce, keys: [h], signer: rogueLeaf })],
      }));
      await attempt(
        "(e) attestation proof with a nonce the server never issued → 400 invalid_nonce / invalid_proof",
        async () => ({ attestation: [await keyAttestation({ use: "proof_type.attestation", nonce: "not-a-server-nonce", keys: [h] })] }),
        ["invalid_nonce", "invalid_proof"],
      );
      // Spec: OID4VCI 1.0 §D.1: "the Credential Issuer MUST validate that the JWT used as a
      // proof is signed by a key contained in the attestation" (the library refuses to make one).
      await attempt("(e) jwt proof whose key is not in the key_attestation's attested_keys → 400 invalid_proof", async (nonce) => {
        const other = es256Key();
        const kaOther = await keyAttestation({ use: "proof_type.jwt", nonce, keys: [other] });
        return { jwt: [signEs256(h.privateKey, { alg: "ES256", typ: "openid4vci-proof+jwt", jwk: h.publicJwk, key_attestation: kaOther }, { aud: credentialIssuer, iat: Math.floor(Date.now() / 1000), nonce })] };
      });
      // A plain jwt proof (OID4VCI 1.0 §F.1 shape, made here: the library refuses to make one
      // without keyAttestationJwt when the configuration requires key attestations).
      await attempt("(e) jwt proof without key_attestation although key_attestations_required → 400 invalid_proof", async (nonce) => ({
        jwt: [signEs256(h.privateKey, { alg: "ES256", typ: "openid4vci-proof+jwt", jwk: h.publicJwk }, { aud: credentialIssuer, iat: Math.floor(Date.now() / 1000), nonce })],
      }));
      // The library's own typ (keyattestation+jwt) against OID4VCI 1.0 §D.1 key-attestation+jwt: informative.
      {
        const nonce = (await w.vci.requestNonce({ issuerMetadata })).c_nonce;
        const libTyped = await keyAttestation({ use: "proof_type.attestation", nonce, keys: [h], specTyp: false });
        const r = await credentialRequest(w, issuerMetadata, t.accessToken, { jwe: await encryptRequest(md, requestBody(t.tokenResponse, { attestation: [libTyped] })), dpopNonce });
        dpopNonce = r.dpopNonce ?? dpopNonce;
        console.log(`  INFO  key attestation with the library's typ "keyattestation+jwt" (spec: key-attestation+jwt): HTTP ${r.status}${r.status === 200 ? " (accepted)" : ` ${r.text.slice(0, 160)}`}`);
      }
      // A plain request carrying credential_response_encryption (OID4VCI 1.0 §8.2: MUST be encrypted).
      {
        const nonce = (await w.vci.requestNonce({ issuerMetadata })).c_nonce;
        const respJwk = { ...es256Key().publicJwk, alg: "ECDH-ES", kid: "x" };
        const body = requestBody(t.tokenResponse, { attestation: [await keyAttestation({ use: "proof_type.attestation", nonce, keys: [h] })] }, { credential_response_encryption: { jwk: respJwk, enc: "A256GCM" } });
        const r = await credentialRequest(w, issuerMetadata, t.accessToken, { json: body, dpopNonce });
        const j = jsonOf(r.text);
        check("(e) plain request with credential_response_encryption → 400 invalid_encryption_parameters (OID4VCI 1.0 §8.2)", r.status === 400 && j?.error === "invalid_encryption_parameters", { status: r.status, body: r.text.slice(0, 400) });
      }
    }
  }

  // ---------------------------------------------------------------- encryption_required
  section("encryption required (require_credential_encryption: OID4VCI 1.0 §12.2.4 encryption_required)");
  if (encOk) {
    const patched = await api("PATCH", `/api/v1/issuers/${issuerId}`, { require_credential_encryption: true });
    if (check("PATCH require_credential_encryption: true → 200", patched.status === 200 && patched.body?.require_credential_encryption === true, patched)) {
      const w = makeWallet();
      const md2 = await step("metadata: encryption_required true in credential_request_encryption and credential_response_encryption", async () => {
        const m = await w.vci.resolveIssuerMetadata(credentialIssuer);
        const ci = m.credentialIssuer;
        if (ci.credential_request_encryption?.encryption_required !== true || ci.credential_response_encryption?.encryption_required !== true) {
          throw new Error(short({ credential_request_encryption: ci.credential_request_encryption, credential_response_encryption: ci.credential_response_encryption }));
        }
        return m;
      });
      const t = md2 && (await step("token for the encryption_required checks", () => token(w, md2)));
      if (t) {
        let dpopNonce = t.dpopNonce;
        const h = es256Key();
        const body = async (extra) => {
          const nonce = (await w.vci.requestNonce({ issuerMetadata: md2 })).c_nonce;
          return requestBody(t.tokenResponse, { attestation: [await keyAttestation({ use: "proof_type.attestation", nonce, keys: [h] })] }, extra);
        };
        const send = async (opts) => {
          const r = await credentialRequest(w, md2, t.accessToken, { ...opts, dpopNonce });
          dpopNonce = r.dpopNonce ?? dpopNonce;
          return r;
        };
        let r = await send({ json: await body() });
        check("plain JSON request → 400 invalid_encryption_parameters", r.status === 400 && jsonOf(r.text)?.error === "invalid_encryption_parameters", { status: r.status, body: r.text.slice(0, 300) });
        r = await send({ jwe: await encryptRequest(md2.credentialIssuer, await body()) });
        check("encrypted request without credential_response_encryption → 400 invalid_encryption_parameters", r.status === 400 && jsonOf(r.text)?.error === "invalid_encryption_parameters", { status: r.status, body: r.text.slice(0, 300) });
        const respKey = es256Key();
        r = await send({ jwe: await encryptRequest(md2.credentialIssuer, await body({ credential_response_encryption: { jwk: { ...respKey.publicJwk, alg: "ECDH-ES" }, enc: "A128GCM" } })) });
        let ok = false;
        let detail = { status: r.status, type: r.type, body: r.text.slice(0, 300) };
        if (r.status === 200 && r.type.startsWith("application/jwt")) {
          try {
            const { plaintext, protectedHeader } = await compactDecrypt(r.text.trim(), respKey.privateKey);
            const j = JSON.parse(new TextDecoder().decode(plaintext));
            ok = protectedHeader.enc === "A128GCM" && protectedHeader.kid === undefined && typeof j.credentials?.[0]?.credential === "string";
            detail = { protectedHeader, keys: Object.keys(j) };
          } catch (e) {
            detail = e.message;
          }
        }
        check("encrypted request with credential_response_encryption (A128GCM, JWK without kid) → 200 JWE without kid, decrypts to credentials", ok, detail);
        // The library's draft shape {jwk, alg, enc} (its request schema requires alg; OID4VCI 1.0 §8.2 has {jwk, enc, zip}).
        r = await send({ jwe: await encryptRequest(md2.credentialIssuer, await body({ credential_response_encryption: { jwk: { ...respKey.publicJwk, alg: "ECDH-ES" }, alg: "ECDH-ES", enc: "A256GCM" } })) });
        console.log(`  INFO  credential_response_encryption in the library's draft shape {jwk, alg, enc}: HTTP ${r.status} ${r.type}${r.status === 200 ? "" : ` ${r.text.slice(0, 160)}`}`);
      }
    }
  } else skip("encryption required", "issuer metadata has no usable encryption");

  // ---------------------------------------------------------------- challenges
  section('ABCA challenges (§"Challenges"; the library has none: FINDINGS.md)');
  if (typeof as.challenge_endpoint === "string") {
    const plainLib = makeWallet({ challenge: null });
    try {
      await token(plainLib, issuerMetadata);
      console.log("  INFO  a PoP without challenge (the library's own shape) is accepted although a challenge_endpoint is published");
    } catch (e) {
      const d = errDetail(e);
      console.log(`  INFO  a PoP without challenge (the library's own shape): HTTP ${d?.status} ${short(d?.body)}`);
      // Spec: ABCA §"Errors": use_attestation_challenge "MUST be accompanied by the
      // OAuth-Client-Attestation-Challenge HTTP header"; the client then uses it (§"Providing
      // Challenges on Previous Responses").
      if (d?.body?.error === "use_attestation_challenge") {
        const fresh = e.response?.headers?.get("OAuth-Client-Attestation-Challenge");
        if (check("use_attestation_challenge comes with an OAuth-Client-Attestation-Challenge header", typeof fresh === "string" && fresh.length > 0, Object.fromEntries(e.response?.headers ?? []))) {
          await step("a retry with the challenge from that header is accepted", () => token(makeWallet({ challenge: fresh }), issuerMetadata));
        }
      }
    }
    const r = await fetch(as.challenge_endpoint, { method: "POST" });
    check('challenge endpoint: POST → 200 {"attestation_challenge"}, Cache-Control no-store (ABCA §"Challenge Endpoint")', r.status === 200 && /no-store/.test(r.headers.get("cache-control") ?? ""), { status: r.status, cc: r.headers.get("cache-control") });
    const { attestation_challenge: c } = await r.json();
    const w1 = makeWallet({ challenge: c });
    const ok1 = await step("a PoP with a fresh challenge (and a new jti) is accepted", () => token(w1, issuerMetadata));
    if (ok1) {
      const w2 = makeWallet({ challenge: c });
      try {
        await token(w2, issuerMetadata);
        fail("the same challenge in a second PoP (new jti, other instance) is refused", "accepted");
      } catch (e) {
        const d = errDetail(e);
        check("the same challenge in a second PoP (new jti, other instance) is refused (400 use_attestation_challenge / 401 invalid_client)", [400, 401].includes(d?.status) && ["use_attestation_challenge", "invalid_client"].includes(d?.body?.error), d);
      }
    }
    const w3 = makeWallet({ challenge: "made-up-by-the-wallet" });
    try {
      await token(w3, issuerMetadata);
      fail("a challenge the server never issued is refused", "accepted");
    } catch (e) {
      const d = errDetail(e);
      check("a challenge the server never issued is refused (400 use_attestation_challenge / 401 invalid_client)", [400, 401].includes(d?.status) && ["use_attestation_challenge", "invalid_client"].includes(d?.body?.error), d);
    }
  } else skip("ABCA challenges", "no challenge_endpoint in the AS metadata");

  // ---------------------------------------------------------------- PAR
  section("PAR (HAIP 1.0 §4.3: wallets authenticate at the PAR endpoint too)");
  if (as.pushed_authorization_request_endpoint) {
    const authRequest = (w) =>
      w.oauth2.createAuthorizationRequestUrl({
        authorizationServerMetadata: as,
        clientId: CLIENT_ID,
        redirectUri: "https://wallet.example/cb",
        scope: "employee_badge",
        pkceCodeVerifier: b64u(randomBytes(32)),
        dpop: w.dpop(),
      });
    await step("PAR with wallet attestation (library) + DPoP: request_uri issued", async () => {
      const r = await authRequest(makeWallet());
      if (!/request_uri=/.test(r.authorizationRequestUrl)) throw new Error(`no request_uri: ${r.authorizationRequestUrl}`);
    });
    const a = makeWallet();
    a.callbacks.clientAuthentication = () => {};
    a.oauth2 = new Oauth2Client({ callbacks: a.callbacks });
    await refuse("PAR without client attestation → 401 invalid_client", () => authRequest(a), { status: 401, error: "invalid_client" });
    // Spec: HAIP 1.0 §4.4.1: "the client_id value in the PAR request MUST be the string in the
    // sub value in the client attestation JWT" (ABCA §"Verification and Processing" item 7).
    await refuse("PAR whose client_id is not the attestation's sub → 401 invalid_client", () => authRequest(makeWallet({ clientId: "https://other-wallet.example" })), { status: 401, error: "invalid_client" });
  } else fail("AS metadata has a pushed_authorization_request_endpoint", as);
}

try {
  await main();
} catch (e) {
  fail("suite crashed", e?.stack ?? String(e));
}
console.log(`haip: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
