"""Long 837P claims: an encounter with more service lines than one claim holds is split into
several claims, or held, as the practice's setting `claim.long_claims` says (`practice set
--long-claims split|hold`; default hold).

Rules:
- Loop 2400 (service line) repeats at most 50 times in one 837P claim (TR3 005010X222A1,
  loop 2400 repeat 50; the 837I allows 999). Under `hold` such an encounter is held with
  CLAIM-LINES (scrub/claim.py), as before this setting existed.
- Under `split` an encounter with N > 50 billable lines becomes ceil(N/50) claims, in line
  order (date of service, then line number): 50 lines each, the rest on the last. Each claim
  has its own claim number (CLM01) and total (CLM02, the sum of its lines), the encounter's
  whole diagnosis list (HI) so every line's pointers keep pointing at the same codes, and the
  co-pays collected that day on the first only (billing/claims.py pops them for the first claim
  of the day it builds).
- Each part says so in its content (`"split": {"part": k, "of": n}`) and in the 837P as a claim
  note, NTE*ADD (2300 NTE, "Claim Note", usage situational, one per claim; ADD = additional
  information), so the payer sees the claims belong together; `invoice generate`'s listing
  says "part k of n" beside the encounter.
- A split encounter is billed on several claims by design. ALREADY-BILLED (scrub/claim.py) does
  not count its parts while lines of a part are being billed again: `invoice replace|resubmit`
  of a part rebuilds that part only, from its own lines as corrected (`replacement_lines`), and
  the lines of a part voided with `--rebill` go out on a new claim marked as that part again
  (`_rebilled`). A line added to the encounter after it was billed still holds it
  (ALREADY-BILLED): replacing a part adds the line to that part.
- Only an encounter held for CLAIM-LINES alone is split; one held for other errors as well stays
  held, with its other findings (CLAIM-LINES is left out: it would be split once they are fixed).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..errors import Conflict
from ..scrub.claim import MAX_LINES

if TYPE_CHECKING:
    from ..db import Database
    from .result import RunResult

SETTING = "claim.long_claims"
MODES = ("hold", "split")
DEFAULT = "hold"


def mode(conn: Database) -> str:
    """The practice's setting: 'split' or 'hold' (the default)."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (SETTING,)).fetchone()
    return row[0] if row and row[0] in MODES else DEFAULT


def normalise(value: str) -> str:
    """`--long-claims` as typed: split or hold (ValueError otherwise, never echoing the value)."""
    v = value.strip().lower()
    if v not in MODES:
        raise ValueError("long claims must be split or hold")
    return v


def parts(lines: list[dict], size: int = MAX_LINES) -> list[list[dict]]:
    """The lines in line order (date, then line number), cut into claims of `size` lines."""
    ordered = sorted(lines, key=lambda ln: (ln.get("date_of_service") or "", ln["line_no"]))
    return [ordered[k : k + size] for k in range(0, len(ordered), size)]


def split_encounter(e: dict) -> list[dict]:
    """An encounter (as `invoice generate` reads it) as the claims it is billed on: itself when
    its lines fit one claim, else one copy per part with that part's lines and `split`."""
    if len(e["lines"]) <= MAX_LINES:
        return [e]
    chunks = parts(e["lines"])
    return [
        {**e, "lines": chunk, "split": {"part": k, "of": len(chunks)}}
        for k, chunk in enumerate(chunks, start=1)
    ]


def long_claims(
    conn: Database, prac: dict, result: RunResult, claim_encs: list[dict], held: set[int]
) -> set[int]:
    """`invoice generate`, right after the holds: under `split`, each encounter held only for
    CLAIM-LINES is released and replaced in `claim_encs` (in place) by its parts; from the ones
    held for other errors too, the CLAIM-LINES finding is dropped; lines of a part given back by
    `invoice void --rebill` go out marked as that part again (`_rebilled`). Returns the ids
    still held."""
    if prac.get("long_claims") != "split":
        return held
    kept = []
    released: set[int] = set()
    for h in result.held:
        rest = [f for f in h.findings if f.rule != "CLAIM-LINES"]
        if len(rest) == len(h.findings):
            kept.append(h)
        elif any(f.severity == "error" for f in rest):
            h.findings = rest
            kept.append(h)
        else:
            released.add(h.encounter_id)
    result.held = kept
    out: list[dict] = []
    for e in claim_encs:
        if e["id"] in released:
            out += split_encounter(e)
        elif e["id"] not in held:
            out.append(e)
    _rebilled(conn, [e for e in out if "split" not in e])
    claim_encs[:] = out
    return held - released


def _rebilled(conn: Database, encs: list[dict]) -> None:
    """Encounters whose lines were on a part of a split claim before (voided with --rebill): the
    new claim is that part again (the latest part that held any of its lines)."""
    from .content import temp_ids

    if not encs:
        return
    t = temp_ids(conn, "_split_encs", {e["id"] for e in encs})
    was: dict[int, dict] = {}
    for line_id, data in conn.execute(
        f"SELECT l.charge_line_id, json_extract(s.data, '$.split') FROM {t} t"
        " JOIN invoices i ON i.encounter_id = t.id JOIN invoice_snapshots s ON s.invoice_id = i.id"
        " JOIN invoice_lines l ON l.invoice_id = i.id WHERE i.kind = 'claim'"
        " AND json_extract(s.data, '$.split') IS NOT NULL ORDER BY i.id"
    ):
        was[line_id] = json.loads(data)
    if not was:
        return
    for e in encs:
        parts_of = [was[ln["charge_line_id"]] for ln in e["lines"] if ln["charge_line_id"] in was]
        if parts_of:
            e["split"] = parts_of[-1]


def label(encounter: str | None, split: dict | None) -> str | None:
    """The encounter as a listing shows it: "E000123 (part 2 of 3)" for a part."""
    if not split or encounter is None:
        return encounter
    return f"{encounter} (part {split['part']} of {split['of']})"


def of_invoice(conn: Database, invoice_id: int) -> dict | None:
    """The `split` of an issued claim's content, or None."""
    row = conn.execute(
        "SELECT json_extract(data, '$.split') FROM invoice_snapshots WHERE invoice_id = ?",
        (invoice_id,),
    ).fetchone()
    return json.loads(row[0]) if row and row[0] else None


def replacement_lines(conn: Database, orig: dict, enc: dict) -> None:
    """For `invoice replace|resubmit` (`enc` as lifecycle._encounter_now read it, every current
    line of the encounter): the lines on another active claim of the encounter (the other parts
    of a split encounter) are left out, so the new claim carries the original's lines as
    corrected and any added since; a part's `split` is carried into it. An encounter billed on
    one claim keeps every line."""
    elsewhere = {
        r[0]
        for r in conn.execute(
            "SELECT l.charge_line_id FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id"
            " WHERE i.encounter_id = ? AND i.kind = 'claim' AND i.id != ?"
            " AND l.charge_line_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM invoice_events v"
            " WHERE v.invoice_id = i.id AND v.status IN ('voided', 'replaced', 'corrected'))",
            (enc["id"], orig["id"]),
        )
    }
    part = of_invoice(conn, orig["id"])
    if not elsewhere and part is None:
        return
    enc["lines"] = [ln for ln in enc["lines"] if ln["charge_line_id"] not in elsewhere]
    if not enc["lines"]:
        raise Conflict(
            f"{orig['number']}: every line of encounter {enc['number']} is on another claim:"
            " void it instead"
        )
    if part is not None:
        enc["split"] = part
