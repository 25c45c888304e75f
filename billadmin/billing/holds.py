"""What is ready to bill, and what is held: the encounters with unbilled lines, and the rules
that hold an encounter. The rules are the scrubber's registry (scrub/rules.py, `codes rules`);
the CLAIM-* checks are scrub/claim.py's, run here over the run's own bill-to."""

from __future__ import annotations

import json
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


class ChargeLine:
    """An unbilled charge line as `invoice generate` reads it: a slotted record read like the dict
    it stands for (`ln["code"]`, `ln.get("fields")`, `ln["fields"] = ...`), so the code that also
    takes plain dicts (lifecycle's replacements) reads both. A large run holds 300,000 of these
    from the gather to its payer's claims: a dict per line was about a third of its memory."""

    __slots__ = (
        "charge_line_id",
        "line_no",
        "code",
        "modifier1",
        "modifier2",
        "modifier3",
        "modifier4",
        "dx_pointers",
        "units",
        "charge_cents",
        "fields",
    )
    __getitem__ = object.__getattribute__
    __setitem__ = object.__setattr__

    def __init__(self, charge_line_id, line_no, code, m1, m2, m3, m4, dx_pointers, units, cents):
        self.charge_line_id = charge_line_id
        self.line_no = line_no
        self.code = code
        self.modifier1 = m1
        self.modifier2 = m2
        self.modifier3 = m3
        self.modifier4 = m4
        self.dx_pointers = dx_pointers
        self.units = units
        self.charge_cents = cents
        self.fields = None

    def get(self, key: str, default=None):
        return getattr(self, key, default)

    def keys(self) -> tuple[str, ...]:
        return self.__slots__

    def __contains__(self, key: str) -> bool:
        return key in self.__slots__


def candidates(conn: Database, through: str, table: str = "_gen_enc") -> dict[int, dict]:
    """Encounters with unbilled charge lines on or before `through`, each with its lines
    (ChargeLine records; codes, dates and amounts repeat across encounters and are kept once).
    Their ids are left in the temp table `table` (temp.<table>), for the caller's joins too."""
    encs: dict[int, dict] = {}
    once: dict = {}  # one object per distinct date and place of service (memory)
    keep = once.setdefault
    # the encounters in one query and their lines in another, rather than each line joined to
    # its encounter: five columns fewer to read for every line (300,000 at 100,000 encounters)
    heads = {
        eid: (number, pid, prov, dos, pos)
        for eid, number, pid, prov, dos, pos in conn.execute(
            "SELECT e.id, e.number, e.patient_id, e.provider_id, e.date_of_service,"
            " e.place_of_service FROM encounters e WHERE e.date_of_service <= ? AND e.id IN"
            " (SELECT encounter_id FROM charge_lines WHERE status = 'unbilled')",
            (through,),
        )
    }
    # a line's values but its id and number come as one json_array text (charge_lines is
    # STRICT, its columns TEXT and INTEGER: json_array writes each exactly, with its type), read
    # once per distinct text: a practice's lines repeat a few hundred of them, and one text a
    # line costs SQLite and Python less than eight values (issue 15). The values are then
    # shared by the lines that carry them (memory), the code as billed (trimmed, upper case).
    values: dict[str, tuple] = {}
    last = None
    lines: list[ChargeLine] = []
    add = lines.append
    for lid, eid, no, text in conn.execute(
        "SELECT id, encounter_id, line_no, json_array(code, modifier1, modifier2, modifier3,"
        " modifier4, dx_pointers, units, charge_cents) FROM charge_lines"
        " WHERE status = 'unbilled' ORDER BY encounter_id, line_no"
    ):
        if eid != last:
            last = eid
            lines = []
            add = lines.append  # (bound once per encounter)
            head = heads.get(eid)
            if head is not None:  # else served after `through`: its lines go nowhere
                number, pid, prov, dos, pos = head
                encs[eid] = {
                    "id": eid,
                    "number": number,
                    "patient_id": pid,
                    "provider_id": prov,
                    "date_of_service": keep(dos, dos),
                    "place_of_service": keep(pos, pos),
                    "lines": lines,
                }
        got = values.get(text)
        if got is None:
            code, *rest = json.loads(text)
            got = values[text] = ((code or "").strip().upper(), *rest)
        add(ChargeLine(lid, no, *got))
    del heads
    from .content import load_claim_fields, temp_ids

    # NDC, referring/ordering, authorization, CLIA (issue 20)
    load_claim_fields(conn, encs, table=temp_ids(conn, table, encs))
    return encs


def already_billed(conn: Database, enc_table: str) -> dict[int, str]:
    """Encounter id -> number of an active invoice (not voided or replaced) holding its lines."""
    return claim.already_billed(conn, f"SELECT id FROM {enc_table}")


def check_claim(
    enc: dict,
    dx: list[str],
    patient: dict,
    cov: dict,
    payer: dict,
    memo: dict | None = None,
) -> list[Finding]:
    """The CLAIM-* rules (scrub/claim.py, registered in scrub/rules.py) for one encounter billed
    on `cov` to `payer`, and the scrubber's X12-* rules, so a run without it holds them too.
    `memo` (a run's dict) keeps what depends only on the patient, coverage and payer, and on a
    line's pointers and amounts: a patient's encounters are checked against them once."""
    out: list[Finding] = []
    n_dx = len(dx)
    lines = enc["lines"]
    msg = claim.no_dx(n_dx)
    if msg:
        out.append(claim_finding("CLAIM-NO-DX", msg, enc))
    msg = claim.too_many_lines(len(lines))
    if msg:
        out.append(claim_finding("CLAIM-LINES", msg, enc))
    # the line answers and the party answers in dicts of their own in the memo: a run checks
    # 300,000 lines (one key and one lookup each, no call where nothing is found)
    if memo is None:
        memo = {}
    by_line = memo.get("lines")
    if by_line is None:
        by_line = memo["lines"] = {}
    for ln in lines:
        key = (ln["dx_pointers"], n_dx, ln["charge_cents"], ln["units"])
        got = by_line.get(key)
        if got is None:
            got = by_line[key] = _line_problems(*key)
        if got:
            no = ln["line_no"]
            out += [claim_finding(rule, m, enc, no) for rule, m in got if m]
    pid = patient.get("id")
    party: list[tuple[str, str]] | None = None
    if pid is None:  # (a patient without an id is not kept)
        party = _party_problems(patient, cov, payer)
    else:
        by_party = memo.get("parties")
        if by_party is None:
            by_party = memo["parties"] = {}
        pkey = (pid, cov.get("id"), payer.get("id"))
        party = by_party.get(pkey)
        if party is None:
            party = by_party[pkey] = _party_problems(patient, cov, payer)
    for rule, m in party:
        out.append(claim_finding(rule, m, enc))
    return out


def _line_problems(ptrs: str | None, n_dx: int, cents: int, units: int) -> list[tuple[str, str]]:
    """check_claim's rules over one line: its pointers against n_dx diagnoses, its amounts."""
    got = [("CLAIM-POINTER", m) for m in claim.pointer_problems(ptrs, n_dx)]
    charge = claim.charge_problem(cents, units)
    if charge:
        got.append(("CLAIM-CHARGE", charge))
    return got


def _party_problems(patient: dict, cov: dict, payer: dict) -> list[tuple[str, str]]:
    """check_claim's rules over the patient, coverage and payer, in its order."""
    from ..x12 import text

    code = payer["code"]
    found = [
        (
            "CLAIM-ADDRESS",
            claim.address_problem(
                patient.get("address1"),
                patient.get("city"),
                patient.get("state"),
                patient.get("zip"),
            ),
        ),
        ("CLAIM-PAYER-ID", claim.payer_id_problem(payer.get("x12_payer_id"), code)),
        ("CLAIM-MEMBER-ID", claim.member_id_problem(cov.get("member_id"), code)),
        (
            "CLAIM-SUBSCRIBER",
            claim.subscriber_problem(
                cov.get("relationship"),
                cov.get("subscriber_last"),
                cov.get("subscriber_first"),
                code,
            ),
        ),
    ]
    found += [("X12-TEXT-EMPTY", m) for m in text.claim_text_problems(patient, cov, payer)]
    found += [("X12-ID-CHARS", m) for m in text.claim_identifier_problems(cov, payer)]
    return [(rule, msg) for rule, msg in found if msg]


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
    memo: dict = {}
    for e in claim_encs:
        fs = check_claim(
            e,
            dxs.get(e["id"], []),
            pats[e["patient_id"]],
            e["coverage"],
            payers[e["coverage"]["payer_id"]],
            memo,
        )
        if fs:  # (no empty list for each of 100,000 encounters)
            findings[e["id"]] += fs
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
    number = {e["id"]: e["number"] for e in in_scope if e["id"] in held_ids}
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
    # all unbilled encounters in scope: let the scrubber take its whole-table path
    n_unbilled = conn.execute(
        "SELECT COUNT(DISTINCT encounter_id) FROM charge_lines WHERE status = 'unbilled'"
    ).fetchone()[0]
    ids = None if n_unbilled == len(in_scope) else [e["id"] for e in in_scope]
    rules = _kept_rules(scrub)
    if rules is None:
        found = scrub(conn, encounter_ids=ids, as_of=today)
    else:
        found = scrub(conn, encounter_ids=ids, as_of=today, rules=rules)
    del ids  # (the scrubber's peak is the run's: nothing built for after it is held during it)
    by_number = {e["number"]: e["id"] for e in in_scope}
    scope_ids = set(by_number.values())
    for f in found:
        eid = f.encounter_id or by_number.get(f.encounter)
        if eid is None or eid not in scope_ids or f.rule in claim.GENERATE_RULES:
            continue  # (the CLAIM-* rules and ALREADY-BILLED ran above, on this run's bill-to)
        if f.severity == "error":
            findings[eid].append(f)
        else:
            result.warnings += 1


def _kept_rules(scrub: Callable) -> list[str] | None:
    """What to ask a scrubber that takes `rules` (billadmin.scrub.check does): every rule but
    those check_claim computes over the run's own bill-to (claim.GENERATE_RULES), whose
    findings _add_scrub_findings would drop. Not asking saves their work for every encounter
    (issue 15: four rules and two whole-scope queries at 100,000 encounters). None: a scrubber
    without `rules` (tests inject some), or whose `rules` the caller bound (a partial, a
    default other than None: those rules only), is called as before, without `rules`."""
    import inspect

    try:
        param = inspect.signature(scrub).parameters.get("rules")
    except (TypeError, ValueError):  # (a callable without a signature)
        param = None
    takes = (
        param is not None
        and param.default is None
        and param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY)
    )
    return [r for r in RULES if r not in claim.GENERATE_RULES] if takes else None
