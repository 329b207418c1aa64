// The SDK against a real `vdc serve` (VDC_BIN; run-tests.sh builds one): a fresh data dir,
// a random admin key and a free port, with a local webhook receiver the server may reach
// (VDC_OUTBOUND_ALLOW). Through the SDK only: create an issuer and a verifier → subscribe
// a webhook → create an offer → the command-line wallet (`vdc wallet accept`) redeems it
// while waitForOffer long-polls → the credential.issued delivery verifies (a tampered one
// does not) → suspend (status change, delivery verified; the wallet will not present it,
// waitForPresentation gives up with a typed error) → valid again → `vdc wallet present` →
// the verified result and its claims read through the SDK, the presentation.verified
// delivery verified → revoked is final (typed 409). Plus typed errors for 401, 404 and 400.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import {
  createVdcClient,
  type OfferStatus,
  type VdcClient,
  VdcApiError,
  VdcWaitError,
  verifyWebhook,
  WebhookVerificationError,
} from "../src/index.js";

const VDC_BIN = process.env.VDC_BIN ?? "";
const ISSUER = "sdk-acme";
const VERIFIER = "sdk-door";
const VCT = "https://acme.example/vct/employee-badge";
const CLAIMS = { given_name: "Ada", family_name: "Lovelace", employee_id: "E-1" };
/** Bound for things that happen "soon" (a delivery, the server starting): a hang becomes a
 * failure with a message, never a test that waits forever. Not a timing assertion. */
const BOUND_MS = 60_000;

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver: answers 204 and hands each delivery to whoever waits for it. */
class Receiver {
  readonly deliveries: Delivery[] = [];
  private waiters: Array<() => void> = [];
  readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      this.deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(204).end();
      for (const w of this.waiters.splice(0)) w();
    });
  });

  async listen(): Promise<number> {
    await new Promise<void>((ok) => this.server.listen(0, "127.0.0.1", ok));
    return (this.server.address() as AddressInfo).port;
  }

  /** The first delivery (received before or after the call) that `match` accepts. */
  async next(match: (d: Delivery) => boolean, what: string): Promise<Delivery> {
    const deadline = Date.now() + BOUND_MS;
    for (;;) {
      const found = this.deliveries.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no webhook delivery of ${what} within ${BOUND_MS} ms`);
      await new Promise<void>((ok) => {
        const t = setTimeout(ok, 1_000);
        this.waiters.push(() => {
          clearTimeout(t);
          ok();
        });
      });
    }
  }
}

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((ok) => s.listen(0, "127.0.0.1", ok));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

/** Runs the built binary (asynchronously: the receiver in this process must keep serving). */
function run(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // The wallet's files stay inside this test's temp dir: VDC_WALLET_DIR names it, and
    // every default the CLI had (./vdc-wallet, $XDG_DATA_HOME, ~) points there too.
    const p = spawn(VDC_BIN, args, {
      cwd,
      env: { ...process.env, VDC_WALLET_DIR: join(cwd, "vdc-wallet"), HOME: cwd, XDG_DATA_HOME: join(cwd, "xdg") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const timer = setTimeout(() => p.kill("SIGKILL"), 2 * BOUND_MS);
    p.on("error", reject);
    p.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const eventOf = (d: Delivery) => JSON.parse(d.body) as { type: string; data: Record<string, unknown> };

describe("@vdc/management against vdc serve", { concurrency: false }, () => {
  let tmp = "";
  let walletDir = "";
  let server: ReturnType<typeof spawn> | undefined;
  let serverLog = "";
  let base = "";
  let adminKey = "";
  let vdc: VdcClient;
  const receiver = new Receiver();
  let receiverUrl = "";
  let webhookSecret = "";
  let credentialIssuer = "";
  let offer: OfferStatus | undefined;
  let credentialId = "";
  let trustAnchorFile = "";

  before(async () => {
    assert.ok(VDC_BIN, "set VDC_BIN to a vdc binary (sdks/typescript/run-tests.sh does)");
    tmp = mkdtempSync(join(tmpdir(), "vdc-sdk-e2e-"));
    walletDir = join(tmp, "wallet");
    mkdirSync(walletDir);
    const receiverPort = await receiver.listen();
    receiverUrl = `http://127.0.0.1:${receiverPort}`;
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    adminKey = `vdc-sdk-test-${randomBytes(12).toString("hex")}`;
    const env: NodeJS.ProcessEnv = { ...process.env };
    // A fresh data dir and nothing from the caller's VDC_* settings but what is set here.
    for (const k of ["VDC_DATABASE_URL", "VDC_PUBLIC_URL", "VDC_KEK", "VDC_LISTEN"]) delete env[k];
    Object.assign(env, {
      VDC_DATA_DIR: join(tmp, "data"),
      VDC_ADMIN_KEY: adminKey,
      // The receiver is plain-HTTP loopback: allowed as operators allow internal receivers.
      VDC_OUTBOUND_ALLOW: receiverUrl,
    });
    server = spawn(VDC_BIN, ["serve", "--listen", `127.0.0.1:${port}`], { env, stdio: ["ignore", "pipe", "pipe"] });
    server.stdout?.on("data", (c: Buffer) => (serverLog += c.toString("utf8")));
    server.stderr?.on("data", (c: Buffer) => (serverLog += c.toString("utf8")));
    const deadline = Date.now() + BOUND_MS;
    for (;;) {
      assert.equal(server.exitCode, null, `vdc serve exited early:\n${serverLog}`);
      const ok = await fetch(`${base}/healthz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      assert.ok(Date.now() < deadline, `vdc serve did not answer /healthz within ${BOUND_MS} ms:\n${serverLog}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    vdc = createVdcClient({ baseUrl: base, apiKey: adminKey });
  });

  after(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((ok) => server?.once("exit", ok));
      server.kill("SIGTERM");
      await exited;
    }
    await new Promise<void>((ok) => receiver.server.close(() => ok()));
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test("typed errors: 401 for a wrong key, 404 for an unknown issuer", async () => {
    const wrong = createVdcClient({ baseUrl: base, apiKey: "not-the-key" });
    await assert.rejects(wrong.issuers.list(), (e: unknown) => {
      assert.ok(e instanceof VdcApiError, String(e));
      assert.equal(e.status, 401);
      assert.equal(e.error, "unauthorized");
      return true;
    });
    await assert.rejects(vdc.issuers.get("no-such-issuer"), (e: unknown) => {
      assert.ok(e instanceof VdcApiError, String(e));
      assert.equal(e.status, 404);
      assert.equal(e.error, "not_found");
      assert.ok(e.error_description.length > 0, "error_description is set");
      assert.match(e.message, /GET \/api\/v1\/issuers\/no-such-issuer: 404 not_found/);
      return true;
    });
  });

  test("create an issuer and a verifier", async () => {
    const created = await vdc.issuers.create({
      id: ISSUER,
      display: [{ name: "ACME Corp", locale: "en" }],
      signing_alg: "ES256",
      credential_configurations: {
        EmployeeBadge: {
          format: "dc+sd-jwt",
          vct: VCT,
          claims: [{ path: ["given_name"] }, { path: ["family_name"] }, { path: ["employee_id"], mandatory: true }],
          cryptographic_binding_methods_supported: ["jwk"],
          expires_in: 31536000,
        },
      },
    });
    assert.equal(created.id, ISSUER);
    credentialIssuer = created.credential_issuer;
    assert.equal(credentialIssuer, `${base}/issuers/${ISSUER}`);
    const listed = await vdc.issuers.list();
    assert.ok(listed.items.some((i) => i.id === ISSUER), JSON.stringify(listed));

    const verifier = await vdc.verifiers.create({
      id: VERIFIER,
      client_id_prefix: "x509_san_dns",
      display: { name: "ACME door" },
      trusted_issuers: [credentialIssuer],
    });
    assert.equal(verifier.id, VERIFIER);
    const read = await vdc.verifiers.get(VERIFIER);
    assert.ok(read.trust_anchor, "the verifier publishes a trust anchor");
    trustAnchorFile = join(tmp, "verifier-ca.pem");
    writeFileSync(trustAnchorFile, read.trust_anchor);
  });

  test("typed error: 400 invalid_request for an unknown member", async () => {
    await assert.rejects(
      vdc.offers.create(ISSUER, {
        credential_configuration_ids: ["EmployeeBadge"],
        claims: { EmployeeBadge: CLAIMS },
        txcode: { length: 6 },
      } as never),
      (e: unknown) => {
        assert.ok(e instanceof VdcApiError, String(e));
        assert.equal(e.status, 400);
        assert.equal(e.error, "invalid_request");
        assert.match(e.error_description, /txcode/);
        return true;
      },
    );
  });

  test("subscribe a webhook", async () => {
    const hook = await vdc.webhooks.create({
      url: `${receiverUrl}/hook`,
      events: ["credential.issued", "credential.status_changed", "presentation.verified", "presentation.rejected"],
      issuers: [ISSUER],
      verifiers: [VERIFIER],
    });
    assert.match(hook.secret, /^whsec_/);
    webhookSecret = hook.secret;
    const listed = await vdc.webhooks.list();
    assert.ok(listed.items.some((w) => w.id === hook.id), JSON.stringify(listed));
  });

  test("offer → the wallet accepts → waitForOffer sees credential_issued", async () => {
    const created = await vdc.offers.create(ISSUER, {
      credential_configuration_ids: ["EmployeeBadge"],
      claims: { EmployeeBadge: CLAIMS },
      tx_code: { length: 6, input_mode: "numeric" },
      expires_in: 600,
    });
    assert.match(created.offer_uri, /^openid-credential-offer:\/\//);
    assert.ok(created.tx_code, "a tx_code was generated");
    assert.equal((await vdc.offers.get(ISSUER, created.id)).status, "offered");

    // The long-poll is under way while the wallet redeems the offer; its calls are recorded
    // to see that it asks the server to hold them (`?wait=`) rather than polling in a loop.
    const urls: string[] = [];
    const polling = createVdcClient({
      baseUrl: base,
      apiKey: adminKey,
      fetch: (input, init) => {
        urls.push(input instanceof Request ? input.url : String(input));
        return fetch(input, init);
      },
    });
    const issued = polling.waitForOffer(ISSUER, created.id, (o) => o.status === "credential_issued", {
      pollSeconds: 10,
    });
    const wallet = await run(
      ["wallet", "accept", created.offer_uri, "--tx-code", created.tx_code, "--insecure-http"],
      walletDir,
    );
    assert.equal(wallet.code, 0, `vdc wallet accept failed:\n${wallet.stdout}\n${wallet.stderr}`);
    offer = await issued;
    assert.equal(offer.status, "credential_issued");
    assert.ok(urls.some((u) => new URL(u).searchParams.get("wait") === "10"), JSON.stringify(urls));
    assert.equal(offer.credentials.length, 1);
    const c = offer.credentials[0];
    assert.ok(c);
    assert.equal(c.status, "valid");
    credentialId = c.id;
    const credential = await vdc.credentials.get(ISSUER, credentialId);
    assert.equal(credential.status, "valid");
  });

  test("the credential.issued delivery verifies; a tampered or foreign one does not", async () => {
    const d = await receiver.next((x) => eventOf(x).type === "credential.issued", "credential.issued");
    const event = verifyWebhook(webhookSecret, d.headers, d.body);
    assert.equal(event.type, "credential.issued");
    if (event.type !== "credential.issued") return;
    assert.equal(event.data.credential_id, credentialId);
    assert.equal(event.data.offer_id, offer?.id);
    assert.equal(event.data.issuer, ISSUER);
    assert.match(event.id, /^evt_/);
    assert.ok(!Object.values(CLAIMS).some((v) => d.body.includes(v)), "no claim value in the delivery");
    // Also from a fetch Headers object and a byte body, as a web framework hands them over.
    const h = new Headers();
    for (const [k, v] of Object.entries(d.headers)) if (typeof v === "string") h.set(k, v);
    assert.equal(verifyWebhook(webhookSecret, h, new TextEncoder().encode(d.body)).id, event.id);

    assert.throws(
      () => verifyWebhook(webhookSecret, d.headers, d.body.replace(credentialId, `${credentialId}x`)),
      WebhookVerificationError,
    );
    const foreign = `whsec_${randomBytes(32).toString("base64")}`;
    assert.throws(() => verifyWebhook(foreign, d.headers, d.body), WebhookVerificationError);
    const { ["webhook-signature"]: _dropped, ...unsigned } = d.headers;
    assert.throws(() => verifyWebhook(webhookSecret, unsigned, d.body), WebhookVerificationError);
  });

  test("suspend the credential: status and credential.status_changed delivery", async () => {
    const changed = await vdc.credentials.setStatus(ISSUER, credentialId, "suspended");
    assert.equal(changed.status, "suspended");
    assert.equal((await vdc.credentials.get(ISSUER, credentialId)).status, "suspended");
    const d = await receiver.next(
      (x) => eventOf(x).type === "credential.status_changed" && eventOf(x).data.status === "suspended",
      "credential.status_changed (suspended)",
    );
    const event = verifyWebhook(webhookSecret, d.headers, d.body);
    assert.equal(event.type, "credential.status_changed");
    if (event.type !== "credential.status_changed") return;
    assert.equal(event.data.credential_id, credentialId);
    assert.equal(event.data.status, "suspended");
  });

  const dcql = {
    credentials: [
      {
        id: "badge",
        format: "dc+sd-jwt",
        meta: { vct_values: [VCT] },
        claims: [{ path: ["given_name"] }, { path: ["employee_id"] }],
      },
    ],
  };

  async function present(): Promise<string> {
    const request = await vdc.requests.create(VERIFIER, { dcql_query: dcql, expires_in: 300 });
    assert.match(request.authorization_request, /^openid4vp:\/\//);
    assert.equal((await vdc.requests.get(VERIFIER, request.id)).status, "pending");
    const result = vdc.waitForPresentation(VERIFIER, request.id, undefined, { pollSeconds: 10 });
    const wallet = await run(
      ["wallet", "present", request.authorization_request, "--trust-anchor", trustAnchorFile, "--insecure-http"],
      walletDir,
    );
    if (wallet.code !== 0) {
      // Ends the long-poll's wait for a response that will not come, with the wallet's words.
      result.catch(() => undefined);
      assert.fail(`vdc wallet present failed (exit ${wallet.code}):\n${wallet.stdout}\n${wallet.stderr}`);
    }
    return (await result).id;
  }

  test("a suspended credential is not presented: the request stays pending, waitForPresentation gives up", async () => {
    const request = await vdc.requests.create(VERIFIER, { dcql_query: dcql, expires_in: 300 });
    // vdc's wallet checks the status list itself and refuses before posting anything.
    const wallet = await run(
      ["wallet", "present", request.authorization_request, "--trust-anchor", trustAnchorFile, "--insecure-http"],
      walletDir,
    );
    assert.notEqual(wallet.code, 0, `the wallet presented a suspended credential:\n${wallet.stdout}`);
    assert.match(wallet.stderr, /suspended/);
    await assert.rejects(
      vdc.waitForPresentation(VERIFIER, request.id, undefined, { timeoutMs: 1_000, pollSeconds: 1 }),
      (e: unknown) => {
        assert.ok(e instanceof VdcWaitError, String(e));
        assert.equal(e.reason, "timeout");
        assert.equal(e.last.status, "pending");
        return true;
      },
    );
  });

  test("valid again: presented and verified, the disclosed claims read through the SDK", async () => {
    assert.equal((await vdc.credentials.setStatus(ISSUER, credentialId, "valid")).status, "valid");
    const id = await present();
    const result = await vdc.requests.get(VERIFIER, id);
    assert.equal(result.status, "verified", JSON.stringify(result));
    const badge = result.presentation?.badge?.[0];
    assert.ok(badge, JSON.stringify(result));
    assert.equal(badge.issuer, credentialIssuer);
    assert.equal(badge.vct, VCT);
    assert.deepEqual(badge.claims, { given_name: "Ada", employee_id: "E-1" });
    const d = await receiver.next(
      (x) => eventOf(x).type === "presentation.verified" && eventOf(x).data.request_id === id,
      "presentation.verified",
    );
    const event = verifyWebhook(webhookSecret, d.headers, d.body);
    assert.equal(event.type, "presentation.verified");
    if (event.type !== "presentation.verified") return;
    assert.equal(event.data.verifier, VERIFIER);
  });

  test("revoked is final: a typed 409 conflict afterwards", async () => {
    assert.equal((await vdc.credentials.setStatus(ISSUER, credentialId, "revoked")).status, "revoked");
    await assert.rejects(vdc.credentials.setStatus(ISSUER, credentialId, "valid"), (e: unknown) => {
      assert.ok(e instanceof VdcApiError, String(e));
      assert.equal(e.status, 409);
      assert.equal(e.error, "conflict");
      return true;
    });
  });
});
