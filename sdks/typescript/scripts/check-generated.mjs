#!/usr/bin/env node
// Fails (exit 1) when src/schema.d.ts is not what the pinned openapi-typescript generates
// from docs/openapi.json today: the committed client would be stale against the API.
// Regenerates into a temp file with the same command as `npm run generate` and compares
// bytes; prints the first differing line and the fix.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const committed = join(root, "src/schema.d.ts");
const tmp = mkdtempSync(join(tmpdir(), "vdc-sdk-schema-"));
try {
  const fresh = join(tmp, "schema.d.ts");
  const cli = join(root, "node_modules/openapi-typescript/bin/cli.js");
  const p = spawnSync(process.execPath, [cli, "../../docs/openapi.json", "-o", fresh], {
    cwd: root,
    encoding: "utf8",
  });
  if (p.status !== 0) {
    console.error(`check-generated: openapi-typescript failed (exit ${p.status}):\n${p.stderr}`);
    process.exit(2);
  }
  const want = readFileSync(fresh, "utf8");
  let have;
  try {
    have = readFileSync(committed, "utf8");
  } catch {
    console.error("check-generated: src/schema.d.ts is missing; run `npm run generate` in sdks/typescript");
    process.exit(1);
  }
  if (have !== want) {
    const a = have.split("\n");
    const b = want.split("\n");
    let i = 0;
    while (i < Math.max(a.length, b.length) && a[i] === b[i]) i += 1;
    console.error(
      `check-generated: src/schema.d.ts is stale against docs/openapi.json (first difference at line ${i + 1}):\n` +
        `  committed: ${JSON.stringify(a[i] ?? "<end of file>")}\n` +
        `  generated: ${JSON.stringify(b[i] ?? "<end of file>")}\n` +
        "run `npm run generate` in sdks/typescript and commit src/schema.d.ts",
    );
    process.exit(1);
  }
  console.log("check-generated: src/schema.d.ts matches docs/openapi.json");
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
