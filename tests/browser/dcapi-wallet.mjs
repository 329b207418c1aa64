// The wallet behind a stubbed Digital Credentials API (pages.mjs, "Verify in this browser"):
// answers the OpenID4VP request the page handed to navigator.credentials.get as a platform
// wallet would, with the independent @openid4vc/openid4vp (0.4.6) and @sd-jwt/sd-jwt-vc
// installed in conformance/node_modules (conformance/setup.sh; imported from there by path,
// so this package does not pin a second copy). OID4VP 1.0 Appendix A: the request is
// `openid4vp-v1-signed` ({request: JWS}, verified against the verifier's trust anchor and
// its expected_origins) or `openid4vp-v1-unsigned`; the KB-JWT's aud is `origin:<origin>`
// (A.4) and its nonce the request's; the answer is the DigitalCredential's
// {protocol, data}: data = {vp_token: {...}} (dc_api) or {response: JWE} (dc_api.jwt).
import {
  X509Certificate,
  createCipheriv,
  createECDH,
  createHash,
  createPrivateKey,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repo = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..");
const fromConformance = createRequire(join(repo, "conformance", "package.json"));
const load = (name) => import(pathToFileURL(fromConformance.resolve(name)).href);
const { Openid4vpClient } = await load("@openid4vc/openid4vp");
const { SDJwtVcInstance } = await load("@sd-jwt/sd-jwt-vc");

const b64u = (buf) => Buffer.from(buf).toString("base64url");

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
  const bits = Buffer.alloc(4);
  bits.writeUInt32BE(keyBits);
  const otherInfo = Buffer.concat([lenPrefixed(Buffer.from(enc)), lenPrefixed(Buffer.alloc(0)), lenPrefixed(Buffer.alloc(0)), bits]);
  return createHash("sha256").update(Buffer.concat([Buffer.from([0, 0, 0, 1]), z, otherInfo])).digest().subarray(0, keyBits / 8);
}

/** ECDH-ES + A128GCM/A256GCM compact JWE to a P-256 JWK (dc_api.jwt). */
function encryptEcdhEs(publicJwk, enc, plaintext) {
  const keyBits = { A128GCM: 128, A256GCM: 256 }[enc];
  if (!keyBits || publicJwk.kty !== "EC" || publicJwk.crv !== "P-256") throw new Error(`cannot encrypt with ${enc}`);
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  const z = ecdh.computeSecret(Buffer.concat([Buffer.from([4]), Buffer.from(publicJwk.x, "base64url"), Buffer.from(publicJwk.y, "base64url")]));
  const raw = ecdh.getPublicKey();
  const header = { alg: "ECDH-ES", enc, epk: { kty: "EC", crv: "P-256", x: b64u(raw.subarray(1, 33)), y: b64u(raw.subarray(33, 65)) } };
  if (publicJwk.kid) header.kid = publicJwk.kid;
  const protectedB64 = b64u(Buffer.from(JSON.stringify(header)));
  const iv = randomBytes(12);
  const cipher = createCipheriv(`aes-${keyBits}-gcm`, concatKdf(z, enc, keyBits), iv);
  cipher.setAAD(Buffer.from(protectedB64, "ascii"));
  const ct = Buffer.concat([cipher.update(Buffer.from(plaintext, "utf8")), cipher.final()]);
  return `${protectedB64}..${b64u(iv)}.${b64u(ct)}.${b64u(cipher.getAuthTag())}`;
}

/**
 * Answers one DC API request.
 * - request: {protocol, data} as the page passed it; origin: the page's origin as the browser
 *   reports it (checked against a signed request's expected_origins);
 * - bindTo: the origin the KB-JWT is bound to (`origin` for an honest wallet; another one to
 *   play a wallet that answered a request relayed through another site);
 * - credential, holderJwk: the SD-JWT VC and its holder key (from `vdc wallet accept`);
 * - trustAnchorPem: the verifier's CA (the page's download).
 * Returns {answer: {protocol, data}, seen: what the wallet saw of the request}.
 */
export async function answerDcApi({ request, origin, bindTo, credential, holderJwk, trustAnchorPem }) {
  const anchor = trustAnchorPem ? new X509Certificate(trustAnchorPem) : null;
  const holderKey = createPrivateKey({ key: holderJwk, format: "jwk" });
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
      if (signer.method !== "x5c" || jwt.header.alg !== "ES256") return { verified: false };
      const leaf = new X509Certificate(Buffer.from(signer.x5c[0], "base64"));
      // The chain must end at the verifier's CA.
      if (!anchor || !leaf.checkIssued(anchor) || !leaf.verify(anchor.publicKey)) return { verified: false };
      const ok = verifyEs256(jwt.compact, leaf.publicKey);
      return { verified: ok, signerJwk: leaf.publicKey.export({ format: "jwk" }) };
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
  if (!["openid4vp-v1-signed", "openid4vp-v1-unsigned"].includes(request.protocol)) {
    throw new Error(`unexpected protocol ${request.protocol}`);
  }
  // The library checks a signed request's signature, client_id and that `origin` is one
  // of its expected_origins (OID4VP 1.0 Appendix A.2).
  const resolved = await client.resolveOpenId4vpAuthorizationRequest({
    authorizationRequestPayload: request.data,
    origin,
  });
  const payload = resolved.authorizationRequestPayload;
  const query = resolved.dcql?.query;
  if (!query || !Array.isArray(query.credentials) || query.credentials.length !== 1) {
    throw new Error("expected a DCQL query with one credential query");
  }
  const cq = query.credentials[0];
  const frame = {};
  for (const c of cq.claims ?? []) frame[c.path[0]] = true;
  const sdjwt = new SDJwtVcInstance({
    hasher: (data, alg) => new Uint8Array(createHash(alg === "sha-256" ? "sha256" : alg).update(data).digest()),
    hashAlg: "sha-256",
    kbSigner: (input) => b64u(nodeSign("sha256", Buffer.from(input, "utf8"), { key: holderKey, dsaEncoding: "ieee-p1363" })),
    kbSignAlg: "ES256",
    saltGenerator: () => b64u(randomBytes(16)),
  });
  // Spec: OID4VP 1.0 Appendix A.4: over the DC API the audience is `origin:<origin>`.
  const presentation = await sdjwt.present(credential, frame, {
    kb: { payload: { aud: `origin:${bindTo}`, nonce: payload.nonce, iat: Math.floor(Date.now() / 1000) } },
  });
  const vpToken = { [cq.id]: [presentation] };
  let data;
  if (payload.response_mode === "dc_api.jwt") {
    const response = await client.createOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: payload,
      authorizationResponsePayload: { vp_token: vpToken },
      origin,
      jarm: {
        encryption: { nonce: payload.nonce },
        serverMetadata: {
          authorization_signing_alg_values_supported: ["ES256"],
          authorization_encryption_alg_values_supported: ["ECDH-ES"],
          authorization_encryption_enc_values_supported: ["A128GCM", "A256GCM"],
        },
      },
    });
    data = { response: response.jarm.responseJwt };
  } else {
    const response = await client.createOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: payload,
      authorizationResponsePayload: { vp_token: vpToken },
      origin,
    });
    data = { vp_token: response.authorizationResponsePayload.vp_token };
  }
  return {
    answer: { protocol: request.protocol, data },
    seen: {
      protocol: request.protocol,
      response_mode: payload.response_mode,
      client_id: payload.client_id ?? null,
      expected_origins: payload.expected_origins ?? null,
      signed: Boolean(resolved.jar),
      claims: Object.keys(frame),
    },
  };
}
