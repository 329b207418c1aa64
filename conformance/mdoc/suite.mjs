#!/usr/bin/env node
// The mso_mdoc conformance suite: independent implementations judge vdc's ISO/IEC 18013-5
// mdoc issuance (OID4VCI 1.0 App. A.2) and presentation (OID4VP 1.0 App. B.2).
//
//   @owf/mdoc 0.6.0 (npm)    parses and verifies IssuerSigned / DeviceResponse, issues a
//                            foreign mDL, builds DeviceResponses with the OpenID4VPHandover
//                            session transcript; crypto callbacks are node:crypto (mdoc/lib.mjs)
//   pymdoccbor 1.4.0 (PyPI)  verifies the MSO signature (DS certificate under the IACA) and
//                            every value digest (mdoc/pymdoc_verify.py)
//
// Steps (each prints PASS/FAIL; SKIP when a prerequisite failed; INFO for observations):
//   (1) issue    an issuer with an mso_mdoc configuration; offer → pre-authorized code →
//                token → nonce → credential (jwt proof, holder jwk); base64url IssuerSigned
//                (App. A.2.4) verified by both libraries against GET .../iaca.pem
//   (2) present  a verifier with trusted_iaca = that IACA; DCQL mso_mdoc request; @owf/mdoc
//                builds the DeviceResponse over the B.2.6.1 transcript; direct_post; verified
//                with the claims per namespace
//   (3) foreign  an mDL issued by @owf/mdoc under its own IACA/DS certificates: verified by a
//                verifier trusting that IACA, refused by the one trusting only vdc's IACA
//   (4) refusal  a DeviceResponse signed over another nonce → refused (key_binding); a disclosed
//                element altered after issuance → refused (digest mismatch); both for the
//                vdc-issued and the foreign mDL
//   (5) dc_api   the vdc-issued mDL over the W3C Digital Credentials API (OID4VP 1.0 App. A):
//                the page posts the wallet's answer for origin https://rp.example; @owf/mdoc
//                builds the DeviceResponse over the B.2.6.2 OpenID4VPDCAPIHandover transcript
//                (checked against the spec's published vector and against lib.mjs's own
//                bytes); `dc_api` (thumbprint null) and `dc_api.jwt` (ECDH-ES JWE, jose; the
//                thumbprint of client_metadata.jwks's key) verified; refused (key_binding):
//                another origin's transcript, the B.2.6.1 redirect transcript, a `dc_api.jwt`
//                answer whose transcript has a null thumbprint
//   (6) revoke   the back end revokes the vdc-issued mDL; the next presentation is refused
//                (`status`: the MSO's CWT Token Status List entry, draft-ietf-oauth-status-list §6.3)
// Environment: VDC_BASE_URL, VDC_ADMIN_KEY (suites/mdoc.sh passes them through).
// Exit: 0 iff no step failed.

import { spawnSync } from "node:child_process";
import { X509Certificate, randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { Holder, IssuerSigned, SessionTranscript, Verifier, hex } from "@owf/mdoc";
import { CompactEncrypt, importJWK } from "jose";

import {
  decodeJws,
  es256Key,
  issueWithOwf,
  jwkThumbprintBytes,
  makeApi,
  makeDocumentSigner,
  makeIaca,
  mdocContext,
  oid4vpDcApiSessionTranscriptBytes,
  oid4vpSessionTranscriptBytes,
  pemToDer,
  preAuthorizedIssuance,
  presentWithOwf,
} from "./lib.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const MAX = 1200;
const base = (process.env.VDC_BASE_URL ?? "").replace(/\/+$/, "");
const adminKey = process.env.VDC_ADMIN_KEY ?? "";
if (!base || !adminKey) {
  console.error("mdoc/suite.mjs: set VDC_BASE_URL and VDC_ADMIN_KEY (run suites/mdoc.sh)");
  process.exit(2);
}
const api = makeApi(base, adminKey);
const tag = randomBytes(4).toString("hex");

const DOCTYPE = "org.iso.18013.5.1.mDL";
const NS = "org.iso.18013.5.1";
const CONFIG_ID = "mDL";
const CLAIMS = { [NS]: { given_name: "Ada", family_name: "Lovelace", age_over_18: true } };
const DCQL = {
  credentials: [{ id: "mdl", format: "mso_mdoc", meta: { doctype_value: DOCTYPE }, claims: [{ path: [NS, "given_name"] }] }],
};

// ------------------------------------------------------------------ reporting

let failed = 0;
let passed = 0;
const short = (d) => (typeof d === "string" ? d : JSON.stringify(d, (_, v) => (v instanceof Uint8Array ? hex.encode(v) : v))).slice(0, MAX);
function pass(name) {
  passed += 1;
  console.log(`  PASS  ${name}`);
  return true;
}
function fail(name, detail) {
  failed += 1;
  console.log(`  FAIL  ${name}${detail === undefined ? "" : `: ${short(detail)}`}`);
  return false;
}
const check = (name, ok, detail) => (ok ? pass(name) : fail(name, detail));
const skip = (name, why) => console.log(`  SKIP  ${name} (${why})`);
const info = (text) => console.log(`  INFO  ${text}`);
const section = (title) => console.log(`-- ${title}`);
const errText = (e) => (e instanceof Error ? `${e.message}${e.cause ? ` (cause: ${e.cause.message ?? e.cause})` : ""}` : String(e));
async function step(name, fn) {
  try {
    const v = await fn();
    pass(name);
    return v;
  } catch (e) {
    fail(name, errText(e));
    return undefined;
  }
}

/** JSON with object keys sorted, for order-independent comparison. */
const canonical = (v) =>
  JSON.stringify(v, (_, x) => (x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));

function python(request) {
  const p = spawnSync(join(here, "../.venv/bin/python"), [join(here, "pymdoc_verify.py")], { input: JSON.stringify(request), encoding: "utf8", timeout: 60_000 });
  const line = (p.stdout ?? "").trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line);
  } catch {
    return { ok: false, error: `no JSON answer (exit ${p.status}): ${(p.stderr ?? "").slice(0, 800)}` };
  }
}

// @owf/mdoc's own check texts, named for what a PASS means (its "Issuer auth signature is
// invalid" is the label of the signature check whatever the outcome).
const OWF_NAMES = {
  "Issuer auth signature is invalid": "issuerAuth COSE_Sign1 signature valid under the DS certificate's key",
  "Issuer certificate must be valid": "DS certificate chains to the trusted IACA and is valid now",
};

/** Runs an @owf/mdoc verification with a collecting callback; returns its assessments. */
async function owfAssess(run) {
  const assessments = [];
  let thrown;
  try {
    await run((a) => assessments.push(a));
  } catch (e) {
    thrown = errText(e);
  }
  return { assessments, thrown, failed: assessments.filter((a) => a.status === "FAILED") };
}
function reportOwf(prefix, { assessments, thrown }) {
  for (const a of assessments) {
    const name = `${prefix} @owf/mdoc [${a.category}] ${OWF_NAMES[a.check] ?? a.check}`;
    if (a.status === "WARNING") info(`${name}: WARNING ${a.reason ?? ""}`);
    else check(name, a.status === "PASSED", a.reason);
  }
  if (thrown) fail(`${prefix} @owf/mdoc verification ran to the end`, thrown);
  if (assessments.length === 0 && !thrown) fail(`${prefix} @owf/mdoc made no assessments`);
}

// ------------------------------------------------------------------ presentation driver

/** Fetches and decodes the request object of a created request (OID4VP 1.0 §5.10, GET). */
async function requestObject(created) {
  const r = await fetch(created.request_uri, { signal: AbortSignal.timeout(15000) });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`GET request_uri → HTTP ${r.status}: ${text.slice(0, 300)}`);
  const { header, payload } = decodeJws(text.trim());
  return { header, payload, contentType: r.headers.get("content-type") ?? "" };
}

/**
 * Creates a DCQL mso_mdoc request at `verifierId`, has @owf/mdoc build the DeviceResponse
 * (transcript over the request's client_id, nonce and response_uri unless `transcriptOverride`
 * changes them), posts it with direct_post and returns the server's view of the request.
 */
async function present({ label, verifierId, issuerSigned, holder, transcriptOverride, checkTranscript = false, elements = { [NS]: ["given_name"] } }) {
  const created = await api("POST", `/api/v1/verifiers/${verifierId}/requests`, { dcql_query: DCQL, response_mode: "direct_post" });
  if (!check(`${label} presentation request created (DCQL mso_mdoc, direct_post)`, created.status === 201, created.body)) return undefined;
  let ro;
  try {
    ro = await requestObject(created.body);
  } catch (e) {
    fail(`${label} request object fetched`, errText(e));
    return undefined;
  }
  const req = ro.payload;
  const q = req.dcql_query?.credentials?.[0];
  check(
    `${label} request object: client_id, nonce, response_uri, direct_post, the mso_mdoc DCQL query`,
    typeof req.client_id === "string" && typeof req.nonce === "string" && typeof req.response_uri === "string" && req.response_mode === "direct_post" && q?.format === "mso_mdoc" && q?.meta?.doctype_value === DOCTYPE,
    req,
  );
  if (checkTranscript) info(`${label} request object client_metadata.vp_formats_supported.mso_mdoc = ${short(req.client_metadata?.vp_formats_supported?.mso_mdoc ?? null)}`);
  // Spec: OID4VP 1.0 B.2.6.1: jwkThumbprint is null when the response is not encrypted.
  const opts = { clientId: req.client_id, nonce: req.nonce, responseUri: req.response_uri, ...(transcriptOverride ?? {}) };
  const libTranscript = await SessionTranscript.forOid4Vp(opts, mdocContext);
  const ownBytes = oid4vpSessionTranscriptBytes(opts);
  if (checkTranscript) {
    check(
      `${label} @owf/mdoc SessionTranscript.forOid4Vp equals the OID4VP 1.0 B.2.6.1 transcript computed here`,
      hex.encode(libTranscript.encode()) === hex.encode(ownBytes),
      { library: hex.encode(libTranscript.encode()), computed: hex.encode(ownBytes) },
    );
  }
  let built;
  try {
    built = await presentWithOwf({ issuerSigned, docType: DOCTYPE, elements, holder, sessionTranscript: libTranscript });
  } catch (e) {
    fail(`${label} @owf/mdoc builds the DeviceResponse`, errText(e));
    return undefined;
  }
  // The wallet side is sound: @owf/mdoc's own verifier accepts what it built (so a refusal by
  // vdc below is vdc's judgement, not a broken response) — only for the unmodified transcript.
  if (!transcriptOverride && checkTranscript) {
    const self = await owfAssess((onCheck) =>
      Verifier.verifyDeviceResponse({ deviceResponse: built.response, sessionTranscript: ownBytes, disableCertificateChainValidation: true, trustedCertificates: [], onCheck }, mdocContext),
    );
    check(`${label} @owf/mdoc's Verifier accepts the DeviceResponse it built (device signature over the transcript)`, self.failed.length === 0 && !self.thrown, self.failed.length ? self.failed : self.thrown);
  }
  const form = new URLSearchParams({ vp_token: JSON.stringify({ [q?.id ?? "mdl"]: [built.encoded] }) });
  if (typeof req.state === "string") form.set("state", req.state);
  const posted = await fetch(req.response_uri, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: form,
    redirect: "manual",
    signal: AbortSignal.timeout(15000),
  });
  const postedText = await posted.text();
  const result = await api("GET", `/api/v1/verifiers/${verifierId}/requests/${created.body.id}`);
  return { posted: { status: posted.status, body: postedText.slice(0, 600) }, result: result.body, encoded: built.encoded, request: { clientId: req.client_id, responseUri: req.response_uri } };
}

function expectVerified(label, outcome, claims) {
  if (!outcome) return;
  check(`${label} response endpoint accepts the direct_post (HTTP 200)`, outcome.posted.status === 200, outcome.posted);
  check(
    `${label} vdc reports verified with exactly the requested claims per namespace`,
    outcome.result?.status === "verified" && canonical(outcome.result?.presentation?.mdl?.[0]?.claims) === canonical(claims),
    outcome.result,
  );
}
function expectRefused(label, outcome, why, reason) {
  if (!outcome) return;
  const description = outcome.result?.error?.error_description ?? "";
  check(
    `${label}: vdc refuses it (${why})`,
    outcome.result?.status === "rejected" && reason.test(description),
    { posted: outcome.posted, result: outcome.result },
  );
  info(`${label}: the response endpoint answered HTTP ${outcome.posted.status}; vdc's reason: ${description}`);
}

// ------------------------------------------------------------------ DC API driver

const ORIGIN = "https://rp.example";
// Two of the three issued elements, so "exactly the requested" can fail both ways.
const DC_ELEMENTS = { [NS]: ["given_name", "family_name"] };
const DC_DCQL = {
  credentials: [{ id: "mdl", format: "mso_mdoc", meta: { doctype_value: DOCTYPE }, claims: DC_ELEMENTS[NS].map((e) => ({ path: [NS, e] })) }],
};

/** The encryption key of a `dc_api.jwt` request (OID4VP 1.0 §8.3: client_metadata.jwks). */
function encryptionKey(data) {
  const keys = data.client_metadata?.jwks?.keys ?? [];
  return keys.find((k) => k.use === "enc" || k.alg === "ECDH-ES") ?? keys[0];
}

/** A JWE of `payload` to `key` (ECDH-ES, the first `enc` the request names), with jose. */
async function encryptTo(data, key, payload) {
  const enc = data.client_metadata?.encrypted_response_enc_values_supported?.[0] ?? "A128GCM";
  const { d: _d, ...pub } = key;
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: "ECDH-ES", enc, ...(key.kid ? { kid: key.kid } : {}) })
    .encrypt(await importJWK(pub, "ECDH-ES"));
}

/**
 * Creates a `dc_api` / `dc_api.jwt` mso_mdoc request at `verifierId`, has @owf/mdoc build the
 * DeviceResponse over `transcript(data, thumbprint)` (a SessionTranscript: by default the
 * B.2.6.2 one for ORIGIN), and posts the page's answer `{origin: ORIGIN, data}` to
 * .../dc-api-response. Returns the answer and the server's view of the request.
 */
async function presentDcApi({ label, verifierId, issuerSigned, holder, mode, transcript, checkTranscript = false }) {
  const created = await api("POST", `/api/v1/verifiers/${verifierId}/requests`, { dcql_query: DC_DCQL, response_mode: mode });
  const dc = created.body?.dc_api_request;
  if (!check(`${label} request created (${mode}), dc_api_request protocol openid4vp-v1-unsigned`, created.status === 201 && dc?.protocol === "openid4vp-v1-unsigned", created.body)) return undefined;
  const data = dc.data ?? {};
  const q = data.dcql_query?.credentials?.[0];
  // Spec: OID4VP 1.0 A.2: an unsigned request has no client_id (the wallet uses the origin),
  // no response_uri or state (the answer goes back through the API).
  check(
    `${label} data: nonce, response_mode ${mode}, the mso_mdoc DCQL query; no client_id, response_uri, state`,
    typeof data.nonce === "string" && data.response_mode === mode && q?.format === "mso_mdoc" && q?.meta?.doctype_value === DOCTYPE && ["client_id", "response_uri", "state"].every((k) => !(k in data)),
    data,
  );
  let thumbprint = null;
  let key;
  if (mode === "dc_api.jwt") {
    key = encryptionKey(data);
    if (!check(`${label} client_metadata.jwks holds a public EC encryption key`, key?.kty === "EC" && !("d" in key), data.client_metadata)) return undefined;
    thumbprint = jwkThumbprintBytes(key);
  }
  // Spec: OID4VP 1.0 B.2.6.2: [origin (no `origin:` prefix), nonce, thumbprint (dc_api.jwt) / null (dc_api)].
  const opts = { origin: ORIGIN, nonce: data.nonce, ...(thumbprint ? { jwkThumbprint: thumbprint } : {}) };
  const ownBytes = oid4vpDcApiSessionTranscriptBytes(opts);
  let sessionTranscript;
  if (transcript) {
    sessionTranscript = await transcript({ data, thumbprint });
  } else {
    sessionTranscript = await SessionTranscript.forOid4VpDcApi(opts, mdocContext);
    if (checkTranscript) {
      const lib = hex.encode(sessionTranscript.encode());
      check(`${label} @owf/mdoc SessionTranscript.forOid4VpDcApi equals the OID4VP 1.0 B.2.6.2 transcript computed here (thumbprint ${thumbprint ? hex.encode(thumbprint).slice(0, 16) + "…" : "null"})`, lib === hex.encode(ownBytes), { library: lib, computed: hex.encode(ownBytes) });
    }
  }
  let built;
  try {
    built = await presentWithOwf({ issuerSigned, docType: DOCTYPE, elements: DC_ELEMENTS, holder, sessionTranscript });
  } catch (e) {
    fail(`${label} @owf/mdoc builds the DeviceResponse`, errText(e));
    return undefined;
  }
  if (!transcript && checkTranscript) {
    const self = await owfAssess((onCheck) =>
      Verifier.verifyDeviceResponse({ deviceResponse: built.response, sessionTranscript: ownBytes, disableCertificateChainValidation: true, trustedCertificates: [], onCheck }, mdocContext),
    );
    check(`${label} @owf/mdoc's Verifier accepts the DeviceResponse it built (device signature over the B.2.6.2 transcript)`, self.failed.length === 0 && !self.thrown, self.failed.length ? self.failed : self.thrown);
  }
  const vpToken = { [q?.id ?? "mdl"]: [built.encoded] };
  // Spec: OID4VP 1.0 A.3: `{vp_token}` for dc_api, `{response: <JWE>}` for dc_api.jwt.
  const answerData = mode === "dc_api.jwt" ? { response: await encryptTo(data, key, { vp_token: vpToken }) } : { vp_token: vpToken };
  const posted = await api("POST", `/api/v1/verifiers/${verifierId}/requests/${created.body.id}/dc-api-response`, { origin: ORIGIN, data: answerData });
  const result = await api("GET", `/api/v1/verifiers/${verifierId}/requests/${created.body.id}`);
  return { posted: { status: posted.status, body: posted.body }, result: result.body, encoded: built.encoded };
}

function expectDcVerified(label, outcome, claims) {
  if (!outcome) return;
  check(`${label} the dc-api-response answer is HTTP 200, status verified`, outcome.posted.status === 200 && outcome.posted.body?.status === "verified", outcome.posted);
  check(
    `${label} vdc reports verified with exactly the requested elements per namespace`,
    outcome.result?.status === "verified" && canonical(outcome.result?.presentation?.mdl?.[0]?.claims) === canonical(claims),
    outcome.result,
  );
}
function expectDcRefused(label, outcome, why, reason) {
  if (!outcome) return;
  const description = outcome.result?.error?.error_description ?? "";
  check(
    `${label}: vdc refuses it (${why}): HTTP 400 invalid_request, request rejected`,
    outcome.posted.status === 400 && outcome.posted.body?.error === "invalid_request" && outcome.result?.status === "rejected" && reason.test(description) && outcome.result?.presentation == null,
    { posted: outcome.posted, result: outcome.result },
  );
  info(`${label}: vdc's reason: ${description}`);
}

// ------------------------------------------------------------------ main

async function main() {
  const holder = es256Key();
  const issuerId = `mdoc-${tag}`;
  let vdcIacaPem;
  let vdcIssued; // IssuerSigned (@owf/mdoc) of the credential vdc issued
  let offerId;

  // ---------------------------------------------------------------- (1) issue
  section("(1) issuance: mso_mdoc over the OID4VCI 1.0 pre-authorized code flow");
  // (1) in a block of its own: only vdcIacaPem, vdcIssued and offerId leave it.
  {
    const created = await api("POST", "/api/v1/issuers", {
      id: issuerId,
      // vdc signs issuerAuth with ES256 only (COSE alg -7).
      signing_alg: "ES256",
      credential_configurations: {
        [CONFIG_ID]: {
          format: "mso_mdoc",
          doctype: DOCTYPE,
          claims: [{ path: [NS, "given_name"] }, { path: [NS, "family_name"] }, { path: [NS, "age_over_18"] }],
          cryptographic_binding_methods_supported: ["cose_key"],
        },
      },
    });
    if (check(`(1) issuer ${issuerId} with an mso_mdoc configuration created`, created.status === 201, created.body)) {
      const iaca = await api("GET", `/api/v1/issuers/${issuerId}/iaca.pem`);
      let iacaCert;
      try {
        iacaCert = new X509Certificate(iaca.text);
      } catch {
        /* reported below */
      }
      if (check("(1) GET .../iaca.pem serves an X.509 certificate", iaca.status === 200 && iacaCert !== undefined, { status: iaca.status, type: iaca.type, body: iaca.text.slice(0, 300) })) {
        vdcIacaPem = iaca.text;
        check("(1) the IACA certificate is a self-signed CA (ISO 18013-5 Annex B.1.2)", iacaCert.ca && iacaCert.checkIssued(iacaCert) && iacaCert.verify(iacaCert.publicKey), { subject: iacaCert.subject, ca: iacaCert.ca });
      }
      const md = await fetch(`${base}/.well-known/openid-credential-issuer/issuers/${issuerId}`).then((r) => r.json());
      const cfg = md.credential_configurations_supported?.[CONFIG_ID];
      // Spec: OID4VCI 1.0 App. A.2.2: format mso_mdoc, doctype; binding cose_key.
      check("(1) issuer metadata: the configuration is mso_mdoc with its doctype and cose_key binding", cfg?.format === "mso_mdoc" && cfg?.doctype === DOCTYPE && cfg?.cryptographic_binding_methods_supported?.includes("cose_key"), cfg);
      const offer = await api("POST", `/api/v1/issuers/${issuerId}/offers`, { credential_configuration_ids: [CONFIG_ID], claims: { [CONFIG_ID]: CLAIMS } });
      if (check("(1) offer with claims per namespace created", offer.status === 201, offer.body)) {
        offerId = offer.body.id;
        const got = await step("(1) pre-authorized code → token → nonce → credential (jwt proof with the holder's jwk)", () => preAuthorizedIssuance(offer.body.offer_uri, holder, { configurationId: CONFIG_ID }));
        if (got) {
          const cred = got.credential;
          // Spec: OID4VCI 1.0 App. A.2.4: the credential is the base64url-encoded IssuerSigned.
          check("(1) the credential is base64url without padding (OID4VCI 1.0 App. A.2.4)", /^[A-Za-z0-9_-]+$/.test(cred), cred.slice(0, 80));
          let parsed;
          try {
            parsed = IssuerSigned.fromEncodedForOid4Vci(cred);
            pass("(1) @owf/mdoc parses the credential as IssuerSigned");
          } catch (e) {
            fail("(1) @owf/mdoc parses the credential as IssuerSigned", errText(e));
          }
          if (parsed) {
            vdcIssued = parsed;
            const mso = parsed.issuerAuth.mobileSecurityObject;
            check("(1) MSO docType is the configured doctype, digestAlgorithm set", mso.docType === DOCTYPE && typeof mso.digestAlgorithm === "string", { docType: mso.docType, digestAlgorithm: mso.digestAlgorithm });
            const dk = mso.deviceKeyInfo.deviceKey.jwk;
            check("(1) MSO deviceKey is the holder's proof key (cose_key binding)", dk.x === holder.publicJwk.x && dk.y === holder.publicJwk.y, { deviceKey: { x: dk.x, y: dk.y }, holder: holder.publicJwk });
            const claims = parsed.getPrettyClaims(NS);
            check("(1) IssuerSigned carries exactly the offered claims", canonical({ [NS]: claims }) === canonical(CLAIMS), claims);
            if (vdcIacaPem) {
              const trusted = [new Uint8Array(pemToDer(vdcIacaPem))];
              reportOwf("(1)", await owfAssess((verificationCallback) => Holder.verifyIssuerSigned({ issuerSigned: cred, trustedCertificates: trusted, verificationCallback }, mdocContext)));
              const py = python({ issuer_signed: cred, iaca_pem: vdcIacaPem });
              check("(1) pymdoccbor: MSO signature valid, DS certificate signed by the IACA", py.signature_valid === true, py);
              check(`(1) pymdoccbor: every value digest matches (${py.digests?.verified ?? 0}/${py.digests?.total ?? 0})`, py.ok === true, py.digests ?? py);
              check("(1) pymdoccbor reads the same claims", canonical(py.claims) === canonical(CLAIMS), py.claims);
              // The judges are not vacuous: under another IACA both refuse.
              const other = makeIaca("Unrelated IACA");
              const neg = await owfAssess((verificationCallback) => Holder.verifyIssuerSigned({ issuerSigned: cred, trustedCertificates: [new Uint8Array(other.cert.raw)], verificationCallback }, mdocContext));
              check("(1) @owf/mdoc refuses the chain under an unrelated IACA", neg.failed.some((a) => a.check === "Issuer certificate must be valid"), neg.assessments);
              const pyNeg = python({ issuer_signed: cred, iaca_pem: other.pem });
              check("(1) pymdoccbor refuses the DS certificate under an unrelated IACA", pyNeg.ok === false, pyNeg);
            } else {
              skip("(1) signature, digest and validity checks", "no IACA certificate");
            }
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------- (2)-(4) verifier
  section("(2) presentation of the vdc-issued mDL (OID4VP 1.0 App. B.2, direct_post)");
  let vdcVerifier;
  let foreignVerifier;
  // A verifier trusting vdc's IACA: from (1), or, if (1) failed, a stand-in so that (3)'s
  // negative still runs.
  const trustPem = vdcIacaPem ?? makeIaca("Stand-in IACA ((1) failed)").pem;
  const v1 = await api("POST", "/api/v1/verifiers", { id: `mdoc-v-${tag}`, client_id_prefix: "x509_hash", trusted_iaca: [trustPem] });
  if (check("(2) verifier with trusted_iaca = the issuer's IACA created", v1.status === 201, v1.body)) vdcVerifier = v1.body.id;
  let redirectRequest; // client_id and response_uri of a direct_post request of vdcVerifier ((2))
  if (vdcVerifier && vdcIssued) {
    const out = await present({ label: "(2)", verifierId: vdcVerifier, issuerSigned: vdcIssued, holder, checkTranscript: true });
    expectVerified("(2)", out, { [NS]: { given_name: "Ada" } });
    if (out?.result?.status === "verified") redirectRequest = out.request;
    if (out) {
      const py = python({ device_response: out.encoded, iaca_pem: vdcIacaPem });
      check("(2) pymdoccbor verifies the issuer part of the posted DeviceResponse", py.ok === true && canonical(py.claims) === canonical({ [NS]: { given_name: "Ada" } }), py);
    }
  } else {
    skip("(2) presentation of the vdc-issued mDL", vdcIssued ? "no verifier" : "no vdc-issued credential");
  }

  section("(3) a foreign mDL issued by @owf/mdoc under its own IACA");
  const foreignIaca = makeIaca("OWF conformance IACA");
  const foreignDs = makeDocumentSigner(foreignIaca, "OWF conformance Document Signer");
  const foreignHolder = es256Key();
  const foreignClaims = { [NS]: { given_name: "Grace", family_name: "Hopper", age_over_18: true } };
  const foreign = await step("(3) @owf/mdoc Issuer signs an mDL (DS certificate under its IACA, holder deviceKey)", () =>
    issueWithOwf({ docType: DOCTYPE, claims: foreignClaims, ds: foreignDs, holder: foreignHolder }),
  );
  if (foreign) {
    const self = await owfAssess((verificationCallback) => Holder.verifyIssuerSigned({ issuerSigned: foreign, trustedCertificates: [new Uint8Array(foreignIaca.cert.raw)], verificationCallback }, mdocContext));
    check("(3) the foreign mDL verifies with @owf/mdoc itself", self.failed.length === 0 && !self.thrown, self.failed.length ? self.failed : self.thrown);
    const py = python({ issuer_signed: foreign.encodedForOid4Vci, iaca_pem: foreignIaca.pem });
    check("(3) ... and with pymdoccbor", py.ok === true, py);
    const v2 = await api("POST", "/api/v1/verifiers", { id: `mdoc-f-${tag}`, client_id_prefix: "x509_hash", trusted_iaca: [foreignIaca.pem] });
    if (check("(3) verifier with trusted_iaca = the @owf/mdoc IACA created", v2.status === 201, v2.body)) {
      foreignVerifier = v2.body.id;
      const out = await present({ label: "(3)", verifierId: v2.body.id, issuerSigned: foreign, holder: foreignHolder, checkTranscript: !vdcIssued });
      expectVerified("(3)", out, { [NS]: { given_name: "Grace" } });
    }
    if (vdcVerifier) {
      const out = await present({ label: "(3) negative", verifierId: vdcVerifier, issuerSigned: foreign, holder: foreignHolder });
      expectRefused("(3) negative: the foreign mDL at the verifier trusting only vdc's IACA", out, "DS certificate not under a trusted IACA", /^untrusted_issuer: /);
    } else {
      skip("(3) negative", "no verifier");
    }
  }

  section("(4) refusal: a DeviceResponse signed over another nonce");
  const wrongNonce = { nonce: `not-the-request-nonce-${tag}` };
  if (vdcIssued && vdcVerifier) {
    const out = await present({ label: "(4) vdc-issued", verifierId: vdcVerifier, issuerSigned: vdcIssued, holder, transcriptOverride: wrongNonce });
    expectRefused("(4) vdc-issued mDL, transcript over another nonce", out, "device signature over another session transcript", /^key_binding: /);
  } else {
    skip("(4) vdc-issued mDL over another nonce", "no vdc-issued credential or verifier");
  }
  if (foreign && foreignVerifier) {
    const out = await present({ label: "(4) foreign", verifierId: foreignVerifier, issuerSigned: foreign, holder: foreignHolder, transcriptOverride: wrongNonce });
    expectRefused("(4) foreign mDL, transcript over another nonce", out, "device signature over another session transcript", /^key_binding: /);
  } else {
    skip("(4) foreign mDL over another nonce", "no foreign credential or verifier");
  }

  section("(4) refusal: a disclosed element altered after issuance (its value digest no longer matches)");
  for (const [what, credential, h, verifierId] of [
    ["vdc-issued", vdcIssued, holder, vdcVerifier],
    ["foreign", foreign, foreignHolder, foreignVerifier],
  ]) {
    if (!credential || !verifierId) {
      skip(`(4) altered ${what} mDL`, "no credential or verifier");
      continue;
    }
    // A fresh copy; the DeviceResponse builder re-encodes the altered item (M1 in INTEROP.md),
    // so the wallet signs a well-formed response whose item no longer hashes to the MSO digest.
    const altered = IssuerSigned.fromEncodedForOid4Vci(credential.encodedForOid4Vci);
    const item = altered.getIssuerNamespace(NS)?.find((i) => i.elementIdentifier === "given_name");
    if (!item) {
      fail(`(4) altered ${what} mDL: given_name item found`);
      continue;
    }
    item.decodedStructure.set("elementValue", "Mallory");
    const out = await present({ label: `(4) altered ${what}`, verifierId, issuerSigned: altered, holder: h });
    expectRefused(`(4) altered ${what} mDL (given_name changed to "Mallory")`, out, "value digest mismatch", /^signature: .*digest mismatch for org\.iso\.18013\.5\.1\/given_name/);
  }

  section("(5) the vdc-issued mDL over the W3C Digital Credentials API (OID4VP 1.0 App. A, B.2.6.2)");
  {
    // The transcript functions against the spec's own example (B.2.6.2: the JWK, the
    // OpenID4VPDCAPIHandoverInfo and the SessionTranscript hex), so both are judged by the spec
    // before they judge vdc.
    const specJwk = { kty: "EC", crv: "P-256", x: "DxiH5Q4Yx3UrukE2lWCErq8N8bqC9CHLLrAwLz5BmE0", y: "XtLM4-3h5o3HUH0MHVJV0kyq0iBlrBwlh8qEDMZ4-Pc", use: "enc", alg: "ECDH-ES", kid: "1" };
    const specOpts = { origin: "https://example.com", nonce: "exc7gBkxjx1rdc9udRrveKvSsJIq80avlXeLHhGwqtA", jwkThumbprint: jwkThumbprintBytes(specJwk) };
    const SPEC_TRANSCRIPT = "83f6f682764f70656e4944345650444341504948616e646f7665725820fbece366f4212f9762c74cfdbf83b8c69e371d5d68cea09cb4c48ca6daab761a";
    check("(5) the RFC 7638 thumbprint of the B.2.6.2 example JWK is the one in its example OpenID4VPDCAPIHandoverInfo", hex.encode(specOpts.jwkThumbprint) === "4283ec927ae0f208daaa2d026a814f2b22dca52cf85ffa8f3f8626c6bd669047", hex.encode(specOpts.jwkThumbprint));
    const own = hex.encode(oid4vpDcApiSessionTranscriptBytes(specOpts));
    check("(5) the transcript computed here equals the B.2.6.2 example SessionTranscript", own === SPEC_TRANSCRIPT, own);
    const lib = hex.encode((await SessionTranscript.forOid4VpDcApi(specOpts, mdocContext)).encode());
    check("(5) @owf/mdoc SessionTranscript.forOid4VpDcApi equals the B.2.6.2 example SessionTranscript", lib === SPEC_TRANSCRIPT, lib);
  }
  if (vdcIssued && vdcVerifier) {
    const want = { [NS]: { given_name: "Ada", family_name: "Lovelace" } };
    const common = { verifierId: vdcVerifier, issuerSigned: vdcIssued, holder };
    const plain = await presentDcApi({ label: "(5) dc_api", ...common, mode: "dc_api", checkTranscript: true });
    expectDcVerified("(5) dc_api", plain, want);
    const jwt = await presentDcApi({ label: "(5) dc_api.jwt", ...common, mode: "dc_api.jwt", checkTranscript: true });
    expectDcVerified("(5) dc_api.jwt", jwt, want);
    // Refusals: each DeviceResponse is well formed and device-signed, only over a transcript
    // other than the one the request and the page's origin give.
    const evil = await presentDcApi({
      label: "(5) other origin",
      ...common,
      mode: "dc_api",
      transcript: ({ data }) => SessionTranscript.forOid4VpDcApi({ origin: "https://evil.example", nonce: data.nonce }, mdocContext),
    });
    expectDcRefused("(5) a DeviceResponse over the transcript of origin https://evil.example, posted for https://rp.example", evil, "device signature over another session transcript", /^key_binding: /);
    if (redirectRequest) {
      const redirect = await presentDcApi({
        label: "(5) redirect transcript",
        ...common,
        mode: "dc_api",
        // Spec: OID4VP 1.0 B.2.6.1: what the wallet would sign for a redirect request of this
        // verifier (the client_id and response_uri that (2) verified with), over this nonce.
        transcript: ({ data }) => SessionTranscript.forOid4Vp({ ...redirectRequest, nonce: data.nonce }, mdocContext),
      });
      expectDcRefused("(5) a DeviceResponse over the B.2.6.1 OpenID4VPHandover transcript, posted through the DC API", redirect, "device signature over another session transcript", /^key_binding: /);
    } else {
      skip("(5) the B.2.6.1 transcript through the DC API", "(2) did not verify, no redirect client_id/response_uri");
    }
    const nullThumb = await presentDcApi({
      label: "(5) dc_api.jwt null thumbprint",
      ...common,
      mode: "dc_api.jwt",
      transcript: ({ data }) => SessionTranscript.forOid4VpDcApi({ origin: ORIGIN, nonce: data.nonce }, mdocContext),
    });
    expectDcRefused("(5) a dc_api.jwt answer whose B.2.6.2 transcript has a null thumbprint", nullThumb, "the transcript must bind the encryption key", /^key_binding: /);
  } else {
    skip("(5) DC API presentation", "no vdc-issued credential or verifier");
  }

  section("(6) revocation: the MSO status (CWT Token Status List)");
  if (vdcIssued && vdcVerifier && offerId) {
    const mso = vdcIssued.issuerAuth.mobileSecurityObject;
    const statusRef = mso.decodedStructure.get("status")?.get?.("status_list");
    check("(6) the vdc-issued MSO carries status.status_list {idx, uri}", statusRef instanceof Map && Number.isInteger(statusRef.get("idx")) && typeof statusRef.get("uri") === "string", statusRef instanceof Map ? Object.fromEntries(statusRef) : statusRef);
    const offerStatus = await api("GET", `/api/v1/issuers/${issuerId}/offers/${offerId}`);
    const entry = offerStatus.body?.credentials?.[0];
    if (check("(6) the offer lists the issued credential", offerStatus.body?.status === "credential_issued" && typeof entry?.id === "string", offerStatus.body)) {
      const revoked = await api("POST", `/api/v1/issuers/${issuerId}/credentials/${entry.id}/status`, { status: "revoked" });
      if (check("(6) credential revoked through the management API", revoked.status === 200 && revoked.body?.status === "revoked", revoked.body)) {
        const out = await present({ label: "(6)", verifierId: vdcVerifier, issuerSigned: vdcIssued, holder });
        expectRefused("(6) the revoked mDL", out, "its status list entry is no longer valid", /^status: /);
      }
    }
  } else {
    skip("(6) revocation", "no vdc-issued credential, verifier or offer");
  }
}

try {
  await main();
} catch (e) {
  fail("mdoc suite run", e instanceof Error ? e.stack : String(e));
}
console.log(`mdoc: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
