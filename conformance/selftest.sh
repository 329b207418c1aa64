#!/usr/bin/env bash
# Cross-checks the two independent SD-JWT implementations through the
# interop.{mjs,py} JSON contract: each one's issuance must verify with the
# other, and tampered / mis-bound presentations must be rejected by both.
# Usage: conformance/selftest.sh   (runs setup.sh first; needs no network
# once setup has been done). Exit 0 iff every case passed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/setup.sh"
cd "$here"
exec .venv/bin/python - <<'PY'
import base64, json, subprocess, sys, time

from jwcrypto.jwk import JWK

IMPLS = {
    "python": [".venv/bin/python", "sd-jwt-python/interop.py"],
    "js": ["node", "sd-jwt-js/interop.mjs"],
}
passed = failed = 0


def call(impl, cmd, req):
    p = subprocess.run(IMPLS[impl] + [cmd], input=json.dumps(req).encode(), capture_output=True, timeout=60)
    try:
        out = json.loads(p.stdout)
    except Exception:
        out = None
    if not isinstance(out, dict):
        raise SystemExit(f"{impl} {cmd}: no JSON answer (rc={p.returncode}): {p.stderr.decode()[:500]}")
    return p.returncode, out


def check(name, cond, detail="", stage=None):
    global passed, failed
    if cond:
        passed += 1
        print(f"  ok    {name}" + (f"  [rejected by {stage}]" if stage else ""))
    else:
        failed += 1
        print(f"  FAIL  {name} {detail}")


def key():
    return json.loads(JWK.generate(kty="EC", crv="P-256").export_private())


def pub(k):
    return {x: k[x] for x in ("kty", "crv", "x", "y")}


def b64u(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


now = int(time.time())
issuer, holder, other = key(), key(), key()
AUD, NONCE = "https://verifier.example.org", "n-0S6_WzA2Mj"
issue_req = {
    "issuer_jwk": issuer,
    "holder_jwk": holder,
    "payload": {
        "iss": "https://issuer.example.org",
        "vct": "urn:eudi:pid:1",
        "iat": now,
        "exp": now + 3600,
        "given_name": "Erika",
        "family_name": "Mustermann",
        "address": {"street_address": "Heidestrasse 17", "locality": "K\u00f6ln", "country": "DE"},
        "nationalities": ["DE", "FR"],
    },
    "disclosure_frame": {
        "_sd": ["given_name", "family_name", "address", "nationalities"],
        "address": {"_sd": ["street_address", "locality"]},
        "nationalities": {"_sd": [0, 1]},
    },
    "disclose": [["given_name"], ["address"], ["address", "locality"], ["nationalities", 1]],
    "aud": AUD,
    "nonce": NONCE,
    "iat": now,
    "typ": "dc+sd-jwt",
}
expected_claims = {
    "iss": "https://issuer.example.org",
    "vct": "urn:eudi:pid:1",
    "iat": now,
    "exp": now + 3600,
    "cnf": {"jwk": pub(holder)},
    "given_name": "Erika",
    "address": {"locality": "K\u00f6ln", "country": "DE"},
    "nationalities": ["FR"],
}


def vreq(sd_jwt, **kw):
    r = {"sd_jwt": sd_jwt, "issuer_jwk": pub(issuer), "holder_binding": True, "aud": AUD, "nonce": NONCE, "now": now}
    r.update(kw)
    return r


def strip_kb(presentation):
    return presentation[: presentation.rindex("~") + 1]


def tamper(sd_jwt, claim, new_value):
    parts = sd_jwt.split("~")
    for i, d in enumerate(parts[1:-1], 1):
        arr = json.loads(unb64u(d))
        if len(arr) == 3 and arr[1] == claim:
            arr[2] = new_value
            parts[i] = b64u(json.dumps(arr).encode())
            return "~".join(parts)
    raise SystemExit(f"no disclosure for {claim}")


def header_of(jwt):
    return json.loads(unb64u(jwt.split(".")[0]))


for issuer_impl in IMPLS:
    print(f"== issued by {issuer_impl}")
    rc, iss = call(issuer_impl, "issue", issue_req)
    check(f"{issuer_impl} issue succeeds", rc == 0 and "presentation" in iss, json.dumps(iss)[:300])
    if rc != 0:
        continue
    pres, full = iss["presentation"], iss["issued"]
    hdr = header_of(full.split("~")[0])
    check(f"{issuer_impl} issuer header typ dc+sd-jwt / ES256", hdr.get("typ") == "dc+sd-jwt" and hdr.get("alg") == "ES256", str(hdr))
    kb_hdr = header_of(pres.split("~")[-1])
    check(f"{issuer_impl} KB-JWT header typ kb+jwt", kb_hdr.get("typ") == "kb+jwt", str(kb_hdr))
    check(f"{issuer_impl} issued SD-JWT ends with ~ and has 8 disclosures", full.endswith("~") and len(full.split("~")) == 10)
    for v in IMPLS:
        tag = f"{issuer_impl}->{v}"
        rc, r = call(v, "verify", vreq(pres))
        check(f"{tag} accepts KB presentation", rc == 0 and r.get("ok") is True and r.get("kb_checked") is True, json.dumps(r)[:300])
        check(f"{tag} processed claims as expected", r.get("claims") == expected_claims, json.dumps(r.get("claims"))[:400])
        rc, r = call(v, "verify", vreq(strip_kb(pres), holder_binding=False))
        check(f"{tag} accepts presentation without KB when not required", r.get("ok") is True and r.get("kb_checked") is False, json.dumps(r)[:300])
        rc, r = call(v, "verify", vreq(strip_kb(pres)))
        check(f"{tag} rejects missing KB-JWT when required", rc == 0 and r.get("ok") is False, json.dumps(r)[:300], r.get("stage"))
        rc, r = call(v, "verify", vreq(pres, nonce="wrong-nonce"))
        check(f"{tag} rejects wrong nonce", rc == 0 and r.get("ok") is False, json.dumps(r)[:300], r.get("stage"))
        rc, r = call(v, "verify", vreq(pres, aud="https://other.example.org"))
        check(f"{tag} rejects wrong aud", rc == 0 and r.get("ok") is False, json.dumps(r)[:300], r.get("stage"))
        rc, r = call(v, "verify", vreq(tamper(pres, "given_name", "Mallory")))
        check(f"{tag} rejects tampered disclosure (KB)", rc == 0 and r.get("ok") is False, json.dumps(r)[:300], r.get("stage"))
        rc, r = call(v, "verify", vreq(tamper(strip_kb(pres), "given_name", "Mallory"), holder_binding=False))
        check(f"{tag} rejects tampered disclosure (no KB)", rc == 0 and r.get("ok") is False, json.dumps(r)[:300], r.get("stage"))
        rc, r = call(v, "verify", vreq(pres, issuer_jwk=pub(other)))
        check(f"{tag} rejects wrong issuer key", rc == 0 and r.get("ok") is False, json.dumps(r)[:300], r.get("stage"))
        rc, r = call(v, "verify", vreq(pres, now=now + 7200))
        check(f"{tag} rejects expired credential", rc == 0 and r.get("ok") is False, json.dumps(r)[:300], r.get("stage"))
        rc, r = call(v, "verify", vreq(pres, now=now + 3000))
        check(f"{tag} rejects stale KB-JWT iat", rc == 0 and r.get("ok") is False, json.dumps(r)[:300], r.get("stage"))

# RFC 9901 §7.1 / SD-JWT VC rules the libraries skip; the drivers (strict mode) must enforce them.
import hashlib
from jwcrypto.jws import JWS

print("== crafted SD-JWTs (strict mode)")
ik = JWK(**issuer)


def sign(payload, typ="dc+sd-jwt"):
    hdr = {"alg": "ES256"}
    if typ is not None:
        hdr["typ"] = typ
    s = JWS(json.dumps(payload))
    s.add_signature(ik, alg="ES256", protected=json.dumps(hdr))
    return s.serialize(compact=True)


def disc(*a):
    return b64u(json.dumps(list(a)).encode())


def dig(d):
    return b64u(hashlib.sha256(d.encode()).digest())


base = {"iss": "https://issuer.example.org", "vct": "urn:eudi:pid:1", "iat": now, "_sd_alg": "sha-256"}
no_vct = {k: v for k, v in base.items() if k != "vct"}
d1, d2, a1 = disc("s1", "given_name", "Erika"), disc("s2", "family_name", "M"), disc("s3", "DE")
dsd, dvct = disc("s4", "_sd", ["x"]), disc("s5", "vct", "urn:eudi:pid:1")
crafted = {
    "unreferenced disclosure (§7.1 step 5)": sign({**base, "_sd": [dig(d1)]}) + f"~{d1}~{d2}~",
    "digest twice in _sd (§7.1 step 4)": sign({**base, "_sd": [dig(d1), dig(d1)]}) + f"~{d1}~",
    "digest in _sd and in an array (§7.1 step 4)": sign({**base, "_sd": [dig(a1)], "n": [{"...": dig(a1)}]}) + f"~{a1}~",
    "disclosed name already present (§7.1 step 3.3.2.3)": sign({**base, "given_name": "P", "_sd": [dig(d1)]}) + f"~{d1}~",
    "2-element disclosure in _sd (§7.1 step 3.3.2.1)": sign({**base, "_sd": [dig(a1)]}) + f"~{a1}~",
    "3-element disclosure in array (§7.1 step 3.3.3.1)": sign({**base, "n": [{"...": dig(d1)}]}) + f"~{d1}~",
    "claim name _sd (§7.1 step 3.3.2.2)": sign({**base, "_sd": [dig(dsd)]}) + f"~{dsd}~",
    "no ~ at all (§4)": sign(base),
    "typ vc+sd-jwt (SD-JWT VC)": sign({**base, "_sd": [dig(d1)]}, typ="vc+sd-jwt") + f"~{d1}~",
    "vct missing (SD-JWT VC)": sign({**no_vct, "_sd": [dig(d1)]}) + f"~{d1}~",
    "vct selectively disclosed (SD-JWT VC)": sign({**no_vct, "_sd": [dig(dvct)]}) + f"~{dvct}~",
}
good = sign({**base, "_sd": [dig(d1)]}) + f"~{d1}~"
for v in IMPLS:
    rc, r = call(v, "verify", vreq(good, holder_binding=False))
    check(f"{v} accepts the crafted baseline", r.get("ok") is True and r.get("claims", {}).get("given_name") == "Erika", json.dumps(r)[:300])
    for name, sd in crafted.items():
        rc, r = call(v, "verify", vreq(sd, holder_binding=False))
        check(f"{v} rejects {name}", rc == 0 and r.get("ok") is False, json.dumps(r)[:300], r.get("stage"))

for v in IMPLS:
    rc, r = call(v, "verify", {"sd_jwt": 5})
    check(f"{v} bad request -> exit 2 with ok=false", rc == 2 and r.get("ok") is False, json.dumps(r)[:200])

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
