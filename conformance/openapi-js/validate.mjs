#!/usr/bin/env node
// Conformance driver: validates vdc's management API OpenAPI document with the independent
// @apidevtools/swagger-parser (schema validation against the official OpenAPI 3.1 JSON
// Schema, plus its own checks: every $ref resolves, operationIds are unique, path
// parameters are declared and required).
//
// Usage: node validate.mjs   (the OpenAPI document as JSON on stdin, one JSON line on stdout)
//   out: {"ok": true, "openapi": "3.1.0", "paths": n} or {"ok": false, "error": "..."}
// Exit status: 0 when valid; 1 when invalid; 2 when stdin is not JSON.

import SwaggerParser from "@apidevtools/swagger-parser";

const MAX_ERR = 2000;

function out(obj, code) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
  process.exitCode = code;
}

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8");
}

let doc;
try {
  doc = JSON.parse(await readStdin());
} catch (e) {
  out({ ok: false, error: `stdin is not JSON: ${String(e).slice(0, MAX_ERR)}` }, 2);
}
if (doc !== undefined) {
  try {
    // validate() dereferences in place: give it a copy, report from the original.
    await SwaggerParser.validate(structuredClone(doc));
    out({ ok: true, openapi: doc.openapi, paths: Object.keys(doc.paths ?? {}).length }, 0);
  } catch (e) {
    out({ ok: false, error: String(e?.message ?? e).slice(0, MAX_ERR) }, 1);
  }
}
