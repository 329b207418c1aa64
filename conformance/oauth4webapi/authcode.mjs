#!/usr/bin/env node
// A second, independent OAuth 2.0 client for vdc's authorization code flow: panva's
// oauth4webapi 3.8.8 (a strict RFC client: RFC 8414 discovery, RFC 9126 PAR, RFC 7636 PKCE,
// RFC 9449 DPoP with nonce handling, RFC 9207 `iss` validation, refresh). The user logs in at
// the enterprise IdP (conformance/idp/login.mjs plays the browser). Then refusals every
// conformant AS must give: PKCE `plain`, a reused request_uri, a reused code, a wrong
// code_verifier, a DPoP-bound code without DPoP, a DPoP token used as Bearer, a rotated-out
// refresh token, a refresh with another DPoP key.
//
// Usage: node authcode.mjs < request.json
//   request: {"credential_issuer", "client_id", "redirect_uri", "login": {"user", "password"},
//             "expect": {claim: value, ...}, "credential_configuration_id", "scope"}
//   answer (one line on stdout): {"ok": bool, "checks": [{"name", "ok", "detail"?}]}
// A line per check goes to stderr as it runs. Exit 0 whenever an answer was printed.

import { execFile } from "node:child_process";
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import * as oauth from "oauth4webapi";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";

const conf = join(dirname(fileURLToPath(import.meta.url)), "..");
const MAX_ERR = 1500;
const SKEW = 60;
// The test server is plain-HTTP loopback; oauth4webapi refuses http:// without this option.
const INSECURE = { [oauth.allowInsecureRequests]: true };

const isObj = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
const b64u = (buf) => Buffer.from(buf).toString("base64url");
const b64uJson = (v) => b64u(Buffer.from(JSON.stringify(v), "utf8"));

// ------------------------------------------------------------------ checks

const checks = [];
class Abort extends Error {}
function describe(e) {
  if (e instanceof oauth.ResponseBodyError) return { status: e.status, error: e.error, error_description: e.error_description };
  if (e instanceof oauth.WWWAuthenticateChallengeError) return { status: e.status, www_authenticate: e.cause };
  if (e instanceof oauth.AuthorizationResponseError) return { authorization_error: Object.fromEntries(e.cause) };
  let m = e && typeof e.message === "string" ? e.message : String(e);
  if (e && e.code) m = `${e.code}: ${m}`;
  if (e && e.cause !== undefined) {
    try {
      m += ` (cause: ${JSON.stringify(e.cause instanceof URLSearchParams ? Object.fromEntries(e.cause) : e.cause)})`;
    } catch {
      m += ` (cause: ${e.cause})`;
    }
  }
  return m.slice(0, MAX_ERR);
}
function check(name, ok, detail) {
  const entry = { name, ok: Boolean(ok) };
  if (!ok && detail !== undefined) entry.detail = detail;
  checks.push(entry);
  process.stderr.write(`  ${ok ? "ok  " : "FAIL"}  ${name}${ok || detail === undefined ? "" : `: ${JSON.stringify(detail).slice(0, MAX_ERR)}`}\n`);
  return Boolean(ok);
}
function must(name, ok, detail) {
  if (!check(name, ok, detail)) throw new Abort(name);
}
async function step(name, fn) {
  try {
    const v = await fn();
    check(name, true);
    return v;
  } catch (e) {
    if (e instanceof Abort) throw e;
    check(name, false, describe(e));
    throw new Abort(name);
  }
}
/** Expects fn to be refused with an OAuth error: status and one of the `errors` codes. */
async function refused(name, fn, { status = 400, errors }) {
  try {
    await fn();
    return check(name, false, "the request succeeded");
  } catch (e) {
    if (e instanceof Abort) throw e;
    const d = describe(e);
    if (e instanceof oauth.ResponseBodyError) return check(name, e.status === status && errors.includes(e.error), d);
    return check(name, false, d);
  }
}

/** RFC 9449 §8: a use_dpop_nonce answer is retried once (the DPoP handle cached the nonce). */
async function withNonceRetry(fn, record) {
  try {
    return await fn();
  } catch (e) {
    if (!oauth.isDPoPNonceError(e)) throw e;
    if (record) record.push(describe(e));
    return fn();
  }
}

// ------------------------------------------------------------------ helpers

const execFileP = promisify(execFile);
async function login(authorizationUrl, redirectUri, user, password) {
  try {
    const { stdout } = await execFileP(process.execPath, [join(conf, "idp/login.mjs"), authorizationUrl, redirectUri, user, password], { timeout: 20000 });
    const out = JSON.parse(stdout.trim().split("\n").pop());
    if (typeof out.redirect !== "string") throw new Error(`login.mjs printed ${stdout.slice(0, 300)}`);
    return out.redirect;
  } catch (e) {
    throw new Error(`login.mjs: ${(e.stderr || "").trim() || e.message}`);
  }
}

function holderKey() {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const j = publicKey.export({ format: "jwk" });
  return { privateKey, publicJwk: { kty: "EC", crv: "P-256", x: j.x, y: j.y } };
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
/** OID4VCI 1.0 §8.2.1.1 / Appendix F.1 key proof, signed here (oauth4webapi has no such API). */
function keyProof(holder, { aud, nonce, iss }) {
  const header = { typ: "openid4vci-proof+jwt", alg: "ES256", jwk: holder.publicJwk };
  const payload = { aud, iat: Math.floor(Date.now() / 1000), nonce, iss };
  const input = `${b64uJson(header)}.${b64uJson(payload)}`;
  return `${input}.${b64u(nodeSign("sha256", Buffer.from(input), { key: holder.privateKey, dsaEncoding: "ieee-p1363" }))}`;
}
async function verifyCredential(credential, { credentialIssuer, vct, holderJwk }) {
  if (typeof credential !== "string" || !credential.endsWith("~")) throw new Error("credential is not an SD-JWT ending in '~'");
  const [h, p] = credential.slice(0, credential.indexOf("~")).split(".");
  const header = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
  const payload = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
  if (header.typ !== "dc+sd-jwt") throw new Error(`typ ${JSON.stringify(header.typ)} != dc+sd-jwt`);
  if (payload.iss !== credentialIssuer) throw new Error(`iss ${payload.iss} != ${credentialIssuer}`);
  const u = new URL(payload.iss);
  const res = await fetch(`${u.origin}/.well-known/jwt-vc-issuer${u.pathname.replace(/\/$/, "")}`, { headers: { accept: "application/json" } });
  if (!res.ok) throw new Error(`JWT VC issuer metadata: HTTP ${res.status}`);
  const meta = await res.json();
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
  const { payload: claims } = await sdjwt.verify(credential, { currentDate: Math.floor(Date.now() / 1000), skewSeconds: SKEW });
  if (!verified) throw new Error("signature not checked");
  if (claims.vct !== vct) throw new Error(`vct ${claims.vct} != ${vct}`);
  const cnf = claims.cnf?.jwk;
  if (!isObj(cnf) || cnf.x !== holderJwk.x || cnf.y !== holderJwk.y) throw new Error("cnf.jwk is not the holder key of the proof");
  return claims;
}

// ------------------------------------------------------------------ the flow

async function run(req) {
  const issuer = new URL(req.credential_issuer);
  const client = { client_id: req.client_id, token_endpoint_auth_method: "none" };
  const clientAuth = oauth.None();
  const redirectUri = req.redirect_uri;

  // RFC 8414 §3.1: /.well-known/oauth-authorization-server inserted before the issuer's path.
  const as = await step("discoveryRequest (RFC 8414, path issuer) + processDiscoveryResponse", async () =>
    oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: "oauth2", ...INSECURE })),
  );
  check("AS metadata: require_pushed_authorization_requests true (RFC 9126 §5)", as.require_pushed_authorization_requests === true && typeof as.pushed_authorization_request_endpoint === "string", as);
  check("AS metadata: code_challenge_methods_supported [S256] (RFC 7636 §4.2, RFC 9700 §2.1.1)", JSON.stringify(as.code_challenge_methods_supported) === '["S256"]', as.code_challenge_methods_supported);
  check("AS metadata: dpop_signing_alg_values_supported has ES256 and EdDSA (RFC 9449 §5.1)",
    ["ES256", "EdDSA"].every((a) => as.dpop_signing_alg_values_supported?.includes(a)), as.dpop_signing_alg_values_supported);
  check("AS metadata: authorization_response_iss_parameter_supported true (RFC 9207 §3)", as.authorization_response_iss_parameter_supported === true, as.authorization_response_iss_parameter_supported);
  check("AS metadata: grant_types_supported has authorization_code and refresh_token",
    ["authorization_code", "refresh_token"].every((g) => as.grant_types_supported?.includes(g)), as.grant_types_supported);
  check("AS metadata: response_types_supported has code", as.response_types_supported?.includes("code"), as.response_types_supported);

  const keyPair = await oauth.generateKeyPair("ES256");
  const dpop = oauth.DPoP(client, keyPair);

  /** PAR (+ nonce retry), authorize, login; returns the callback parameters and the secrets. */
  const authorize = async (label, { handle = dpop, verifier = oauth.generateRandomCodeVerifier(), nonceErrors, extra = {} } = {}) => {
    const state = oauth.generateRandomState();
    const params = {
      response_type: "code",
      redirect_uri: redirectUri,
      scope: req.scope,
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      ...extra,
    };
    const dpopOption = handle === null ? {} : { DPoP: handle };
    const par = await step(`${label}: pushedAuthorizationRequest ${handle === null ? "without DPoP (dpop_jkt)" : "with DPoP"} + processPushedAuthorizationResponse`, () =>
      withNonceRetry(async () =>
        oauth.processPushedAuthorizationResponse(as, client, await oauth.pushedAuthorizationRequest(as, client, clientAuth, params, { ...dpopOption, ...INSECURE })),
      nonceErrors),
    );
    const url = new URL(as.authorization_endpoint);
    url.searchParams.set("client_id", client.client_id);
    url.searchParams.set("request_uri", par.request_uri);
    const redirect = await step(`${label}: login at the IdP (ada) and back to the wallet's redirect_uri`, () =>
      login(url.href, redirectUri, req.login.user, req.login.password));
    const callback = await step(`${label}: validateAuthResponse (state, iss = AS issuer per RFC 9207)`, () => oauth.validateAuthResponse(as, client, new URL(redirect), state));
    return { par, callback, verifier, authorizeUrl: url.href, redirect };
  };

  // ---- the main flow
  const nonceErrors = [];
  const main = await authorize("main", { nonceErrors });
  check("main: first DPoP request (PAR) answered use_dpop_nonce, retry with the nonce accepted (RFC 9449 §8)", nonceErrors.length === 1 && nonceErrors[0].status === 400, nonceErrors);
  check("main: PAR response has request_uri (urn:ietf:params:oauth:request_uri:) and expires_in (RFC 9126 §2.2)",
    main.par.request_uri.startsWith("urn:ietf:params:oauth:request_uri:") && Number.isInteger(main.par.expires_in) && main.par.expires_in > 0, main.par);
  check("main: authorization response iss is the credential issuer", main.callback.get("iss") === req.credential_issuer, Object.fromEntries(main.callback));

  const tokenNonceErrors = [];
  const tokenRequest = (callback, verifier, options = { DPoP: dpop }) =>
    oauth.authorizationCodeGrantRequest(as, client, clientAuth, callback, redirectUri, verifier, { ...options, ...INSECURE })
      .then((r) => oauth.processAuthorizationCodeResponse(as, client, r));
  const tokens = await step("main: authorizationCodeGrantRequest with DPoP + processAuthorizationCodeResponse", () =>
    withNonceRetry(() => tokenRequest(main.callback, main.verifier), tokenNonceErrors));
  check("main: token_type DPoP", tokens.token_type === "dpop", tokens.token_type);
  check("main: refresh_token and expires_in present", typeof tokens.refresh_token === "string" && typeof tokens.expires_in === "number", Object.keys(tokens));


  await (async () => {
    const r = await fetch(main.authorizeUrl, { redirect: "manual" });
    const location = r.headers.get("location");
    const body = (await r.text()).slice(0, 300);
    check("refusal: the used request_uri again at /authorize → 4xx, no redirect (RFC 9126 §4: one-time use)",
      r.status >= 400 && r.status < 500 && !location, { status: r.status, location, body });
  })();

  // ---- the credential, as a DPoP-protected resource
  const holder = holderKey();
  const issuerMd = await step("credential issuer metadata (OID4VCI 1.0 §12.2.2)", async () => {
    const r = await fetch(`${issuer.origin}/.well-known/openid-credential-issuer${issuer.pathname}`, { headers: { accept: "application/json" } });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    return r.json();
  });
  const credentialEndpoint = new URL(issuerMd.credential_endpoint);
  const vct = issuerMd.credential_configurations_supported?.[req.credential_configuration_id]?.vct;

  const requestCredential = async (label, accessToken) => {
    const { c_nonce: nonce } = await step(`${label}: nonce endpoint`, async () => {
      const r = await fetch(issuerMd.nonce_endpoint, { method: "POST" });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      return r.json();
    });
    const body = JSON.stringify({
      credential_configuration_id: req.credential_configuration_id,
      proofs: { jwt: [keyProof(holder, { aud: req.credential_issuer, nonce, iss: req.client_id })] },
    });
    const rsNonce = [];
    const res = await step(`${label}: protectedResourceRequest POST /credential with DPoP (ath)`, () =>
      withNonceRetry(async () => {
        const r = await oauth.protectedResourceRequest(accessToken, "POST", credentialEndpoint, new Headers({ "content-type": "application/json" }), body, { DPoP: dpop, ...INSECURE });
        if (!r.ok) throw new Error(`HTTP ${r.status}: ${(await r.text()).slice(0, 500)}`);
        return r.json();
      }, rsNonce));
    if (rsNonce.length) process.stderr.write(`        (credential endpoint asked for a fresh DPoP nonce: ${JSON.stringify(rsNonce[0])})\n`);
    const claims = await step(`${label}: @sd-jwt/sd-jwt-vc verifies the SD-JWT VC (issuer key, cnf = holder key, vct)`, () =>
      verifyCredential(res.credentials?.[0]?.credential, { credentialIssuer: req.credential_issuer, vct, holderJwk: holder.publicJwk }));
    for (const [k, v] of Object.entries(req.expect)) check(`${label}: credential claim ${k} = ${JSON.stringify(v)}`, claims[k] === v, { got: claims[k] });
  };
  await requestCredential("main", tokens.access_token);

  await (async () => {
    // RFC 9449 §7.1: a DPoP-bound access token presented as a Bearer token is refused.
    const nonce = (await (await fetch(issuerMd.nonce_endpoint, { method: "POST" })).json()).c_nonce;
    const body = JSON.stringify({ credential_configuration_id: req.credential_configuration_id, proofs: { jwt: [keyProof(holder, { aud: req.credential_issuer, nonce, iss: req.client_id })] } });
    try {
      const r = await oauth.protectedResourceRequest(tokens.access_token, "POST", credentialEndpoint, new Headers({ "content-type": "application/json" }), body, INSECURE);
      check("refusal: the DPoP access token as Bearer → 401 (RFC 9449 §7.1)", false, { status: r.status, body: (await r.text()).slice(0, 300) });
    } catch (e) {
      check("refusal: the DPoP access token as Bearer → 401 (RFC 9449 §7.1)", e instanceof oauth.WWWAuthenticateChallengeError && e.status === 401, describe(e));
    }
  })();

  // ---- refresh (RFC 6749 §6; RFC 9449 §5: bound to the DPoP key for a public client)
  const refresh = (rt, handle = dpop) =>
    withNonceRetry(async () => oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, clientAuth, rt, { DPoP: handle, ...INSECURE })));
  const refreshed = await step("refresh: refreshTokenGrantRequest with DPoP + processRefreshTokenResponse", () => refresh(tokens.refresh_token));
  check("refresh: a new DPoP access token", refreshed.token_type === "dpop" && refreshed.access_token !== tokens.access_token, refreshed.token_type);
  check("refresh: the refresh token is rotated (RFC 9700 §4.14.2)", typeof refreshed.refresh_token === "string" && refreshed.refresh_token !== tokens.refresh_token, Object.keys(refreshed));
  await requestCredential("refresh", refreshed.access_token);
  const otherKey = oauth.DPoP(client, await oauth.generateKeyPair("ES256"));
  await refused("refusal: refresh with another DPoP key → 400 (RFC 9449 §5)", () => refresh(refreshed.refresh_token, otherKey), { errors: ["invalid_grant", "invalid_dpop_proof"] });
  await refused("refusal: the rotated-out refresh token → 400 invalid_grant (RFC 9700 §4.14.2)", () => refresh(tokens.refresh_token), { errors: ["invalid_grant"] });

  // ---- a replayed code: refused, and the tokens issued for it are revoked (RFC 6749 §4.1.2)
  const replay = await authorize("replay");
  const replayTokens = await step("replay: first redemption of the code", () => withNonceRetry(() => tokenRequest(replay.callback, replay.verifier)));
  await refused("refusal: the same code again → 400 invalid_grant (RFC 6749 §4.1.2, §5.2)", () =>
    withNonceRetry(() => tokenRequest(replay.callback, replay.verifier)), { errors: ["invalid_grant"] });
  await (async () => {
    const name = "replay: the access token issued for the replayed code is revoked → 401 invalid_token (RFC 6749 §4.1.2 SHOULD)";
    try {
      const r = await withNonceRetry(() =>
        oauth.protectedResourceRequest(replayTokens.access_token, "POST", credentialEndpoint, new Headers({ "content-type": "application/json" }), "{}", { DPoP: dpop, ...INSECURE }));
      check(name, false, { status: r.status, body: (await r.text()).slice(0, 300) });
    } catch (e) {
      check(name, e instanceof oauth.WWWAuthenticateChallengeError && e.status === 401
        && e.cause.some((c) => c.scheme === "dpop" && c.parameters.error === "invalid_token"), describe(e));
    }
  })();
  await refused("replay: the refresh token issued for the replayed code is revoked → 400 invalid_grant", () => refresh(replayTokens.refresh_token), { errors: ["invalid_grant"] });

  // ---- refusals that need their own authorization
  await refused("refusal: PAR with code_challenge_method plain → 400 invalid_request (RFC 7636 §4.4.1; S256 only)", async () => {
    const verifier = oauth.generateRandomCodeVerifier();
    const params = { response_type: "code", redirect_uri: redirectUri, scope: req.scope, code_challenge: verifier, code_challenge_method: "plain" };
    return withNonceRetry(async () => oauth.processPushedAuthorizationResponse(as, client, await oauth.pushedAuthorizationRequest(as, client, clientAuth, params, { DPoP: dpop, ...INSECURE })));
  }, { errors: ["invalid_request"] });

  await refused("refusal: PAR without code_challenge → 400 invalid_request (RFC 9700 §2.1.1, PKCE required)", async () => {
    const params = { response_type: "code", redirect_uri: redirectUri, scope: req.scope };
    return withNonceRetry(async () => oauth.processPushedAuthorizationResponse(as, client, await oauth.pushedAuthorizationRequest(as, client, clientAuth, params, { DPoP: dpop, ...INSECURE })));
  }, { errors: ["invalid_request"] });

  const wrongVerifier = await authorize("wrong-verifier");
  await refused("refusal: token request with a wrong code_verifier → 400 invalid_grant (RFC 7636 §4.6)", () =>
    withNonceRetry(() => tokenRequest(wrongVerifier.callback, oauth.generateRandomCodeVerifier())), { errors: ["invalid_grant"] });

  const wrongRedirect = await authorize("wrong-redirect");
  await refused("refusal: token request with another redirect_uri → 400 invalid_grant (RFC 6749 §4.1.3)", () =>
    withNonceRetry(() => oauth.authorizationCodeGrantRequest(as, client, clientAuth, wrongRedirect.callback, `${redirectUri}/other`, wrongRedirect.verifier, { DPoP: dpop, ...INSECURE })
      .then((r) => oauth.processAuthorizationCodeResponse(as, client, r))), { errors: ["invalid_grant"] });

  // RFC 9449 §10: dpop_jkt at PAR (no DPoP header there) binds the code to that key.
  const jkt = await authorize("dpop_jkt", { handle: null, extra: { dpop_jkt: await dpop.calculateThumbprint() } });
  await refused("refusal: code bound by dpop_jkt redeemed with another DPoP key → 400 invalid_dpop_proof (RFC 9449 §10)", () =>
    withNonceRetry(() => tokenRequest(jkt.callback, jkt.verifier, { DPoP: otherKey })), { errors: ["invalid_dpop_proof"] });

  const noDpop = await authorize("no-dpop");
  await refused("refusal: DPoP-bound code (DPoP at PAR) redeemed without DPoP → 400 invalid_dpop_proof (RFC 9449 §10)", () =>
    tokenRequest(noDpop.callback, noDpop.verifier, {}), { errors: ["invalid_dpop_proof"] });
}

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const req = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  process.stderr.write("-- oauth4webapi authorization code flow\n");
  try {
    await run(req);
  } catch (e) {
    if (!(e instanceof Abort)) check("crashed", false, e && e.stack ? String(e.stack).slice(0, MAX_ERR) : describe(e));
  }
  const ok = checks.length > 0 && checks.every((c) => c.ok);
  process.stdout.write(`${JSON.stringify({ ok, checks })}\n`);
}

main().catch((e) => {
  process.stdout.write(`${JSON.stringify({ ok: false, checks: [...checks, { name: "crash", ok: false, detail: String(e) }] })}\n`);
});
