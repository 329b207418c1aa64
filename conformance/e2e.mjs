#!/usr/bin/env node
// The whole credential life cycle against a running `vdc serve --demo`, with only third-party
// implementations on the other side: issue → verify → revoke → rejected.
//
//   1. the OpenID4VCI wallet (@openid4vc/openid4vci 0.4.6) redeems an offer with a tx_code;
//   2. the SD-JWT VC it received verifies with @sd-jwt/sd-jwt-vc 0.19.0 (JS) and with the
//      sd-jwt reference implementation 0.10.4 (Python) under the key the issuer publishes in
//      its JWT VC Issuer Metadata;
//   3. the OpenID4VP wallet (@openid4vc/openid4vp 0.4.6) presents it to a verifier
//      (x509_hash) with direct_post and with direct_post.jwt; vdc reports `verified` with
//      exactly the requested claims;
//   4. the back end revokes the credential; @sd-jwt/jwt-status-list 0.19.0 reads the
//      published Token Status List and finds the entry INVALID (1);
//   5. the same wallet presents the revoked credential again; vdc reports `rejected`.
//
// Usage: VDC_BASE_URL=http://127.0.0.1:PORT VDC_ADMIN_KEY=... node conformance/e2e.mjs
// Prints one line per check; exit status 0 iff every check passed. conformance/run.sh
// starts a fresh server and runs this (and every other third-party suite) against it.

import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const base = (process.env.VDC_BASE_URL ?? "").replace(/\/+$/, "");
const adminKey = process.env.VDC_ADMIN_KEY ?? "";
if (!base || !adminKey) {
  console.error("e2e.mjs: set VDC_BASE_URL and VDC_ADMIN_KEY");
  process.exit(2);
}

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) {
    passed += 1;
    console.log(`  ok    ${name}`);
  } else {
    failed += 1;
    console.log(`  FAIL  ${name}${detail === undefined ? "" : `: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`.slice(0, 1500)}`);
  }
  return ok;
}

async function api(method, path, body) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
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

/** Runs one driver with a JSON request on stdin; returns its JSON answer line. */
function driver(cmd, args, request) {
  const p = spawnSync(cmd, args, { input: JSON.stringify(request), cwd: here, encoding: "utf8", timeout: 120_000 });
  const line = (p.stdout ?? "").trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line);
  } catch {
    return { ok: false, error: `no JSON answer (exit ${p.status}): ${(p.stderr ?? "").slice(0, 800)}` };
  }
}
const node = (script, request, ...args) => driver(process.execPath, [join(here, script), ...args], request);
const python = (script, request, ...args) => driver(join(here, ".venv/bin/python"), [join(here, script), ...args], request);

/** JSON with object keys sorted, for order-independent comparison. */
const canonical = (v) =>
  JSON.stringify(v, (_, x) => (x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));

function jwtPart(compact, i) {
  return JSON.parse(Buffer.from(compact.split("~")[0].split(".")[i], "base64url").toString("utf8"));
}

async function main() {
  // 1. Issue through the independent OpenID4VCI wallet.
  const claims = { given_name: "Ada", family_name: "Lovelace", employee_id: "E-1", department: "Engines" };
  const offer = await api("POST", "/api/v1/issuers/demo/offers", {
    credential_configuration_ids: ["EmployeeBadge"],
    claims: { EmployeeBadge: claims },
    tx_code: { length: 6 },
  });
  if (!check("offer created", offer.status === 201, offer)) return;
  const issued = node("openid4vci-js/wallet.mjs", {
    offer_uri: offer.body.offer_uri,
    tx_code: offer.body.tx_code,
    allow_http: true,
    export_holder_private_jwk: true,
  });
  if (!check("@openid4vc/openid4vci wallet obtained and verified the credential", issued.ok === true, issued)) return;
  const credential = issued.credentials[0];
  const holderPrivateJwk = issued.holder_private_jwk;

  // 2. Both SD-JWT libraries verify it under the issuer's published key.
  const md = await fetch(`${base}/.well-known/jwt-vc-issuer/issuers/demo`).then((r) => r.json());
  const kid = jwtPart(credential, 0).kid;
  const issuerJwk = (md.jwks?.keys ?? []).find((k) => k.kid === kid);
  if (!check("JWT VC Issuer Metadata publishes the signing key", issuerJwk !== undefined, md)) return;
  const sdRequest = { sd_jwt: credential, issuer_jwk: issuerJwk, holder_binding: false };
  for (const [name, answer] of [
    ["@sd-jwt/sd-jwt-vc (JS)", node("sd-jwt-js/interop.mjs", sdRequest, "verify")],
    ["sd-jwt (Python reference)", python("sd-jwt-python/interop.py", sdRequest, "verify")],
  ]) {
    check(`${name} verifies the issued SD-JWT VC`, answer.ok === true && answer.claims?.employee_id === "E-1", answer);
  }

  // 3. Present through the independent OpenID4VP wallet.
  const verifierId = `conformance-${Date.now().toString(36)}`;
  const verifier = await api("POST", "/api/v1/verifiers", {
    id: verifierId,
    client_id_prefix: "x509_hash",
    trusted_issuers: [`${base}/issuers/demo`],
  });
  if (!check("verifier created", verifier.status === 201, verifier)) return;
  const dcql = {
    credentials: [
      {
        id: "badge",
        format: "dc+sd-jwt",
        meta: { vct_values: [jwtPart(credential, 1).vct] },
        claims: [{ path: ["given_name"] }, { path: ["employee_id"] }],
      },
    ],
  };
  async function present(mode) {
    const request = await api("POST", `/api/v1/verifiers/${verifierId}/requests`, { dcql_query: dcql, response_mode: mode });
    if (request.status !== 201) return { request, answer: null, result: null };
    const answer = node("openid4vp-js/wallet.mjs", {
      authorization_request: request.body.authorization_request,
      trust_anchor_pem: verifier.body.trust_anchor,
      credential,
      holder_private_jwk: holderPrivateJwk,
      allow_http: true,
    });
    const result = await api("GET", `/api/v1/verifiers/${verifierId}/requests/${request.body.id}`);
    return { request, answer, result };
  }
  for (const mode of ["direct_post", "direct_post.jwt"]) {
    const { answer, result } = await present(mode);
    check(`@openid4vc/openid4vp wallet presented (${mode})`, answer?.ok === true && answer.status === 200, answer);
    check(
      `vdc verified exactly the requested claims (${mode})`,
      result?.body?.status === "verified" &&
        canonical(result.body.presentation?.badge?.[0]?.claims) === canonical({ given_name: "Ada", employee_id: "E-1" }),
      result?.body,
    );
  }

  // 4. Revoke; the independent status list reader sees it.
  const offerStatus = await api("GET", `/api/v1/issuers/demo/offers/${offer.body.id}`);
  const entry = offerStatus.body?.credentials?.[0];
  if (!check("offer status lists the issued credential", offerStatus.body?.status === "credential_issued" && entry?.id, offerStatus.body)) return;
  const revoked = await api("POST", `/api/v1/issuers/demo/credentials/${entry.id}/status`, { status: "revoked" });
  check("credential revoked", revoked.status === 200 && revoked.body.status === "revoked", revoked);
  const token = await fetch(entry.status_list.uri).then((r) => r.text());
  const listKid = JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString("utf8")).kid;
  const listJwk = (md.jwks?.keys ?? []).find((k) => k.kid === listKid);
  const decoded = node("status-list-js/decode.mjs", { token, indexes: [entry.status_list.idx], jwk: listJwk });
  check(
    "@sd-jwt/jwt-status-list reads the entry as INVALID (1) under a verified signature",
    decoded.verified === true && decoded.statuses?.[0] === 1,
    decoded,
  );

  // 5. The revoked credential is rejected.
  const again = await present("direct_post");
  check(
    "vdc rejects the revoked credential",
    again.result?.body?.status === "rejected" && /status/i.test(JSON.stringify(again.result.body.error ?? "")),
    again.result?.body,
  );
}

try {
  await main();
} catch (e) {
  check("e2e run", false, e instanceof Error ? e.stack : String(e));
}
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
