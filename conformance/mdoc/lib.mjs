// Shared helpers of the mso_mdoc conformance suite (mdoc/suite.mjs):
//   - the MdocContext @owf/mdoc 0.6.0 takes (it ships no crypto of its own): digests, COSE_Sign1
//     ES256/384/512 sign/verify and X.509 chain checks, all with node:crypto;
//   - ISO/IEC 18013-5 Annex B style IACA and Document Signer certificates made with the
//     `openssl` CLI (node:crypto cannot create certificates; no certificate library is pinned);
//   - the management API and a plain-fetch OID4VCI 1.0 pre-authorized code wallet.
// P-256 keys, base64url and ES256 JWS come from ../haip/lib.mjs.

import { execFileSync } from "node:child_process";
import { X509Certificate, createHash, createPrivateKey, createPublicKey, randomBytes, sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { CoseKey, DeviceKey, DeviceRequest, DocRequest, Holder, Issuer, ItemsRequest, SignatureAlgorithm, cborEncode } from "@owf/mdoc";

import { es256Key, signEs256 } from "../haip/lib.mjs";

export { b64u, decodeJws, es256Key, pemToDer } from "../haip/lib.mjs";

// ------------------------------------------------------------------ MdocContext (node:crypto)

const DIGESTS = { "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512" };
const SIG_HASH = { ES256: "sha256", ES384: "sha384", ES512: "sha512" };

/** A CoseKey's EC JWK without the undefined members @owf/mdoc leaves in `.jwk`. */
function ecJwk(coseKey, withPrivate) {
  const j = coseKey.jwk;
  const out = { kty: j.kty, crv: j.crv, x: j.x, y: j.y };
  if (withPrivate) out.d = j.d;
  return out;
}

/** The X.509 DN of `cert` ("C=UT\nCN=…" lines, as node prints it) as [attr, value] pairs. */
function dnFields(dn) {
  return String(dn)
    .split("\n")
    .map((l) => {
      const i = l.indexOf("=");
      return i < 0 ? null : [l.slice(0, i), l.slice(i + 1)];
    })
    .filter(Boolean);
}

/**
 * The certificate-path check @owf/mdoc delegates (ISO 18013-5 §9.3.3: the DS certificate chains
 * to a trusted IACA certificate): every x5chain entry is issued (name and signature) by the next,
 * the last by one of `trustedCertificates` (or is one of them), all valid at `now`.
 */
function verifyCertificateChain({ trustedCertificates, x5chain, now }) {
  const at = (now ?? new Date()).getTime();
  const anchors = trustedCertificates.map((d) => new X509Certificate(Buffer.from(d)));
  const chain = x5chain.map((d) => new X509Certificate(Buffer.from(d)));
  if (chain.length === 0) throw new Error("empty x5chain");
  const valid = (c, what) => {
    if (at < Date.parse(c.validFrom) || at > Date.parse(c.validTo)) throw new Error(`${what} is not valid at ${new Date(at).toISOString()}`);
  };
  for (let i = 0; i < chain.length; i++) {
    valid(chain[i], `x5chain[${i}]`);
    if (anchors.some((a) => a.raw.equals(chain[i].raw))) return; // reached an anchor
    if (i + 1 < chain.length) {
      if (!chain[i].checkIssued(chain[i + 1]) || !chain[i].verify(chain[i + 1].publicKey)) throw new Error(`x5chain[${i}] is not issued by x5chain[${i + 1}]`);
      continue;
    }
    const anchor = anchors.find((a) => chain[i].checkIssued(a) && chain[i].verify(a.publicKey));
    if (!anchor) throw new Error(`x5chain[${i}] (${chain[i].subject.replace(/\n/g, ", ")}) is not issued by a trusted IACA certificate`);
    valid(anchor, "the trusted IACA certificate");
  }
}

/** The MdocContext of @owf/mdoc 0.6.0 (src/context.ts) implemented with node:crypto. */
export const mdocContext = {
  crypto: {
    random: (n) => new Uint8Array(randomBytes(n)),
    digest: ({ digestAlgorithm, bytes }) => {
      const h = DIGESTS[digestAlgorithm];
      if (!h) throw new Error(`unsupported digest ${digestAlgorithm}`);
      return new Uint8Array(createHash(h).update(bytes).digest());
    },
    calculateEphemeralMacKey: () => {
      throw new Error("calculateEphemeralMacKey: deviceMac is not used over OID4VP (no reader key)");
    },
  },
  cose: {
    sign1: {
      sign: ({ toBeSigned, key, algorithm }) => {
        const name = typeof algorithm === "number" ? { [-7]: "ES256", [-35]: "ES384", [-36]: "ES512" }[algorithm] : algorithm;
        const h = SIG_HASH[name ?? "ES256"];
        if (!h) throw new Error(`unsupported COSE alg ${algorithm}`);
        const priv = createPrivateKey({ key: ecJwk(key, true), format: "jwk" });
        return new Uint8Array(nodeSign(h, toBeSigned, { key: priv, dsaEncoding: "ieee-p1363" }));
      },
      verify: ({ key, sign1 }) => {
        const h = SIG_HASH[sign1.signatureAlgorithmName];
        if (!h) return false;
        const pub = createPublicKey({ key: ecJwk(key, false), format: "jwk" });
        return nodeVerify(h, sign1.toBeSigned, { key: pub, dsaEncoding: "ieee-p1363" }, sign1.signature);
      },
    },
    mac0: {
      sign: () => {
        throw new Error("mac0: not used");
      },
      verify: () => false,
    },
  },
  x509: {
    getIssuerNameField: ({ certificate, field }) =>
      dnFields(new X509Certificate(Buffer.from(certificate)).issuer)
        .filter(([k]) => k === field)
        .map(([, v]) => v),
    getPublicKey: ({ certificate, alg }) => {
      const jwk = new X509Certificate(Buffer.from(certificate)).publicKey.export({ format: "jwk" });
      return CoseKey.fromJwk({ ...jwk, alg });
    },
    verifyCertificateChain,
    getCertificateData: ({ certificate }) => {
      const c = new X509Certificate(Buffer.from(certificate));
      return {
        issuerName: c.issuer.replace(/\n/g, ", "),
        subjectName: c.subject.replace(/\n/g, ", "),
        serialNumber: c.serialNumber,
        thumbprint: c.fingerprint256.replace(/:/g, "").toLowerCase(),
        notBefore: new Date(c.validFrom),
        notAfter: new Date(c.validTo),
        pem: c.toString(),
      };
    },
  },
};

/** A CoseKey (ES256) for a haip/lib.mjs es256Key(), with the private part when asked. */
export function coseKeyOf(key, withPrivate = false) {
  const j = (withPrivate ? key.privateKey : key.publicKey).export({ format: "jwk" });
  return CoseKey.fromJwk({ kty: "EC", crv: "P-256", x: j.x, y: j.y, ...(withPrivate ? { d: j.d } : {}), alg: "ES256" });
}

// ------------------------------------------------------------------ ISO 18013-5 Annex B certificates

function openssl(args, cwd) {
  return execFileSync("openssl", args, { cwd, stdio: ["ignore", "pipe", "pipe"] }).toString("utf8");
}

/**
 * An IACA root certificate in the ISO/IEC 18013-5 Annex B.1.2 profile: self-signed P-256,
 * C and CN in the subject, basicConstraints CA pathlen 0 (critical), keyUsage keyCertSign +
 * cRLSign (critical), subjectKeyIdentifier, issuerAltName, CRL distribution point.
 */
export function makeIaca(commonName, { country = "UT", days = 365 } = {}) {
  const key = es256Key();
  const dir = mkdtempSync(join(tmpdir(), "mdoc-pki-"));
  try {
    writeFileSync(join(dir, "ca.key"), key.privateKey.export({ format: "pem", type: "pkcs8" }));
    writeFileSync(
      join(dir, "ca.cnf"),
      [
        "[req]",
        "distinguished_name = dn",
        "prompt = no",
        "[dn]",
        `C = ${country}`,
        `CN = ${commonName}`,
        "[ext]",
        "basicConstraints = critical, CA:TRUE, pathlen:0",
        "keyUsage = critical, keyCertSign, cRLSign",
        "subjectKeyIdentifier = hash",
        "issuerAltName = URI:https://iaca.conformance.example",
        "crlDistributionPoints = URI:https://iaca.conformance.example/crl",
        "",
      ].join("\n"),
    );
    openssl(["req", "-x509", "-new", "-key", "ca.key", "-config", "ca.cnf", "-extensions", "ext", "-sha256", "-days", String(days), "-set_serial", "0x" + randomBytes(8).toString("hex"), "-out", "ca.pem"], dir);
    const pem = readFileSync(join(dir, "ca.pem"), "utf8");
    return { ...key, pem, cert: new X509Certificate(pem), commonName, country };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A Document Signer certificate in the Annex B.1.4 profile issued by `iaca`: C and CN,
 * authority/subject key identifiers, keyUsage digitalSignature (critical), extendedKeyUsage
 * id-mdl-kp-mdlDS 1.0.18013.5.1.2 (critical), issuerAltName, CRL distribution point.
 */
export function makeDocumentSigner(iaca, commonName, { days = 90 } = {}) {
  const key = es256Key();
  const dir = mkdtempSync(join(tmpdir(), "mdoc-pki-"));
  try {
    writeFileSync(join(dir, "ca.key"), iaca.privateKey.export({ format: "pem", type: "pkcs8" }));
    writeFileSync(join(dir, "ca.pem"), iaca.pem);
    writeFileSync(join(dir, "ds.key"), key.privateKey.export({ format: "pem", type: "pkcs8" }));
    writeFileSync(
      join(dir, "ds.cnf"),
      [
        "[req]",
        "distinguished_name = dn",
        "prompt = no",
        "[dn]",
        `C = ${iaca.country}`,
        `CN = ${commonName}`,
        "[ext]",
        "keyUsage = critical, digitalSignature",
        "extendedKeyUsage = critical, 1.0.18013.5.1.2",
        "subjectKeyIdentifier = hash",
        "authorityKeyIdentifier = keyid:always",
        "issuerAltName = URI:https://iaca.conformance.example",
        "crlDistributionPoints = URI:https://iaca.conformance.example/crl",
        "",
      ].join("\n"),
    );
    openssl(["req", "-new", "-key", "ds.key", "-config", "ds.cnf", "-out", "ds.csr"], dir);
    openssl(
      ["x509", "-req", "-in", "ds.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "0x" + randomBytes(8).toString("hex"), "-days", String(days), "-sha256", "-extfile", "ds.cnf", "-extensions", "ext", "-out", "ds.pem"],
      dir,
    );
    const pem = readFileSync(join(dir, "ds.pem"), "utf8");
    return { ...key, pem, cert: new X509Certificate(pem), commonName };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ HTTP

export function makeApi(base, adminKey) {
  return async function api(method, path, body) {
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
    return { status: r.status, body: json, text, type: r.headers.get("content-type") ?? "" };
  };
}

async function getJson(url, init = {}) {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(15000) });
  const text = await r.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!r.ok || json === undefined) throw new Error(`${init.method ?? "GET"} ${url} → HTTP ${r.status}: ${text.slice(0, 500)}`);
  return json;
}

/**
 * OID4VCI 1.0 pre-authorized code flow with plain fetch: offer (by reference) → issuer
 * metadata → AS metadata → token (§6.1) → nonce (§7) → credential (§8) with one `jwt` proof
 * (App. F.1: typ openid4vci-proof+jwt, the holder's `jwk` in the header). Returns the first
 * credential of the response and the exchange.
 */
export async function preAuthorizedIssuance(offerUri, holder, { configurationId } = {}) {
  const u = new URL(offerUri);
  const byRef = u.searchParams.get("credential_offer_uri");
  const offer = byRef ? await getJson(byRef) : JSON.parse(u.searchParams.get("credential_offer") ?? "null");
  const issuer = offer.credential_issuer;
  const iu = new URL(issuer);
  const md = await getJson(`${iu.origin}/.well-known/openid-credential-issuer${iu.pathname.replace(/\/$/, "")}`);
  const asId = md.authorization_servers?.[0] ?? issuer;
  const au = new URL(asId);
  const as = await getJson(`${au.origin}/.well-known/oauth-authorization-server${au.pathname.replace(/\/$/, "")}`);
  const grant = offer.grants?.["urn:ietf:params:oauth:grant-type:pre-authorized_code"];
  if (!grant) throw new Error(`offer has no pre-authorized code grant: ${JSON.stringify(offer).slice(0, 300)}`);
  const token = await getJson(as.token_endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:pre-authorized_code", "pre-authorized_code": grant["pre-authorized_code"] }),
  });
  const { c_nonce } = await getJson(md.nonce_endpoint, { method: "POST" });
  const proof = signEs256(holder.privateKey, { alg: "ES256", typ: "openid4vci-proof+jwt", jwk: holder.publicJwk }, { aud: issuer, iat: Math.floor(Date.now() / 1000), nonce: c_nonce });
  const configId = configurationId ?? offer.credential_configuration_ids[0];
  const response = await getJson(md.credential_endpoint, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token.access_token}` },
    body: JSON.stringify({ credential_configuration_id: configId, proofs: { jwt: [proof] } }),
  });
  const credential = response.credentials?.[0]?.credential;
  if (typeof credential !== "string") throw new Error(`credential response without credentials[0].credential: ${JSON.stringify(response).slice(0, 400)}`);
  return { credential, response, metadata: md, offer, configId };
}

// ------------------------------------------------------------------ @owf/mdoc issuer and wallet

/**
 * An mDL issued by @owf/mdoc's `Issuer` (IssuerSignedBuilder): the Document Signer's key signs
 * the MSO with the DS certificate as x5chain, the holder's key as deviceKey, SHA-256 digests.
 */
export async function issueWithOwf({ docType, claims, ds, holder, validForSeconds = 86400 }) {
  const issuer = new Issuer(docType, mdocContext);
  for (const [ns, values] of Object.entries(claims)) issuer.addIssuerNamespace(ns, values);
  const now = new Date();
  const signed = now; // inside the DS certificate validity (openssl starts it now)
  return issuer.sign({
    signingKey: coseKeyOf(ds, true),
    algorithm: SignatureAlgorithm.ES256,
    digestAlgorithm: "SHA-256",
    validityInfo: { signed, validFrom: signed, validUntil: new Date(now.getTime() + validForSeconds * 1000) },
    deviceKeyInfo: { deviceKey: DeviceKey.fromJwk({ ...holder.publicJwk }) },
    certificates: [new Uint8Array(ds.cert.raw)],
  });
}

/**
 * OID4VP 1.0 App. B.2.6.1 session transcript (redirect flow, no encryption):
 *   SessionTranscript = [null, null, ["OpenID4VPHandover", sha256(cbor(OpenID4VPHandoverInfo))]]
 *   OpenID4VPHandoverInfo = [clientId, nonce, jwkThumbprint / null, responseUri]
 * computed here with @owf/mdoc's CBOR encoder, independently of its SessionTranscript.forOid4Vp.
 */
export function oid4vpSessionTranscriptBytes({ clientId, nonce, responseUri, jwkThumbprint = null }) {
  const info = cborEncode([clientId, nonce, jwkThumbprint, responseUri]);
  const hash = new Uint8Array(createHash("sha256").update(info).digest());
  return cborEncode([null, null, ["OpenID4VPHandover", hash]]);
}

/**
 * OID4VP 1.0 App. B.2.6.2 session transcript (over the W3C Digital Credentials API):
 *   SessionTranscript = [null, null, ["OpenID4VPDCAPIHandover", sha256(cbor(OpenID4VPDCAPIHandoverInfo))]]
 *   OpenID4VPDCAPIHandoverInfo = [origin, nonce, jwkThumbprint / null]
 * The origin is the page's, not prefixed with `origin:`; the thumbprint (raw bytes) of the
 * request's encryption key for `dc_api.jwt`, null for `dc_api`. Computed here with
 * @owf/mdoc's CBOR encoder, independently of its SessionTranscript.forOid4VpDcApi.
 */
export function oid4vpDcApiSessionTranscriptBytes({ origin, nonce, jwkThumbprint = null }) {
  const info = cborEncode([origin, nonce, jwkThumbprint ?? null]);
  const hash = new Uint8Array(createHash("sha256").update(info).digest());
  return cborEncode([null, null, ["OpenID4VPDCAPIHandover", hash]]);
}

/**
 * The RFC 7638 SHA-256 JWK thumbprint (raw 32 bytes) of an EC or OKP public key: the
 * required members only, in lexicographic order, no whitespace (§3.2, §3.3).
 */
export function jwkThumbprintBytes(jwk) {
  const required = { EC: ["crv", "kty", "x", "y"], OKP: ["crv", "kty", "x"] }[jwk.kty];
  if (!required) throw new Error(`jwkThumbprintBytes: unsupported kty ${jwk.kty}`);
  const members = required.map((k) => {
    if (typeof jwk[k] !== "string") throw new Error(`jwkThumbprintBytes: ${k} missing`);
    return `${JSON.stringify(k)}:${JSON.stringify(jwk[k])}`;
  });
  return new Uint8Array(createHash("sha256").update(`{${members.join(",")}}`, "utf8").digest());
}

/**
 * A DeviceResponse (ISO 18013-5 §8.3.2.1.2.2) built by @owf/mdoc's Holder for a DeviceRequest
 * asking `elements` of `docType`, device-signed (deviceSignature, ES256) by the holder's key
 * over DeviceAuthentication with `sessionTranscript`; returned base64url (OID4VP 1.0 B.2.4).
 */
export async function presentWithOwf({ issuerSigned, docType, elements, holder, sessionTranscript }) {
  const deviceRequest = DeviceRequest.create({
    docRequests: [
      DocRequest.create({
        itemsRequest: ItemsRequest.create({
          docType,
          namespaces: Object.fromEntries(Object.entries(elements).map(([ns, ids]) => [ns, Object.fromEntries(ids.map((id) => [id, false]))])),
        }),
      }),
    ],
  });
  const response = await Holder.createDeviceResponseForDeviceRequest(
    { deviceRequest, sessionTranscript, issuerSigned: [issuerSigned], signature: { signingKey: coseKeyOf(holder, true) } },
    mdocContext,
  );
  return { deviceRequest, response, encoded: response.encodedForOid4Vp };
}
