"""Correcting an encounter's charge lines and diagnoses (`billadmin charge ...`).

Rules:
- An unbilled line is changed in place (code, modifiers, units, diagnosis pointers, charge) or
  removed (status 'void': it is never billed). Units 0 is refused: remove the line instead.
- A billed encounter is corrected the same way, with a reason (required): the issued claim and
  its lines are never touched (invoices are immutable, and the claim's snapshot keeps what was
  billed); the encounter's working lines change, and the claim is then replaced
  (`invoice replace`: frequency 7, REF*F8, the whole claim with every line as corrected) or, for
  a claim returned unprocessable (Medicare MA130), resubmitted as a new claim
  (`invoice resubmit`). Both build the new claim from the encounter's current lines and
  diagnoses, so it carries the correction, not the denied lines.
- A line a voided claim billed cannot be corrected (exit 2, the message names the claim): the
  void took it off the books; `invoice void --rebill` gives lines back to be billed again.
- Every correction is one new charge_corrections row (before and after, the reason, the claim
  it corrects), append-only, and one audit row; neither names a patient or quotes a code.
- Diagnoses: the encounter's list is replaced as given (1-12 ICD-10-CM codes, in order); every
  remaining line's pointers must still point at one (837P SV107; NUCC CMS-1500 item 24E).
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import audit, db, money, pointers
from ..codesets import normalize
from ..errors import BadInput, NotFound
from ..reads import record_read

if TYPE_CHECKING:
    from ..db import Database

MAX_MODIFIERS = 4
MAX_UNITS = 9999
_LINE_COLS = (
    "id",
    "line_no",
    "code",
    "modifier1",
    "modifier2",
    "modifier3",
    "modifier4",
    "dx_pointers",
    "units",
    "charge_cents",
    "status",
)
_FIELDS = ("code", "modifiers", "dx_pointers", "units", "charge_cents")


@dataclass(frozen=True)
class LineChange:
    """What to change on one line; None leaves a field as it is. Values as typed by the clerk."""

    code: str | None = None
    modifiers: list[str] | None = None  # [] clears them
    units: int | None = None
    pointers: str | None = None
    charge: str | None = None

    def empty(self) -> bool:
        return all(
            v is None for v in (self.code, self.modifiers, self.units, self.pointers, self.charge)
        )


def _encounter(conn: Database, number: str) -> tuple[int, str]:
    row = conn.execute(
        "SELECT id, number FROM encounters WHERE number = ?", ((number or "").strip(),)
    ).fetchone()
    if row is None:
        raise NotFound(f"no encounter {number} (see billadmin invoice list)")
    return row[0], row[1]


def _lines(conn: Database, enc_id: int) -> list[dict]:
    return [
        dict(zip(_LINE_COLS, r, strict=True))
        for r in conn.execute(
            f"SELECT {', '.join(_LINE_COLS)} FROM charge_lines WHERE encounter_id = ?"
            " ORDER BY line_no",
            (enc_id,),
        )
    ]


def _diagnoses(conn: Database, enc_id: int) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT code FROM encounter_diagnoses WHERE encounter_id = ? ORDER BY seq", (enc_id,)
        )
    ]


def _claims_of(conn: Database, charge_line_ids: list[int]) -> list[tuple[int, str, str | None]]:
    """(invoice id, number, status) of the claims that billed these lines, latest first."""
    if not charge_line_ids:
        return []
    marks = ",".join("?" * len(charge_line_ids))
    return [
        (r[0], r[1], r[2])
        for r in conn.execute(
            "SELECT DISTINCT i.id, i.number, s.status FROM invoice_lines l"
            " JOIN invoices i ON i.id = l.invoice_id"
            " LEFT JOIN invoice_status s ON s.invoice_id = i.id"
            f" WHERE l.charge_line_id IN ({marks}) AND i.kind = 'claim' ORDER BY i.id DESC",
            charge_line_ids,
        )
    ]


def _modifiers(ln: dict) -> list[str]:
    return [m for m in (ln["modifier1"], ln["modifier2"], ln["modifier3"], ln["modifier4"]) if m]


def _view(ln: dict) -> dict:
    return {
        "code": ln["code"],
        "modifiers": ",".join(_modifiers(ln)),
        "dx_pointers": ln["dx_pointers"],
        "units": ln["units"],
        "charge_cents": ln["charge_cents"],
    }


def charge_list(conn: Database, encounter: str) -> dict:
    """An encounter's diagnoses and lines with their status and the claim that billed each."""
    enc_id, number = _encounter(conn, encounter)
    lines = []
    for ln in _lines(conn, enc_id):
        claims = _claims_of(conn, [ln["id"]])
        lines.append(
            {
                "line_no": ln["line_no"],
                **_view(ln),
                "status": ln["status"],
                "claim": claims[0][1] if claims else None,
                "claim_status": claims[0][2] if claims else None,
            }
        )
    record_read(conn, "charge list", entity="encounters", ids=[enc_id], count=len(lines))
    return {"encounter": number, "diagnoses": _diagnoses(conn, enc_id), "lines": lines}


# ---------------------------------------------------------------------------------------------
# validation: each returns the value to store or raises BadInput naming the option


def _code(text: str) -> str:
    code = normalize.procedure(text)
    if normalize.procedure_system(code) is None:
        raise BadInput("--code: not a CPT or HCPCS code (5 characters, e.g. 99213 or J1100)")
    return code


def _mods(items: list[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        for part in str(item).split(","):
            m = normalize.modifier(part)
            if m in ("", "-"):
                continue
            if not normalize.MODIFIER_RX.match(m):
                raise BadInput("--modifier: a modifier is 2 letters or digits (e.g. 25)")
            out.append(m)
    if len(out) > MAX_MODIFIERS:
        raise BadInput(f"--modifier: at most {MAX_MODIFIERS} modifiers on a line")
    if len(set(out)) < len(out):
        raise BadInput("--modifier: a modifier is repeated")
    return out


def _units(units: int) -> int:
    if units == 0:
        raise BadInput("--units 0: remove the line instead (billadmin charge remove)")
    if not 1 <= units <= MAX_UNITS:
        raise BadInput(f"--units must be 1-{MAX_UNITS}")
    return units


def _charge(text: str) -> int:
    try:
        cents = money.parse_cents(text, allow_negative=False)
    except money.MoneyError as e:
        raise BadInput(f"--charge: {e}") from None
    if cents <= 0:
        raise BadInput("--charge must be above 0.00 (remove the line instead)")
    return cents


def _pointers(text: str) -> str:
    try:
        got = pointers.parse(text)
    except pointers.PointerError as e:
        raise BadInput(f"--pointers: {e}") from None
    if not got:
        raise BadInput("--pointers: give 1-4 of the encounter's diagnoses (e.g. 1,2)")
    return ",".join(map(str, got))


def _dx(items: list[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        for part in str(item).split(","):
            code = normalize.icd(part)
            if not code:
                continue
            if not normalize.looks_like_icd(code):
                raise BadInput("--dx: not an ICD-10-CM code (e.g. E11.65)")
            out.append(code)
    if not out:
        raise BadInput("--dx: give the encounter's diagnoses, first one first")
    if len(out) > pointers.MAX_DIAGNOSES:
        raise BadInput(f"--dx: at most {pointers.MAX_DIAGNOSES} diagnoses on a claim")
    if len(set(out)) < len(out):
        raise BadInput("--dx: a diagnosis is repeated")
    return out


def _new_values(ln: dict, change: LineChange) -> dict:
    new = _view(ln)
    if change.code is not None:
        new["code"] = _code(change.code)
    if change.modifiers is not None:
        new["modifiers"] = ",".join(_mods(change.modifiers))
    if change.units is not None:
        new["units"] = _units(change.units)
    if change.pointers is not None:
        new["dx_pointers"] = _pointers(change.pointers)
    if change.charge is not None:
        new["charge_cents"] = _charge(change.charge)
    return new


# ---------------------------------------------------------------------------------------------
# writing


def _target(lines: list[dict], line: int | None, enc_number: str) -> dict:
    live = [ln for ln in lines if ln["status"] != "void"]
    if line is None:
        if len(live) != 1:
            raise BadInput(f"encounter {enc_number} has {len(live)} lines: say which with --line N")
        return live[0]
    for ln in lines:
        if ln["line_no"] == line:
            return ln
    raise BadInput(f"encounter {enc_number} has no line {line}")


def _guard(conn: Database, enc_number: str, lines: list[dict], reason: str) -> dict | None:
    """The claim a correction of these lines corrects (None when nothing was billed). Refuses a
    line a voided claim billed, and a billed correction without a reason."""
    for ln in lines:
        if ln["status"] != "void":
            continue
        claims = _claims_of(conn, [ln["id"]])
        if claims and claims[0][2] == "voided":
            raise BadInput(
                f"{claims[0][1]} is voided: encounter {enc_number} line {ln['line_no']} cannot"
                " be corrected (a voided claim is final; `invoice void --rebill` gives lines back)"
            )
        raise BadInput(f"encounter {enc_number} line {ln['line_no']} was removed")
    billed = [ln["id"] for ln in lines if ln["status"] == "billed"]
    if not billed:
        return None
    claims = _claims_of(conn, billed)
    number = claims[0][1] if claims else None
    if not reason:
        raise BadInput(
            f"encounter {enc_number} is billed on {number}: --reason is required to correct it"
        )
    if claims and claims[0][2] == "voided":
        raise BadInput(f"{number} is voided: a voided claim cannot be corrected")
    return {"id": claims[0][0], "number": number, "status": claims[0][2]} if claims else None


def _next_step(claim: dict | None) -> str:
    if claim is None:
        return "billed by the next `billadmin invoice generate`"
    if claim["status"] == "unprocessable":
        return (
            f"resubmit it as a new claim: `billadmin invoice resubmit {claim['number']}`"
            " (MA130: unprocessable, no appeal)"
        )
    return f"replace the claim: `billadmin invoice replace {claim['number']}` (frequency 7)"


def _record(
    conn: Database,
    *,
    enc_id: int,
    line_id: int | None,
    action: str,
    before: dict | list,
    after: dict | list,
    claim: dict | None,
    reason: str,
    on: str,
    at: str,
) -> int:
    return int(
        conn.execute(
            "INSERT INTO charge_corrections (encounter_id, charge_line_id, action, before,"
            " after, invoice_id, reason, corrected_on, at) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                enc_id,
                line_id,
                action,
                json.dumps(before, sort_keys=True),
                json.dumps(after, sort_keys=True),
                claim["id"] if claim else None,
                reason or None,
                on,
                at,
            ),
        ).lastrowid
        or 0
    )


def correct(
    conn: Database,
    encounter: str,
    *,
    line: int | None = None,
    change: LineChange | None = None,
    dx: list[str] | None = None,
    reason: str = "",
    on: _dt.date | None = None,
) -> dict:
    """Change one line of an encounter and/or its diagnoses (module docstring)."""
    change = change or LineChange()
    reason = (reason or "").strip()
    if change.empty() and dx is None:
        raise BadInput(
            "nothing to correct: give --code, --modifier, --units, --pointers, --charge or --dx"
        )
    new_dx = _dx(dx) if dx is not None else None
    on_s = (on or _dt.date.today()).isoformat()
    with db.write(conn):
        enc_id, enc_number = _encounter(conn, encounter)
        lines = _lines(conn, enc_id)
        target = None if change.empty() else _target(lines, line, enc_number)
        checked = [target] if target else [ln for ln in lines if ln["status"] != "void"]
        claim = _guard(conn, enc_number, checked, reason)
        at = audit.utcnow()
        changed: list[str] = []
        ids: list[int] = []
        old_dx = _diagnoses(conn, enc_id)
        n_dx = len(new_dx if new_dx is not None else old_dx)
        if target is not None:
            before, after = _view(target), _new_values(target, change)
            changed = [f for f in _FIELDS if before[f] != after[f]]
            if changed:
                mods = after["modifiers"].split(",") if after["modifiers"] else []
                mods += [None] * (MAX_MODIFIERS - len(mods))
                conn.execute(
                    "UPDATE charge_lines SET code = ?, modifier1 = ?, modifier2 = ?, modifier3 = ?,"
                    " modifier4 = ?, dx_pointers = ?, units = ?, charge_cents = ? WHERE id = ?",
                    (
                        after["code"],
                        *mods,
                        after["dx_pointers"],
                        after["units"],
                        after["charge_cents"],
                        target["id"],
                    ),
                )
                ids.append(
                    _record(
                        conn,
                        enc_id=enc_id,
                        line_id=target["id"],
                        action="change",
                        before=before,
                        after=after,
                        claim=claim,
                        reason=reason,
                        on=on_s,
                        at=at,
                    )
                )
        if new_dx is not None and new_dx != old_dx:
            conn.execute("DELETE FROM encounter_diagnoses WHERE encounter_id = ?", (enc_id,))
            conn.conn.executemany(
                "INSERT INTO encounter_diagnoses (encounter_id, seq, code) VALUES (?,?,?)",
                [(enc_id, i, c) for i, c in enumerate(new_dx, start=1)],
            )
            ids.append(
                _record(
                    conn,
                    enc_id=enc_id,
                    line_id=None,
                    action="diagnoses",
                    before=old_dx,
                    after=new_dx,
                    claim=claim,
                    reason=reason,
                    on=on_s,
                    at=at,
                )
            )
            changed.append("diagnoses")
        if not changed:
            raise BadInput(f"encounter {enc_number}: nothing changes (the values are the same)")
        _check_pointers(conn, enc_id, enc_number, n_dx)
        audit.record(
            conn,
            "charge correct",
            entity="charge_corrections",
            ids=ids,
            count=len(ids),
            detail={
                "encounter": enc_number,
                "line": target["line_no"] if target else None,
                "fields": changed,
                "claim": claim["number"] if claim else None,
            },
        )
    return {
        "encounter": enc_number,
        "line": target["line_no"] if target else None,
        "changed": ",".join(changed),
        "claim": claim["number"] if claim else None,
        "claim_status": claim["status"] if claim else None,
        "next": _next_step(claim),
    }


def _check_pointers(conn: Database, enc_id: int, enc_number: str, n_dx: int) -> None:
    """Every remaining line points at diagnoses the encounter has (rolled back otherwise)."""
    for ln in _lines(conn, enc_id):
        if ln["status"] == "void":
            continue
        try:
            ptrs = pointers.parse(ln["dx_pointers"])
        except pointers.PointerError:
            continue  # an unreadable stored pointer is the scrubber's to report
        bad = [f for f in pointers.faults(ptrs, pointers.positions(n_dx)) if f.kind != "none"]
        if bad:
            raise BadInput(
                f"encounter {enc_number} line {ln['line_no']}: {bad[0].message};"
                " give its --pointers (nothing was changed)"
            )


def remove(
    conn: Database,
    encounter: str,
    line: int,
    *,
    reason: str = "",
    on: _dt.date | None = None,
) -> dict:
    """Remove one line (status 'void': never billed; a replacement claim leaves it out)."""
    reason = (reason or "").strip()
    on_s = (on or _dt.date.today()).isoformat()
    with db.write(conn):
        enc_id, enc_number = _encounter(conn, encounter)
        lines = _lines(conn, enc_id)
        target = _target(lines, line, enc_number)
        claim = _guard(conn, enc_number, [target], reason)
        at = audit.utcnow()
        conn.execute("UPDATE charge_lines SET status = 'void' WHERE id = ?", (target["id"],))
        cid = _record(
            conn,
            enc_id=enc_id,
            line_id=target["id"],
            action="remove",
            before={**_view(target), "status": target["status"]},
            after={**_view(target), "status": "void"},
            claim=claim,
            reason=reason,
            on=on_s,
            at=at,
        )
        audit.record(
            conn,
            "charge remove",
            entity="charge_corrections",
            ids=[cid],
            count=1,
            detail={
                "encounter": enc_number,
                "line": target["line_no"],
                "claim": claim["number"] if claim else None,
            },
        )
    left = sum(1 for ln in lines if ln["status"] != "void") - 1
    return {
        "encounter": enc_number,
        "line": target["line_no"],
        "lines_left": left,
        "claim": claim["number"] if claim else None,
        "claim_status": claim["status"] if claim else None,
        "next": _next_step(claim) if left else "nothing left to bill on this encounter",
    }
