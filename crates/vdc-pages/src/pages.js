// vdc pages: copy buttons, the live status of an offer or presentation request, and
// "Verify in this browser" (Digital Credentials API) on the verifier page.
// Served from /ui/assets/pages.js (the CSP allows no inline script). Builds DOM nodes with
// textContent only, so values from the server are never parsed as markup.
"use strict";

(function () {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.addEventListener("click", function () {
      const field = document.getElementById(button.dataset.copy);
      if (!field) return;
      field.select();
      if (navigator.clipboard) {
        navigator.clipboard.writeText(field.value).then(
          function () { button.textContent = "Copied"; },
          function () { button.textContent = "Select and copy"; }
        );
      }
    });
  }

  function text(tag, value, cls) {
    const el = document.createElement(tag);
    el.textContent = value;
    if (cls) el.className = cls;
    return el;
  }

  // Disclosed claims as nested definition lists.
  function claimList(claims) {
    const dl = document.createElement("dl");
    for (const name of Object.keys(claims)) {
      dl.appendChild(text("dt", name));
      const value = claims[name];
      const dd = document.createElement("dd");
      if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        dd.appendChild(claimList(value));
      } else {
        dd.textContent = typeof value === "string" ? value : JSON.stringify(value);
      }
      dd.dataset.claim = name;
      dl.appendChild(dd);
    }
    return dl;
  }

  function showResult(view) {
    const result = document.getElementById("result");
    if (!result) return;
    result.hidden = true;
    const claims = document.getElementById("claims");
    const checks = document.getElementById("checks");
    const reason = document.getElementById("reason");
    claims.replaceChildren();
    const presentation = view.presentation || {};
    for (const queryId of Object.keys(presentation)) {
      for (const credential of presentation[queryId]) {
        const section = document.createElement("div");
        section.className = "credential";
        section.appendChild(text("p", "Issuer " + credential.issuer +
          (credential.vct ? " · " + credential.vct : "") + " · status " + credential.status));
        section.appendChild(claimList(credential.claims || {}));
        claims.appendChild(section);
      }
    }
    if (!claims.hasChildNodes()) claims.appendChild(text("p", "none"));
    checks.replaceChildren();
    for (const check of view.checks || []) {
      const li = text("li", check.label + ": " + check.outcome, check.outcome);
      li.dataset.check = check.check;
      checks.appendChild(li);
    }
    if (view.error && view.error.error_description) {
      reason.textContent = view.error.error_description;
    }
    result.hidden = false;
  }

  // "Verify in this browser": the W3C Digital Credentials API
  // (navigator.credentials.get({digital: {requests: [{protocol, data}]}})), OID4VP 1.0
  // Appendix A. The server makes the request and checks the answer bound to its origin;
  // this code only carries them between the server and the browser's wallet picker.
  const DC_PROTOCOLS = ["openid4vp-v1-signed", "openid4vp-v1-unsigned"];

  function hasDcApi() {
    return typeof window.DigitalCredential !== "undefined" &&
      Boolean(navigator.credentials) && typeof navigator.credentials.get === "function";
  }

  // DigitalCredential.userAgentAllowsProtocol is newer than the API itself: without it,
  // the browser is assumed to take OpenID4VP.
  function protocolAllowed(protocol) {
    const allows = window.DigitalCredential && window.DigitalCredential.userAgentAllowsProtocol;
    if (typeof allows !== "function") return true;
    try {
      return Boolean(allows.call(window.DigitalCredential, protocol));
    } catch (e) {
      return false;
    }
  }

  // A form post answered with JSON; a non-2xx answer throws its error_description.
  async function postJson(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { accept: "application/json" },
      body: body,
    });
    let answer = null;
    try {
      answer = await response.json();
    } catch (e) {
      answer = null;
    }
    if (!response.ok) {
      const why = answer && answer.error_description ? answer.error_description : "HTTP " + response.status;
      throw new Error(why);
    }
    if (!answer) throw new Error("the server's answer is not JSON");
    return answer;
  }

  function setupDcApi() {
    const buttons = Array.from(document.querySelectorAll("button[data-dc-api]"));
    const area = document.getElementById("dc-api-result");
    if (!buttons.length || !area) return;
    // Feature detection: without the API (or OpenID4VP in it) the buttons stay hidden and
    // the QR flow is the way.
    if (!hasDcApi() || !DC_PROTOCOLS.some(protocolAllowed)) return;
    const status = document.getElementById("status");
    const reason = document.getElementById("reason");

    function show(label, state, why) {
      area.hidden = false;
      status.textContent = label;
      status.dataset.state = state;
      reason.textContent = why || "";
    }

    async function verify(button) {
      for (const b of buttons) b.disabled = true;
      document.getElementById("result").hidden = true;
      show("creating the request", "pending");
      area.scrollIntoView({ block: "nearest" });
      try {
        const created = await postJson(button.dataset.dcApi, new URLSearchParams(new FormData(button.form)));
        const request = created.dc_api_request;
        if (!protocolAllowed(request.protocol)) {
          show("not supported", "error", "This browser does not offer the protocol " + request.protocol + ".");
          return;
        }
        show("waiting for the wallet", "pending");
        let credential;
        try {
          credential = await navigator.credentials.get({
            digital: { requests: [{ protocol: request.protocol, data: request.data }] },
          });
        } catch (e) {
          const name = e && e.name;
          if (name === "NotAllowedError" || name === "AbortError") {
            show("cancelled", "cancelled", "No credential was shared (" + name + "). The request stays open; create another to try again.");
          } else {
            show("the browser could not ask a wallet", "error", String(name || "Error") + ": " + (e && e.message || e));
          }
          return;
        }
        if (!credential || credential.protocol !== request.protocol) {
          show("unexpected answer", "error", "The browser did not answer with " + request.protocol + ".");
          return;
        }
        // Early implementations returned data as JSON text.
        const data = typeof credential.data === "string" ? JSON.parse(credential.data) : credential.data;
        show("checking the presentation", "pending");
        const view = await postJson(created.response_url, new URLSearchParams({ data: JSON.stringify(data) }));
        const why = view.error && view.error.error_description;
        show(view.label, view.state, why);
        showResult(view);
      } catch (e) {
        show("failed", "error", e && e.message ? e.message : String(e));
      } finally {
        for (const b of buttons) b.disabled = false;
      }
    }

    for (const button of buttons) {
      button.hidden = false;
      button.addEventListener("click", function () { verify(button); });
    }
  }

  setupDcApi();

  const status = document.querySelector("[data-poll]");
  if (!status) return;
  const url = status.dataset.poll;
  let finished = false;

  async function poll() {
    if (finished) return;
    try {
      const response = await fetch(url, {
        credentials: "same-origin",
        headers: { accept: "application/json" },
      });
      if (!response.ok) {
        status.textContent = "status unavailable (HTTP " + response.status + ")";
        return;
      }
      const view = await response.json();
      status.textContent = view.label;
      status.dataset.state = view.state;
      if (view.final) {
        finished = true;
        showResult(view);
        // An issued credential can be revoked from the offer page.
        const revoke = document.getElementById("revoke");
        if (revoke && view.state === "credential_issued") revoke.hidden = false;
      }
    } catch (e) {
      status.textContent = "status unavailable";
    }
  }

  poll();
  const timer = setInterval(function () {
    if (finished) clearInterval(timer); else poll();
  }, 1000);
})();
