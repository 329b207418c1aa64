#!/usr/bin/env node
// Differential-test driver for the @sd-jwt/* TypeScript implementation
// (openwallet-foundation/sd-jwt-js). See ../README.md for the JSON contract
// and ../../docs/INTEROP.md for the library's known deviations from RFC 9901
// and draft-ietf-oauth-sd-jwt-vc, and how this script compensates.
//
// Usage: node interop.mjs verify|issue   (one JSON object on stdin, one on stdout)
// Exit status: 0 whenever a JSON answer was produced for a well-formed request
// (also when verification fails); 2 for bad usage / malformed request;
// 1 for an internal crash or a failed issuance.

import {
  createHash,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";

const DEFAULT_SKEW = 60; // seconds; same as vdc_core::time::DEFAULT_SKEW_SECS
const DEFAULT_KB_MAX_AGE = 300; // seconds a KB-JWT `iat` may lie in the past
const DEFAULT_TYP = "dc+sd-jwt";
// draft-ietf-oauth-sd-jwt-vc §"Registered JWT Claims": MUST NOT be selectively disclosed.
const VC_NON_DISCLOSABLE = ["iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "aka_vcts", "status"];
const MAX_ERR = 400;

class HarnessError extends Error {
  constructor(stage, message) {
    super(message);
    this.stage = stage;
  }
}
const scriptFail = (msg) => {
  throw new HarnessError("script", msg);
};
const inputFail = (msg) => {
  throw new HarnessError("input", msg);
};

// ---------------------------------------------------------------- helpers

const isObj = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
const B64URL_RE = /^[A-Za-z0-9_-]*$/;

/** Strict base64url (RFC 4648 §5, no padding) to Buffer. */
function b64uDecode(s, what) {
  if (typeof s !== "string" || !B64URL_RE.test(s) || s.length % 4 === 1) {
    scriptFail(`${what} is not unpadded base64url`);
  }
  return Buffer.from(s, "base64url");
}

function decodeJwtParts(compact, what) {
  const parts = compact.split(".");
  if (parts.length !== 3) scriptFail(`${what} is not a compact JWS`);
  let header;
  let payload;
  try {
    header = JSON.parse(b64uDecode(parts[0], `${what} header`).toString("utf8"));
    payload = JSON.parse(b64uDecode(parts[1], `${what} payload`).toString("utf8"));
  } catch (e) {
    if (e instanceof HarnessError) throw e;
    scriptFail(`${what} header/payload is not JSON`);
  }
  if (!isObj(header) || !isObj(payload)) scriptFail(`${what} header/payload is not a JSON object`);
  return { header, payload };
}

/** sd-jwt-js Hasher: (data, alg) => Uint8Array. Only sha-256 is offered. */
function hasher(data, alg) {
  if (typeof alg !== "string" || alg.toLowerCase() !== "sha-256") {
    throw new Error(`unsupported _sd_alg ${JSON.stringify(String(alg)).slice(0, 40)}`);
  }
  const h = createHash("sha256");
  h.update(typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data));
  return new Uint8Array(h.digest());
}
const sha256b64u = (s) => createHash("sha256").update(Buffer.from(s, "utf8")).digest("base64url");

function checkP256Jwk(jwk, needPrivate, what) {
  if (!isObj(jwk) || jwk.kty !== "EC" || jwk.crv !== "P-256" || typeof jwk.x !== "string" || typeof jwk.y !== "string") {
    inputFail(`${what} must be an EC P-256 JWK`);
  }
  if (needPrivate && typeof jwk.d !== "string") inputFail(`${what} must contain the private part d`);
}
const publicJwk = (jwk) => ({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y });

/** Imports a JWK as a node KeyObject; an unusable key is a request error. */
function loadKey(jwk, isPrivate, what) {
  try {
    return isPrivate ? createPrivateKey({ key: jwk, format: "jwk" }) : createPublicKey({ key: publicJwk(jwk), format: "jwk" });
  } catch {
    inputFail(`${what} is not a valid EC P-256 JWK`);
  }
}

/** ES256 signer producing JOSE r||s (ieee-p1363) signatures, base64url. */
function es256Signer(privJwk) {
  const key = createPrivateKey({ key: privJwk, format: "jwk" });
  return async (data) =>
    nodeSign("sha256", Buffer.from(data, "utf8"), { key, dsaEncoding: "ieee-p1363" }).toString("base64url");
}

/** ES256 verification of a compact-JWS signing input against a public JWK. */
function es256Verify(pubJwk, data, sigB64u) {
  const key = createPublicKey({ key: publicJwk(pubJwk), format: "jwk" });
  const sig = b64uDecode(sigB64u, "signature");
  if (sig.length !== 64) return false; // RFC 7518 §3.4: 64-octet r||s
  return nodeVerify("sha256", Buffer.from(data, "utf8"), { key, dsaEncoding: "ieee-p1363" }, sig);
}

function intOpt(req, name, dflt) {
  if (req[name] === undefined || req[name] === null) return dflt;
  if (!Number.isInteger(req[name])) inputFail(`${name} must be an integer`);
  return req[name];
}

// ------------------------------------------------ script-side checks

/** Time checks on the processed payload; same rule as vdc_core::jose::jws::check_times. */
function checkTimes(claims, now, skew) {
  for (const k of ["exp", "nbf", "iat"]) {
    if (claims[k] !== undefined && typeof claims[k] !== "number") scriptFail(`${k} is not a number`);
  }
  if (claims.exp !== undefined && now - skew >= claims.exp) scriptFail("credential expired (exp)");
  if (claims.nbf !== undefined && claims.nbf > now + skew) scriptFail("credential not yet valid (nbf)");
  if (claims.iat !== undefined && claims.iat > now + skew) scriptFail("credential iat is in the future");
}

/**
 * RFC 9901 §7.1 / draft-ietf-oauth-sd-jwt-vc checks that @sd-jwt 0.19.0 does
 * not perform (see docs/INTEROP.md). Operates on the raw compact presentation.
 */
function strictChecks(sdJwt, expectedTyp, vc) {
  const parts = sdJwt.split("~");
  // Spec: RFC 9901 §4: an SD-JWT always contains at least one '~'.
  if (parts.length < 2) scriptFail("not an SD-JWT: no '~' separator");
  const { header, payload } = decodeJwtParts(parts[0], "issuer-signed JWT");
  // Spec: RFC 9901 §7.1 step 2.1: algorithm deemed secure; `none` MUST NOT be accepted.
  if (header.alg !== "ES256") scriptFail("issuer-signed JWT alg is not ES256");
  // Spec: RFC 9901 §9.11 explicit typing; draft-ietf-oauth-sd-jwt-vc §"JOSE Header": typ dc+sd-jwt.
  if (expectedTyp !== null && header.typ !== expectedTyp) scriptFail("issuer-signed JWT typ mismatch");
  // Spec: RFC 9901 §7.1 step 2.5.
  if (payload._sd_alg !== undefined && payload._sd_alg !== "sha-256") scriptFail("unsupported _sd_alg");

  const discs = parts.slice(1, -1);
  const byDigest = new Map();
  for (const d of discs) {
    if (d === "") scriptFail("empty disclosure component");
    const raw = b64uDecode(d, "disclosure");
    let arr;
    try {
      arr = JSON.parse(raw.toString("utf8"));
    } catch {
      scriptFail("disclosure is not JSON");
    }
    if (!Array.isArray(arr) || (arr.length !== 2 && arr.length !== 3)) scriptFail("disclosure is not a 2- or 3-element array");
    if (typeof arr[0] !== "string") scriptFail("disclosure salt is not a string");
    if (arr.length === 3 && typeof arr[1] !== "string") scriptFail("disclosure claim name is not a string");
    const dig = sha256b64u(d);
    if (!byDigest.has(dig)) byDigest.set(dig, arr);
  }

  const seen = new Set();
  const used = new Set();
  const topLevelDisclosed = [];
  const walk = (v, top) => {
    if (Array.isArray(v)) {
      for (const el of v) {
        if (isObj(el) && Object.keys(el).length === 1 && typeof el["..."] === "string") {
          const dig = el["..."];
          // Spec: RFC 9901 §7.1 step 4.
          if (seen.has(dig)) scriptFail("digest appears more than once");
          seen.add(dig);
          const arr = byDigest.get(dig);
          if (arr) {
            // Spec: RFC 9901 §7.1 step 3.3.3.1.
            if (arr.length !== 2) scriptFail("array-element digest refers to a non-2-element disclosure");
            used.add(dig);
            walk(arr[1], false);
          }
        } else {
          walk(el, false);
        }
      }
    } else if (isObj(v)) {
      const names = new Set(Object.keys(v).filter((k) => k !== "_sd"));
      if (v._sd !== undefined) {
        if (!Array.isArray(v._sd) || v._sd.some((x) => typeof x !== "string")) scriptFail("_sd is not an array of strings");
        for (const dig of v._sd) {
          if (seen.has(dig)) scriptFail("digest appears more than once");
          seen.add(dig);
          const arr = byDigest.get(dig);
          if (!arr) continue; // decoy or undisclosed
          // Spec: RFC 9901 §7.1 step 3.3.2.1-3.
          if (arr.length !== 3) scriptFail("_sd digest refers to a non-3-element disclosure");
          if (arr[1] === "_sd" || arr[1] === "...") scriptFail("disclosure claim name is _sd or ...");
          if (names.has(arr[1])) scriptFail("disclosed claim name already exists at its level");
          names.add(arr[1]);
          if (top) topLevelDisclosed.push(arr[1]);
          used.add(dig);
          walk(arr[2], false);
        }
      }
      for (const [k, x] of Object.entries(v)) if (k !== "_sd") walk(x, false);
    }
  };
  walk(payload, true);
  // Spec: RFC 9901 §7.1 step 5.
  for (const dig of byDigest.keys()) if (!used.has(dig)) scriptFail("disclosure not referenced by any digest");

  if (vc) {
    // Spec: draft-ietf-oauth-sd-jwt-vc §"Registered JWT Claims" (incl. sub-claims).
    for (const n of topLevelDisclosed) if (VC_NON_DISCLOSABLE.includes(n)) scriptFail(`claim ${n} must not be selectively disclosed`);
    const hasDigests = (x) =>
      Array.isArray(x) ? x.some((e) => (isObj(e) && "..." in e) || hasDigests(e)) : isObj(x) ? "_sd" in x || Object.values(x).some(hasDigests) : false;
    for (const n of VC_NON_DISCLOSABLE) if (n in payload && hasDigests(payload[n])) scriptFail(`sub-claims of ${n} must not be selectively disclosed`);
    if (typeof payload.vct !== "string") scriptFail("vct is missing or not a string");
  }
}

// ----------------------------------------------------------------- verify

async function cmdVerify(req) {
  if (typeof req.sd_jwt !== "string") inputFail("sd_jwt must be a string");
  checkP256Jwk(req.issuer_jwk, false, "issuer_jwk");
  const hb = req.holder_binding;
  if (typeof hb !== "boolean") inputFail("holder_binding must be a boolean");
  if (hb && (typeof req.aud !== "string" || typeof req.nonce !== "string" || req.nonce === "")) {
    inputFail("aud and a non-empty nonce are required when holder_binding is true");
  }
  const now = intOpt(req, "now", Math.floor(Date.now() / 1000));
  const skew = intOpt(req, "skew", DEFAULT_SKEW);
  const kbMaxAge = intOpt(req, "kb_max_age", DEFAULT_KB_MAX_AGE);
  const strict = req.strict === undefined ? true : req.strict;
  if (typeof strict !== "boolean") inputFail("strict must be a boolean");
  const expectedTyp = req.expected_typ === undefined ? DEFAULT_TYP : req.expected_typ;
  if (expectedTyp !== null && typeof expectedTyp !== "string") inputFail("expected_typ must be a string or null");
  const vc = req.vc === undefined ? true : req.vc;
  if (typeof vc !== "boolean") inputFail("vc must be a boolean");

  const issuerPub = publicJwk(req.issuer_jwk);
  loadKey(issuerPub, false, "issuer_jwk");
  const sdjwt = new SDJwtVcInstance({
    hasher,
    verifier: async (data, sig) => es256Verify(issuerPub, data, sig),
    // The library hands the *processed* issuer payload; the key is its cnf.jwk.
    kbVerifier: async (data, sig, payload) => {
      const jwk = payload && payload.cnf && payload.cnf.jwk;
      if (!isObj(jwk) || jwk.kty !== "EC" || jwk.crv !== "P-256") throw new Error("cnf.jwk missing or not an EC P-256 key");
      return es256Verify(jwk, data, sig);
    },
  });
  // Status lists would be fetched over the network; the harness never does that.
  sdjwt.verifyStatus = async () => {};

  let result;
  try {
    result = await sdjwt.verify(req.sd_jwt, {
      currentDate: now,
      skewSeconds: skew,
      ...(hb ? { keyBindingNonce: req.nonce } : {}),
    });
  } catch (e) {
    return { ok: false, stage: "library", error: String((e && e.message) || e).slice(0, MAX_ERR) };
  }

  try {
    const claims = result.payload;
    checkTimes(claims, now, skew);
    if (hb) {
      // The library checked: KB present, typ kb+jwt, presence of iat/aud/nonce/sd_hash,
      // signature with cnf.jwk, nonce equality, sd_hash. The rest of RFC 9901 §7.3 step 5:
      const parts = req.sd_jwt.split("~");
      const { header, payload } = decodeJwtParts(parts[parts.length - 1], "KB-JWT");
      if (header.alg !== "ES256") scriptFail("KB-JWT alg is not ES256"); // §7.3 step 5.2
      if (payload.aud !== req.aud) scriptFail("KB-JWT aud mismatch"); // §7.3 step 5.6
      if (payload.nonce !== req.nonce) scriptFail("KB-JWT nonce mismatch"); // §7.3 step 5.6
      if (typeof payload.iat !== "number") scriptFail("KB-JWT iat missing"); // §4.3
      if (payload.iat > now + skew) scriptFail("KB-JWT iat is in the future"); // §7.3 step 5.5
      if (payload.iat < now - kbMaxAge - skew) scriptFail("KB-JWT iat is too old"); // §7.3 step 5.5
    }
    if (strict) strictChecks(req.sd_jwt, expectedTyp, vc);
    return { ok: true, claims, kb_checked: hb };
  } catch (e) {
    if (e instanceof HarnessError) return { ok: false, stage: e.stage, error: e.message.slice(0, MAX_ERR) };
    return { ok: false, stage: "script", error: String((e && e.message) || e).slice(0, MAX_ERR) };
  }
}

// ------------------------------------------------------------------ issue

/** Turns claim paths into an @sd-jwt PresentationFrame ({a: true, b: {c: true}, n: {1: true}}). */
function presentationFrame(paths) {
  if (!Array.isArray(paths)) inputFail("disclose must be an array of claim paths");
  const frame = {};
  for (const p of paths) {
    if (!Array.isArray(p) || p.length === 0) inputFail("each claim path must be a non-empty array");
    let node = frame;
    p.forEach((step, i) => {
      if (typeof step !== "string" && !(Number.isInteger(step) && step >= 0)) inputFail("path steps must be strings or array indexes");
      const k = String(step);
      if (i === p.length - 1) {
        if (!isObj(node[k])) node[k] = true;
      } else {
        if (!isObj(node[k])) node[k] = {};
        node = node[k];
      }
    });
  }
  return frame;
}

async function cmdIssue(req) {
  checkP256Jwk(req.issuer_jwk, true, "issuer_jwk");
  checkP256Jwk(req.holder_jwk, true, "holder_jwk");
  loadKey(req.issuer_jwk, true, "issuer_jwk");
  loadKey(req.holder_jwk, true, "holder_jwk");
  if (!isObj(req.payload)) inputFail("payload must be an object");
  if ("cnf" in req.payload) inputFail("payload must not contain cnf (the script adds it)");
  if (req.disclosure_frame !== undefined && !isObj(req.disclosure_frame)) inputFail("disclosure_frame must be an object");
  if (typeof req.aud !== "string" || typeof req.nonce !== "string" || req.nonce === "") inputFail("aud and nonce are required");
  if (!Number.isInteger(req.iat)) inputFail("iat must be an integer");
  const typ = req.typ === undefined ? DEFAULT_TYP : req.typ;
  if (typeof typ !== "string") inputFail("typ must be a string");
  const frame = presentationFrame(req.disclose === undefined ? [] : req.disclose);

  const sdjwt = new SDJwtVcInstance({
    hasher,
    hashAlg: "sha-256",
    signer: es256Signer(req.issuer_jwk),
    signAlg: "ES256",
    kbSigner: es256Signer(req.holder_jwk),
    kbSignAlg: "ES256",
    // 128-bit salts (RFC 9901 §9.3 recommends at least 128 bits).
    saltGenerator: async (len) => randomBytes(Math.max(len, 16)).toString("base64url"),
  });
  const payload = { ...req.payload, cnf: { jwk: publicJwk(req.holder_jwk) } };
  const issued = await sdjwt.issue(payload, req.disclosure_frame, { header: { typ } });
  const presentation = await sdjwt.present(issued, frame, {
    kb: { payload: { iat: req.iat, aud: req.aud, nonce: req.nonce } },
  });
  return { issued, presentation };
}

// ------------------------------------------------------------------- main

async function main() {
  const cmd = process.argv[2];
  if (process.argv.length !== 3 || (cmd !== "verify" && cmd !== "issue")) {
    process.stderr.write("usage: node interop.mjs verify|issue < request.json\n");
    process.exit(2);
  }
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  let req;
  try {
    req = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    req = undefined;
  }
  const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
  if (!isObj(req)) {
    out({ ok: false, stage: "input", error: "stdin is not one JSON object" });
    process.exit(2);
  }
  try {
    out(cmd === "verify" ? await cmdVerify(req) : await cmdIssue(req));
    process.exit(0);
  } catch (e) {
    const stage = e instanceof HarnessError ? e.stage : cmd === "issue" ? "library" : "script";
    out({ ok: false, stage, error: String((e && e.message) || e).slice(0, MAX_ERR) });
    process.exit(stage === "input" ? 2 : 1);
  }
}

main();
