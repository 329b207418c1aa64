#!/usr/bin/env python3
"""pymdoccbor 1.4.0 (PyPI) as an independent judge of vdc's mso_mdoc credentials.

Reads one JSON request on stdin, prints one JSON answer line:

  {"issuer_signed": "<base64url IssuerSigned>", "iaca_pem": "<PEM>"}
      pymdoccbor.mdoc.issuersigned.IssuerSigned → MsoVerifier: the issuerAuth COSE_Sign1
      signature under the x5chain's Document Signer key, that key's certificate signed by the
      IACA (attest_public_key), and every IssuerSignedItemBytes digest against the MSO
      valueDigests (verify_element_hashes, SHA-256 over the tag-24 bytes as received).
  {"device_response": "<base64url DeviceResponse>", "iaca_pem": "<PEM>"}
      pymdoccbor.mdoc.verifier.MdocCbor.verify over the whole DeviceResponse (issuer side only:
      pymdoccbor does not check deviceAuth).

Answer: {"ok": bool, "signature_valid": bool, "digests": {...}, "claims": {ns: {id: value}},
"doc_type": str, "digest_algorithm": str, "error": str?}. Values that are not JSON (bytes,
tags) are shown as strings.
"""

import base64
import json
import logging
import sys

import cbor2
from cryptography import x509

from pymdoccbor.mdoc.issuersigned import IssuerSigned
from pymdoccbor.mdoc.verifier import MdocCbor

logging.disable(logging.CRITICAL)

MAX_INPUT = 1 << 20


def b64u_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jsonable(v):
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, bytes):
        return "h'" + v.hex() + "'"
    if isinstance(v, cbor2.CBORTag):
        return {"tag": v.tag, "value": jsonable(v.value)}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, dict) or hasattr(v, "items"):
        return {str(k): jsonable(x) for k, x in v.items()}
    return str(v)


def claims_of(namespaces) -> dict:
    out = {}
    for ns, items in namespaces.items():
        out[ns] = {}
        for item in items:
            if not (isinstance(item, cbor2.CBORTag) and item.tag == 24):
                raise ValueError(f"{ns}: an IssuerSignedItemBytes is not a tag-24 bstr")
            decoded = cbor2.loads(item.value)
            out[ns][decoded["elementIdentifier"]] = jsonable(decoded["elementValue"])
    return out


def judge_issuer_signed(raw: bytes, roots) -> dict:
    top = cbor2.loads(raw)
    if "nameSpaces" not in top or "issuerAuth" not in top:
        raise ValueError("IssuerSigned lacks nameSpaces or issuerAuth (ISO 18013-5 §8.3.2.1.2.2)")
    issuer_signed = IssuerSigned(nameSpaces=top["nameSpaces"], issuerAuth=top["issuerAuth"])
    mso = issuer_signed.issuer_auth
    signature_valid = bool(mso.verify_signature(trusted_root_certs=roots))
    digests = mso.verify_element_hashes(issuer_signed.namespaces)
    payload = mso.payload_as_dict
    value_digests = payload.get("valueDigests", {})
    missing_ns = [ns for ns in issuer_signed.namespaces if ns not in value_digests]
    return {
        "ok": signature_valid and digests["valid"] and digests["total"] > 0 and digests["verified"] == digests["total"] and not missing_ns,
        "signature_valid": signature_valid,
        "digests": {"total": digests["total"], "verified": digests["verified"], "failed": jsonable(digests["failed"]), "namespaces_without_digests": missing_ns},
        "claims": claims_of(issuer_signed.namespaces),
        "doc_type": payload.get("docType"),
        "digest_algorithm": payload.get("digestAlgorithm"),
        "validity_info": jsonable(payload.get("validityInfo")),
        "verified_root": mso.verified_root.subject.rfc4514_string() if mso.verified_root is not None else None,
    }


def judge_device_response(raw: bytes, roots) -> dict:
    mdoc = MdocCbor()
    mdoc.loads(raw)
    ok = bool(mdoc.verify(trusted_root_certs=roots, verify_hashes=True))
    docs = mdoc.documents
    hv = docs[0].hash_verification if docs else None
    return {
        "ok": ok and len(docs) == 1 and not mdoc.documents_invalid and hv is not None and hv["total"] > 0 and hv["verified"] == hv["total"],
        "signature_valid": bool(docs and docs[0].is_valid),
        "digests": jsonable(hv),
        "claims": jsonable(mdoc.disclosure_map),
        "doc_type": docs[0].doctype if docs else None,
        "invalid_documents": len(mdoc.documents_invalid),
    }


def main() -> None:
    try:
        req = json.loads(sys.stdin.read(MAX_INPUT))
        roots = [x509.load_pem_x509_certificate(req["iaca_pem"].encode())]
        if "issuer_signed" in req:
            answer = judge_issuer_signed(b64u_decode(req["issuer_signed"]), roots)
        else:
            answer = judge_device_response(b64u_decode(req["device_response"]), roots)
    except Exception as e:  # a refusal is an answer, not a crash
        answer = {"ok": False, "error": f"{type(e).__name__}: {e}"[:1500]}
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
