#!/usr/bin/env python3
"""Every X.509 certificate a running vdc serves parses with PyPI `cryptography`.

`cryptography` (pinned in ../requirements.txt) is a strict DER parser: it refuses, when the
extensions are read, a certificate whose basicConstraints writes the DEFAULT `cA FALSE`
explicitly (X.690 §11.5), which vdc's leaf certificates did (issue 10 item 6). A wallet
built on it then cannot verify vdc's signed request objects.

Collected from the server at VDC_BASE_URL (management calls with VDC_ADMIN_KEY):

- verifiers: for every `x509_*` verifier (the demo one and an `x509_hash` and an
  `x509_san_dns` verifier this script creates, with server-made CA and leaf), the `x5c` of
  a signed request object (`request_uri`), and the leaf and CA PEMs (`certificate`,
  `trust_anchor`) from the management API;
- issuers: the `x5c` of every JWK in each issuer's JWT VC Issuer Metadata, and of an issuer
  this script creates with an imported chain; vdc serves that chain as given;
- a HAIP-mode issuer this script creates without `x5c`: the CA vdc made
  (`/issuers/{id}/trust-anchor.pem`), its leaf (`x5c`, not self-signed, issued by the CA)
  and the `x5c` of the signed Credential Issuer Metadata;
- status lists: the `x5c` header of the Status List Token of a credential the independent
  OpenID4VCI wallet (../openid4vci-js/wallet.mjs) obtains from that issuer, whose `iss`
  must be the credential's `iss` (HAIP 1.0 §6.1: the key is in `x5c`).

Each certificate is loaded with `x509.load_der_x509_certificate` and every extension is
read (`cert.extensions`, each `.value`). Prints one line per check and exits non-zero if
any failed.
"""

import base64
import datetime
import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import cryptography
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
CONF = os.path.dirname(HERE)
BASE = os.environ["VDC_BASE_URL"].rstrip("/")
ADMIN_KEY = os.environ["VDC_ADMIN_KEY"]

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


def http(method, url, body=None, admin=False):
    headers = {}
    data = None
    if admin:
        headers["authorization"] = f"Bearer {ADMIN_KEY}"
    if body is not None:
        headers["content-type"] = "application/json"
        data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def api(method, path, body=None):
    status, raw = http(method, BASE + path, body, admin=True)
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def b64url_json(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def jose_header(compact):
    return b64url_json(compact.split("~")[0].split(".")[0])


def jose_payload(compact):
    return b64url_json(compact.split("~")[0].split(".")[1])


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def read_every_extension(cert):
    """What a wallet does with a certificate: look at each extension's parsed value.
    `cert.extensions` is where cryptography parses (and refuses) them."""
    names = []
    for ext in cert.extensions:
        _ = ext.value
        names.append(ext.oid._name)
    return names


def check_der(what, der):
    try:
        cert = x509.load_der_x509_certificate(der)
        names = read_every_extension(cert)
    except Exception as e:  # noqa: BLE001 - the message is the finding
        return check(f"cryptography reads {what}", False, f"{type(e).__name__}: {e}")
    return check(f"cryptography reads {what} ({', '.join(names)})", True)


def check_x5c(what, x5c):
    if not check(f"{what}: x5c is a non-empty array", isinstance(x5c, list) and x5c, x5c):
        return
    for i, entry in enumerate(x5c):
        check_der(f"{what} x5c[{i}]", base64.b64decode(entry, validate=True))


def check_pem(what, pem):
    try:
        certs = x509.load_pem_x509_certificates(pem.encode())
    except Exception as e:  # noqa: BLE001
        check(f"cryptography reads {what}", False, f"{type(e).__name__}: {e}")
        return
    for i, cert in enumerate(certs):
        check_der(f"{what} [{i}]", cert.public_bytes(serialization.Encoding.DER))


def verifiers():
    dcql = {
        "credentials": [
            {
                "id": "badge",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": ["https://example.com/vct/x509-conformance"]},
                "claims": [{"path": ["given_name"]}],
            }
        ]
    }
    suffix = datetime.datetime.now(datetime.timezone.utc).strftime("%H%M%S%f")
    for prefix in ("x509_hash", "x509_san_dns"):
        status, created = api(
            "POST",
            "/api/v1/verifiers",
            {"id": f"x509-{prefix.replace('_', '-')}-{suffix}", "client_id_prefix": prefix,
             "trusted_issuers": [f"{BASE}/issuers/demo"]},
        )
        check(f"{prefix} verifier created", status == 201, created)
    status, listed = api("GET", "/api/v1/verifiers")
    items = listed.get("items") if isinstance(listed, dict) else None
    if not check("verifiers listed", status == 200 and isinstance(items, list), listed):
        return
    for v in items:
        vid = v["id"]
        status, one = api("GET", f"/api/v1/verifiers/{vid}")
        if not check(f"verifier {vid} read", status == 200, one):
            continue
        if not str(one.get("client_id", "")).startswith("x509_"):
            continue
        # `certificate`: the leaf; `trust_anchor`: the CA of a server-made chain.
        for field in ("certificate", "trust_anchor"):
            pem = one.get(field)
            if check(f"verifier {vid}: {field} PEM served", isinstance(pem, str), one):
                check_pem(f"verifier {vid} {field}", pem)
        status, req = api("POST", f"/api/v1/verifiers/{vid}/requests", {"dcql_query": dcql})
        if not check(f"verifier {vid}: presentation request created", status == 201, req):
            continue
        status, raw = http("GET", req["request_uri"])
        if not check(f"verifier {vid}: request object fetched", status == 200, raw[:300]):
            continue
        check_x5c(f"verifier {vid} request object", jose_header(raw.decode()).get("x5c"))


def make_issuer_chain(issuer_url):
    """A CA and an issuer leaf (URI SAN = the issuer URL, HAIP: not self-signed) made by
    cryptography itself, for an issuer with an imported certificate chain."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x509 conformance CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    host = urllib.parse.urlsplit(issuer_url).hostname
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x509 conformance issuer")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(issuer_url)]
                + ([x509.DNSName("localhost")] if host in ("127.0.0.1", "localhost") else [])
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    numbers = key.private_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.public_numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.public_numbers.y.to_bytes(32, "big")),
        "d": b64url(numbers.private_value.to_bytes(32, "big")),
    }
    # HAIP 1.0 §6.1: the trust anchor is not part of the x5c chain.
    chain = [base64.b64encode(leaf.public_bytes(serialization.Encoding.DER)).decode()]
    return jwk, chain


def issuers():
    suffix = datetime.datetime.now(datetime.timezone.utc).strftime("%H%M%S%f")
    issuer_id = f"x509-chain-{suffix}"
    issuer_url = f"{BASE}/issuers/{issuer_id}"
    jwk, chain = make_issuer_chain(issuer_url)
    config = "X509Badge"
    status, created = api(
        "POST",
        "/api/v1/issuers",
        {
            "id": issuer_id,
            "signing_key": jwk,
            "x5c": chain,
            "credential_configurations": {
                config: {
                    "format": "dc+sd-jwt",
                    "vct": "https://example.com/vct/x509-conformance",
                    "claims": [{"path": ["given_name"]}],
                }
            },
        },
    )
    check("issuer with an imported x5c chain created", status == 201, created)

    status, listed = api("GET", "/api/v1/issuers")
    items = listed.get("items") if isinstance(listed, dict) else None
    if not check("issuers listed", status == 200 and isinstance(items, list), listed):
        return
    for item in items:
        iid = item["id"]
        status, raw = http("GET", f"{BASE}/.well-known/jwt-vc-issuer/issuers/{iid}")
        if not check(f"issuer {iid}: JWT VC Issuer Metadata", status == 200, raw[:300]):
            continue
        for jwk_ in json.loads(raw).get("jwks", {}).get("keys", []):
            if "x5c" in jwk_:
                check_x5c(f"issuer {iid} jwks kid {jwk_.get('kid')}", jwk_["x5c"])
                if iid == issuer_id:
                    check(f"issuer {iid}: the served chain is the imported one", jwk_["x5c"] == chain, jwk_["x5c"])

    # A credential from that issuer, then its Status List Token.
    status, offer = api(
        "POST",
        f"/api/v1/issuers/{issuer_id}/offers",
        {"credential_configuration_ids": [config], "claims": {config: {"given_name": "Ada"}}},
    )
    if not check("offer created", status == 201, offer):
        return
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
        return
    credential = got["credentials"][0]
    check("credential header x5c is the imported chain", jose_header(credential).get("x5c") == chain)
    iss = jose_payload(credential)["iss"]
    uri = jose_payload(credential)["status"]["status_list"]["uri"]
    status, raw = http("GET", uri)
    if not check("status list token fetched", status == 200, raw[:300]):
        return
    token = raw.decode()
    header = jose_header(token)
    check("status list token header has x5c (HAIP 1.0 §6.1)", "x5c" in header, header)
    if "x5c" in header:
        check_x5c("status list token", header["x5c"])
        check("status list token x5c is the issuer's chain", header["x5c"] == chain, header["x5c"])
    check(
        "status list token iss is the credential's iss",
        jose_payload(token).get("iss") == iss,
        {"token iss": jose_payload(token).get("iss"), "credential iss": iss},
    )


def haip_issuer():
    """A HAIP-mode issuer created without `x5c` (issue 14): vdc makes a per-issuer CA and a
    leaf for the signing key. cryptography reads the trust anchor served at
    `/issuers/{id}/trust-anchor.pem` (equal to the issuer object's `trust_anchor`) and the
    leaf (`x5c` of the JWK and of the signed metadata), and checks that the leaf is issued
    by that CA and is not it (HAIP 1.0 §6.1.1: anchor excluded, not self-signed)."""
    suffix = datetime.datetime.now(datetime.timezone.utc).strftime("%H%M%S%f")
    issuer_id = f"x509-haip-{suffix}"
    # HAIP mode asks for wallet_attestation_trust_anchors; any certificate parses as one.
    _, provider_chain = make_issuer_chain(f"{BASE}/issuers/{issuer_id}")
    provider_pem = x509.load_der_x509_certificate(
        base64.b64decode(provider_chain[0])
    ).public_bytes(serialization.Encoding.PEM).decode()
    status, created = api(
        "POST",
        "/api/v1/issuers",
        {
            "id": issuer_id,
            "haip": True,
            "require_dpop": True,
            "signed_metadata": True,
            "wallet_attestation_trust_anchors": [provider_pem],
            "identity_provider": {"issuer": "https://login.example.com", "client_id": "vdc",
                                  "client_secret": "secret", "scopes": ["openid"]},
            "credential_configurations": {
                "Badge": {"format": "dc+sd-jwt", "vct": "https://example.com/vct/x509-haip",
                          "scope": "badge", "claims": [{"path": ["given_name"]}],
                          "cryptographic_binding_methods_supported": ["jwk"]}
            },
        },
    )
    if not check("HAIP-mode issuer created without x5c", status == 201, created):
        return
    status, raw = http("GET", f"{BASE}/issuers/{issuer_id}/trust-anchor.pem")
    if not check("issuer trust-anchor.pem served", status == 200, raw[:300]):
        return
    pem = raw.decode()
    check("trust-anchor.pem is the issuer object's trust_anchor", pem == created.get("trust_anchor"))
    check_pem(f"issuer {issuer_id} trust anchor", pem)
    x5c = created.get("x5c") or []
    check_x5c(f"issuer {issuer_id} (made by vdc)", x5c)
    if len(x5c) != 1:
        check("issuer x5c is the leaf alone (anchor excluded)", False, x5c)
        return
    ca = x509.load_pem_x509_certificate(pem.encode())
    leaf = x509.load_der_x509_certificate(base64.b64decode(x5c[0]))
    check("issuer leaf is not the anchor", leaf != ca)
    check("issuer leaf is not self-signed", leaf.issuer != leaf.subject, leaf.subject)
    try:
        leaf.verify_directly_issued_by(ca)
        issued = True
    except Exception as e:  # noqa: BLE001
        issued = e
    check("issuer leaf is issued by the trust anchor", issued is True, issued)
    ca_bc = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    check("issuer trust anchor is a CA", ca_bc.ca is True)
    req = urllib.request.Request(
        f"{BASE}/.well-known/openid-credential-issuer/issuers/{issuer_id}",
        headers={"accept": "application/jwt"},
    )
    with urllib.request.urlopen(req, timeout=15) as r:
        ctype, jwt = r.headers.get("content-type"), r.read().decode()
    check("signed metadata served as application/jwt", ctype == "application/jwt", ctype)
    header = jose_header(jwt)
    check("signed metadata typ", header.get("typ") == "openidvci-issuer-metadata+jwt", header)
    check("signed metadata x5c is the issuer's leaf", header.get("x5c") == x5c, header)
    payload = jose_payload(jwt)
    check("signed metadata sub is the credential issuer", payload.get("sub") == f"{BASE}/issuers/{issuer_id}", payload.get("sub"))


def main():
    print(f"  cryptography {cryptography.__version__}", flush=True)
    verifiers()
    haip_issuer()
    issuers()
    print(f"  {passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
