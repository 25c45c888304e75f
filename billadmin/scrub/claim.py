"""What an 837P claim needs that an encounter may lack: the checks behind the CLAIM-* rules and
ALREADY-BILLED, in one place.

Two callers run them over their own rows: the scrubber (rules.py registers each rule with its id,
severity and source; `codes check`) and `invoice generate` (billing/holds.py, over the run's
bill-to), so a clean `codes check` means a clean run. Each check takes plain values and returns
the message, or None when the claim can be built. Messages name the payer code and the invoice
number, never a row id, an MRN or a PHI value: the finding carries the encounter number.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import pointers

if TYPE_CHECKING:
    from ..db import Database

# N402: a US state or territory code (the 837P's patient and billing provider addresses)
US_STATES = frozenset(
    """
AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC
ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI FM MH PW AA AE AP
""".split()
)
MAX_LINES = 50  # loop 2400 repeats at most 50 times

# the rules `invoice generate` computes over its own rows (billing/holds.py): the scrubber's
# findings of these ids are not counted twice there
GENERATE_RULES = frozenset(
    {
        "CLAIM-NO-DX",
        "CLAIM-LINES",
        "CLAIM-POINTER",
        "CLAIM-CHARGE",
        "CLAIM-ADDRESS",
        "CLAIM-PAYER-ID",
        "CLAIM-MEMBER-ID",
        "CLAIM-SUBSCRIBER",
        "ALREADY-BILLED",
    }
)


def no_dx(n_dx: int) -> str | None:
    if n_dx:
        return None
    return "no diagnosis on the encounter: a claim needs at least one (HI)"


def too_many_lines(n_lines: int) -> str | None:
    if n_lines <= MAX_LINES:
        return None
    return f"{n_lines} lines: a claim holds at most {MAX_LINES} (loop 2400); split the encounter"


def pointer_problems(text: str | None, n_dx: int) -> list[str]:
    """The line's pointers against the claim's HI positions 1..n (billadmin.pointers)."""
    try:
        ptrs = pointers.parse(text)
    except pointers.PointerError as e:
        return [str(e)]
    return [f.message for f in pointers.faults(ptrs, pointers.positions(n_dx))]


def charge_problem(charge_cents: int | None, units: int | None) -> str | None:
    if (charge_cents or 0) < 0 or (units or 0) < 1:
        return "negative charge or units below 1"
    return None


def address_problem(address1, city, state, zip_code) -> str | None:
    """N3/N4 of the patient (loop 2010BA or 2010CA): street, city, US state, 5- or 9-digit ZIP."""
    digits = "".join(ch for ch in (zip_code or "") if ch.isdigit())
    if address1 and city and (state or "").upper() in US_STATES and len(digits) in (5, 9):
        return None
    return (
        "the patient's address is incomplete: street, city, US state and 5- or 9-digit ZIP are"
        " needed on a claim"
    )


def payer_id_problem(x12_payer_id: str | None, payer_code: str) -> str | None:
    if x12_payer_id:
        return None
    return f"payer {payer_code} has no X12 payer id: set it before billing it"


def member_id_problem(member_id: str | None, payer_code: str) -> str | None:
    if (member_id or "").strip():
        return None
    return f"the {payer_code} coverage has no member id: add it from the insurance card"


def subscriber_problem(relationship, subscriber_last, subscriber_first, payer_code) -> str | None:
    if (relationship or "self") == "self" or (subscriber_last and subscriber_first):
        return None
    return f"the {payer_code} coverage: the patient is a dependent; record the subscriber's name"


def already_billed_message(invoice_number: str) -> str:
    return (
        f"lines of this encounter are on {invoice_number}: correct it with "
        f"`billadmin invoice replace {invoice_number}`"
    )


def already_billed(conn: Database, ids_sql: str, args: tuple = ()) -> dict[int, str]:
    """Encounter id -> number of an active invoice (not voided or replaced) holding some of its
    billed lines, for the encounters `ids_sql` (a SELECT of encounter ids) names. Lines marked
    unbilled again are being rebilled: `invoice replace` scrubs the encounter with them unbilled
    before it marks the claim replaced, which is the correction this rule asks for. An encounter
    split into several claims (billing/split.py) is billed on several by design: its parts do
    not count while lines of a part are being billed again (a part replaced, or voided with
    --rebill); a line added later still holds the encounter (replace a part to add it)."""
    out: dict[int, str] = {}
    for eid, number in conn.execute(
        "SELECT c.encounter_id, i.number FROM charge_lines c"
        " JOIN invoice_lines l ON l.charge_line_id = c.id JOIN invoices i ON i.id = l.invoice_id"
        # +c.status: from the chosen encounters' lines, not from every billed line in the history
        f" WHERE c.encounter_id IN ({ids_sql}) AND +c.status = 'billed' AND i.kind != 'credit'"
        " AND NOT EXISTS"
        " (SELECT 1 FROM invoice_events v WHERE v.invoice_id = i.id"
        " AND v.status IN ('voided', 'replaced'))"
        # a part of a split encounter, while lines of a part are being billed again
        " AND NOT (EXISTS (SELECT 1 FROM invoice_snapshots s WHERE s.invoice_id = i.id"
        " AND json_extract(s.data, '$.split') IS NOT NULL) AND EXISTS (SELECT 1 FROM charge_lines"
        " u JOIN invoice_lines ul ON ul.charge_line_id = u.id JOIN invoice_snapshots us"
        " ON us.invoice_id = ul.invoice_id WHERE u.encounter_id = c.encounter_id"
        " AND u.status = 'unbilled' AND json_extract(us.data, '$.split') IS NOT NULL))",
        args,
    ):
        out.setdefault(eid, number)
    return out
