#!/usr/bin/env python3
"""Differential-test driver for the `sd-jwt` PyPI package (the
openwallet-foundation-labs/sd-jwt-python reference implementation).

See ../README.md for the JSON contract and ../../docs/INTEROP.md for the
library's known deviations from RFC 9901 / draft-ietf-oauth-sd-jwt-vc and how
this script compensates.

Usage: interop.py verify|issue   (one JSON object on stdin, one on stdout)
Exit status: 0 whenever a JSON answer was produced for a well-formed request
(also when verification fails); 2 for bad usage / malformed request; 1 for an
internal crash or a failed issuance.
"""

import base64
import hashlib
import json
import re
import sys
import time

from jwcrypto.jwk import JWK

import sd_jwt.holder as sd_holder
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

DEFAULT_SKEW = 60  # seconds; same as vdc_core::time::DEFAULT_SKEW_SECS
DEFAULT_KB_MAX_AGE = 300  # seconds a KB-JWT `iat` may lie in the past
DEFAULT_TYP = "dc+sd-jwt"
# draft-ietf-oauth-sd-jwt-vc "Registered JWT Claims": MUST NOT be selectively disclosed.
VC_NON_DISCLOSABLE = ["iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "aka_vcts", "status"]
MAX_ERR = 400
B64URL_RE = re.compile(r"^[A-Za-z0-9_-]*$")


class HarnessError(Exception):
    def __init__(self, stage, message):
        super().__init__(message)
        self.stage = stage


def script_fail(msg):
    raise HarnessError("script", msg)


def input_fail(msg):
    raise HarnessError("input", msg)


# ------------------------------------------------------------------ helpers


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def b64u_decode(s, what):
    """Strict base64url (RFC 4648 §5, no padding)."""
    if not isinstance(s, str) or not B64URL_RE.match(s) or len(s) % 4 == 1:
        script_fail(f"{what} is not unpadded base64url")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def sha256_b64u(s):
    return base64.urlsafe_b64encode(hashlib.sha256(s.encode("ascii")).digest()).decode().rstrip("=")


def decode_jwt_parts(compact, what):
    parts = compact.split(".")
    if len(parts) != 3:
        script_fail(f"{what} is not a compact JWS")
    try:
        header = json.loads(b64u_decode(parts[0], f"{what} header"))
        payload = json.loads(b64u_decode(parts[1], f"{what} payload"))
    except HarnessError:
        raise
    except Exception:
        script_fail(f"{what} header/payload is not JSON")
    if not isinstance(header, dict) or not isinstance(payload, dict):
        script_fail(f"{what} header/payload is not a JSON object")
    return header, payload


def check_p256_jwk(jwk, need_private, what):
    if (
        not isinstance(jwk, dict)
        or jwk.get("kty") != "EC"
        or jwk.get("crv") != "P-256"
        or not isinstance(jwk.get("x"), str)
        or not isinstance(jwk.get("y"), str)
    ):
        input_fail(f"{what} must be an EC P-256 JWK")
    if need_private and not isinstance(jwk.get("d"), str):
        input_fail(f"{what} must contain the private part d")


def load_jwk(jwk, what):
    try:
        return JWK(**jwk)
    except Exception:
        input_fail(f"{what} is not a valid EC P-256 JWK")


def public_jwk(jwk):
    return {k: jwk[k] for k in ("kty", "crv", "x", "y")}


def int_opt(req, name, default):
    v = req.get(name)
    if v is None:
        return default
    if not is_int(v):
        input_fail(f"{name} must be an integer")
    return v


# ------------------------------------------------------- script-side checks


def check_times(claims, now, skew):
    """Same rule as vdc_core::jose::jws::check_times (the library checks no times)."""
    for k in ("exp", "nbf", "iat"):
        if k in claims and not is_num(claims[k]):
            script_fail(f"{k} is not a number")
    if "exp" in claims and now - skew >= claims["exp"]:
        script_fail("credential expired (exp)")
    if "nbf" in claims and claims["nbf"] > now + skew:
        script_fail("credential not yet valid (nbf)")
    if "iat" in claims and claims["iat"] > now + skew:
        script_fail("credential iat is in the future")


def has_digests(x):
    if isinstance(x, list):
        return any((isinstance(e, dict) and "..." in e) or has_digests(e) for e in x)
    if isinstance(x, dict):
        return "_sd" in x or any(has_digests(v) for v in x.values())
    return False


def strict_checks(sd_jwt, expected_typ, vc):
    """RFC 9901 §7.1 / SD-JWT VC checks that sd-jwt 0.10.4 does not perform."""
    parts = sd_jwt.split("~")
    # Spec: RFC 9901 §4: an SD-JWT always contains at least one '~'.
    if len(parts) < 2:
        script_fail("not an SD-JWT: no '~' separator")
    header, payload = decode_jwt_parts(parts[0], "issuer-signed JWT")
    # Spec: RFC 9901 §7.1 step 2.1.
    if header.get("alg") != "ES256":
        script_fail("issuer-signed JWT alg is not ES256")
    # Spec: RFC 9901 §9.11; draft-ietf-oauth-sd-jwt-vc "JOSE Header": typ dc+sd-jwt.
    if expected_typ is not None and header.get("typ") != expected_typ:
        script_fail("issuer-signed JWT typ mismatch")
    # Spec: RFC 9901 §7.1 step 2.5.
    if "_sd_alg" in payload and payload["_sd_alg"] != "sha-256":
        script_fail("unsupported _sd_alg")

    by_digest = {}
    for d in parts[1:-1]:
        if d == "":
            script_fail("empty disclosure component")
        raw = b64u_decode(d, "disclosure")
        try:
            arr = json.loads(raw)
        except Exception:
            script_fail("disclosure is not JSON")
        if not isinstance(arr, list) or len(arr) not in (2, 3):
            script_fail("disclosure is not a 2- or 3-element array")
        if not isinstance(arr[0], str):
            script_fail("disclosure salt is not a string")
        if len(arr) == 3 and not isinstance(arr[1], str):
            script_fail("disclosure claim name is not a string")
        by_digest.setdefault(sha256_b64u(d), arr)

    seen, used, top_level_disclosed = set(), set(), []

    def walk(v, top):
        if isinstance(v, list):
            for el in v:
                if isinstance(el, dict) and len(el) == 1 and isinstance(el.get("..."), str):
                    dig = el["..."]
                    # Spec: RFC 9901 §7.1 step 4.
                    if dig in seen:
                        script_fail("digest appears more than once")
                    seen.add(dig)
                    arr = by_digest.get(dig)
                    if arr is not None:
                        # Spec: RFC 9901 §7.1 step 3.3.3.1.
                        if len(arr) != 2:
                            script_fail("array-element digest refers to a non-2-element disclosure")
                        used.add(dig)
                        walk(arr[1], False)
                else:
                    walk(el, False)
        elif isinstance(v, dict):
            names = {k for k in v if k != "_sd"}
            if "_sd" in v:
                sd = v["_sd"]
                if not isinstance(sd, list) or any(not isinstance(x, str) for x in sd):
                    script_fail("_sd is not an array of strings")
                for dig in sd:
                    if dig in seen:
                        script_fail("digest appears more than once")
                    seen.add(dig)
                    arr = by_digest.get(dig)
                    if arr is None:
                        continue  # decoy or undisclosed
                    # Spec: RFC 9901 §7.1 step 3.3.2.1-3.
                    if len(arr) != 3:
                        script_fail("_sd digest refers to a non-3-element disclosure")
                    if arr[1] in ("_sd", "..."):
                        script_fail("disclosure claim name is _sd or ...")
                    if arr[1] in names:
                        script_fail("disclosed claim name already exists at its level")
                    names.add(arr[1])
                    if top:
                        top_level_disclosed.append(arr[1])
                    used.add(dig)
                    walk(arr[2], False)
            for k, x in v.items():
                if k != "_sd":
                    walk(x, False)

    walk(payload, True)
    # Spec: RFC 9901 §7.1 step 5.
    if any(d not in used for d in by_digest):
        script_fail("disclosure not referenced by any digest")

    if vc:
        # Spec: draft-ietf-oauth-sd-jwt-vc "Registered JWT Claims" (incl. sub-claims).
        for n in top_level_disclosed:
            if n in VC_NON_DISCLOSABLE:
                script_fail(f"claim {n} must not be selectively disclosed")
        for n in VC_NON_DISCLOSABLE:
            if n in payload and has_digests(payload[n]):
                script_fail(f"sub-claims of {n} must not be selectively disclosed")
        if not isinstance(payload.get("vct"), str):
            script_fail("vct is missing or not a string")


# ------------------------------------------------------------------- verify


def cmd_verify(req):
    sd_jwt = req.get("sd_jwt")
    if not isinstance(sd_jwt, str):
        input_fail("sd_jwt must be a string")
    check_p256_jwk(req.get("issuer_jwk"), False, "issuer_jwk")
    hb = req.get("holder_binding")
    if not isinstance(hb, bool):
        input_fail("holder_binding must be a boolean")
    aud, nonce = req.get("aud"), req.get("nonce")
    if hb and (not isinstance(aud, str) or not isinstance(nonce, str) or nonce == "" or aud == ""):
        input_fail("non-empty aud and nonce are required when holder_binding is true")
    now = int_opt(req, "now", int(time.time()))
    skew = int_opt(req, "skew", DEFAULT_SKEW)
    kb_max_age = int_opt(req, "kb_max_age", DEFAULT_KB_MAX_AGE)
    strict = req.get("strict", True)
    if not isinstance(strict, bool):
        input_fail("strict must be a boolean")
    expected_typ = req.get("expected_typ", DEFAULT_TYP)
    if expected_typ is not None and not isinstance(expected_typ, str):
        input_fail("expected_typ must be a string or null")
    vc = req.get("vc", True)
    if not isinstance(vc, bool):
        input_fail("vc must be a boolean")

    issuer_key = load_jwk(public_jwk(req["issuer_jwk"]), "issuer_jwk")
    try:
        # With expected_aud/expected_nonce set the library requires and checks the
        # KB-JWT: signature with cnf.jwk (alg forced to ES256), typ kb+jwt, aud,
        # nonce, sd_hash. Without them it ignores any KB-JWT.
        verifier = SDJWTVerifier(
            sd_jwt,
            lambda _iss, _header: issuer_key,
            expected_aud=aud if hb else None,
            expected_nonce=nonce if hb else None,
        )
        claims = verifier.get_verified_payload()
    except Exception as e:  # the library raises ValueError, KeyError, JWException, ...
        msg = str(e) or type(e).__name__
        return {"ok": False, "stage": "library", "error": msg[:MAX_ERR]}

    try:
        if not isinstance(claims, dict):
            script_fail("processed payload is not an object")
        check_times(claims, now, skew)
        if hb:
            # Rest of RFC 9901 §7.3 step 5 that the library does not check.
            kb = sd_jwt.split("~")[-1]
            header, payload = decode_jwt_parts(kb, "KB-JWT")
            if header.get("alg") != "ES256":  # §7.3 step 5.2
                script_fail("KB-JWT alg is not ES256")
            iat = payload.get("iat")
            if not is_num(iat):  # §4.3
                script_fail("KB-JWT iat missing")
            if iat > now + skew:  # §7.3 step 5.5
                script_fail("KB-JWT iat is in the future")
            if iat < now - kb_max_age - skew:  # §7.3 step 5.5
                script_fail("KB-JWT iat is too old")
        if strict:
            strict_checks(sd_jwt, expected_typ, vc)
        return {"ok": True, "claims": claims, "kb_checked": hb}
    except HarnessError as e:
        return {"ok": False, "stage": e.stage, "error": str(e)[:MAX_ERR]}
    except Exception as e:
        return {"ok": False, "stage": "script", "error": (str(e) or type(e).__name__)[:MAX_ERR]}


# -------------------------------------------------------------------- issue


def apply_frame(value, frame, where):
    """Translate an @sd-jwt disclosureFrame onto plain claims using SDObj markers."""
    if frame is None:
        return value
    if not isinstance(frame, dict):
        input_fail(f"disclosure frame at {where} must be an object")
    if "_sd_decoy" in frame:
        input_fail("_sd_decoy is not supported by sd-jwt-python (its decoys are global and random)")
    sd = frame.get("_sd", [])
    if not isinstance(sd, list):
        input_fail(f"_sd at {where} must be an array")
    if isinstance(value, dict):
        for k in frame:
            if k != "_sd" and k not in value:
                input_fail(f"frame names missing claim {where}.{k}")
        for k in sd:
            if not isinstance(k, str) or k not in value:
                input_fail(f"_sd at {where} names a missing claim {k!r}")
        out = {}
        for k, v in value.items():
            v2 = apply_frame(v, frame.get(k), f"{where}.{k}")
            out[SDObj(k) if k in sd else k] = v2
        return out
    if isinstance(value, list):
        for i in sd:
            if not is_int(i) or not 0 <= i < len(value):
                input_fail(f"_sd at {where} has a bad array index {i!r}")
        sub = {}
        for k, f in frame.items():
            if k == "_sd":
                continue
            try:
                idx = int(k)
            except ValueError:
                input_fail(f"frame key {k!r} at {where} is not an array index")
            if not 0 <= idx < len(value):
                input_fail(f"frame index {idx} at {where} out of range")
            sub[idx] = f
        out = []
        for i, v in enumerate(value):
            v2 = apply_frame(v, sub.get(i), f"{where}[{i}]")
            out.append(SDObj(v2) if i in sd else v2)
        return out
    input_fail(f"disclosure frame at {where} applies to a non-container value")


def claims_to_disclose(paths):
    """Translate claim paths into sd-jwt-python's claims_to_disclose structure."""
    if not isinstance(paths, list):
        input_fail("disclose must be an array of claim paths")
    tree = {}
    for p in paths:
        if not isinstance(p, list) or not p:
            input_fail("each claim path must be a non-empty array")
        node = tree
        for i, step in enumerate(p):
            if not isinstance(step, str) and not (is_int(step) and step >= 0):
                input_fail("path steps must be strings or array indexes")
            if i == len(p) - 1:
                if not isinstance(node.get(step), dict):
                    node[step] = True
            else:
                if not isinstance(node.get(step), dict):
                    node[step] = {}
                node = node[step]

    def convert(node):
        if node is True:
            return True
        if all(is_int(k) for k in node):
            out = [None] * (max(node) + 1 if node else 0)
            for k, v in node.items():
                out[k] = convert(v)
            return out
        if any(is_int(k) for k in node):
            input_fail("a claim path level mixes array indexes and object keys")
        return {k: convert(v) for k, v in node.items()}

    return convert(tree) if tree else {}


def cmd_issue(req):
    check_p256_jwk(req.get("issuer_jwk"), True, "issuer_jwk")
    check_p256_jwk(req.get("holder_jwk"), True, "holder_jwk")
    payload = req.get("payload")
    if not isinstance(payload, dict):
        input_fail("payload must be an object")
    if "cnf" in payload:
        input_fail("payload must not contain cnf (the script adds it)")
    aud, nonce, iat = req.get("aud"), req.get("nonce"), req.get("iat")
    if not isinstance(aud, str) or not isinstance(nonce, str) or not aud or not nonce:
        input_fail("non-empty aud and nonce are required")
    if not is_int(iat):
        input_fail("iat must be an integer")
    typ = req.get("typ", DEFAULT_TYP)
    if not isinstance(typ, str):
        input_fail("typ must be a string")
    user_claims = apply_frame(payload, req.get("disclosure_frame"), "$")
    to_disclose = claims_to_disclose(req.get("disclose", []))

    issuer_key = load_jwk(req["issuer_jwk"], "issuer_jwk")
    holder_priv = load_jwk(req["holder_jwk"], "holder_jwk")
    holder_pub = load_jwk(public_jwk(req["holder_jwk"]), "holder_jwk")  # library puts this in cnf.jwk
    issuer = SDJWTIssuer(
        user_claims,
        issuer_key,
        holder_key=holder_pub,
        sign_alg="ES256",
        extra_header_parameters={"typ": typ},
    )
    issued = issuer.sd_jwt_issuance
    holder = SDJWTHolder(issued)
    # The library stamps the KB-JWT with int(time()); pin it to the requested iat.
    sd_holder.time = lambda: iat
    holder.create_presentation(to_disclose, nonce=nonce, aud=aud, holder_key=holder_priv, sign_alg="ES256")
    return {"issued": issued, "presentation": holder.sd_jwt_presentation}


# --------------------------------------------------------------------- main


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("verify", "issue"):
        sys.stderr.write("usage: interop.py verify|issue < request.json\n")
        return 2
    cmd = sys.argv[1]

    def out(o):
        sys.stdout.write(json.dumps(o) + "\n")

    try:
        req = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    except Exception:
        req = None
    if not isinstance(req, dict):
        out({"ok": False, "stage": "input", "error": "stdin is not one JSON object"})
        return 2
    try:
        out(cmd_verify(req) if cmd == "verify" else cmd_issue(req))
        return 0
    except HarnessError as e:
        out({"ok": False, "stage": e.stage, "error": str(e)[:MAX_ERR]})
        return 2 if e.stage == "input" else 1
    except Exception as e:
        stage = "library" if cmd == "issue" else "script"
        out({"ok": False, "stage": stage, "error": (str(e) or type(e).__name__)[:MAX_ERR]})
        return 1


if __name__ == "__main__":
    sys.exit(main())
