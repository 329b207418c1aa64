// vdc pages: copy buttons and the live status of an offer or presentation request.
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

  const status = document.querySelector("[data-poll]");
  if (!status) return;
  const url = status.dataset.poll;
  let finished = false;

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
