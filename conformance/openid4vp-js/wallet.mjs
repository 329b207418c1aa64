#!/usr/bin/env node
// Independent third-party OpenID4VP wallet driven by vdc's verifier conformance tests. It
// answers an OpenID for Verifiable Presentations 1.0 authorization request with the
// Openid4vpClient of @openid4vc/openid4vp (openwallet-foundation-labs/oid4vc-ts): parse,
// fetch and verify the signed request object (x509_hash / x509_san_dns chains checked
// against a given trust anchor; did:jwk resolved locally), present an SD-JWT VC with
// @sd-jwt/sd-jwt-vc (only the claims the DCQL query names, KB-JWT with aud = client_id and
// the request's nonce), and submit with direct_post or direct_post.jwt (ECDH-ES JWE made
// here with node:crypto). See ../README.md for the JSON contract.
//
// Usage: node wallet.mjs < request.json
//   request: {"authorization_request": "openid4vp://?...", "trust_anchor_pem": "..." | null,
//             "credential": "<issued SD-JWT VC>", "holder_private_jwk": {...}, "allow_http": true}
//   answer:  {"ok": true, "response_mode", "client_id", "status": <HTTP status>, "body": {...},
//             "disclosed": [...], "steps": [...]}
//         or {"ok": false, "step": "...", "error": "...", "steps": [...]}
// Exit status: 0 whenever an answer was produced; 2 for bad usage; 1 for a crash.

import {
  X509Certificate,
  createCipheriv,
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import { Openid4vpClient } from "@openid4vc/openid4vp";
import { setGlobalConfig } from "@openid4vc/oauth2";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";

const MAX_ERR = 1500;
const b64u = (buf) => Buffer.from(buf).toString("base64url");
const isObj = (v) => typeof v === "object" && v !== null && !Array.isArray(v);

class StepError extends Error {
  constructor(step, message) {
    super(message);
    this.step = step;
  }
}

// ------------------------------------------------------------ JOSE helpers (node:crypto)

function verifyEs256(compact, key) {
  const [h, p, s] = compact.split(".");
  return nodeVerify("sha256", Buffer.from(`${h}.${p}`), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url"));
}

/** Spec: RFC 7518 §4.6.2 Concat KDF, one SHA-256 round (keys of at most 256 bits). */
function concatKdf(z, enc, keyBits) {
  const lenPrefixed = (buf) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(buf.length);
    return Buffer.concat([len, buf]);
  };
  const counter = Buffer.from([0, 0, 0, 1]);
  const bits = Buffer.alloc(4);
  bits.writeUInt32BE(keyBits);
  const otherInfo = Buffer.concat([lenPrefixed(Buffer.from(enc)), lenPrefixed(Buffer.alloc(0)), lenPrefixed(Buffer.alloc(0)), bits]);
  return createHash("sha256").update(Buffer.concat([counter, z, otherInfo])).digest().subarray(0, keyBits / 8);
}

/** ECDH-ES (direct key agreement) + A128GCM/A256GCM compact JWE to a P-256 JWK. */
function encryptEcdhEs(publicJwk, enc, plaintext) {
  const keyBits = { A128GCM: 128, A256GCM: 256 }[enc];
  if (!keyBits) throw new StepError("encrypt", `unsupported enc ${enc}`);
  if (publicJwk.kty !== "EC" || publicJwk.crv !== "P-256") throw new StepError("encrypt", "encryption key is not P-256");
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  const peer = Buffer.concat([Buffer.from([4]), Buffer.from(publicJwk.x, "base64url"), Buffer.from(publicJwk.y, "base64url")]);
  const z = ecdh.computeSecret(peer);
  const epkRaw = ecdh.getPublicKey();
  const epk = { kty: "EC", crv: "P-256", x: b64u(epkRaw.subarray(1, 33)), y: b64u(epkRaw.subarray(33, 65)) };
  const header = { alg: "ECDH-ES", enc, epk };
  if (publicJwk.kid) header.kid = publicJwk.kid;
  const protectedB64 = b64u(Buffer.from(JSON.stringify(header)));
  const cek = concatKdf(z, enc, keyBits);
  const iv = randomBytes(12);
  const cipher = createCipheriv(`aes-${keyBits}-gcm`, cek, iv);
  cipher.setAAD(Buffer.from(protectedB64, "ascii"));
  const ct = Buffer.concat([cipher.update(Buffer.from(plaintext, "utf8")), cipher.final()]);
  return `${protectedB64}..${b64u(iv)}.${b64u(ct)}.${b64u(cipher.getAuthTag())}`;
}

function didJwkKey(did) {
  if (!did.startsWith("did:jwk:")) throw new StepError("resolve", `unsupported DID ${did.slice(0, 40)}`);
  return JSON.parse(Buffer.from(did.slice("did:jwk:".length), "base64url").toString("utf8"));
}

// --------------------------------------------------------------------------- main

async function main(input) {
  const steps = [];
  setGlobalConfig({ allowInsecureUrls: Boolean(input.allow_http) });
  const anchor = input.trust_anchor_pem ? new X509Certificate(input.trust_anchor_pem) : null;
  const holderKey = createPrivateKey({ key: input.holder_private_jwk, format: "jwk" });

  const callbacks = {
    hash: (data, alg) => {
      if (!/sha-?256/i.test(String(alg))) throw new Error(`unsupported hash ${alg}`);
      return new Uint8Array(createHash("sha256").update(data).digest());
    },
    fetch: (...args) => fetch(...args),
    getX509CertificateMetadata: (certB64) => {
      const cert = new X509Certificate(Buffer.from(certB64, "base64"));
      const names = (cert.subjectAltName ?? "").split(",").map((s) => s.trim());
      return {
        sanDnsNames: names.filter((n) => n.startsWith("DNS:")).map((n) => n.slice(4)),
        sanUriNames: names.filter((n) => n.startsWith("URI:")).map((n) => n.slice(4)),
      };
    },
    verifyJwt: async (signer, jwt) => {
      let key;
      if (signer.method === "x5c") {
        const leaf = new X509Certificate(Buffer.from(signer.x5c[0], "base64"));
        // The chain must end at the configured anchor (the verifier's CA).
        if (!anchor || !leaf.checkIssued(anchor) || !leaf.verify(anchor.publicKey)) {
          return { verified: false };
        }
        const now = Date.now();
        if (now < Date.parse(leaf.validFrom) || now > Date.parse(leaf.validTo)) return { verified: false };
        key = leaf.publicKey;
      } else if (signer.method === "did") {
        key = createPublicKey({ key: didJwkKey(signer.didUrl.split("#")[0]), format: "jwk" });
      } else if (signer.method === "jwk") {
        key = createPublicKey({ key: signer.publicJwk, format: "jwk" });
      } else {
        return { verified: false };
      }
      if (jwt.header.alg !== "ES256") return { verified: false };
      const ok = verifyEs256(jwt.compact, key);
      const jwk = key.export({ format: "jwk" });
      return ok ? { verified: true, signerJwk: jwk } : { verified: false, signerJwk: jwk };
    },
    encryptJwe: (encryptor, data) => ({
      encryptionJwk: encryptor.publicJwk,
      jwe: encryptEcdhEs(encryptor.publicJwk, encryptor.enc, data),
    }),
    decryptJwe: () => {
      throw new Error("encrypted request objects are not used");
    },
    signJwt: () => {
      throw new Error("signed responses are not used");
    },
  };
  const client = new Openid4vpClient({ callbacks });

  let step = "parse";
  const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: input.authorization_request });
  steps.push(step);
  step = "resolve";
  const resolved = await client.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params });
  steps.push(step);
  const request = resolved.authorizationRequestPayload;
  const query = resolved.dcql?.query;
  if (!isObj(query) || !Array.isArray(query.credentials) || query.credentials.length !== 1) {
    throw new StepError("dcql", "expected a DCQL query with one credential query");
  }
  const cq = query.credentials[0];
  // Disclose exactly the claims the query names (top-level names here).
  const frame = {};
  const disclosed = [];
  for (const c of cq.claims ?? []) {
    if (c.path.length !== 1 || typeof c.path[0] !== "string") throw new StepError("dcql", "only top-level claims are handled");
    frame[c.path[0]] = true;
    disclosed.push(c.path[0]);
  }
  step = "present";
  const sdjwt = new SDJwtVcInstance({
    hasher: (data, alg) => {
      if (alg !== "sha-256") throw new Error(`unsupported _sd_alg ${alg}`);
      return new Uint8Array(createHash("sha256").update(data).digest());
    },
    hashAlg: "sha-256",
    kbSigner: (input) => b64u(nodeSign("sha256", Buffer.from(input, "utf8"), { key: holderKey, dsaEncoding: "ieee-p1363" })),
    kbSignAlg: "ES256",
    saltGenerator: () => b64u(randomBytes(16)),
  });
  const presentation = await sdjwt.present(input.credential, frame, {
    kb: { payload: { aud: request.client_id, nonce: request.nonce, iat: Math.floor(Date.now() / 1000) } },
  });
  steps.push(step);
  step = "response";
  const jarm = request.response_mode === "direct_post.jwt"
    ? {
        encryption: { nonce: request.nonce },
        serverMetadata: {
          authorization_signing_alg_values_supported: ["ES256"],
          authorization_encryption_alg_values_supported: ["ECDH-ES"],
          authorization_encryption_enc_values_supported: ["A128GCM", "A256GCM"],
        },
      }
    : undefined;
  const response = await client.createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: { vp_token: { [cq.id]: [presentation] } },
    jarm,
  });
  steps.push(step);
  step = "submit";
  const submitted = await client.submitOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: response.authorizationResponsePayload,
    jarm: response.jarm ? { responseJwt: response.jarm.responseJwt } : undefined,
  });
  steps.push(step);
  const text = await submitted.response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text.slice(0, MAX_ERR);
  }
  return {
    ok: submitted.response.ok,
    response_mode: submitted.responseMode,
    client_id: request.client_id,
    status: submitted.response.status,
    body,
    disclosed,
    steps,
  };
}

let raw = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => (raw += d));
process.stdin.on("end", async () => {
  let input;
  try {
    input = JSON.parse(raw);
    if (!isObj(input) || typeof input.authorization_request !== "string" || typeof input.credential !== "string" || !isObj(input.holder_private_jwk)) throw new Error("bad request");
  } catch (e) {
    process.stderr.write(`usage: node wallet.mjs < request.json (${e.message})\n`);
    process.exit(2);
  }
  try {
    process.stdout.write(JSON.stringify(await main(input)) + "\n");
  } catch (e) {
    const message = String(e?.error_description ?? e?.message ?? e).slice(0, MAX_ERR);
    const detail = e?.errorResponse ? JSON.stringify(e.errorResponse).slice(0, MAX_ERR) : undefined;
    process.stdout.write(JSON.stringify({ ok: false, step: e?.step ?? "library", error: message, detail }) + "\n");
  }
});
