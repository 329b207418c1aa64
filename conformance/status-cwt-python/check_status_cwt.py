#!/usr/bin/env python3
"""A vdc Status List Token in CWT format verifies with PyPI `cwt` (pinned in
../requirements.txt), an independent CWT/COSE implementation.

draft-ietf-oauth-status-list §5.2 (Status List Token in CWT Format), §4.3 (Status List in
CBOR Format) and §8.1/§8.2 (content negotiation: `Accept: application/statuslist+cwt`).

Against the server at VDC_BASE_URL (management calls with VDC_ADMIN_KEY): the independent
OpenID4VCI wallet (../openid4vci-js/wallet.mjs) obtains a demo credential; it is revoked
through the management API; the list is fetched as CWT and

- the body is COSE_Sign1_Tagged (tag 18), not CWT-tagged (61) (§5.2);
- the protected header has typ (16) `application/statuslist+cwt` and an alg;
- `cwt.decode` verifies the signature with the issuer's JWK from its JWT VC Issuer Metadata
  (converted with `cwt.COSEKey.from_jwk`) and checks exp/nbf;
- claims: 2 (sub) is the credential's status_list uri, 6 (iat) an integer, 4 (exp) after
  it, 65534 (ttl) positive, 65533 (status_list) {bits, lst: bstr}; `lst` inflates (zlib)
  and the revoked credential's entry is 1 (§7.1 INVALID), LSB first (§4.1);
- a signature under another key is refused by `cwt`;
- without Accept the JWT form is served, and an Accept allowing neither is 406.

Prints one line per check and exits non-zero if any failed.
"""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import zlib

import cbor2
import cwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cwt import COSEKey

HERE = os.path.dirname(os.path.abspath(__file__))
CONF = os.path.dirname(HERE)
BASE = os.environ["VDC_BASE_URL"].rstrip("/")
ADMIN_KEY = os.environ["VDC_ADMIN_KEY"]
CWT_TYPE = "application/statuslist+cwt"
JWT_TYPE = "application/statuslist+jwt"

passed = 0
failed = 0


def check(name, ok, detail=None):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    suffix = "" if ok or detail is None else f": {str(detail)[:1200]}"
    print(f"  {'ok  ' if ok else 'FAIL'}  {name}{suffix}", flush=True)
    return ok


def http(method, url, body=None, admin=False, accept=None):
    headers = {}
    data = None
    if admin:
        headers["authorization"] = f"Bearer {ADMIN_KEY}"
    if accept is not None:
        headers["accept"] = accept
    if body is not None:
        headers["content-type"] = "application/json"
        data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def api(method, path, body=None):
    status, _, raw = http(method, BASE + path, body, admin=True)
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def bit(lst, bits, idx):
    """§4.1: entry idx of a `bits`-wide list, least significant bits first."""
    per_byte = 8 // bits
    byte = lst[idx // per_byte]
    return (byte >> ((idx % per_byte) * bits)) & ((1 << bits) - 1)


def issue_and_revoke():
    """A demo credential through the independent wallet, then revoked; its reference."""
    config = "EmployeeBadge"
    status, offer = api(
        "POST",
        "/api/v1/issuers/demo/offers",
        {"credential_configuration_ids": [config],
         "claims": {config: {"given_name": "Ada", "employee_id": "E-1"}}},
    )
    if not check("offer created", status == 201, offer):
        return None
    p = subprocess.run(
        ["node", os.path.join(CONF, "openid4vci-js", "wallet.mjs")],
        input=json.dumps({"offer_uri": offer["offer_uri"], "allow_http": True}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    try:
        got = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        got = {"ok": False, "stdout": p.stdout, "stderr": p.stderr}
    if not check("@openid4vc/openid4vci wallet obtained the credential", got.get("ok") is True, got):
        return None
    status, record = api("GET", f"/api/v1/issuers/demo/offers/{offer['id']}")
    if not check("offer record lists the credential", status == 200 and record.get("credentials"), record):
        return None
    entry = record["credentials"][0]
    status, changed = api(
        "POST", f"/api/v1/issuers/demo/credentials/{entry['id']}/status", {"status": "revoked"}
    )
    check("credential revoked", status == 200 and changed.get("status") == "revoked", changed)
    return entry["status_list"]


def issuer_keys():
    status, _, raw = http("GET", f"{BASE}/.well-known/jwt-vc-issuer/issuers/demo")
    if not check("JWT VC Issuer Metadata fetched", status == 200, raw[:300]):
        return []
    return json.loads(raw)["jwks"]["keys"]


def main():
    print(f"  cwt {cwt.__version__}", flush=True)
    ref = issue_and_revoke()
    jwks = issuer_keys()
    if ref is None or not jwks:
        print(f"  {passed} passed, {failed} failed", flush=True)
        return 1
    uri, idx = ref["uri"], ref["idx"]

    status, headers, body = http("GET", uri, accept=CWT_TYPE)
    lower = {k.lower(): v for k, v in headers.items()}
    check("status list fetched with Accept: application/statuslist+cwt", status == 200, body[:200])
    check("Content-Type is application/statuslist+cwt", lower.get("content-type") == CWT_TYPE, lower)
    check("Vary names Accept", "accept" in lower.get("vary", "").lower(), lower.get("vary"))

    outer = cbor2.loads(body)
    check("COSE_Sign1_Tagged (tag 18), not the CWT tag 61 (§5.2)",
          isinstance(outer, cbor2.CBORTag) and outer.tag == 18, type(outer))
    protected = cbor2.loads(outer.value[0])
    check("protected typ (16) is application/statuslist+cwt", protected.get(16) == CWT_TYPE, protected)
    check("protected alg (1) is ES256 or EdDSA", protected.get(1) in (-7, -8), protected.get(1))

    kid = protected.get(4)
    keys = []
    for jwk in jwks:
        public = {k: v for k, v in jwk.items() if k not in ("x5c", "use", "key_ops")}
        if "alg" not in public:
            public["alg"] = {"EC": "ES256", "OKP": "EdDSA"}.get(jwk.get("kty"), "")
        keys.append(COSEKey.from_jwk(public))
    check("the protected kid (4) names a published key",
          kid is not None and any(j.get("kid", "").encode() == kid for j in jwks), kid)

    try:
        claims = cwt.decode(body, keys)
        ok, detail = True, None
    except Exception as e:  # noqa: BLE001
        claims, ok, detail = {}, False, repr(e)
    check("cwt.decode verifies the signature with the issuer's JWK", ok, detail)
    if not ok:
        print(f"  {passed} passed, {failed} failed", flush=True)
        return 1

    check("2 (sub) is the credential's status_list uri", claims.get(2) == uri, claims.get(2))
    check("1 (iss) is the credential issuer", claims.get(1) == f"{BASE}/issuers/demo", claims.get(1))
    iat, exp, ttl = claims.get(6), claims.get(4), claims.get(65534)
    check("6 (iat) is an integer", isinstance(iat, int), iat)
    check("4 (exp) is after iat", isinstance(exp, int) and isinstance(iat, int) and exp > iat, (iat, exp))
    check("65534 (ttl) is a positive integer", isinstance(ttl, int) and ttl > 0, ttl)
    sl = claims.get(65533)
    if not check("65533 (status_list) is a map", isinstance(sl, dict), sl):
        print(f"  {passed} passed, {failed} failed", flush=True)
        return 1
    bits, lst = sl.get("bits"), sl.get("lst")
    check("status_list.bits is 1, 2, 4 or 8", bits in (1, 2, 4, 8), bits)
    check("status_list.lst is a byte string (§4.3)", isinstance(lst, bytes), type(lst))
    try:
        raw = zlib.decompress(lst)
        inflated = True
    except Exception as e:  # noqa: BLE001
        raw, inflated = b"", repr(e)
    check("status_list.lst inflates with zlib (§4.1)", inflated is True, inflated)
    if inflated is True and bits in (1, 2, 4, 8):
        check("the revoked index is 1 (INVALID, §7.1)", bit(raw, bits, idx) == 1, bit(raw, bits, idx))
        others = [i for i in range(len(raw) * 8 // bits) if i != idx and bit(raw, bits, i) != 0]
        check("the list is not inverted: other entries are valid but for a few", len(others) <= 64, len(others))

    # A signature under a key that is not the issuer's is refused.
    stranger = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = stranger.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    wrong = COSEKey.from_pem(pem, alg="ES256", kid=kid if kid is not None else b"")
    try:
        cwt.decode(body, wrong)
        refused = False
    except Exception:  # noqa: BLE001
        refused = True
    check("cwt refuses the token under another key", refused)

    # Content negotiation: the JWT form stays the default; nothing acceptable is 406.
    status, headers, body = http("GET", uri)
    ctype = {k.lower(): v for k, v in headers.items()}.get("content-type")
    check("no Accept: the JWT form", status == 200 and ctype == JWT_TYPE and body.count(b".") == 2, ctype)
    status, _, body = http("GET", uri, accept=JWT_TYPE)
    check("Accept: application/statuslist+jwt: the JWT form", status == 200 and body.count(b".") == 2, status)
    status, _, body = http("GET", uri, accept="application/json")
    check("Accept allowing neither form: 406", status == 406, (status, body[:200]))

    print(f"  {passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
