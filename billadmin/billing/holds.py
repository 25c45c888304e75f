"""What is ready to bill, and what is held: the encounters with unbilled lines, and the rules
that hold an encounter. The rules are the scrubber's registry (scrub/rules.py, `codes rules`);
the CLAIM-* checks are scrub/claim.py's, run here over the run's own bill-to."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..findings import Finding
from ..scrub import claim
from ..scrub.rules import RULES
from .result import Held, Progress, RunResult

if TYPE_CHECKING:
    import datetime as _dt

    from ..db import Database

# scrubber rule -> our structural rule that says the same thing (ours is dropped when both fire)
_SAME_AS = {"CLM-POINTER": "CLAIM-POINTER"}


def claim_finding(rule: str, message: str, enc: dict, line: int | None = None) -> Finding:
    """A hold of `rule` (scrub/rules.py's registry gives its severity and source)."""
    r = RULES[rule]
    return Finding(
        rule=rule,
        severity=r.severity,
        message=message,
        encounter=enc["number"],
        line=line,
        source=r.source,
        encounter_id=enc["id"],
    )


def candidates(conn: Database, through: str) -> dict[int, dict]:
    """Encounters with unbilled charge lines on or before `through`, each with its lines."""
    encs: dict[int, dict] = {}
    for r in conn.execute(
        "SELECT c.id, c.encounter_id, c.line_no, c.code, c.modifier1, c.modifier2, c.modifier3, c.modifier4,"
        " c.dx_pointers, c.units, c.charge_cents, e.number, e.patient_id, e.provider_id, e.date_of_service,"
        " e.place_of_service FROM charge_lines c JOIN encounters e ON e.id = c.encounter_id"
        " WHERE c.status = 'unbilled' AND e.date_of_service <= ? ORDER BY c.encounter_id, c.line_no",
        (through,),
    ):
        e = encs.get(r[1])
        if e is None:
            e = encs[r[1]] = {
                "id": r[1],
                "number": r[11],
                "patient_id": r[12],
                "provider_id": r[13],
                "date_of_service": r[14],
                "place_of_service": r[15],
                "lines": [],
            }
        e["lines"].append(
            {
                "charge_line_id": r[0],
                "line_no": r[2],
                "code": (r[3] or "").strip().upper(),
                "modifier1": r[4],
                "modifier2": r[5],
                "modifier3": r[6],
                "modifier4": r[7],
                "dx_pointers": r[8],
                "units": r[9],
                "charge_cents": r[10],
            }
        )
    from .content import load_claim_fields

    load_claim_fields(conn, encs)  # NDC, referring/ordering, authorization, CLIA (issue 20)
    return encs


def already_billed(conn: Database, enc_table: str) -> dict[int, str]:
    """Encounter id -> number of an active invoice (not voided or replaced) holding its lines."""
    return claim.already_billed(conn, f"SELECT id FROM {enc_table}")


def check_claim(enc: dict, dx: list[str], patient: dict, cov: dict, payer: dict) -> list[Finding]:
    """The CLAIM-* rules (scrub/claim.py, registered in scrub/rules.py) for one encounter billed
    on `cov` to `payer`, and the scrubber's X12-* rules, so a run without it holds them too."""
    out = []
    code = payer["code"]

    def add(rule: str, message: str | None, line: int | None = None) -> None:
        if message:
            out.append(claim_finding(rule, message, enc, line))

    add("CLAIM-NO-DX", claim.no_dx(len(dx)))
    add("CLAIM-LINES", claim.too_many_lines(len(enc["lines"])))
    for ln in enc["lines"]:
        for msg in claim.pointer_problems(ln["dx_pointers"], len(dx)):
            add("CLAIM-POINTER", msg, ln["line_no"])
        add("CLAIM-CHARGE", claim.charge_problem(ln["charge_cents"], ln["units"]), ln["line_no"])
    add(
        "CLAIM-ADDRESS",
        claim.address_problem(
            patient.get("address1"), patient.get("city"), patient.get("state"), patient.get("zip")
        ),
    )
    add("CLAIM-PAYER-ID", claim.payer_id_problem(payer.get("x12_payer_id"), code))
    add("CLAIM-MEMBER-ID", claim.member_id_problem(cov.get("member_id"), code))
    add(
        "CLAIM-SUBSCRIBER",
        claim.subscriber_problem(
            cov.get("relationship"), cov.get("subscriber_last"), cov.get("subscriber_first"), code
        ),
    )
    from ..x12 import text

    for msg in text.claim_text_problems(patient, cov, payer):
        add("X12-TEXT-EMPTY", msg)
    for msg in text.claim_identifier_problems(cov, payer):
        add("X12-ID-CHARS", msg)
    return out


def hold(
    conn: Database,
    result: RunResult,
    *,
    claim_encs: list[dict],
    self_encs: list[dict],
    enc_table: str,
    dxs: dict[int, list[str]],
    pats: dict[int, dict],
    payers: dict[int, dict],
    scrub: Callable | None,
    today: _dt.date,
    say: Progress,
) -> set[int]:
    """Check every encounter in scope; the ones with an error are held (`result.held`, sorted by
    encounter number) and their ids returned. Warnings are only counted."""
    in_scope = claim_encs + self_encs
    findings: dict[int, list[Finding]] = defaultdict(list)
    billed = already_billed(conn, enc_table)
    for e in in_scope:
        if e["id"] in billed:
            findings[e["id"]].append(
                claim_finding("ALREADY-BILLED", claim.already_billed_message(billed[e["id"]]), e)
            )
    for e in claim_encs:
        findings[e["id"]] += check_claim(
            e,
            dxs.get(e["id"], []),
            pats[e["patient_id"]],
            e["coverage"],
            payers[e["coverage"]["payer_id"]],
        )
    t1 = time.perf_counter()
    if scrub is not None and in_scope:
        say(f"scrubbing {len(in_scope):,} encounter(s)")
        _add_scrub_findings(conn, result, findings, in_scope, scrub, today)
    result.timings["scrub"] = time.perf_counter() - t1
    for eid, fs in findings.items():
        # the scrubber's own pointer rule says the same as ours: keep one finding per line
        theirs = {(f.line, _SAME_AS.get(f.rule)) for f in fs if f.rule in _SAME_AS}
        if theirs:
            fs = findings[eid] = [f for f in fs if (f.line, f.rule) not in theirs]
        # the X12-* rules run on both sides (check_claim and the scrubber): keep one of each
        twice = {(f.rule, f.message) for f in fs if f.rule.startswith("X12-")}
        if twice:
            kept = []
            for f in fs:
                if f.rule.startswith("X12-"):
                    if (f.rule, f.message) not in twice:
                        continue
                    twice.discard((f.rule, f.message))
                kept.append(f)
            findings[eid] = kept
    held_ids = {eid for eid, fs in findings.items() if any(f.severity == "error" for f in fs)}
    number = {e["id"]: e["number"] for e in in_scope}
    result.held = sorted(
        (
            Held(number[eid], eid, [f for f in findings[eid] if f.severity == "error"])
            for eid in held_ids
        ),
        key=lambda h: h.encounter,
    )
    return held_ids


def _add_scrub_findings(
    conn: Database,
    result: RunResult,
    findings: dict[int, list[Finding]],
    in_scope: list[dict],
    scrub: Callable,
    today: _dt.date,
) -> None:
    """The scrubber's errors join the encounter's findings; its warnings are counted."""
    by_number = {e["number"]: e["id"] for e in in_scope}
    scope_ids = set(by_number.values())
    # all unbilled encounters in scope: let the scrubber take its whole-table path
    n_unbilled = conn.execute(
        "SELECT COUNT(DISTINCT encounter_id) FROM charge_lines WHERE status = 'unbilled'"
    ).fetchone()[0]
    ids = None if n_unbilled == len(in_scope) else [e["id"] for e in in_scope]
    for f in scrub(conn, encounter_ids=ids, as_of=today):
        eid = f.encounter_id or by_number.get(f.encounter)
        if eid is None or eid not in scope_ids or f.rule in claim.GENERATE_RULES:
            continue  # (the CLAIM-* rules and ALREADY-BILLED ran above, on this run's bill-to)
        if f.severity == "error":
            findings[eid].append(f)
        else:
            result.warnings += 1
