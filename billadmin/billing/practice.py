"""The billing practice: who the claims come from (the domain behind `billadmin practice`).

Rules:
- NPI: 10 digits with the CMS Luhn check digit (prefix 80840), see billadmin/npi.py.
- Tax id (EIN, REF*EI in loop 2010AA): exactly 9 digits; "81-2345678" is accepted and stored
  as digits.
- Address: street, city, a US state or territory code, and a 9-digit ZIP: the 837P billing
  provider address must carry ZIP+4 (TR3 005010X222A1, loop 2010AA N403 note).
- Phone: 10 digits (PER*IC in loop 1000A needs a number to call).
- Submitter id (NM1*41 NM109, ISA06) and receiver id/name (NM1*40, ISA08) come from the
  clearinghouse enrolment; up to 15 characters for the ISA.
- Names and addresses are transliterated for X12 (billadmin.x12.text); one of which nothing
  would be left (written only in a script without a Latin form) is refused.
Settings kept beside the practice row: X12 usage (P production, T test: ISA15), days until a
patient invoice is due, the "how to pay" text printed on patient invoices, and what becomes of an
837P encounter of more than 50 lines (split into several claims or held: billing/split.py).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .. import audit, db, npi
from ..errors import BadInput
from ..scrub.claim import US_STATES  # N402 (the claim's rules use the same list)
from ..x12 import text as x12text

if TYPE_CHECKING:
    from ..db import Database

FIELDS = [
    "name",
    "npi",
    "tax_id",
    "taxonomy",
    "address1",
    "address2",
    "city",
    "state",
    "zip",
    "phone",
    "contact_name",
    "submitter_id",
    "receiver_id",
    "receiver_name",
]
REQUIRED = ["name", "npi", "tax_id", "address1", "city", "state", "zip"]
FOR_CLAIMS = ["phone", "submitter_id", "receiver_id", "receiver_name"]
# names and addresses written into the 837P (1000A/1000B/2010AA): refused when nothing of them
# can be written in X12 (billadmin.x12.text)
X12_TEXT = ["name", "address1", "address2", "city", "contact_name", "receiver_name"]

SETTINGS = {
    "usage": ("x12.usage", "P"),
    "due_days": ("invoice.due_days", "30"),
    "pay_instructions": ("invoice.pay_instructions", ""),
    # an 837P encounter of more than 50 lines: split into several claims, or held (billing/split.py)
    "long_claims": ("claim.long_claims", "hold"),
}


def _setting(conn: Database, key: str, default: str) -> str:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return row[0] if row else default


def get(conn: Database) -> dict | None:
    """The practice row plus its billing settings, or None when not set up."""
    cur = conn.execute(f"SELECT {', '.join(FIELDS)} FROM practice WHERE id = 1")
    row = cur.fetchone()
    if row is None:
        return None
    out = dict(zip(FIELDS, row, strict=True))
    for name, (key, default) in SETTINGS.items():
        out[name] = _setting(conn, key, default)
    return out


def normalise(field: str, value):
    """Clean one field's value, or raise ValueError with the reason (never echoing the value)."""
    if value is None:
        return None
    v = str(value).strip()
    if v == "":
        return None
    if field == "npi":
        v = re.sub(r"[\s-]", "", v)
        p = npi.problem(v)
        if p:
            raise ValueError(p)
    elif field == "tax_id":
        d = re.sub(r"[\s-]", "", v)
        if not re.fullmatch(r"\d{9}", d):
            raise ValueError("tax id must be 9 digits (EIN, e.g. 81-2345678)")
        v = d
    elif field == "state":
        v = v.upper()
        if v not in US_STATES:
            raise ValueError("not a US state or territory code (two letters, e.g. OH)")
    elif field == "zip":
        d = re.sub(r"[\s-]", "", v)
        if not re.fullmatch(r"\d{9}", d):
            raise ValueError(
                "ZIP must be ZIP+4 (9 digits, e.g. 43215-1234): the 837P billing provider address requires it"
            )
        v = d
    elif field == "phone":
        d = re.sub(r"\D", "", v)
        if len(d) == 11 and d.startswith("1"):
            d = d[1:]
        if len(d) != 10:
            raise ValueError("phone must have 10 digits")
        v = d
    elif field == "taxonomy":
        v = v.upper()
        if not re.fullmatch(r"[0-9A-Z]{9}X", v):
            raise ValueError("taxonomy code must be 10 characters ending in X (e.g. 207Q00000X)")
    elif field in ("submitter_id", "receiver_id"):
        if not re.fullmatch(r"[A-Za-z0-9]{2,15}", v):
            raise ValueError(
                "must be 2-15 letters or digits (it goes in the fixed-width ISA header)"
            )
    elif field == "usage":
        m = {"p": "P", "production": "P", "t": "T", "test": "T"}.get(v.lower())
        if not m:
            raise ValueError("usage must be production (P) or test (T)")
        v = m
    elif field == "long_claims":
        from .split import normalise as long_claims

        v = long_claims(v)
    elif field == "due_days":
        if not v.isdigit() or not 0 <= int(v) <= 365:
            raise ValueError("due days must be a whole number from 0 to 365")
    elif len(v) > 200:
        raise ValueError("too long (200 characters at most)")
    elif field in X12_TEXT and x12text.lost(v):
        raise ValueError(x12text.EMPTY_MESSAGE)
    return v


def option(field: str) -> str:
    """The `practice set` option that sets a field, as typed (tax_id -> --tax-id)."""
    return "--" + field.replace("_", "-")


def _invalid(problems: dict[str, str], where: str = "") -> BadInput:
    """Every problem at once, each naming the option that sets the field (never a "column": these
    are settings, not an import file), never the value."""
    n = len(problems)
    return BadInput(
        f"{where}{n} problem{'s' if n != 1 else ''} found; nothing was written",
        details=[f"{option(k)}: {reason}" for k, reason in problems.items()],
    )


def update(conn: Database, changes: dict) -> dict:
    """Validate and apply changes (None = leave as is). All problems are reported at once."""
    problems: dict[str, str] = {}
    clean = {}
    for k, v in changes.items():
        if v is None:
            continue
        try:
            clean[k] = normalise(k, v)
        except ValueError as e:
            problems[k] = str(e)
    current = get(conn)
    merged = {**(current or {}), **{k: v for k, v in clean.items() if k in FIELDS}}
    for k in REQUIRED:
        if not merged.get(k) and k not in problems:
            problems[k] = "required" + ("" if current else " when the practice is first set up")
    if problems:
        raise _invalid(problems)
    if not clean:
        raise BadInput(
            "nothing to change: give at least one option (see billadmin practice set --help)"
        )
    with db.write(conn):
        row = {k: merged.get(k) for k in FIELDS}
        if current is None:
            conn.execute(
                f"INSERT INTO practice (id, {', '.join(FIELDS)}) VALUES (1, {', '.join('?' * len(FIELDS))})",
                [row[k] for k in FIELDS],
            )
        else:
            sets = [k for k in FIELDS if k in clean]
            if sets:
                conn.execute(
                    f"UPDATE practice SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = 1",
                    [clean[k] for k in sets],
                )
        for name, (key, _default) in SETTINGS.items():
            if name in clean:
                conn.execute(
                    "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE"
                    " SET value = excluded.value",
                    (key, clean[name] if clean[name] is not None else ""),
                )
        audit.record(
            conn,
            "practice set",
            entity="practice",
            ids=[1],
            count=len(clean),
            detail={"fields": sorted(clean)},
        )
    out = get(conn)
    assert out is not None  # written just above
    return out


def for_claims(conn: Database) -> dict:
    """The practice, checked for what an 837P needs; BadInput names every missing field."""
    p = get(conn)
    if p is None:
        raise BadInput(
            "the practice is not set up: run `billadmin practice set --name ... --npi ... --tax-id ...` first"
        )
    problems: dict[str, str] = {}
    for k in REQUIRED + FOR_CLAIMS:
        if not p.get(k):
            problems[k] = f"needed on every claim: set it with `billadmin practice set {option(k)}`"
            continue
        try:
            normalise(k, p[k])
        except ValueError as e:
            problems[k] = f"{e} (correct it with `billadmin practice set {option(k)}`)"
    if problems:
        raise _invalid(problems, "practice settings: ")
    return p
