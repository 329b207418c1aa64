// Shared helpers of the HAIP conformance drivers (samples.mjs, suite.mjs): P-256 keys and
// X.509 certificates (made with the `openssl` CLI: node:crypto cannot create certificates and
// no certificate library is pinned here), ES256 compact JWS with node:crypto, and the
// callbacks the @openid4vc/* 0.4.6 libraries take (`signJwt` for `jwk` and `x5c` signers,
// `verifyJwt`, `hash`, `generateRandom`, `fetch`).

import { execFileSync } from "node:child_process";
import {
  X509Certificate,
  createHash,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const isObj = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
export const b64u = (buf) => Buffer.from(buf).toString("base64url");
export const b64uJson = (v) => b64u(Buffer.from(JSON.stringify(v), "utf8"));
export const decodePart = (s) => JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
/** `{header, payload}` of a compact JWS (no verification). */
export function decodeJws(compact) {
  const [h, p] = String(compact).split(".");
  return { header: decodePart(h), payload: decodePart(p) };
}

// ------------------------------------------------------------------ keys

/** A fresh ES256 key: node KeyObject + public JWK (kty, crv, x, y only). */
export function es256Key() {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const j = publicKey.export({ format: "jwk" });
  return { alg: "ES256", privateKey, publicKey, publicJwk: { kty: "EC", crv: "P-256", x: j.x, y: j.y } };
}

export const sameJwk = (a, b) => isObj(a) && isObj(b) && a.kty === b.kty && a.crv === b.crv && a.x === b.x && a.y === b.y;

/** ES256 compact JWS over `header`/`payload` (JOSE r‖s signature, RFC 7518 §3.4). */
export function signEs256(privateKey, header, payload) {
  const input = `${b64uJson(header)}.${b64uJson(payload)}`;
  const sig = nodeSign("sha256", Buffer.from(input, "utf8"), { key: privateKey, dsaEncoding: "ieee-p1363" });
  return `${input}.${b64u(sig)}`;
}

export function verifyEs256(compact, key) {
  const p = String(compact).split(".");
  if (p.length !== 3) return false;
  const sig = Buffer.from(p[2], "base64url");
  if (sig.length !== 64) return false;
  try {
    return nodeVerify("sha256", Buffer.from(`${p[0]}.${p[1]}`), { key, dsaEncoding: "ieee-p1363" }, sig);
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ X.509 (openssl CLI)

function openssl(args, cwd) {
  return execFileSync("openssl", args, { cwd, stdio: ["ignore", "pipe", "pipe"] }).toString("utf8");
}

/**
 * A self-signed CA (P-256, basicConstraints CA:TRUE critical, keyUsage keyCertSign+cRLSign,
 * subjectKeyIdentifier) valid from an hour ago for `days`.
 */
export function makeCa(commonName, { days = 30 } = {}) {
  const key = es256Key();
  const dir = mkdtempSync(join(tmpdir(), "haip-pki-"));
  try {
    writeFileSync(join(dir, "ca.key"), key.privateKey.export({ format: "pem", type: "pkcs8" }));
    writeFileSync(
      join(dir, "ca.cnf"),
      [
        "[req]",
        "distinguished_name = dn",
        "prompt = no",
        "[dn]",
        `CN = ${commonName}`,
        "O = vdc HAIP conformance",
        "[ext]",
        "basicConstraints = critical, CA:TRUE, pathlen:0",
        "keyUsage = critical, keyCertSign, cRLSign",
        "subjectKeyIdentifier = hash",
        "",
      ].join("\n"),
    );
    openssl(
      ["req", "-x509", "-new", "-key", "ca.key", "-config", "ca.cnf", "-extensions", "ext", "-sha256", "-days", String(days), "-set_serial", "0x" + randomBytes(8).toString("hex"), "-out", "ca.pem"],
      dir,
    );
    const pem = readFileSync(join(dir, "ca.pem"), "utf8");
    return { ...key, pem, cert: new X509Certificate(pem), commonName };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A leaf certificate for a fresh P-256 key, issued by `ca` (not self-signed): basicConstraints
 * CA:FALSE, keyUsage digitalSignature, subjectKeyIdentifier, authorityKeyIdentifier keyid,
 * optional dNSName / URI SANs.
 */
export function makeLeaf(ca, commonName, { days = 30, dns = [], uris = [] } = {}) {
  const key = es256Key();
  const dir = mkdtempSync(join(tmpdir(), "haip-pki-"));
  try {
    writeFileSync(join(dir, "ca.key"), ca.privateKey.export({ format: "pem", type: "pkcs8" }));
    writeFileSync(join(dir, "ca.pem"), ca.pem);
    writeFileSync(join(dir, "leaf.key"), key.privateKey.export({ format: "pem", type: "pkcs8" }));
    const san = [...dns.map((d) => `DNS:${d}`), ...uris.map((u) => `URI:${u}`)];
    writeFileSync(
      join(dir, "leaf.cnf"),
      [
        "[req]",
        "distinguished_name = dn",
        "prompt = no",
        "[dn]",
        `CN = ${commonName}`,
        "O = vdc HAIP conformance",
        "[ext]",
        "basicConstraints = critical, CA:FALSE",
        "keyUsage = critical, digitalSignature",
        "subjectKeyIdentifier = hash",
        "authorityKeyIdentifier = keyid:always",
        ...(san.length ? [`subjectAltName = ${san.join(", ")}`] : []),
        "",
      ].join("\n"),
    );
    openssl(["req", "-new", "-key", "leaf.key", "-config", "leaf.cnf", "-out", "leaf.csr"], dir);
    openssl(
      ["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "0x" + randomBytes(8).toString("hex"), "-days", String(days), "-sha256", "-extfile", "leaf.cnf", "-extensions", "ext", "-out", "leaf.pem"],
      dir,
    );
    const pem = readFileSync(join(dir, "leaf.pem"), "utf8");
    const cert = new X509Certificate(pem);
    return { ...key, pem, cert, x5c: [cert.raw.toString("base64")], commonName };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** PEM → DER of the first CERTIFICATE block. */
export function pemToDer(pem) {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new Error("no CERTIFICATE block");
  return Buffer.from(m[1].replace(/\s+/g, ""), "base64");
}

/**
 * The keyIdentifier of a certificate's AuthorityKeyIdentifier extension (RFC 5280 §4.2.1.1)
 * and of its SubjectKeyIdentifier (§4.2.1.2), read from the DER with a minimal parser.
 */
export function keyIdentifiers(der) {
  const OID_SKI = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0e]);
  const OID_AKI = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x23]);
  const tlv = (buf, off) => {
    let len = buf[off + 1];
    let hdr = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + buf[off + 2 + i];
      hdr = 2 + n;
    }
    return { tag: buf[off], start: off + hdr, end: off + hdr + len };
  };
  const extnValue = (oid) => {
    const at = der.indexOf(oid);
    if (at < 0) return null;
    let off = at + oid.length;
    if (der[off] === 0x01) off = tlv(der, off).end; // critical BOOLEAN
    const os = tlv(der, off); // extnValue OCTET STRING
    if (os.tag !== 0x04) return null;
    return der.subarray(os.start, os.end);
  };
  let ski = null;
  let aki = null;
  const s = extnValue(OID_SKI);
  if (s) {
    const inner = tlv(s, 0); // OCTET STRING keyIdentifier
    ski = Buffer.from(s.subarray(inner.start, inner.end));
  }
  const a = extnValue(OID_AKI);
  if (a) {
    const seq = tlv(a, 0);
    const first = tlv(a, seq.start);
    if (first.tag === 0x80) aki = Buffer.from(a.subarray(first.start, first.end)); // [0] keyIdentifier
  }
  return { ski, aki };
}

/** Whether a certificate is self-signed (issuer = subject and its own key verifies it). */
export function isSelfSigned(cert) {
  return cert.issuer === cert.subject && cert.verify(cert.publicKey);
}

// ------------------------------------------------------------------ library callbacks

const HASHES = { "sha-256": "sha256", "sha-384": "sha384", "sha-512": "sha512", sha256: "sha256" };

/**
 * Callbacks for the @openid4vc/* clients. `keys` are the keys signJwt may sign with: an
 * `es256Key()` (found for a `jwk` signer with the same public key) or a `makeLeaf()` result
 * (found for an `x5c` signer whose first certificate is that leaf). `rewrite(header, payload)`
 * may amend what the library built before it is signed (used to add an ABCA `challenge` to
 * the client attestation PoP, which the library cannot set; see FINDINGS.md).
 */
export function makeCallbacks({ keys = [], rewrite, fetchLog, timeoutMs = 15000 } = {}) {
  return {
    fetch: async (input, init = {}) => {
      const headers = new Headers(init.headers);
      const method = (init.method ?? "GET").toUpperCase();
      if (method === "GET" && !headers.has("accept")) headers.set("accept", "application/json");
      const r = await fetch(input, { ...init, headers, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
      if (fetchLog) fetchLog.push({ method, url: String(input), status: r.status, headers: Object.fromEntries(headers) });
      return r;
    },
    hash: (data, alg) => {
      const h = HASHES[String(alg).toLowerCase()];
      if (!h) throw new Error(`unsupported hash ${String(alg).slice(0, 20)}`);
      return new Uint8Array(createHash(h).update(data).digest());
    },
    generateRandom: (n) => new Uint8Array(randomBytes(n)),
    signJwt: async (signer, { header, payload }) => {
      const key = keys.find(
        (k) =>
          signer.alg === k.alg &&
          ((signer.method === "jwk" && sameJwk(signer.publicJwk, k.publicJwk)) ||
            (signer.method === "x5c" && Array.isArray(signer.x5c) && k.x5c && signer.x5c[0] === k.x5c[0])),
      );
      if (!key) throw new Error(`no key for signer ${signer.method}/${signer.alg}`);
      let h = { ...header };
      let p = { ...payload };
      if (rewrite) ({ header: h, payload: p } = rewrite(h, p) ?? { header: h, payload: p });
      return { jwt: signEs256(key.privateKey, h, p), signerJwk: key.publicJwk };
    },
    verifyJwt: async (signer, { compact, header }) => {
      if (header?.alg !== "ES256") return { verified: false };
      let key;
      try {
        if (signer.method === "jwk") key = createPublicKey({ key: signer.publicJwk, format: "jwk" });
        else if (signer.method === "x5c") key = new X509Certificate(Buffer.from(signer.x5c[0], "base64")).publicKey;
        else return { verified: false };
      } catch {
        return { verified: false };
      }
      const jwk = key.export({ format: "jwk" });
      return verifyEs256(compact, key) ? { verified: true, signerJwk: jwk } : { verified: false };
    },
    encryptJwe: () => {
      throw new Error("encryptJwe: not used by this driver");
    },
    decryptJwe: () => {
      throw new Error("decryptJwe: not used by this driver");
    },
  };
}
