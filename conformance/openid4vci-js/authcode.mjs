#!/usr/bin/env node
// Independent OpenID4VCI wallet for vdc's authorization code flow (OID4VCI 1.0 §5/§6 with
// RFC 9126 PAR, RFC 7636 PKCE S256, RFC 9449 DPoP and RFC 9207 `iss`), built on the
// @openid4vc/openid4vci + @openid4vc/oauth2 0.4.6 client classes; the user logs in at the
// enterprise IdP (conformance/idp/login.mjs plays the browser). Two runs:
//
//   offer  issuer-initiated: the offer's authorization_code grant (issuer_state),
//          Openid4vciClient.initiateAuthorization with `authorization_details`, ES256 DPoP;
//          the credential is requested by `credential_identifier` (OID4VCI 1.0 §8.2)
//   scope  wallet-initiated: no offer, `scope` from the credential configuration, `state`,
//          EdDSA DPoP (the Oauth2Client directly: Openid4vciClient needs an offer); the
//          credential by `credential_configuration_id`, then a DPoP refresh
//
// Each received SD-JWT VC is verified with @sd-jwt/sd-jwt-vc (issuer key from the JWT VC
// Issuer Metadata), bound to the holder key and carrying the IdP-mapped claims.
//
// Usage: node authcode.mjs < request.json
//   request: {"credential_issuer", "offer_uri", "client_id", "redirect_uri",
//             "login": {"user", "password"}, "expect": {claim: value, ...},
//             "credential_configuration_id", "scope"}
//   answer (one line on stdout): {"ok": bool, "checks": [{"name", "ok", "detail"?}]}
// A line per check goes to stderr as it runs. Exit 0 whenever an answer was printed.

import { execFile } from "node:child_process";
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { Openid4vciClient, Openid4vciRetrieveCredentialsError, setGlobalConfig } from "@openid4vc/openid4vci";
import {
  Oauth2Client,
  Oauth2ClientErrorResponseError,
  authorizationCodeGrantIdentifier,
  clientAuthenticationNone,
  resourceRequest,
} from "@openid4vc/oauth2";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";

const conf = join(dirname(fileURLToPath(import.meta.url)), "..");
const FETCH_TIMEOUT_MS = 15000;
const SKEW = 60;
const MAX_ERR = 1500;

const isObj = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
const b64u = (buf) => Buffer.from(buf).toString("base64url");
const b64uJson = (v) => b64u(Buffer.from(JSON.stringify(v), "utf8"));

function errText(e) {
  let m = e && typeof e.message === "string" ? e.message : String(e);
  if (e && e.cause) m += ` (cause: ${e.cause.message || e.cause})`;
  return m.slice(0, MAX_ERR);
}

// ------------------------------------------------------------------ checks

const checks = [];
class Abort extends Error {}
function check(name, ok, detail) {
  const entry = { name, ok: Boolean(ok) };
  if (!ok && detail !== undefined) entry.detail = typeof detail === "string" ? detail.slice(0, MAX_ERR) : detail;
  checks.push(entry);
  process.stderr.write(`  ${ok ? "ok  " : "FAIL"}  ${name}${ok || detail === undefined ? "" : `: ${JSON.stringify(entry.detail).slice(0, MAX_ERR)}`}\n`);
  return Boolean(ok);
}
/** A check whose failure ends the current run. */
function must(name, ok, detail) {
  if (!check(name, ok, detail)) throw new Abort(name);
}
/** Runs a library step; a throw becomes a failed check (with the server's answer) and ends the run. */
async function step(name, fn) {
  try {
    const v = await fn();
    check(name, true);
    return v;
  } catch (e) {
    if (e instanceof Abort) throw e;
    let detail = errText(e);
    if (e instanceof Oauth2ClientErrorResponseError) detail = { error: errText(e), status: e.response?.status, body: e.errorResponse };
    if (e instanceof Openid4vciRetrieveCredentialsError) detail = { error: errText(e), body: e.response?.credentialErrorResponseResult?.data };
    check(name, false, detail);
    throw new Abort(name);
  }
}

// ------------------------------------------------------------------ keys and callbacks

function es256Key() {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const j = publicKey.export({ format: "jwk" });
  return { alg: "ES256", privateKey, publicJwk: { kty: "EC", crv: "P-256", x: j.x, y: j.y } };
}
function ed25519Key() {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const j = publicKey.export({ format: "jwk" });
  return { alg: "EdDSA", privateKey, publicJwk: { kty: "OKP", crv: "Ed25519", x: j.x } };
}
const sameKey = (a, b) => isObj(a) && isObj(b) && a.kty === b.kty && a.crv === b.crv && a.x === b.x && a.y === b.y;

function signWith(key, input) {
  const data = Buffer.from(input, "utf8");
  if (key.alg === "ES256") return nodeSign("sha256", data, { key: key.privateKey, dsaEncoding: "ieee-p1363" });
  return nodeSign(null, data, key.privateKey);
}

function es256Verify(jwk, input, sigB64u) {
  if (!isObj(jwk) || jwk.kty !== "EC" || jwk.crv !== "P-256" || typeof sigB64u !== "string") return false;
  const sig = Buffer.from(sigB64u, "base64url");
  if (sig.length !== 64) return false;
  try {
    const key = createPublicKey({ key: { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y }, format: "jwk" });
    return nodeVerify("sha256", Buffer.from(input, "utf8"), { key, dsaEncoding: "ieee-p1363" }, sig);
  } catch {
    return false;
  }
}

const HASHES = { "sha-256": "sha256", "sha-384": "sha384", "sha-512": "sha512" };

/** The libraries' callbacks; `keys` are the only keys signJwt signs with (holder and DPoP). */
function makeCallbacks(keys, clientId) {
  const log = [];
  return {
    log,
    fetch: async (input, init = {}) => {
      const headers = new Headers(init.headers);
      const method = (init.method ?? "GET").toUpperCase();
      if (method === "GET" && !headers.has("accept")) headers.set("accept", "application/json");
      const r = await fetch(input, { ...init, headers, redirect: "manual", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      log.push({ method, url: String(input), status: r.status, dpop: headers.has("dpop"), dpop_nonce: r.headers.get("dpop-nonce") });
      return r;
    },
    hash: (data, alg) => {
      const h = HASHES[alg];
      if (!h) throw new Error(`unsupported hash ${String(alg).slice(0, 20)}`);
      return new Uint8Array(createHash(h).update(data).digest());
    },
    generateRandom: (n) => new Uint8Array(randomBytes(n)),
    signJwt: async (signer, { header, payload }) => {
      const key = keys.find((k) => signer.method === "jwk" && signer.alg === k.alg && sameKey(signer.publicJwk, k.publicJwk));
      if (!key) throw new Error(`no wallet key for signer ${signer.method}/${signer.alg}`);
      const input = `${b64uJson(header)}.${b64uJson(payload)}`;
      return { jwt: `${input}.${b64u(signWith(key, input))}`, signerJwk: key.publicJwk };
    },
    verifyJwt: async (signer, { compact }) => {
      const p = compact.split(".");
      if (signer.method !== "jwk" || signer.alg !== "ES256" || p.length !== 3) return { verified: false };
      return es256Verify(signer.publicJwk, `${p[0]}.${p[1]}`, p[2]) ? { verified: true, signerJwk: signer.publicJwk } : { verified: false };
    },
    encryptJwe: () => {
      throw new Error("JWE not supported");
    },
    decryptJwe: () => {
      throw new Error("JWE not supported");
    },
    // A public client (RFC 6749 §2.1): client_id in the body of PAR, token and refresh requests.
    clientAuthentication: clientAuthenticationNone({ clientId }),
  };
}

// ------------------------------------------------------------------ helpers

const execFileP = promisify(execFile);

/** Plays the browser: authorization URL → IdP login → the wallet's redirect URL. */
async function login(authorizationUrl, redirectUri, user, password) {
  try {
    const { stdout } = await execFileP(process.execPath, [join(conf, "idp/login.mjs"), authorizationUrl, redirectUri, user, password], {
      timeout: 20000,
    });
    const out = JSON.parse(stdout.trim().split("\n").pop());
    if (typeof out.redirect !== "string") throw new Error(`login.mjs printed ${stdout.slice(0, 300)}`);
    return out.redirect;
  } catch (e) {
    throw new Error(`login.mjs: ${(e.stderr || "").trim() || errText(e)}`);
  }
}

/** Verifies a dc+sd-jwt credential (signature via JWT VC Issuer Metadata, cnf, vct, iss). */
async function verifyCredential(credential, { fetchFn, credentialIssuer, vct, holderJwk }) {
  if (typeof credential !== "string" || !credential.endsWith("~")) throw new Error("credential is not an SD-JWT ending in '~'");
  const jwt = credential.slice(0, credential.indexOf("~"));
  const [h, p] = jwt.split(".");
  const header = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
  const payload = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
  if (header.typ !== "dc+sd-jwt") throw new Error(`typ ${JSON.stringify(header.typ)} != dc+sd-jwt`);
  if (payload.iss !== credentialIssuer) throw new Error(`iss ${payload.iss} != ${credentialIssuer}`);
  const u = new URL(payload.iss);
  const metaUrl = `${u.origin}/.well-known/jwt-vc-issuer${u.pathname.replace(/\/$/, "")}`;
  const res = await fetchFn(metaUrl);
  if (!res.ok) throw new Error(`GET ${metaUrl}: HTTP ${res.status}`);
  const meta = await res.json();
  if (meta.issuer !== payload.iss) throw new Error(`JWT VC issuer metadata issuer ${meta.issuer} != iss`);
  const keys = (meta.jwks?.keys ?? []).filter((k) => k.kty === "EC" && k.crv === "P-256" && (header.kid === undefined || k.kid === header.kid));
  if (keys.length === 0) throw new Error("no matching P-256 key in the issuer's jwks");
  let verified = false;
  const sdjwt = new SDJwtVcInstance({
    hasher: (data, alg) => {
      if (String(alg).toLowerCase() !== "sha-256") throw new Error(`unsupported _sd_alg ${alg}`);
      return new Uint8Array(createHash("sha256").update(data).digest());
    },
    verifier: async (data, sig) => (verified = keys.some((k) => es256Verify(k, data, sig))),
  });
  sdjwt.verifyStatus = async () => {};
  const result = await sdjwt.verify(credential, { currentDate: Math.floor(Date.now() / 1000), skewSeconds: SKEW });
  if (!verified) throw new Error("signature not checked");
  const claims = result.payload;
  if (claims.vct !== vct) throw new Error(`vct ${claims.vct} != ${vct}`);
  if (!sameKey(claims.cnf?.jwk, holderJwk)) throw new Error("cnf.jwk is not the holder key of the proof");
  return claims;
}

function checkClaims(prefix, claims, expect) {
  for (const [k, v] of Object.entries(expect)) {
    check(`${prefix}: credential claim ${k} = ${JSON.stringify(v)} (mapped from the IdP)`, claims[k] === v, { got: claims[k] });
  }
}

/** OID4VCI 1.0 §8.2 credential request by credential_identifier (0.4.6 only builds the configuration-id form). */
async function credentialByIdentifier({ callbacks, issuerMetadata, accessToken, identifier, proofs, dpop }) {
  const r = await resourceRequest({
    callbacks,
    accessToken,
    dpop,
    url: issuerMetadata.credentialIssuer.credential_endpoint,
    requestOptions: { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ credential_identifier: identifier, proofs }) },
  });
  const text = await r.response.clone().text();
  if (!r.ok) throw new Error(`credential endpoint HTTP ${r.response.status} (WWW-Authenticate ${r.response.headers.get("www-authenticate")}): ${text.slice(0, 500)}`);
  return { body: JSON.parse(text), dpop: r.dpop };
}

function redirectParams(url) {
  return Object.fromEntries(new URL(url).searchParams);
}

// ------------------------------------------------------------------ run 1: offer

async function runOffer(req) {
  const P = "offer";
  const holder = es256Key();
  const dpopKey = es256Key();
  const callbacks = makeCallbacks([holder, dpopKey], req.client_id);
  const client = new Openid4vciClient({ callbacks });

  const offer = await step(`${P}: resolve the credential offer (credential_offer_uri)`, () => client.resolveCredentialOffer(req.offer_uri));
  const grant = offer.grants?.[authorizationCodeGrantIdentifier];
  must(`${P}: offer has the authorization_code grant with issuer_state (OID4VCI 1.0 §4.1.1)`, grant && typeof grant.issuer_state === "string", offer.grants);
  check(`${P}: offer has no pre-authorized_code grant`, !offer.grants["urn:ietf:params:oauth:grant-type:pre-authorized_code"], offer.grants);
  check(`${P}: offer credential_issuer is the issuer`, offer.credential_issuer === req.credential_issuer, offer.credential_issuer);

  const md = await step(`${P}: resolve issuer and AS metadata`, () => client.resolveIssuerMetadata(offer.credential_issuer));
  const configId = req.credential_configuration_id;
  const config = md.credentialIssuer.credential_configurations_supported[configId];
  must(`${P}: ${configId} is in credential_configurations_supported`, isObj(config), Object.keys(md.credentialIssuer.credential_configurations_supported));
  must(`${P}: one authorization server, the credential issuer itself`, md.authorizationServers.length === 1 && md.authorizationServers[0].issuer === req.credential_issuer, md.authorizationServers.map((a) => a.issuer));
  const as = md.authorizationServers[0];

  const redirectUri = req.redirect_uri;
  const authorizationDetails = [{ type: "openid_credential", credential_configuration_id: configId }];
  const auth = await step(`${P}: initiateAuthorization (PAR + PKCE + DPoP ES256, authorization_details, issuer_state)`, () =>
    client.initiateAuthorization({
      clientId: req.client_id,
      redirectUri,
      credentialOffer: offer,
      issuerMetadata: md,
      additionalRequestPayload: { authorization_details: authorizationDetails },
      dpop: { signer: { method: "jwk", alg: "ES256", publicJwk: dpopKey.publicJwk } },
    }),
  );
  const parCalls = callbacks.log.filter((l) => l.url === as.pushed_authorization_request_endpoint);
  check(`${P}: first DPoP PAR answered 400 use_dpop_nonce with DPoP-Nonce, retry accepted (RFC 9449 §8)`,
    parCalls.length === 2 && parCalls[0].status === 400 && parCalls[0].dpop_nonce && parCalls[1].status === 201, parCalls);
  check(`${P}: the PAR response carries a DPoP-Nonce for the next request`, typeof auth.dpop?.nonce === "string", auth.dpop);
  check(`${P}: PKCE method is S256`, auth.pkce?.codeChallengeMethod === "S256", auth.pkce?.codeChallengeMethod);
  const authzUrl = new URL(auth.authorizationRequestUrl);
  check(`${P}: the authorization URL carries only client_id and request_uri (RFC 9126 §4)`,
    [...authzUrl.searchParams.keys()].sort().join(",") === "client_id,request_uri" && authzUrl.searchParams.get("request_uri").startsWith("urn:ietf:params:oauth:request_uri:"),
    auth.authorizationRequestUrl);

  const redirect = await step(`${P}: login at the IdP (ada) and back to the wallet's redirect_uri`, () =>
    login(auth.authorizationRequestUrl, redirectUri, req.login.user, req.login.password));
  const params = redirectParams(redirect);
  check(`${P}: authorization response has a code`, typeof params.code === "string" && params.code.length > 0, params);
  check(`${P}: authorization response iss = the AS issuer (RFC 9207 §2)`, params.iss === as.issuer, params);
  check(`${P}: no state in the response when none was sent`, params.state === undefined, params);
  const authorizationResponse = await step(`${P}: parseAndVerifyAuthorizationResponseRedirectUrl (iss)`, () =>
    client.parseAndVerifyAuthorizationResponseRedirectUrl({ url: redirect, authorizationServerMetadata: as }));

  let dpop = auth.dpop;
  const token = await step(`${P}: authorization_code token request with DPoP`, () =>
    client.retrieveAuthorizationCodeAccessTokenFromOffer({
      issuerMetadata: md,
      credentialOffer: offer,
      authorizationCode: authorizationResponse.code,
      pkceCodeVerifier: auth.pkce.codeVerifier,
      redirectUri,
      dpop,
    }),
  );
  const tr = token.accessTokenResponse;
  dpop = token.dpop;
  check(`${P}: token_type DPoP (RFC 9449 §5)`, tr.token_type === "DPoP", tr.token_type);
  check(`${P}: refresh_token and expires_in present`, typeof tr.refresh_token === "string" && typeof tr.expires_in === "number", Object.keys(tr));
  check(`${P}: the token response carries a DPoP-Nonce`, typeof dpop?.nonce === "string", dpop);
  const detail = Array.isArray(tr.authorization_details) ? tr.authorization_details.find((d) => d.credential_configuration_id === configId) : undefined;
  must(`${P}: token response authorization_details with credential_identifiers (OID4VCI 1.0 §6.2)`,
    detail && detail.type === "openid_credential" && Array.isArray(detail.credential_identifiers) && detail.credential_identifiers.length > 0,
    tr.authorization_details);

  const nonce = await step(`${P}: nonce endpoint`, () => client.requestNonce({ issuerMetadata: md }));
  const { jwt } = await step(`${P}: key proof (openid4vci-proof+jwt, iss = client_id)`, () =>
    client.createCredentialRequestJwtProof({
      issuerMetadata: md,
      credentialConfigurationId: configId,
      signer: { method: "jwk", alg: "ES256", publicJwk: holder.publicJwk },
      nonce: nonce.c_nonce,
      clientId: req.client_id,
      issuedAt: new Date(),
    }),
  );
  const cred = await step(`${P}: credential request by credential_identifier with DPoP (ath)`, () =>
    credentialByIdentifier({ callbacks, issuerMetadata: md, accessToken: tr.access_token, identifier: detail.credential_identifiers[0], proofs: { jwt: [jwt] }, dpop }),
  );
  const list = cred.body.credentials;
  must(`${P}: credential response has credentials[0].credential`, Array.isArray(list) && typeof list[0]?.credential === "string", cred.body);
  const claims = await step(`${P}: @sd-jwt/sd-jwt-vc verifies the SD-JWT VC (issuer key, cnf = holder key, vct)`, () =>
    verifyCredential(list[0].credential, { fetchFn: callbacks.fetch, credentialIssuer: req.credential_issuer, vct: config.vct, holderJwk: holder.publicJwk }),
  );
  checkClaims(P, claims, req.expect);
}

// ------------------------------------------------------------------ run 2: scope

async function runScope(req) {
  const P = "scope";
  const holder = es256Key();
  const dpopKey = ed25519Key();
  const callbacks = makeCallbacks([holder, dpopKey], req.client_id);
  const client = new Openid4vciClient({ callbacks });
  const oauth2 = new Oauth2Client({ callbacks });

  const md = await step(`${P}: resolve issuer and AS metadata (no offer)`, () => client.resolveIssuerMetadata(req.credential_issuer));
  const configs = md.credentialIssuer.credential_configurations_supported;
  const [configId, config] = Object.entries(configs).find(([, c]) => c.scope === req.scope) ?? [];
  must(`${P}: a credential configuration has scope ${req.scope} (OID4VCI 1.0 §12.2.4)`, configId === req.credential_configuration_id, Object.fromEntries(Object.entries(configs).map(([k, c]) => [k, c.scope])));
  const as = md.authorizationServers[0];
  check(`${P}: AS metadata advertises EdDSA for DPoP`, as.dpop_signing_alg_values_supported?.includes("EdDSA"), as.dpop_signing_alg_values_supported);

  const state = b64u(randomBytes(16));
  const redirectUri = req.redirect_uri;
  const auth = await step(`${P}: initiateAuthorization (PAR + PKCE + DPoP EdDSA, scope, state)`, () =>
    oauth2.initiateAuthorization({
      authorizationServerMetadata: as,
      clientId: req.client_id,
      redirectUri,
      scope: req.scope,
      state,
      resource: md.credentialIssuer.credential_issuer,
      dpop: { signer: { method: "jwk", alg: "EdDSA", publicJwk: dpopKey.publicJwk } },
    }),
  );
  const redirect = await step(`${P}: login at the IdP (ada) and back to the wallet's redirect_uri`, () =>
    login(auth.authorizationRequestUrl, redirectUri, req.login.user, req.login.password));
  const params = redirectParams(redirect);
  check(`${P}: state echoed (RFC 6749 §4.1.2)`, params.state === state, params);
  check(`${P}: iss = the AS issuer (RFC 9207 §2)`, params.iss === as.issuer, params);
  const ar = await step(`${P}: parseAuthorizationResponseRedirectUrl + verifyAuthorizationResponse (iss)`, () => {
    const r = oauth2.parseAuthorizationResponseRedirectUrl({ url: redirect });
    oauth2.verifyAuthorizationResponse({ authorizationResponse: r, authorizationServerMetadata: as });
    return r;
  });

  let dpop = auth.dpop;
  const token = await step(`${P}: authorization_code token request with DPoP`, () =>
    oauth2.retrieveAuthorizationCodeAccessToken({
      authorizationServerMetadata: as,
      authorizationCode: ar.code,
      pkceCodeVerifier: auth.pkce.codeVerifier,
      redirectUri,
      resource: md.credentialIssuer.credential_issuer,
      dpop,
    }),
  );
  const tr = token.accessTokenResponse;
  dpop = token.dpop;
  check(`${P}: token_type DPoP`, tr.token_type === "DPoP", tr.token_type);
  check(`${P}: refresh_token present`, typeof tr.refresh_token === "string", Object.keys(tr));

  const issue = async (accessToken, label) => {
    const nonce = await step(`${P}: nonce endpoint (${label})`, () => client.requestNonce({ issuerMetadata: md }));
    const { jwt } = await step(`${P}: key proof (${label})`, () =>
      client.createCredentialRequestJwtProof({
        issuerMetadata: md,
        credentialConfigurationId: configId,
        signer: { method: "jwk", alg: "ES256", publicJwk: holder.publicJwk },
        nonce: nonce.c_nonce,
        clientId: req.client_id,
        issuedAt: new Date(),
      }),
    );
    const r = await step(`${P}: credential request by credential_configuration_id with DPoP (${label})`, () =>
      client.retrieveCredentials({ issuerMetadata: md, credentialConfigurationId: configId, accessToken, proofs: { jwt: [jwt] }, dpop }),
    );
    if (r.dpop?.nonce) dpop = { ...dpop, nonce: r.dpop.nonce };
    const c = r.credentialResponse.credentials?.[0]?.credential;
    const claims = await step(`${P}: @sd-jwt/sd-jwt-vc verifies the SD-JWT VC (${label})`, () =>
      verifyCredential(c, { fetchFn: callbacks.fetch, credentialIssuer: req.credential_issuer, vct: config.vct, holderJwk: holder.publicJwk }),
    );
    return claims;
  };
  const claims = await issue(tr.access_token, "access token");
  checkClaims(P, claims, req.expect);

  const refreshed = await step(`${P}: refresh_token grant with the same DPoP key`, () =>
    oauth2.retrieveRefreshTokenAccessToken({
      authorizationServerMetadata: as,
      refreshToken: tr.refresh_token,
      resource: md.credentialIssuer.credential_issuer,
      dpop,
    }),
  );
  dpop = refreshed.dpop;
  const rr = refreshed.accessTokenResponse;
  check(`${P}: refresh gives a new DPoP access token`, rr.token_type === "DPoP" && rr.access_token !== tr.access_token, { token_type: rr.token_type });
  check(`${P}: refresh token rotated (RFC 9700 §4.14.2)`, typeof rr.refresh_token === "string" && rr.refresh_token !== tr.refresh_token, Object.keys(rr));
  await issue(rr.access_token, "refreshed access token");
}

// ------------------------------------------------------------------ main

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const req = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  // The libraries refuse http:// URLs (zHttpsUrl) unless this global flag is set; the test
  // server is plain-HTTP loopback.
  setGlobalConfig({ allowInsecureUrls: true });
  for (const [name, run] of [["offer", runOffer], ["scope", runScope]]) {
    process.stderr.write(`-- @openid4vc/openid4vci authorization code flow: ${name}\n`);
    try {
      await run(req);
    } catch (e) {
      if (!(e instanceof Abort)) check(`${name}: crashed`, false, e && e.stack ? String(e.stack).slice(0, MAX_ERR) : errText(e));
    }
  }
  const ok = checks.length > 0 && checks.every((c) => c.ok);
  process.stdout.write(`${JSON.stringify({ ok, checks })}\n`);
}

main().catch((e) => {
  process.stdout.write(`${JSON.stringify({ ok: false, checks: [...checks, { name: "crash", ok: false, detail: errText(e) }] })}\n`);
  process.exit(0);
});
