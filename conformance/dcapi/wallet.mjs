// The wallet half of the Digital Credentials API suite (suite.mjs): what a wallet does with
// the `data` that `navigator.credentials.get` hands it for protocol `openid4vp-v1-unsigned` /
// `openid4vp-v1-signed` (OID4VP 1.0 Appendix A), done with @openid4vc/openid4vp 0.4.6 —
// resolve (signature, x5c signer, client id prefix, `expected_origins` against the page's
// origin), parse `transaction_data`, build the `dc_api.jwt` JWE (ECDH-ES with the library's
// apu/apv) — and with @sd-jwt/sd-jwt-vc 0.19.0 for the presentation and its KB-JWT, which the
// library leaves to the wallet. The generic callbacks (hash, random, ES256 JWS) come from
// ../haip/lib.mjs; jose 6.2.19 encrypts.

import { X509Certificate, createHash, randomBytes, sign as nodeSign } from "node:crypto";

import { Openid4vpClient } from "@openid4vc/openid4vp";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { CompactEncrypt, importJWK } from "jose";

import { b64u, isSelfSigned, makeCallbacks, verifyEs256 } from "../haip/lib.mjs";

/**
 * The request object's x5c against the verifier's trust anchor (OID4VP 1.0 §5.9.3 x509
 * prefixes; HAIP 1.0 §5: the anchor is not in x5c, the signing certificate is not
 * self-signed): each certificate issued by the next, the last by the anchor, all valid now.
 * Returns the leaf or throws with the broken rule.
 */
export function checkChain(x5c, anchorPem) {
  if (!Array.isArray(x5c) || x5c.length === 0 || x5c.some((c) => typeof c !== "string")) throw new Error("no x5c");
  const anchor = new X509Certificate(anchorPem);
  const certs = x5c.map((c) => new X509Certificate(Buffer.from(c, "base64")));
  if (certs.some((c) => c.raw.equals(anchor.raw))) throw new Error("x5c includes the trust anchor");
  if (isSelfSigned(certs[0])) throw new Error("the x5c leaf is self-signed");
  const now = Date.now();
  for (let i = 0; i < certs.length; i++) {
    const up = i + 1 < certs.length ? certs[i + 1] : anchor;
    if (!certs[i].checkIssued(up) || !certs[i].verify(up.publicKey)) throw new Error(`x5c[${i}] is not issued by ${i + 1 < certs.length ? `x5c[${i + 1}]` : "the trust anchor"}`);
    if (now < Date.parse(certs[i].validFrom) || now > Date.parse(certs[i].validTo)) throw new Error(`x5c[${i}] is not valid now`);
  }
  return certs[0];
}

/**
 * Callbacks for Openid4vpClient: lib.mjs's hash/random/fetch, plus the x5c verification of
 * a signed request (chain to `anchorPem`, ES256 over the compact JWS), the SAN metadata the
 * library compares with an x509_san_dns client id, and the ECDH-ES JWE of OID4VP 1.0 §8.3
 * with the apu/apv the library chose (RFC 7518 §4.6.1.2). `seen` records what the library
 * asked to verify, so the suite can show the library (not the driver) chose the x5c signer.
 */
export function walletCallbacks(anchorPem, seen = []) {
  return {
    ...makeCallbacks({ keys: [] }),
    getX509CertificateMetadata: (certB64) => {
      const names = (new X509Certificate(Buffer.from(certB64, "base64")).subjectAltName ?? "").split(",").map((s) => s.trim());
      return {
        sanDnsNames: names.filter((n) => n.startsWith("DNS:")).map((n) => n.slice(4)),
        sanUriNames: names.filter((n) => n.startsWith("URI:")).map((n) => n.slice(4)),
      };
    },
    verifyJwt: async (signer, { compact, header }) => {
      seen.push({ method: signer.method, x5c: signer.x5c, typ: header?.typ });
      if (signer.method !== "x5c" || header?.alg !== "ES256" || !anchorPem) return { verified: false };
      try {
        const leaf = checkChain(signer.x5c, anchorPem);
        if (!verifyEs256(compact, leaf.publicKey)) return { verified: false };
        return { verified: true, signerJwk: leaf.publicKey.export({ format: "jwk" }) };
      } catch {
        return { verified: false };
      }
    },
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

/**
 * The wallet: resolves what the page got from the API (`dc_api_request.data`) for the page's
 * `origin`. Throws what the library throws (a refused request).
 */
export async function resolveDcApi({ data, origin, anchorPem, disableOriginValidation = false }) {
  const seen = [];
  const callbacks = walletCallbacks(anchorPem, seen);
  const client = new Openid4vpClient({ callbacks });
  const resolved = await client.resolveOpenId4vpAuthorizationRequest({
    authorizationRequestPayload: data,
    origin,
    disableOriginValidation,
  });
  return { client, callbacks, resolved, seen };
}

const sha256 = (d) => new Uint8Array(createHash("sha256").update(d).digest());
const HASH = { "sha-256": "sha256", "sha-384": "sha384", "sha-512": "sha512" };

/**
 * `transaction_data_hashes` for credential query `queryId` (OID4VP 1.0 Appendix B.3.3): the
 * hash, with the first algorithm each entry allows (`sha-256` when it names none), of the
 * base64url string the request carried, for every entry listing `queryId`; and the
 * `transaction_data_hashes_alg` to send when an entry named algorithms. Uses the library's
 * parsed entries (`resolved.transactionData`).
 */
export function transactionDataHashes(transactionData, queryId) {
  const mine = (transactionData ?? []).filter((e) => e.transactionData.credential_ids.includes(queryId));
  if (mine.length === 0) return {};
  const named = mine.map((e) => e.transactionData.transaction_data_hashes_alg?.[0]);
  const alg = named.find(Boolean) ?? "sha-256";
  if (!HASH[alg]) throw new Error(`unsupported transaction_data_hashes_alg ${alg}`);
  return {
    transaction_data_hashes: mine.map((e) => b64u(createHash(HASH[alg]).update(e.encoded, "utf8").digest())),
    ...(named.some(Boolean) ? { transaction_data_hashes_alg: alg } : {}),
  };
}

/**
 * An SD-JWT VC presentation of `credential` disclosing the top-level claims the credential
 * query names, with a KB-JWT `{aud, nonce, iat, ...extra}` signed by the holder key.
 */
export async function presentSdJwt({ credential, holderKey, claims, aud, nonce, extra = {} }) {
  const sdjwt = new SDJwtVcInstance({
    hasher: (d, alg) => {
      if (alg !== "sha-256") throw new Error(`unsupported _sd_alg ${alg}`);
      return sha256(d);
    },
    hashAlg: "sha-256",
    kbSigner: (input) => b64u(nodeSign("sha256", Buffer.from(input, "utf8"), { key: holderKey, dsaEncoding: "ieee-p1363" })),
    kbSignAlg: "ES256",
    saltGenerator: () => b64u(randomBytes(16)),
  });
  const frame = Object.fromEntries(claims.map((c) => [c.path[0], true]));
  return sdjwt.present(credential, frame, { kb: { payload: { aud, nonce, iat: Math.floor(Date.now() / 1000), ...extra } } });
}

/**
 * What the wallet returns to the page (OID4VP 1.0 Appendix A.3): `{vp_token}` for `dc_api`,
 * `{response: <JWE>}` for `dc_api.jwt`, both made by the library's
 * createOpenid4vpAuthorizationResponse. Also the JWE (or null).
 */
export async function answerData({ client, request, origin, vpToken }) {
  const jwt = request.response_mode === "dc_api.jwt";
  const made = await client.createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: { vp_token: vpToken },
    origin,
    jarm: jwt
      ? {
          encryption: { nonce: b64u(randomBytes(16)) },
          serverMetadata: {
            authorization_signing_alg_values_supported: ["ES256"],
            authorization_encryption_alg_values_supported: ["ECDH-ES"],
            // HAIP 1.0 §5: "If both are supported, the Wallet SHOULD use A256GCM".
            authorization_encryption_enc_values_supported: ["A256GCM", "A128GCM"],
          },
        }
      : undefined,
  });
  if (jwt) return { data: { response: made.jarm.responseJwt }, jwe: made.jarm.responseJwt };
  // JSON drops the `state: undefined` the library adds (A.2: no state over the DC API).
  return { data: JSON.parse(JSON.stringify(made.authorizationResponsePayload)), jwe: null };
}
