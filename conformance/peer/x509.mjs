// Minimal DER writer for the two certificates the peer's verifier needs: a self-signed
// P-256 CA (the trust anchor the bench wallet pins) and a P-256 leaf with a dNSName SAN
// (the x509_san_dns client identifier), ECDSA with SHA-256. Node's crypto can parse
// certificates (X509Certificate) but not make them, and no x509 package is among the
// pinned dependencies, so the handful of ASN.1 structures are written out here.
import { createHash, randomBytes, sign } from "node:crypto";

const len = (n) => {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
};
const tlv = (tag, ...parts) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
};
const seq = (...p) => tlv(0x30, ...p);
const set = (...p) => tlv(0x31, ...p);
const ctx = (n, ...p) => tlv(0xa0 | n, ...p); // [n] EXPLICIT, constructed
const oid = (dotted) => {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const out = [40 * a + b];
  for (const v of rest) {
    const groups = [];
    let x = v;
    do {
      groups.unshift(x & 0x7f);
      x >>>= 7;
    } while (x > 0);
    for (let i = 0; i < groups.length - 1; i++) groups[i] |= 0x80;
    out.push(...groups);
  }
  return tlv(0x06, Buffer.from(out));
};
const int = (buf) => {
  let b = Buffer.from(buf);
  while (b.length > 1 && b[0] === 0 && !(b[1] & 0x80)) b = b.subarray(1);
  if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
};
const bool = (v) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const octets = (b) => tlv(0x04, b);
const bits = (b, unused = 0) => tlv(0x03, Buffer.from([unused]), b);
const utf8 = (s) => tlv(0x0c, Buffer.from(s, "utf8"));
const utcTime = (d) => {
  const p = (n) => String(n).padStart(2, "0");
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(s, "ascii"));
};

const ECDSA_SHA256 = seq(oid("1.2.840.10045.4.3.2"));
const name = (cn) => seq(set(seq(oid("2.5.4.3"), utf8(cn))));
const ext = (id, critical, value) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
/** The subjectPublicKey bits of an SPKI DER (for the key identifiers). */
const spkiKeyBits = (spki) => spki.subarray(spki.length - 65);
const keyId = (spki) => createHash("sha1").update(spkiKeyBits(spki)).digest();

/**
 * A v3 certificate. `subjectKey`/`issuerKey`: KeyObjects (issuer: private). `ca`: a CA
 * (basicConstraints cA, keyCertSign) or an end entity (digitalSignature, `dnsName` SAN).
 * Returns the DER.
 */
export function makeCertificate({ subject, issuer, subjectPublicKey, issuerPrivateKey, issuerPublicKey, ca, dnsName, notBefore, notAfter }) {
  const spki = subjectPublicKey.export({ type: "spki", format: "der" });
  const issuerSpki = issuerPublicKey.export({ type: "spki", format: "der" });
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  const exts = [];
  if (ca) {
    exts.push(ext("2.5.29.19", true, seq(bool(true)))); // basicConstraints cA TRUE
    exts.push(ext("2.5.29.15", true, bits(Buffer.from([0x06]), 1))); // keyCertSign, cRLSign
  } else {
    exts.push(ext("2.5.29.15", true, bits(Buffer.from([0x80]), 7))); // digitalSignature
    if (dnsName) exts.push(ext("2.5.29.17", false, seq(tlv(0x82, Buffer.from(dnsName, "ascii")))));
  }
  exts.push(ext("2.5.29.14", false, octets(keyId(spki)))); // subjectKeyIdentifier
  exts.push(ext("2.5.29.35", false, seq(tlv(0x80, keyId(issuerSpki))))); // authorityKeyIdentifier
  const tbs = seq(
    ctx(0, int(Buffer.from([2]))),
    int(serial),
    ECDSA_SHA256,
    name(issuer),
    seq(utcTime(notBefore), utcTime(notAfter)),
    name(subject),
    spki,
    ctx(3, seq(...exts)),
  );
  const signature = sign("sha256", tbs, issuerPrivateKey); // DER Ecdsa-Sig-Value, as X.509 wants
  return seq(tbs, ECDSA_SHA256, bits(signature));
}

export const toPem = (der) =>
  `-----BEGIN CERTIFICATE-----\n${der.toString("base64").match(/.{1,64}/g).join("\n")}\n-----END CERTIFICATE-----\n`;
