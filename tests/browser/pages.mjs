// Drives Debian's Chromium through the vdc pages, as a newcomer would: issue to the
// command-line wallet, verify, revoke, see the rejection. Run by
// crates/vdc/tests/it/browser.rs, which passes a JSON object on stdin:
//   { base, vdc, chromium, wallet_dir, artifacts, hostile }
// and reads one JSON line from stdout ({ ok: true, steps: [...] } or { ok: false, error }).
// No fixed sleeps: every wait is Playwright's waitFor with a bounded timeout.
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { chromium } from "playwright-core";
import { answerDcApi } from "./dcapi-wallet.mjs";

const run = promisify(execFile);
const input = JSON.parse(readFileSync(0, "utf8"));
const WAIT = { timeout: 30_000 };
const steps = [];

mkdirSync(input.artifacts, { recursive: true });

async function shot(page, name) {
  const path = join(input.artifacts, `${String(steps.length + 1).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  steps.push({ step: name, screenshot: path });
}

async function vdc(args) {
  try {
    const { stdout, stderr } = await run(input.vdc, args, {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, VDC_LOG: "warn" },
      timeout: 60_000,
    });
    return stdout + stderr;
  } catch (e) {
    throw new Error(`vdc ${args.slice(0, 2).join(" ")} failed: ${e.stdout ?? ""}${e.stderr ?? ""}${e.message}`);
  }
}

async function statusText(page, expected) {
  const status = page.locator("#status");
  await status.filter({ hasText: expected }).waitFor(WAIT);
  return (await status.textContent()).trim();
}

// The Digital Credentials API of a browser with a wallet, installed before the page's
// script runs: navigator.credentials.get({digital}) forwards the request to the test's
// wallet (window.vdcTestWallet, exposed by Playwright) and resolves with a
// DigitalCredential of its answer, or rejects with NotAllowedError as a user's "cancel".
function installDcApiStub() {
  class DigitalCredential {
    constructor(protocol, data) {
      this.protocol = protocol;
      this.data = data;
    }
    static userAgentAllowsProtocol(protocol) {
      return protocol === "openid4vp-v1-signed" || protocol === "openid4vp-v1-unsigned";
    }
  }
  // Only secure contexts have navigator.credentials (not the initial about:blank).
  if (!navigator.credentials) return;
  Object.defineProperty(window, "DigitalCredential", { value: DigitalCredential, configurable: true });
  const get = navigator.credentials.get.bind(navigator.credentials);
  navigator.credentials.get = async function (options) {
    if (!options || !options.digital) return get(options);
    const requests = options.digital.requests;
    if (!Array.isArray(requests) || requests.length !== 1) throw new TypeError("expected one request");
    const reply = await window.vdcTestWallet({ request: requests[0], origin: location.origin });
    if (reply.cancel) throw new DOMException("The user cancelled.", "NotAllowedError");
    return new DigitalCredential(reply.protocol, reply.data);
  };
}

// A browser without the API: Chromium may ship it natively, so remove it.
function removeDcApi() {
  delete window.DigitalCredential;
}

// The holder's SD-JWT VC and key as `vdc wallet accept` stored them (one record per file).
function storedBadge() {
  for (const name of readdirSync(input.wallet_dir)) {
    if (!name.endsWith(".json")) continue;
    const record = JSON.parse(readFileSync(join(input.wallet_dir, name), "utf8"));
    if (record.credential_configuration_id === "EmployeeBadge" && record.holder_private_jwk) return record;
  }
  throw new Error("the wallet holds no EmployeeBadge");
}

// Picks the badge's given_name and employee_id on the verifier page and clicks "Verify in
// this browser"; waits for `expected` in the status; returns what the page shows.
async function verifyInBrowser(page, label, expected) {
  await page.goto(`${input.base}/ui/verifiers/demo`);
  const form = page.locator('form[data-configuration="EmployeeBadge"]');
  await form.waitFor(WAIT);
  for (const claim of ["family_name", "department"]) {
    await form.locator(`input[data-claim="${claim}"]`).uncheck();
  }
  const button = form.getByRole("button", { name: "Verify in this browser" });
  await button.waitFor(WAIT);
  await button.click();
  const status = page.locator("#dc-api-result #status");
  await status.filter({ hasText: expected }).waitFor(WAIT);
  await shot(page, `dc-api-${label}`);
  const area = page.locator("#dc-api-result");
  return {
    state: await status.getAttribute("data-state"),
    label: (await status.textContent()).trim(),
    reason: (await area.locator("#reason").textContent()).trim(),
    checks: await area.locator("#checks li").allTextContents(),
    failed_checks: await area.locator("#checks li.failed").allTextContents(),
    given_name: await area.locator('#claims dd[data-claim="given_name"]').textContent().catch(() => null),
    employee_id: await area.locator('#claims dd[data-claim="employee_id"]').textContent().catch(() => null),
    family_name_shown: await area.locator('#claims dd[data-claim="family_name"]').count(),
    injected_elements: await area.locator("#claims b, #claims script, #claims img").count(),
  };
}

// Creates a presentation request on the verifier page and answers it with `vdc wallet
// present`; returns the result state shown by the page.
// `extra`: more `vdc wallet present` flags.
async function presentOnce(page, label, extra = []) {
  await page.goto(`${input.base}/ui/verifiers/demo`);
  const form = page.locator('form[data-configuration="EmployeeBadge"]');
  await form.waitFor(WAIT);
  // Ask for given_name and employee_id only.
  for (const claim of ["family_name", "department"]) {
    await form.locator(`input[data-claim="${claim}"]`).uncheck();
  }
  await shot(page, `${label}-verifier-form`);
  await form.getByRole("button", { name: "Create request" }).click();
  await page.locator("#qr svg").waitFor(WAIT);
  const link = await page.locator("#request-link").inputValue();
  if (!link.startsWith("openid4vp://")) throw new Error(`request link is ${link}`);
  await statusText(page, "waiting for the wallet");
  await shot(page, `${label}-request`);
  // The trust anchor as a newcomer gets it: the download link next to the CLI hint.
  const anchorFile = join(input.wallet_dir, "verifier-ca.pem");
  const [download] = await Promise.all([
    page.waitForEvent("download", WAIT),
    page.locator("#cli-trust-anchor").click(),
  ]);
  await download.saveAs(anchorFile);
  const anchor = await page.locator("#trust-anchor").textContent();
  if (readFileSync(anchorFile, "utf8") !== anchor) throw new Error("downloaded anchor differs");
  const out = await vdc([
    "wallet", "present", link, "--trust-anchor", anchorFile, "--insecure-http",
    "--dir", input.wallet_dir, ...extra,
  ]).catch((e) => e.message);
  const status = page.locator("#status");
  await page.locator("#result").waitFor({ state: "visible", ...WAIT });
  const state = await status.getAttribute("data-state");
  await shot(page, `${label}-result`);
  return { state, out, link };
}

const browser = await chromium.launch({
  executablePath: input.chromium,
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
  ],
});
let result;
let page;
try {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  page = await context.newPage();
  const scriptErrors = [];
  context.on("weberror", (e) => scriptErrors.push(String(e.error())));
  context.on("console", (m) => {
    if (m.type() === "error") scriptErrors.push(`${m.text()} (${m.location().url})`);
  });

  // 1. Start page → issuer page.
  await page.goto(`${input.base}/`);
  await page.getByRole("link", { name: "Issuer demo" }).waitFor(WAIT);
  await shot(page, "start");
  await page.getByRole("link", { name: "Issuer demo" }).click();

  // 2. Fill the badge's claims (one of them hostile markup) and create the offer.
  const form = page.locator('form[data-configuration="EmployeeBadge"]');
  await form.waitFor(WAIT);
  await form.locator('input[data-claim="given_name"]').fill(input.hostile);
  await form.locator('input[data-claim="family_name"]').fill("Lovelace");
  await form.locator('input[data-claim="employee_id"]').fill("E-1");
  await shot(page, "issuer-form");
  await form.getByRole("button", { name: "Create offer" }).click();

  // 3. QR, offer link and tx_code on the page; status "offered".
  await page.locator("#qr svg").waitFor(WAIT);
  const offer = await page.locator("#offer-link").inputValue();
  const txCode = (await page.locator("#tx-code").textContent()).trim();
  if (!offer.startsWith("openid-credential-offer://")) throw new Error(`offer link is ${offer}`);
  if (!/^[0-9]{6}$/.test(txCode)) throw new Error(`tx_code is ${txCode}`);
  // Post/redirect/get: the offer has a page of its own; reloading it shows the same offer
  // and code (the code from this browser's cookie) and creates nothing.
  if (!/\/ui\/issuers\/demo\/offers\/[^/]+$/.test(page.url())) throw new Error(`offer page is ${page.url()}`);
  await page.reload();
  await page.locator("#qr svg").waitFor(WAIT);
  if ((await page.locator("#offer-link").inputValue()) !== offer) throw new Error("reload changed the offer");
  if ((await page.locator("#tx-code").textContent()).trim() !== txCode) throw new Error("reload lost the tx_code");
  await statusText(page, "offered");
  await shot(page, "offer");

  // 4. The command-line wallet redeems it; the page shows "credential issued" by itself.
  const accepted = await vdc([
    "wallet", "accept", offer, "--tx-code", txCode, "--insecure-http", "--dir", input.wallet_dir,
  ]);
  const issued = await statusText(page, "credential issued");
  await shot(page, "issued");

  // 5. Verifier page (a second tab; the offer page stays open): request, present, verified
  // with the disclosed claims and checks.
  const offerPage = page;
  page = await context.newPage();
  const verified = await presentOnce(page, "verify");
  const claims = page.locator("#claims");
  const givenName = await claims.locator('dd[data-claim="given_name"]').textContent();
  const employeeId = await claims.locator('dd[data-claim="employee_id"]').textContent();
  const familyShown = await claims.locator('dd[data-claim="family_name"]').count();
  const injected = await claims.locator("b, script, img").count();
  const checks = await page.locator("#checks li").allTextContents();

  // 5b. "Verify in this browser" (Digital Credentials API). Without the API the button
  // stays hidden and the QR path is the way.
  const nativeDcApi = await page.evaluate(() => typeof window.DigitalCredential);
  const plainContext = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  await plainContext.addInitScript(removeDcApi);
  const plainPage = await plainContext.newPage();
  await plainPage.goto(`${input.base}/ui/verifiers/demo`);
  const plainForm = plainPage.locator('form[data-configuration="EmployeeBadge"]');
  await plainForm.getByRole("button", { name: "Create request" }).waitFor(WAIT);
  const withoutApi = {
    buttons: await plainPage.locator("button[data-dc-api]").count(),
    hidden: await plainPage.locator("button[data-dc-api]").first().isHidden(),
    create_visible: await plainForm.getByRole("button", { name: "Create request" }).isVisible(),
  };
  await shot(plainPage, "dc-api-absent");
  await plainContext.close();

  // With the stub: the test's wallet answers; `walletMode` picks how.
  const badge = storedBadge();
  const trustAnchorPem = await (await fetch(`${input.base}/verifiers/demo/trust-anchor.pem`)).text();
  let walletMode = "honest";
  const walletSaw = [];
  const dcContext = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  dcContext.on("weberror", (e) => scriptErrors.push(String(e.error())));
  await dcContext.addInitScript(installDcApiStub);
  await dcContext.exposeFunction("vdcTestWallet", async ({ request, origin }) => {
    if (walletMode === "cancel") {
      walletSaw.push({ protocol: request.protocol, cancelled: true });
      return { cancel: true };
    }
    const bindTo = walletMode === "other-origin" ? "https://evil.example" : origin;
    const { answer, seen } = await answerDcApi({
      request, origin, bindTo, credential: badge.credential, holderJwk: badge.holder_private_jwk, trustAnchorPem,
    });
    walletSaw.push({ ...seen, origin, bound_to: bindTo });
    return answer;
  });
  const dcPage = await dcContext.newPage();
  const dcVerified = await verifyInBrowser(dcPage, "verified", "verified");
  walletMode = "cancel";
  const dcCancelled = await verifyInBrowser(dcPage, "cancelled", "cancelled");
  walletMode = "other-origin";
  const dcOtherOrigin = await verifyInBrowser(dcPage, "other-origin", "rejected");
  // The answer routes take posts only from the pages' own origin: same host and port but
  // another scheme passes the Host check and is refused by the origin check.
  const foreign = await fetch(`${input.base}/ui/verifiers/demo/dc-api/requests`, {
    method: "POST",
    headers: { origin: input.base.replace(/^http:/, "https:"), "content-type": "application/x-www-form-urlencoded" },
    body: "issuer=demo&configuration=EmployeeBadge&claim=0",
    redirect: "manual",
  });
  const foreignOrigin = { status: foreign.status, body: await foreign.json().catch(() => null) };
  await dcContext.close();

  // 6. Revoke from the offer page, present again: rejected, the status check failed.
  await offerPage.bringToFront();
  await offerPage.getByRole("button", { name: "Revoke the issued credential" }).click();
  await offerPage.locator("#revoked").waitFor(WAIT);
  await shot(offerPage, "revoked");
  await page.bringToFront();
  // The wallet checks status lists and would not present a revoked credential; skip that
  // check so the verifier's own refusal shows on the page.
  const rejected = await presentOnce(page, "revoked", ["--no-status-check"]);
  const failedChecks = await page.locator("#checks li.failed").allTextContents();
  const reason = await page.locator("#reason").textContent();

  result = {
    ok: true,
    steps,
    offer,
    tx_code: txCode,
    accepted,
    issued,
    verified: { state: verified.state, given_name: givenName, employee_id: employeeId,
      family_name_shown: familyShown, injected_elements: injected, checks, wallet: verified.out },
    rejected: { state: rejected.state, failed_checks: failedChecks, reason },
    dc_api: {
      native: nativeDcApi, without_api: withoutApi, verified: dcVerified, cancelled: dcCancelled,
      other_origin: dcOtherOrigin, wallet_saw: walletSaw, foreign_origin: foreignOrigin,
    },
    script_errors: scriptErrors,
  };
} catch (e) {
  let html = null;
  if (page) {
    await shot(page, "failure").catch(() => {});
    html = await page.content().catch(() => null);
  }
  result = { ok: false, error: String(e && e.stack || e), steps, url: page && page.url(), html };
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result) + "\n");
