#!/usr/bin/env python3
"""Compares what `vdc bench issuance --record` saw with the store's rows (scripts/faults.sh).

Usage: faults_check.py PHASE FAULT RECORD DUMPDIR BOUND_MS MGMT_BOUND_MS
  PHASE   a name for the figures (e.g. "postgres restart")
  FAULT   `db` (the database went away: every answered failure must be a fast 503
          `temporarily_unavailable`, and every flow must complete) or `crash` (vdc was
          killed: requests in flight get no answer, and a code or nonce they consumed stays
          consumed, so such a flow may end in invalid_grant / invalid_nonce)
  RECORD  the bench's JSON lines (one per HTTP request)
  DUMPDIR tab-separated dumps of the store's tables (see faults.sh)
  BOUND_MS the longest a failed request to a protocol endpoint (token, nonce, credential)
          may take (R2: fast 5xx, never a hang)
  MGMT_BOUND_MS the same for the management API (offer creation), which makes one more
          store call when the action failed (its audit entry): docs/SECURITY.md known gaps

Invariants (docs/SECURITY.md, R1/R2, G2, G9), each printed as a figure; exit 1 on any
violation:
  R1  every credential the client received has its issued_credentials row (same offer,
      holder key, status list and index), and every row's status entry is bound to it
  G9  no (status list, index) belongs to two credentials, in the rows or in what the
      client received
  G2  no pre-authorized code was redeemed twice (one token per offer, client and rows), no
      c_nonce yielded two credentials, no holder key got two credentials (a retried
      request never issues again)
  R2  failed requests are fast (< BOUND_MS) 5xx or no answer, never a timeout, never a 500;
      on the protocol endpoints a 503 says `temporarily_unavailable`; a 503 changed nothing
      (the same retry never meets invalid_grant / invalid_nonce after it); flows succeed
      after the fault
"""

import collections
import json
import os
import sys

PROTOCOL_STEPS = ("token", "nonce", "credential")


def rows(dumpdir, name):
    path = os.path.join(dumpdir, name + ".tsv")
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def main():
    phase, fault, record, dumpdir, bound_ms, mgmt_bound_ms = sys.argv[1:7]
    bound_ms, mgmt_bound_ms = float(bound_ms), float(mgmt_bound_ms)
    violations = []

    def violation(text):
        violations.append(text)

    lines = []
    with open(record, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                violation(f"record line {n} is not JSON")

    # Store rows (issuer `demo`).
    issued = rows(dumpdir, "issued_credentials")  # credential_id offer_id thumb list idx
    entries = rows(dumpdir, "status_entries")  # list idx credential_id
    tokens = rows(dumpdir, "access_tokens")  # offer_id
    nonces = {r[0]: r[1] for r in rows(dumpdir, "c_nonces")}  # hash -> consumed_at or ''

    by_flow = collections.defaultdict(list)
    for line in lines:
        by_flow[line["flow"]].append(line)

    # --- R2: what failed, how fast, with which answer -------------------------------
    failed = [l for l in lines if l["outcome"] != "ok"]
    transient = [
        l
        for l in failed
        if l["outcome"] in ("transport", "timeout")
        or (l["outcome"] == "error" and l.get("status", 0) >= 500)
    ]
    for l in failed:
        where = f"flow {l['flow']} {l['step']} attempt {l['attempt']}"
        if l["outcome"] == "timeout":
            violation(f"R2: {where} got no answer within the request timeout (a hang)")
        elif l["outcome"] == "invalid":
            violation(f"{where}: answer breaks the protocol: {l.get('detail')}")
        elif l["outcome"] == "error" and l.get("status", 0) >= 500:
            if l["status"] != 503:
                violation(f"R2: {where} answered {l['status']} {l.get('error')} (not 503)")
            elif l["step"] in PROTOCOL_STEPS and l.get("error") != "temporarily_unavailable":
                violation(f"R2: {where} answered 503 {l.get('error')}, not temporarily_unavailable")
        bound = bound_ms if l["step"] in PROTOCOL_STEPS else mgmt_bound_ms
        if l["ms"] >= bound:
            violation(f"R2: {where} failed after {l['ms']:.0f} ms (bound {bound:.0f} ms)")
        if fault == "db" and l["outcome"] == "transport":
            violation(f"R2: {where} got no answer during a database outage ({l.get('detail')})")

    # A 503 changed nothing: the same code / proof retried after it never meets
    # "already used". After no answer at all (crash) the request may have committed.
    consumed_errors = {"token": "invalid_grant", "credential": "invalid_nonce"}
    lost_after_crash = 0
    other_4xx = []
    for flow, ls in by_flow.items():
        for step, code in consumed_errors.items():
            attempts = [l for l in ls if l["step"] == step]
            for i, l in enumerate(attempts):
                if l["outcome"] == "error" and l.get("status", 0) < 500:
                    before = attempts[:i]
                    if l.get("error") == code and before and before[-1]["outcome"] == "transport":
                        lost_after_crash += 1
                    elif l.get("error") == code and before:
                        violation(
                            f"R2: flow {flow} {step}: {code} on the retry after "
                            f"{before[-1]['outcome']} {before[-1].get('status', '')}: "
                            "the failed request consumed the artifact"
                        )
                    else:
                        other_4xx.append(l)
        for l in ls:
            if l["outcome"] == "error" and l.get("status", 0) < 500 and l["step"] not in consumed_errors:
                other_4xx.append(l)
    for l in other_4xx:
        violation(
            f"flow {l['flow']} {l['step']} attempt {l['attempt']}: unexpected "
            f"{l.get('status')} {l.get('error')}"
        )

    # --- What the client received ------------------------------------------------
    delivered = [l for l in lines if l["step"] == "credential" and l["outcome"] == "ok"]
    token_ok = collections.Counter(
        l["offer_id"] for l in lines if l["step"] == "token" and l["outcome"] == "ok"
    )
    flows_ok = {l["flow"] for l in delivered}
    flows_all = set(by_flow)

    # --- R1: every delivered credential has its record ---------------------------
    by_entry = {}
    for cred_id, offer_id, thumb, list_id, idx in issued:
        if (list_id, idx) in by_entry:
            violation(f"G9: status entry ({list_id}, {idx}) recorded for two credentials")
        by_entry[(list_id, idx)] = (cred_id, offer_id, thumb)
    seen_entries = collections.Counter()
    for l in delivered:
        sl = l.get("status_list") or {}
        uri, idx = sl.get("uri", ""), str(sl.get("idx", ""))
        list_id = uri.rsplit("/", 1)[-1]
        seen_entries[(list_id, idx)] += 1
        row = by_entry.get((list_id, idx))
        if row is None:
            violation(
                f"R1: flow {l['flow']} received a credential with status ({list_id}, {idx}) "
                "that has no issuance record"
            )
        elif (row[1], row[2]) != (l["offer_id"], l["holder_thumbprint"]):
            violation(
                f"R1: flow {l['flow']}: the record of status ({list_id}, {idx}) is for another "
                "offer or holder key"
            )
    for entry, n in seen_entries.items():
        if n > 1:
            violation(f"G9: {n} delivered credentials carry status entry {entry}")

    # Every record's status entry is allocated and bound to it (revocable).
    bound = {(r[0], r[1]): r[2] for r in entries}
    unbound = sum(1 for r in entries if not r[2])
    for (list_id, idx), (cred_id, _, _) in by_entry.items():
        if bound.get((list_id, idx)) != cred_id:
            violation(f"R1: credential {cred_id}: status entry ({list_id}, {idx}) not bound to it")
    no_entry = sum(1 for r in issued if not r[3])
    if no_entry:
        violation(f"R1: {no_entry} issuance records without a status entry")

    # --- G2: single use ------------------------------------------------------------
    for offer, n in token_ok.items():
        if n > 1:
            violation(f"G2: offer {offer}: the client got {n} access tokens")
    for offer, n in collections.Counter(r[0] for r in tokens).items():
        if n > 1:
            violation(f"G2: offer {offer}: {n} access tokens stored")
    for offer, n in collections.Counter(r[1] for r in issued).items():
        if n > 1:
            violation(f"G2: offer {offer}: {n} credentials issued (one request each)")
    for thumb, n in collections.Counter(r[2] for r in issued).items():
        if n > 1:
            violation(f"G2: holder key {thumb}: {n} credentials issued for one request")
    for nonce, n in collections.Counter(l["nonce_sha256"] for l in delivered).items():
        if n > 1:
            violation(f"G2: one c_nonce yielded {n} credentials")
    for l in delivered:
        consumed = nonces.get(l["nonce_sha256"])
        if consumed is None:
            violation(f"G2: flow {l['flow']}: the c_nonce of its credential is not in the store")
        elif not consumed:
            violation(f"G2: flow {l['flow']}: the c_nonce of its credential is not consumed")

    # --- Figures -------------------------------------------------------------------
    if transient:
        start = min(l["at_ms"] for l in transient)
        end = max(l["at_ms"] + l["ms"] for l in transient)
    else:
        start = end = None
    during = [l for l in lines if start is not None and l["at_ms"] <= end and l["at_ms"] + l["ms"] >= start]
    before = {l["flow"] for l in delivered if start is not None and l["at_ms"] + l["ms"] < start}
    after_flows = set()
    if end is not None:
        for flow, ls in by_flow.items():
            if min(l["at_ms"] for l in ls) > end and flow in flows_ok:
                after_flows.add(flow)
    max_failed = max((l["ms"] for l in failed if l["step"] in PROTOCOL_STEPS), default=0.0)
    max_failed_mgmt = max((l["ms"] for l in failed if l["step"] not in PROTOCOL_STEPS), default=0.0)
    max_any = max((l["ms"] for l in lines), default=0.0)
    by_answer = collections.Counter(
        f"{l['step']} {l['outcome']}"
        + (f" {l.get('status')} {l.get('error')}" if l["outcome"] == "error" else "")
        for l in failed
    )

    print(f"== {phase}")
    if start is None:
        violation("the fault was not observed: no request failed (it came too late or too early)")
        print("  no failed request")
    else:
        print(
            f"  fault window (first to last failed request): {(end - start) / 1000:.2f} s; "
            f"{len(during)} requests in it, {len(transient)} failed transiently"
        )
    for answer, n in sorted(by_answer.items()):
        print(f"    {n:5d} × {answer}")
    print(
        f"  slowest failed request: protocol endpoints {max_failed:.1f} ms (bound {bound_ms:.0f} ms), "
        f"management API {max_failed_mgmt:.1f} ms (bound {mgmt_bound_ms:.0f} ms); "
        f"slowest request of all: {max_any:.1f} ms"
    )
    print(
        f"  flows: {len(flows_all)} started, {len(flows_ok)} completed "
        f"({len(before)} before the fault, {len(after_flows)} started after it)"
    )
    print(
        f"  client received {len(delivered)} credentials, {sum(token_ok.values())} access tokens; "
        f"store holds {len(issued)} issuance records, {len(tokens)} access tokens, "
        f"{len(entries)} status entries ({unbound} unbound: allocated, never used), "
        f"{sum(1 for v in nonces.values() if v)} consumed nonces"
    )
    if fault == "crash":
        print(
            f"  lost in the crash (consumed, never delivered): {lost_after_crash} requests; "
            f"records without a delivered credential: {len(issued) - len(delivered)}"
        )
    if end is not None and not after_flows:
        violation("R2: no flow started and succeeded after the fault")
    if fault == "db" and flows_ok != flows_all:
        violation(
            f"R2: {len(flows_all - flows_ok)} flows did not complete although every step may be "
            "retried after a database outage"
        )

    for v in violations:
        print(f"  VIOLATION {v}")
    print(f"  {'FAIL' if violations else 'ok'}: {len(violations)} violations")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
