#!/usr/bin/env node
// Signed Credential Issuer Metadata (OID4VCI 1.0 §12.2.3) read by the independent
// @openid4vc/openid4vci client (`Openid4vciClient.resolveIssuerMetadata`): it asks for
// `application/jwt` when it has a `verifyJwt` callback, checks `typ`
// (`openidvci-issuer-metadata+jwt`), `sub` (= the credential issuer) and `iat` with its own
// schemas, and hands the `x5c` signer to the callback. The callback here resolves the key
// the HAIP 1.0 §4.1 way: the leaf of `x5c` (the only certificate: the trust anchor is left
// out), issued by the issuer's trust anchor (`GET /issuers/{id}/trust-anchor.pem`), not
// self-signed, then ES256 over the JWS with the leaf's key (node:crypto).
//
// The issuer is a HAIP-mode issuer this script creates with `signed_metadata` and no `x5c`
// (vdc makes the chain). Env: VDC_BASE_URL, VDC_ADMIN_KEY. Prints one line per check; exit
// status 1 if any failed.

import { X509Certificate, verify as nodeVerify, createHash, randomBytes } from "node:crypto";
import { Openid4vciClient, setGlobalConfig } from "@openid4vc/openid4vci";

const BASE = process.env.VDC_BASE_URL.replace(/\/+$/, "");
const ADMIN = process.env.VDC_ADMIN_KEY;
let failed = 0;
let passed = 0;
function check(name, ok, detail) {
  if (ok) passed += 1;
  else failed += 1;
  const suffix = ok || detail === undefined ? "" : `: ${String(detail).slice(0, 1200)}`;
  console.log(`  ${ok ? "ok  " : "FAIL"}  ${name}${suffix}`);
  return ok;
}

async function api(method, path, body) {
  const r = await fetch(BASE + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: await r.json().catch(() => null) };
}

async function main() {
  setGlobalConfig({ allowInsecureUrls: true });
  // HAIP mode asks for wallet_attestation_trust_anchors; any PEM certificate will do here,
  // so the demo verifier's public trust anchor is borrowed.
  const provider = await (await fetch(`${BASE}/verifiers/demo/trust-anchor.pem`)).text();
  const id = `signed-meta-${Date.now().toString(36)}`;
  const created = await api("POST", "/api/v1/issuers", {
    id,
    haip: true,
    require_dpop: true,
    signed_metadata: true,
    wallet_attestation_trust_anchors: [provider],
    identity_provider: { issuer: "https://login.example.com", client_id: "vdc", client_secret: "secret", scopes: ["openid"] },
    credential_configurations: {
      Badge: {
        format: "dc+sd-jwt",
        vct: "https://example.com/vct/signed-metadata",
        scope: "badge",
        claims: [{ path: ["given_name"] }],
        cryptographic_binding_methods_supported: ["jwk"],
      },
    },
  });
  if (!check("HAIP-mode issuer with signed_metadata created", created.status === 201, JSON.stringify(created.body))) return;
  const issuer = created.body.credential_issuer;
  const anchor = new X509Certificate(await (await fetch(`${BASE}/issuers/${id}/trust-anchor.pem`)).text());

  const seen = {};
  const callbacks = {
    // The library accepts an `application/jwt` answer but sends no `Accept`; a wallet that
    // supports signed metadata says so (OID4VCI 1.0 §12.2.2 RECOMMENDS the header).
    fetch: (input, init = {}) => {
      const headers = new Headers(init.headers);
      if ((init.method ?? "GET").toUpperCase() === "GET" && !headers.has("accept")) {
        headers.set("accept", "application/jwt, application/json;q=0.9");
      }
      return fetch(input, { ...init, headers, redirect: "manual" });
    },
    hash: (data, alg) => new Uint8Array(createHash(alg.replace("-", "")).update(data).digest()),
    generateRandom: (n) => new Uint8Array(randomBytes(n)),
    signJwt: () => {
      throw new Error("nothing is signed here");
    },
    verifyJwt: async (signer, { compact }) => {
      seen.method = signer.method;
      if (signer.method !== "x5c" || signer.alg !== "ES256") return { verified: false };
      seen.x5cLength = signer.x5c.length;
      const leaf = new X509Certificate(Buffer.from(signer.x5c[0], "base64"));
      seen.leafIsAnchor = leaf.fingerprint256 === anchor.fingerprint256;
      seen.selfSigned = leaf.checkIssued(leaf);
      seen.issuedByAnchor = leaf.checkIssued(anchor) && leaf.verify(anchor.publicKey);
      const [h, p, s] = compact.split(".");
      const ok = nodeVerify(
        "sha256",
        Buffer.from(`${h}.${p}`),
        { key: leaf.publicKey, dsaEncoding: "ieee-p1363" },
        Buffer.from(s, "base64url"),
      );
      seen.signature = ok;
      const jwk = leaf.publicKey.export({ format: "jwk" });
      return ok && seen.issuedByAnchor && !seen.selfSigned ? { verified: true, signerJwk: jwk } : { verified: false };
    },
  };
  let md;
  try {
    md = await new Openid4vciClient({ callbacks }).resolveIssuerMetadata(issuer);
  } catch (e) {
    check("@openid4vc/openid4vci resolves the signed metadata", false, `${e?.constructor?.name}: ${e?.message}`);
    return;
  }
  const signed = md.signedCredentialIssuer;
  check(
    "@openid4vc/openid4vci resolves the signed metadata (typ, sub, iat checked)",
    signed?.jwt?.header?.typ === "openidvci-issuer-metadata+jwt" && signed?.jwt?.payload?.sub === issuer,
    JSON.stringify(signed?.jwt?.header ?? Object.keys(md)),
  );
  check("the signer is identified by x5c", seen.method === "x5c", seen.method);
  check("x5c is the leaf alone (the trust anchor is not in it)", seen.x5cLength === 1 && seen.leafIsAnchor === false, JSON.stringify(seen));
  check("the leaf is issued by the trust anchor and not self-signed", seen.issuedByAnchor === true && seen.selfSigned === false, JSON.stringify(seen));
  check("ES256 signature verifies with the leaf key", seen.signature === true);
  check("resolved metadata names the issuer", md.credentialIssuer?.credential_issuer === issuer, JSON.stringify(md.credentialIssuer).slice(0, 300));
}

main()
  .catch((e) => check("signed metadata suite ran", false, e?.stack ?? e))
  .finally(() => {
    console.log(`  ${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
  });
