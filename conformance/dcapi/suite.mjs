#!/usr/bin/env node
// OpenID4VP 1.0 over the W3C Digital Credentials API (Appendix A), judged by an independent
// wallet: @openid4vc/openid4vp 0.4.6 resolves what vdc's verifier hands the page
// (`dc_api_request` of POST /api/v1/verifiers/{v}/requests) for the page's origin, and builds
// the answer the page posts back to POST .../requests/{id}/dc-api-response (wallet.mjs). The
// credential is an SD-JWT VC from the demo issuer, obtained by the @openid4vc/openid4vci
// wallet (../openid4vci-js/wallet.mjs); @sd-jwt/sd-jwt-vc makes the KB-JWT.
//
// Every mode the verifier serves, each ending in an exact result from the management API:
//   (a) unsigned dc_api            openid4vp-v1-unsigned, no client_id, verifier_info
//   (b) unsigned dc_api.jwt        the library's ECDH-ES JWE to client_metadata.jwks
//   (c) signed dc_api              openid4vp-v1-signed {request: JWS}: x5c chain to the
//                                  verifier's anchor, x509_san_dns, expected_origins
//   (d) signed dc_api.jwt
//   (e) HAIP verifier              x509_hash signed and unsigned dc_api.jwt; dc_api refused
//   (f) transaction_data           the library parses the entries, the wallet hashes them
//                                  into the KB-JWT; the library's own verifier agrees; vdc
//                                  returns them as verified
//   (g) refusals                   another origin (audience), a signed request replayed to an
//                                  origin not in expected_origins (the library refuses; vdc
//                                  says origin), a KB-JWT for another origin or for the
//                                  client_id (audience), missing or foreign
//                                  transaction_data_hashes (transaction_data), another
//                                  request's nonce (nonce), plaintext to dc_api.jwt
//                                  (decryption), a second answer, the redirect route
// Prints PASS/FAIL per check (INFO: library-vs-spec observations that do not decide the run).
// Environment: VDC_BASE_URL, VDC_ADMIN_KEY (suites/dcapi.sh). Exit 0 iff nothing failed.

import { spawnSync } from "node:child_process";
import { createPrivateKey, randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { setGlobalConfig } from "@openid4vc/oauth2";
import { Openid4vpClient, Openid4vpVerifier } from "@openid4vc/openid4vp";
import { decodeProtectedHeader } from "jose";

import { b64u, b64uJson, decodeJws, makeCallbacks } from "../haip/lib.mjs";
import { answerData, presentSdJwt, resolveDcApi, transactionDataHashes } from "./wallet.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const base = (process.env.VDC_BASE_URL ?? "").replace(/\/+$/, "");
const adminKey = process.env.VDC_ADMIN_KEY ?? "";
if (!base || !adminKey) {
  console.error("dcapi/suite.mjs: set VDC_BASE_URL and VDC_ADMIN_KEY (run suites/dcapi.sh)");
  process.exit(2);
}
// The signed request's aud and the verifier's URLs are http on loopback here.
setGlobalConfig({ allowInsecureUrls: true });

const ORIGIN = "https://rp.example";
const OTHER = "https://shop.example";
const EVIL = "https://evil.example";
const PAY = "urn:vdc:conformance:payment";
const tag = randomBytes(3).toString("hex");

// ------------------------------------------------------------------ reporting

let passed = 0;
let failed = 0;
const MAX = 1200;
const short = (d) => (typeof d === "string" ? d : JSON.stringify(d) ?? String(d)).slice(0, MAX);
function check(name, ok, detail) {
  if (ok) {
    passed += 1;
    console.log(`  PASS  ${name}`);
  } else {
    failed += 1;
    console.log(`  FAIL  ${name}${detail === undefined ? "" : `: ${short(detail)}`}`);
  }
  return Boolean(ok);
}
const info = (m) => console.log(`  INFO  ${m}`);
const section = (t) => console.log(`-- ${t}`);
const errText = (e) => e?.errorResponse?.error_description ?? e?.error_description ?? e?.message ?? String(e);
/** JSON with object keys sorted, for order-independent comparison. */
const canonical = (v) =>
  JSON.stringify(v, (_, x) => (x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));
const same = (a, b) => canonical(a) === canonical(b);

// ------------------------------------------------------------------ HTTP

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
const createRequest = (v, body) => api("POST", `/api/v1/verifiers/${v}/requests`, body);
const postAnswer = (v, id, origin, data) => api("POST", `/api/v1/verifiers/${v}/requests/${id}/dc-api-response`, { origin, data });
const getResult = (v, id) => api("GET", `/api/v1/verifiers/${v}/requests/${id}`);

// ------------------------------------------------------------------ the credential

/** Issues an EmployeeBadge through the @openid4vc/openid4vci wallet (as e2e.mjs does). */
async function issue() {
  const offer = await api("POST", "/api/v1/issuers/demo/offers", {
    credential_configuration_ids: ["EmployeeBadge"],
    claims: { EmployeeBadge: { given_name: "Ada", family_name: "Lovelace", employee_id: "E-DC-1", department: "Engines" } },
    tx_code: { length: 6 },
  });
  if (!check("setup: demo issuer offer created", offer.status === 201, offer)) return null;
  const p = spawnSync(process.execPath, [join(here, "../openid4vci-js/wallet.mjs")], {
    input: JSON.stringify({ offer_uri: offer.body.offer_uri, tx_code: offer.body.tx_code, allow_http: true, export_holder_private_jwk: true }),
    encoding: "utf8",
    timeout: 120_000,
  });
  let out;
  try {
    out = JSON.parse((p.stdout ?? "").trim().split("\n").pop());
  } catch {
    out = { ok: false, error: (p.stderr ?? "").slice(0, 800) };
  }
  if (!check("setup: @openid4vc/openid4vci wallet obtained the SD-JWT VC", out.ok === true && typeof out.credentials?.[0] === "string", out)) return null;
  return {
    credential: out.credentials[0],
    holderKey: createPrivateKey({ key: out.holder_private_jwk, format: "jwk" }),
    vct: decodeJws(out.credentials[0].split("~")[0]).payload.vct,
  };
}

// ------------------------------------------------------------------ one wallet round

/**
 * Runs the wallet on a created request: resolve `dc_api_request.data` for `origin` with the
 * library, present with KB-JWT `aud` (a function of the resolved request; by default
 * `origin:<origin>`, OID4VP 1.0 Appendix A.4) and `extra` KB-JWT claims, and build the answer
 * data. Returns {resolved, seen, request, data, jwe} or {error} when the library refused.
 */
async function wallet(ctx, created, { origin = ORIGIN, anchor, aud, extra, disableOriginValidation = false, nonce } = {}) {
  let r;
  try {
    r = await resolveDcApi({ data: created.body.dc_api_request.data, origin, anchorPem: anchor, disableOriginValidation });
  } catch (e) {
    return { error: e };
  }
  const request = r.resolved.authorizationRequestPayload;
  const cq = r.resolved.dcql.query.credentials[0];
  const kbAud = aud ? aud(r.resolved) : `origin:${origin}`;
  const kbExtra = extra ? extra(r.resolved, cq.id) : transactionDataHashes(r.resolved.transactionData, cq.id);
  const vp = await presentSdJwt({ credential: ctx.cred.credential, holderKey: ctx.cred.holderKey, claims: cq.claims, aud: kbAud, nonce: nonce ?? request.nonce, extra: kbExtra });
  const { data, jwe } = await answerData({ client: r.client, request, origin, vpToken: { [cq.id]: [vp] } });
  return { ...r, request, data, jwe, kbExtra };
}

/** A 200 whose body is the verified result (as GET shows it) with exactly the asked claims. */
async function expectVerified(label, v, id, posted, { transactionData } = {}) {
  const claims = posted.body?.presentation?.badge?.[0]?.claims;
  check(
    `${label}: vdc answers 200 verified with exactly given_name and employee_id`,
    posted.status === 200 && posted.body?.status === "verified" && same(claims, { given_name: "Ada", employee_id: "E-DC-1" }),
    posted,
  );
  const got = await getResult(v, id);
  check(`${label}: GET .../requests/{id} shows the same verified result`, got.status === 200 && same(got.body, posted.body), got);
  if (transactionData) {
    check(`${label}: the result carries transaction_data as verified`, same(got.body?.transaction_data, transactionData), got.body);
  }
}

/** 400 invalid_request `<reason>: ...`, and the request is now rejected with that reason. */
async function expectRejected(label, v, id, posted, reason) {
  const d = posted.body?.error_description;
  check(
    `${label}: vdc refuses with 400 invalid_request, reason ${reason}`,
    posted.status === 400 && posted.body?.error === "invalid_request" && typeof d === "string" && d.startsWith(`${reason}:`),
    posted,
  );
  const got = await getResult(v, id);
  check(
    `${label}: the request is rejected (${reason}), no presentation`,
    got.body?.status === "rejected" && String(got.body?.error?.error_description ?? "").startsWith(`${reason}:`) && got.body?.presentation === null,
    got.body,
  );
}

const created201 = (label, c, protocol) =>
  check(`${label}: request created, dc_api_request protocol ${protocol}`, c.status === 201 && c.body?.dc_api_request?.protocol === protocol, c);

// ------------------------------------------------------------------ main

async function main() {
  section("setup");
  const cred = await issue();
  if (!cred) return;
  const verifierInfo = [
    { format: "registration_cert", data: { purpose: "door access", registrar: "https://registrar.example" } },
    { format: "jwt", data: "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ2aSJ9.c2ln", credential_ids: ["badge"] },
  ];
  const V = `dcapi-${tag}`;
  const made = await api("POST", "/api/v1/verifiers", {
    id: V,
    client_id_prefix: "x509_san_dns",
    trusted_issuers: [`${base}/issuers/demo`],
    verifier_info: verifierInfo,
    transaction_data_types: { [PAY]: { members: { amount: { type: "string", required: true } } } },
  });
  if (!check(`setup: verifier ${V} (x509_san_dns, verifier_info, transaction_data_types)`, made.status === 201 && same(made.body?.verifier_info, verifierInfo), made)) return;
  const H = `dcapi-haip-${tag}`;
  const haip = await api("POST", "/api/v1/verifiers", { id: H, haip: true, client_id_prefix: "x509_hash", trusted_issuers: [`${base}/issuers/demo`] });
  check(`setup: HAIP verifier ${H} (x509_hash)`, haip.status === 201 && haip.body?.haip === true, haip);
  const ctx = { cred };
  const anchor = made.body.trust_anchor;
  const clientId = made.body.client_id;
  const dcql = {
    credentials: [{ id: "badge", format: "dc+sd-jwt", meta: { vct_values: [cred.vct] }, claims: [{ path: ["given_name"] }, { path: ["employee_id"] }] }],
  };

  // -------------------------------------------------------------- (a)
  section("(a) unsigned dc_api");
  {
    const c = await createRequest(V, { dcql_query: dcql, response_mode: "dc_api" });
    if (created201("(a)", c, "openid4vp-v1-unsigned")) {
      check("(a) data has no client_id, state, response_uri (OID4VP 1.0 A.2)", ["client_id", "state", "response_uri", "request_uri"].every((k) => !(k in c.body.dc_api_request.data)), c.body.dc_api_request.data);
      const w = await wallet(ctx, c);
      if (check("(a) @openid4vc/openid4vp resolves the unsigned request for the origin", !w.error, w.error && errText(w.error))) {
        check(
          "(a) the library's client is origin:<origin> (A.2: an unsigned request's client is the origin)",
          w.resolved.client.prefix === "origin" && w.resolved.client.effective === `origin:${ORIGIN}`,
          w.resolved.client,
        );
        check("(a) the wallet sees the verifier's verifier_info (OID4VP 1.0 §5.1)", same(w.request.verifier_info, verifierInfo), w.request.verifier_info);
        check("(a) no encryption key offered for dc_api", w.request.client_metadata?.jwks === undefined, w.request.client_metadata);
        check("(a) the answer is {vp_token} only (no state)", same(Object.keys(w.data), ["vp_token"]), w.data);
        // Library-vs-spec probe (does not decide the run): the same data with a made-up
        // `origin:` client_id. OID4VP 1.0 A.2: "The Wallet MUST ignore any client_id
        // parameter that is present" in an unsigned request; §5.9.3: "The Wallet MUST NOT
        // accept this Client Identifier Prefix [origin] in requests".
        try {
          const p = await resolveDcApi({ data: { ...c.body.dc_api_request.data, client_id: `origin:${EVIL}` }, origin: ORIGIN });
          info(`(a) the library accepts an unsigned request with client_id origin:${EVIL} and its effective client id becomes ${p.resolved.client.effective} (OID4VP 1.0 A.2: ignored, §5.9.3: not accepted); this wallet binds the KB-JWT to the page's origin regardless`);
        } catch (e) {
          info(`(a) the library refuses an unsigned request with an origin: client_id (${errText(e).slice(0, 120)})`);
        }
        const posted = await postAnswer(V, c.body.id, ORIGIN, w.data);
        await expectVerified("(a)", V, c.body.id, posted);
        const again = await postAnswer(V, c.body.id, ORIGIN, w.data);
        const after = await getResult(V, c.body.id);
        check("(a) the same answer again: 400 invalid_request, result unchanged", again.status === 400 && again.body?.error === "invalid_request" && same(after.body, posted.body), { again, after: after.body });
      }
    }
  }

  // -------------------------------------------------------------- (b)
  section("(b) unsigned dc_api.jwt");
  {
    const c = await createRequest(V, { dcql_query: dcql, response_mode: "dc_api.jwt" });
    if (created201("(b)", c, "openid4vp-v1-unsigned")) {
      const w = await wallet(ctx, c);
      if (check("(b) @openid4vc/openid4vp resolves the unsigned dc_api.jwt request", !w.error, w.error && errText(w.error))) {
        const jwk = w.request.client_metadata?.jwks?.keys?.[0];
        const h = decodeProtectedHeader(w.jwe);
        check(
          "(b) the library's JWE (OID4VP 1.0 §8.3): ECDH-ES + A256GCM to client_metadata.jwks (its kid); the library adds apv = the request nonce",
          h.alg === "ECDH-ES" && h.enc === "A256GCM" && h.kid === jwk?.kid && h.apv === b64u(Buffer.from(w.request.nonce)) && same(Object.keys(w.data), ["response"]),
          { header: h, jwk },
        );
        const posted = await postAnswer(V, c.body.id, ORIGIN, w.data);
        await expectVerified("(b)", V, c.body.id, posted);
      }
    }
    // A plaintext {vp_token} (a correct presentation) to a dc_api.jwt request.
    const p = await createRequest(V, { dcql_query: dcql, response_mode: "dc_api.jwt" });
    const w = await wallet(ctx, p);
    if (!w.error) {
      const vp = await presentSdJwt({ credential: cred.credential, holderKey: cred.holderKey, claims: dcql.credentials[0].claims, aud: `origin:${ORIGIN}`, nonce: w.request.nonce });
      await expectRejected("(g) plaintext {vp_token} to a dc_api.jwt request", V, p.body.id, await postAnswer(V, p.body.id, ORIGIN, { vp_token: { badge: [vp] } }), "decryption");
    } else check("(g) plaintext to dc_api.jwt: the library resolves", false, errText(w.error));
  }

  // -------------------------------------------------------------- (c), (d)
  for (const [label, mode] of [
    ["(c) signed dc_api", "dc_api"],
    ["(d) signed dc_api.jwt", "dc_api.jwt"],
  ]) {
    section(label);
    const tagL = label.slice(0, 3);
    const c = await createRequest(V, { dcql_query: dcql, response_mode: mode, expected_origins: [ORIGIN, OTHER] });
    if (!created201(tagL, c, "openid4vp-v1-signed")) continue;
    check(`${tagL} data is {request: <JWS>} only (OID4VP 1.0 A.3.1)`, same(Object.keys(c.body.dc_api_request.data), ["request"]), c.body.dc_api_request.data);
    const w = await wallet(ctx, c, { anchor });
    if (!check(`${tagL} @openid4vc/openid4vp verifies and resolves the signed request for ${ORIGIN}`, !w.error, w.error && errText(w.error))) continue;
    const jws = decodeJws(c.body.dc_api_request.data.request);
    check(
      `${tagL} the library verified it through an x5c signer (the header's chain, typ oauth-authz-req+jwt), chain to the verifier's anchor checked`,
      w.seen.length === 1 && w.seen[0].method === "x5c" && same(w.seen[0].x5c, jws.header.x5c) && w.seen[0].typ === "oauth-authz-req+jwt" && w.resolved.jar?.signer?.method === "x5c",
      { seen: w.seen.map((s) => ({ ...s, x5c: s.x5c?.length })), jar: w.resolved.jar?.signer?.method },
    );
    check(
      `${tagL} the library matched client_id ${clientId} to the leaf's dNSName SAN; expected_origins and response_mode as asked`,
      w.resolved.client.prefix === "x509_san_dns" && w.resolved.client.effective === clientId && same(w.request.expected_origins, [ORIGIN, OTHER]) && w.request.response_mode === mode,
      { client: w.resolved.client, expected_origins: w.request.expected_origins },
    );
    check(`${tagL} the wallet sees verifier_info inside the signed request`, same(w.request.verifier_info, verifierInfo), w.request.verifier_info);
    if (w.resolved.client.effective !== `origin:${ORIGIN}`) {
      info(`${tagL} the library's effective client id for a signed DC API request is ${w.resolved.client.effective}, not origin:${ORIGIN}; OID4VP 1.0 Appendix A.4 makes the KB-JWT aud origin:<origin> "even for signed requests", so the wallet uses that`);
    }
    if (mode === "dc_api.jwt") {
      const h = decodeProtectedHeader(w.jwe);
      check(`${tagL} the library's JWE is ECDH-ES + A256GCM to the request's key`, h.alg === "ECDH-ES" && h.enc === "A256GCM" && h.kid === w.request.client_metadata?.jwks?.keys?.[0]?.kid, h);
    }
    const posted = await postAnswer(V, c.body.id, ORIGIN, w.data);
    await expectVerified(tagL, V, c.body.id, posted);
    // The second expected origin is as good as the first.
    const c2 = await createRequest(V, { dcql_query: dcql, response_mode: mode, expected_origins: [ORIGIN, OTHER] });
    const w2 = await wallet(ctx, c2, { anchor, origin: OTHER });
    if (check(`${tagL} the library accepts the second expected origin ${OTHER}`, !w2.error, w2.error && errText(w2.error))) {
      await expectVerified(`${tagL} from ${OTHER}`, V, c2.body.id, await postAnswer(V, c2.body.id, OTHER, w2.data));
    }
    // A payload under another signature: the library must refuse it.
    const [hd, , sig] = c.body.dc_api_request.data.request.split(".");
    const forged = `${hd}.${b64uJson({ ...jws.payload, nonce: "forged" })}.${sig}`;
    let refused;
    try {
      await resolveDcApi({ data: { request: forged }, origin: ORIGIN, anchorPem: anchor });
    } catch (e) {
      refused = e;
    }
    check(`${tagL} the library refuses the request object with an altered payload`, refused !== undefined, "resolved");
    // The same request for a wallet that trusts another CA (the HAIP verifier's): refused.
    let untrusted;
    try {
      await resolveDcApi({ data: c.body.dc_api_request.data, origin: ORIGIN, anchorPem: haip.body?.trust_anchor });
    } catch (e) {
      untrusted = e;
    }
    check(`${tagL} the library refuses it when the x5c does not chain to the wallet's anchor`, haip.status === 201 && untrusted !== undefined, untrusted ? errText(untrusted) : "resolved");
  }

  // -------------------------------------------------------------- (e)
  section("(e) HAIP verifier (x509_hash): dc_api.jwt signed and unsigned, dc_api refused");
  if (haip.status === 201) {
    const plain = await createRequest(H, { dcql_query: dcql, response_mode: "dc_api", expected_origins: [ORIGIN] });
    check("(e) a HAIP verifier refuses response_mode dc_api with 400 (HAIP 1.0 §5.2)", plain.status === 400 && plain.body?.error === "invalid_request" && /HAIP 1\.0 §5\.[12]/.test(plain.body?.error_description ?? ""), plain);
    const c = await createRequest(H, { dcql_query: dcql, response_mode: "dc_api.jwt", expected_origins: [ORIGIN] });
    if (created201("(e) signed", c, "openid4vp-v1-signed")) {
      const w = await wallet(ctx, c, { anchor: haip.body.trust_anchor });
      if (check("(e) @openid4vc/openid4vp verifies and resolves the HAIP request", !w.error, w.error && errText(w.error))) {
        check(
          "(e) the library computed the x509_hash client id from the leaf and it matches",
          w.resolved.client.prefix === "x509_hash" && w.resolved.client.effective === haip.body.client_id,
          w.resolved.client,
        );
        await expectVerified("(e) signed", H, c.body.id, await postAnswer(H, c.body.id, ORIGIN, w.data));
      }
    }
    const u = await createRequest(H, { dcql_query: dcql, response_mode: "dc_api.jwt" });
    if (created201("(e) unsigned", u, "openid4vp-v1-unsigned")) {
      const w = await wallet(ctx, u);
      if (check("(e) the library resolves the unsigned HAIP dc_api.jwt request (HAIP 1.0 §5.2 allows unsigned)", !w.error, w.error && errText(w.error))) {
        await expectVerified("(e) unsigned", H, u.body.id, await postAnswer(H, u.body.id, ORIGIN, w.data));
      }
    }
  }

  // -------------------------------------------------------------- (f)
  section("(f) transaction_data");
  const entry = { type: PAY, credential_ids: ["badge"], transaction_data_hashes_alg: ["sha-256"], amount: "42.00 EUR" };
  const sent = b64uJson(entry);
  const tdBody = (extra) => ({ dcql_query: dcql, transaction_data: [sent], ...extra });
  for (const [label, extra, anch] of [
    ["(f) unsigned dc_api", { response_mode: "dc_api" }, undefined],
    ["(f) signed dc_api.jwt", { response_mode: "dc_api.jwt", expected_origins: [ORIGIN] }, anchor],
  ]) {
    const c = await createRequest(V, tdBody(extra));
    if (!check(`${label}: request with transaction_data created`, c.status === 201, c)) continue;
    const w = await wallet(ctx, c, { anchor: anch });
    if (!check(`${label}: the library resolves it`, !w.error, w.error && errText(w.error))) continue;
    const td = w.resolved.transactionData;
    check(
      `${label}: the library parsed the entry as sent (type, credential_ids, the encoded string)`,
      td?.length === 1 && td[0].encoded === sent && same(td[0].transactionData, entry),
      td,
    );
    check(
      `${label}: the KB-JWT carries transaction_data_hashes = [b64url(sha-256(entry string))] and transaction_data_hashes_alg sha-256 (B.3.3)`,
      w.kbExtra.transaction_data_hashes?.length === 1 && w.kbExtra.transaction_data_hashes_alg === "sha-256",
      w.kbExtra,
    );
    // The library's own verifier agrees with the wallet's hashes.
    let agreed;
    try {
      agreed = await new Openid4vpVerifier({ callbacks: makeCallbacks() }).verifyTransactionData({
        transactionData: [sent],
        credentials: { badge: [w.kbExtra] },
      });
    } catch (e) {
      agreed = errText(e);
    }
    check(`${label}: @openid4vc/openid4vp's verifyTransactionData matches the hash`, Array.isArray(agreed) && agreed[0]?.credentialId === "badge", agreed);
    await expectVerified(label, V, c.body.id, await postAnswer(V, c.body.id, ORIGIN, w.data), { transactionData: [entry] });
  }

  // -------------------------------------------------------------- (g)
  section("(g) refusals");
  {
    // A presentation the wallet made for rp.example, relayed by a page at evil.example.
    const c = await createRequest(V, { dcql_query: dcql, response_mode: "dc_api" });
    const w = await wallet(ctx, c, { origin: ORIGIN });
    if (!w.error) await expectRejected(`(g) unsigned: an answer for ${ORIGIN} posted from ${EVIL}`, V, c.body.id, await postAnswer(V, c.body.id, EVIL, w.data), "audience");
  }
  {
    // A signed request for rp.example, replayed by evil.example.
    const c = await createRequest(V, { dcql_query: dcql, response_mode: "dc_api.jwt", expected_origins: [ORIGIN] });
    const w = await wallet(ctx, c, { origin: EVIL, anchor });
    check(
      `(g) signed, replayed to ${EVIL}: the library refuses to resolve it (expected_origins, OID4VP 1.0 A.2)`,
      w.error !== undefined && /expected_origins/.test(errText(w.error)),
      w.error ? errText(w.error) : "resolved",
    );
    // A wallet that skipped that check: vdc still refuses the origin.
    const lax = await wallet(ctx, c, { origin: EVIL, anchor, disableOriginValidation: true });
    if (check("(g) (the same wallet with disableOriginValidation builds an answer for the evil origin)", !lax.error, lax.error && errText(lax.error))) {
      await expectRejected(`(g) signed, answered from ${EVIL} (not in expected_origins)`, V, c.body.id, await postAnswer(V, c.body.id, EVIL, lax.data), "origin");
    }
  }
  {
    // Signed, posted from the right origin, but the KB-JWT is for another origin.
    const c = await createRequest(V, { dcql_query: dcql, response_mode: "dc_api.jwt", expected_origins: [ORIGIN] });
    const w = await wallet(ctx, c, { anchor, aud: () => `origin:${EVIL}` });
    if (!w.error) await expectRejected(`(g) signed: a KB-JWT aud origin:${EVIL} posted from ${ORIGIN}`, V, c.body.id, await postAnswer(V, c.body.id, ORIGIN, w.data), "audience");
  }
  {
    // Signed: a KB-JWT for the library's effective client id (the client_id), A.4 says origin.
    const c = await createRequest(V, { dcql_query: dcql, response_mode: "dc_api", expected_origins: [ORIGIN] });
    const w = await wallet(ctx, c, { anchor, aud: (r) => r.client.effective });
    if (!w.error) {
      check("(g) (the library's effective client id is the client_id)", w.resolved.client.effective === clientId, w.resolved.client);
      await expectRejected("(g) signed: a KB-JWT aud = client_id (OID4VP 1.0 A.4: origin:<origin> even for signed requests)", V, c.body.id, await postAnswer(V, c.body.id, ORIGIN, w.data), "audience");
    }
  }
  {
    // transaction_data without the hashes, and with a hash over something else.
    for (const [label, extra] of [
      ["no transaction_data_hashes", () => ({})],
      ["a hash over other data", () => ({ transaction_data_hashes: [b64u(Buffer.alloc(32, 7))], transaction_data_hashes_alg: "sha-256" })],
    ]) {
      const c = await createRequest(V, tdBody({ response_mode: "dc_api" }));
      const w = await wallet(ctx, c, { extra });
      if (!w.error) await expectRejected(`(g) transaction_data, ${label}`, V, c.body.id, await postAnswer(V, c.body.id, ORIGIN, w.data), "transaction_data");
    }
  }
  {
    // Another request's nonce (a replayed presentation).
    const first = await createRequest(V, { dcql_query: dcql, response_mode: "dc_api" });
    const second = await createRequest(V, { dcql_query: dcql, response_mode: "dc_api" });
    const w = await wallet(ctx, second, { nonce: first.body.dc_api_request.data.nonce });
    if (!w.error) {
      await expectRejected("(g) a KB-JWT with another request's nonce", V, second.body.id, await postAnswer(V, second.body.id, ORIGIN, w.data), "nonce");
      const f = await getResult(V, first.body.id);
      check("(g) the request whose nonce it was stays pending", f.body?.status === "pending", f.body);
    }
  }
  {
    // The create answer also names a request_uri; a DC API request is not served there.
    const c = await createRequest(V, { dcql_query: dcql, response_mode: "dc_api.jwt" });
    let refused;
    try {
      const cl = new Openid4vpClient({ callbacks: makeCallbacks() });
      const parsed = cl.parseOpenid4vpAuthorizationRequest({ authorizationRequest: c.body.authorization_request });
      await cl.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params });
    } catch (e) {
      refused = errText(e);
    }
    const r = await getResult(V, c.body.id);
    check(
      "(g) the library following the redirect-flow authorization_request of a DC API request gets no request object (A.4); the request stays pending",
      refused !== undefined && /request_uri|request_object/i.test(refused) && r.body?.status === "pending",
      { refused, status: r.body?.status },
    );
  }
}

try {
  await main();
} catch (e) {
  check("dcapi suite run", false, e instanceof Error ? e.stack : String(e));
}
console.log(`dcapi: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
