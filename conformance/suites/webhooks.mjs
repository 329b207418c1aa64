#!/usr/bin/env node
// Subscribes a local receiver to the running server's webhooks, issues a credential with the
// independent OpenID4VCI wallet and revokes it, then checks every delivery with the
// Standard Webhooks reference library (npm `standardwebhooks`): signature and timestamp
// verify, a tampered body does not, the payload has the contract's shape and no claim value.

import { spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Webhook } from "standardwebhooks";

const conf = join(dirname(fileURLToPath(import.meta.url)), "..");
const base = process.env.VDC_BASE_URL.replace(/\/+$/, "");
const adminKey = process.env.VDC_ADMIN_KEY;
const port = Number(process.env.VDC_WEBHOOK_RECEIVER_PORT);

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) passed += 1;
  else failed += 1;
  console.log(`  ${ok ? "ok  " : "FAIL"}  ${name}${ok || detail === undefined ? "" : `: ${JSON.stringify(detail).slice(0, 1200)}`}`);
  return ok;
}
async function api(method, path, body) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, body: await r.json().catch(() => null) };
}

const received = [];
const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
    res.writeHead(204).end();
  });
});
await new Promise((ok) => server.listen(port, "127.0.0.1", ok));

try {
  const hook = await api("POST", "/api/v1/webhooks", {
    url: `http://127.0.0.1:${port}/hook`,
    events: ["credential.issued", "credential.status_changed"],
    issuers: ["demo"],
  });
  if (!check("webhook created with a whsec_ secret", hook.status === 201 && /^whsec_/.test(hook.body?.secret ?? ""), hook)) throw new Error("stop");
  const claims = { given_name: "Grace", employee_id: "E-7" };
  const offer = await api("POST", "/api/v1/issuers/demo/offers", {
    credential_configuration_ids: ["EmployeeBadge"],
    claims: { EmployeeBadge: claims },
  });
  const p = spawnSync(process.execPath, [join(conf, "openid4vci-js/wallet.mjs")], {
    input: JSON.stringify({ offer_uri: offer.body.offer_uri, allow_http: true }),
    encoding: "utf8",
    timeout: 120_000,
  });
  const issued = JSON.parse(p.stdout.trim().split("\n").pop() || "{}");
  if (!check("the independent wallet obtained a credential", issued.ok === true, issued)) throw new Error("stop");
  const status = await api("GET", `/api/v1/issuers/demo/offers/${offer.body.id}`);
  const credentialId = status.body.credentials[0].id;
  const revoked = await api("POST", `/api/v1/issuers/demo/credentials/${credentialId}/status`, { status: "revoked" });
  check("credential revoked", revoked.status === 200, revoked);

  // Bounded wait for both deliveries (the dispatcher sends at once on enqueue).
  const deadline = Date.now() + 30_000;
  while (received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  check("two deliveries arrived", received.length === 2, received.length);

  const wh = new Webhook(hook.body.secret);
  const types = [];
  for (const m of received) {
    let payload;
    try {
      payload = wh.verify(m.body, m.headers);
    } catch (e) {
      check("standardwebhooks verifies the delivery", false, String(e));
      continue;
    }
    types.push(payload.type);
    // webhook-id names the message (one per event and webhook, the same on every retry);
    // the body's id names the event.
    check(`standardwebhooks verifies ${payload.type}`, /^\S+$/.test(m.headers["webhook-id"] ?? "") && payload.id?.startsWith("evt_"), { headers: m.headers, payload });
    check(
      `${payload.type} has the contract's shape and names the credential`,
      typeof payload.created_at === "string" && payload.data?.credential_id === credentialId && payload.data?.issuer === "demo",
      payload,
    );
    check(`${payload.type} carries no claim value`, !Object.values(claims).some((v) => m.body.includes(v)), m.body);
    let tamperedRejected = false;
    try {
      wh.verify(m.body.replace(credentialId, `${credentialId}x`), m.headers);
    } catch {
      tamperedRejected = true;
    }
    check(`a tampered ${payload.type} body is rejected`, tamperedRejected);
  }
  check(
    "credential.issued and credential.status_changed were delivered",
    types.includes("credential.issued") && types.includes("credential.status_changed"),
    types,
  );
  // The receiver's 204 comes before vdc records the attempt: wait (bounded) for the record.
  let deliveries;
  const recorded = Date.now() + 10_000;
  do {
    deliveries = await api("GET", `/api/v1/webhooks/${hook.body.id}/deliveries`);
    if (deliveries.body?.items?.length === 2 && deliveries.body.items.every((d) => d.state === "delivered")) break;
    await new Promise((r) => setTimeout(r, 100));
  } while (Date.now() < recorded);
  check(
    "the deliveries list shows each as delivered",
    deliveries.body?.items?.length === 2 && deliveries.body.items.every((d) => d.state === "delivered"),
    deliveries.body,
  );
  await api("DELETE", `/api/v1/webhooks/${hook.body.id}`);
} catch (e) {
  if (e.message !== "stop") check("webhooks suite", false, e.stack);
} finally {
  server.close();
}
console.log(`webhooks: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
