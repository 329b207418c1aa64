#!/usr/bin/env node
// Interop driver: decodes a Token Status List (draft-ietf-oauth-status-list) with the
// independent @sd-jwt/jwt-status-list implementation (openwallet-foundation/sd-jwt-js),
// so vdc's Rust tests can check that lists vdc signs read the same elsewhere.
//
// Usage: node decode.mjs   (one JSON object on stdin, one JSON line on stdout)
//   in:  {"token": "<statuslist+jwt>", "indexes": [0, 5, ...], "jwk": {...}?}
//   out: {"bits": n, "statuses": [..], "typ": "...", "sub": "...", "verified": bool|null}
// The library does not verify signatures; when `jwk` (a public EC P-256 JWK) is given,
// the ES256 signature is checked here with node:crypto (JOSE r||s, "ieee-p1363") and a
// bad signature is an error. `verified` is null when no `jwk` was given.
// Exit status: 0 with an answer; 2 for a malformed request; 1 when decoding or signature
// verification fails (stdout then carries {"error": "..."}).

import { createPublicKey, verify as nodeVerify } from "node:crypto";
import { getListFromStatusListJWT } from "@sd-jwt/jwt-status-list";

const MAX_ERR = 400;

function out(obj, code) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
  process.exitCode = code;
}

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8");
}

function decodePart(part) {
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
}

function verifyEs256(token, jwk) {
  const [h, p, s] = token.split(".");
  const key = createPublicKey({
    key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y },
    format: "jwk",
  });
  return nodeVerify(
    "sha256",
    Buffer.from(`${h}.${p}`, "utf8"),
    { key, dsaEncoding: "ieee-p1363" },
    Buffer.from(s, "base64url"),
  );
}

async function main() {
  let req;
  try {
    req = JSON.parse(await readStdin());
  } catch {
    return out({ error: "stdin is not JSON" }, 2);
  }
  const validIndexes =
    Array.isArray(req?.indexes) && req.indexes.every((i) => Number.isSafeInteger(i) && i >= 0);
  if (typeof req?.token !== "string" || !validIndexes) {
    return out({ error: "need {token: string, indexes: [non-negative integers]}" }, 2);
  }
  try {
    const parts = req.token.split(".");
    if (parts.length !== 3) throw new Error("not a compact JWS");
    const header = decodePart(parts[0]);
    const payload = decodePart(parts[1]);
    let verified = null;
    if (req.jwk !== undefined) {
      if (header.alg !== "ES256") throw new Error(`alg ${String(header.alg).slice(0, 20)} is not ES256`);
      verified = verifyEs256(req.token, req.jwk);
      if (!verified) throw new Error("signature does not verify with the given jwk");
    }
    const list = getListFromStatusListJWT(req.token);
    const statuses = req.indexes.map((i) => list.getStatus(i));
    return out(
      { bits: list.getBitsPerStatus(), statuses, typ: header.typ ?? null, sub: payload.sub ?? null, verified },
      0,
    );
  } catch (e) {
    return out({ error: String(e?.message ?? e).slice(0, MAX_ERR) }, 1);
  }
}

await main();
