"""Patients: listing and one patient's record (the domain behind `billadmin patient`).

Showing a patient is a PHI read and is audited (45 CFR 164.312(b)); so is the listing (names
and birth dates, on screen or in a file): one row with the count, never the search term.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

from . import audit
from . import db as dbmod
from .errors import BadInput, NotFound
from .reads import record_read

if TYPE_CHECKING:
    from .db import Database


_CURRENT_PRIMARY = """
    (SELECT p.code FROM coverages c JOIN payers p ON p.id = c.payer_id
     WHERE c.patient_id = pt.id AND c.priority = 1 AND c.effective_from <= :today
       AND (c.effective_to IS NULL OR c.effective_to >= :today)
     ORDER BY c.effective_from DESC, c.id DESC LIMIT 1)"""


def patient_list(
    db: Database,
    *,
    search: str | None = None,
    limit: int | None = None,
    today: _dt.date | None = None,
) -> list[dict]:
    """Patients ordered by last name, first name; search matches MRN exactly or a name part."""
    params: dict = {"today": (today or _dt.date.today()).isoformat()}
    where = ""
    if search:
        s = search.strip()
        if not s:
            raise BadInput("--search is empty")
        params["s"] = s
        params["like"] = f"%{s.lower()}%"
        where = (
            "WHERE pt.mrn = :s OR lower(pt.last_name) LIKE :like OR lower(pt.first_name) LIKE :like"
            " OR lower(pt.first_name || ' ' || pt.last_name) LIKE :like"
        )
    lim = ""
    if limit is not None:
        if limit < 1:
            raise BadInput("--limit must be at least 1")
        lim = f"LIMIT {int(limit)}"
    sql = (
        f"SELECT pt.id, pt.mrn, pt.last_name, pt.first_name, pt.dob, pt.sex, pt.city, pt.state,"
        f" {_CURRENT_PRIMARY} AS primary_payer FROM patients pt {where}"
        f" ORDER BY lower(pt.last_name), lower(pt.first_name), pt.id {lim}"
    )
    cur = db.execute(sql, params)
    cols = [d[0] for d in cur.description]
    rows = [dict(zip(cols, r, strict=True)) for r in cur]
    record_read(
        db, "patient list", entity="patient", count=len(rows), detail={"search": bool(search)}
    )
    return rows


def find_patient(db: Database, ref: str, *, by_id: bool = False) -> dict:
    if by_id:
        try:
            pid = int(ref)
        except ValueError:
            raise BadInput("--id takes the internal patient id (a number)") from None
        cur = db.execute("SELECT * FROM patients WHERE id = ?", (pid,))
    else:
        cur = db.execute("SELECT * FROM patients WHERE mrn = ?", (ref.strip(),))
    row = cur.fetchone()
    if row is None:
        raise NotFound(
            "no patient with that id"
            if by_id
            else "no patient with that MRN (try --id, or patient list --search)"
        )
    return dict(zip([d[0] for d in cur.description], row, strict=True))


def patient_show(
    db: Database, ref: str, *, by_id: bool = False, today: _dt.date | None = None
) -> dict:
    """One patient with coverages and activity counts; audited as a PHI read."""
    p = find_patient(db, ref, by_id=by_id)
    cur = db.execute(
        "SELECT c.id, py.code AS payer, py.name AS payer_name, c.member_id, c.group_number, c.relationship,"
        " c.priority, c.effective_from, c.effective_to, c.copay_cents FROM coverages c JOIN payers "
        "py ON py.id = c.payer_id"
        " WHERE c.patient_id = ? ORDER BY c.priority, c.effective_from DESC, c.id",
        (p["id"],),
    )
    cols = [d[0] for d in cur.description]
    coverages = [dict(zip(cols, r, strict=True)) for r in cur]
    day = (today or _dt.date.today()).isoformat()
    for c in coverages:
        c["active"] = c["effective_from"] <= day and (
            c["effective_to"] is None or c["effective_to"] >= day
        )
    n_enc, n_lines = db.execute(
        "SELECT COUNT(DISTINCT e.id), COUNT(l.id) FROM encounters e LEFT JOIN charge_lines l ON l.encounter_id = e.id"
        " WHERE e.patient_id = ?",
        (p["id"],),
    ).fetchone()
    last = db.execute(
        "SELECT MAX(date_of_service) FROM encounters WHERE patient_id = ?", (p["id"],)
    ).fetchone()[0]
    with dbmod.write(db):
        audit.record(db, "phi read", entity="patient", ids=[p["id"]], count=1)
    out = {
        k: p[k]
        for k in (
            "id",
            "mrn",
            "first_name",
            "last_name",
            "dob",
            "sex",
            "address1",
            "address2",
            "city",
            "state",
            "zip",
            "phone",
            "created_at",
            "updated_at",
        )
    }
    out.update(
        {"encounters": n_enc, "charge_lines": n_lines, "last_visit": last, "coverages": coverages}
    )
    return out
