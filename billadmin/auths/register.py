"""The authorization register: prior authorizations and referrals a payer granted for a patient,
and how many of their visits are used.

Rules:
* An authorization belongs to one payer and one patient; its number is unique per payer. It
  covers a code list (auths/rules.py grammar), the dates valid_from..valid_to (inclusive) and,
  when the payer limits them, a number of visits.
* A visit is an encounter of the patient inside the dates, on a day the patient had a coverage
  with the authorization's payer, with at least one charge line (not voided) of the authorized
  codes, counted in date-of-service order (then encounter id); visits
  used before the register knew the authorization are recorded as visits_used_before. The
  count is derived from the charges, never kept as a counter, so a corrected or voided line
  changes it by itself.
* Authorizations are not money: `auth add` records one (audited); a wrong one is ended by
  recording the right one (a payer's new number) - the register keeps both.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import audit
from .. import db as dbmod
from ..errors import BadInput, NotFound
from .rules import CodeListError, matches, parse_codes

if TYPE_CHECKING:
    from ..db import Database

KINDS = ("prior_auth", "referral")
LIST_COLUMNS = (
    "id",
    "payer",
    "mrn",
    "number",
    "kind",
    "codes",
    "valid_from",
    "valid_to",
    "visits_allowed",
    "visits_used",
    "visits_left",
)


@dataclass(frozen=True)
class Auth:
    id: int
    payer_id: int
    patient_id: int
    number: str
    kind: str
    codes: str
    valid_from: str
    valid_to: str
    visits_allowed: int | None
    visits_used_before: int


_AUTH_COLS = (
    "id, payer_id, patient_id, number, kind, codes, valid_from, valid_to, visits_allowed,"
    " visits_used_before"
)


def _payer(conn: Database, code: str) -> tuple[int, str]:
    r = conn.execute(
        "SELECT id, kind FROM payers WHERE code = ?", (code.strip().upper(),)
    ).fetchone()
    if r is None:
        raise BadInput(
            f"--payer {code.strip().upper()}: no payer with that code (billadmin payer list)"
        )
    if r[1] == "self":
        raise BadInput(f"--payer {code.strip().upper()} is self-pay: it grants no authorizations")
    return r[0], r[1]


def _patient(conn: Database, mrn: str) -> int:
    r = conn.execute("SELECT id FROM patients WHERE mrn = ?", (mrn.strip(),)).fetchone()
    if r is None:
        raise BadInput("--mrn: no patient with that MRN (import patients first)")
    return r[0]


def add(
    conn: Database,
    *,
    payer: str,
    mrn: str,
    number: str,
    codes: str,
    valid_from: _dt.date | None,
    valid_to: _dt.date | None,
    visits: int | None = None,
    used_before: int = 0,
    kind: str = "prior_auth",
) -> dict:
    """Record one authorization (audited); BadInput names the option that is wrong."""
    from ..x12.text import identifier_problem

    payer_id, _ = _payer(conn, payer)
    patient_id = _patient(conn, mrn)
    number = number.strip()
    why = identifier_problem(number) if number else "is empty"
    if why or len(number) > 50:
        raise BadInput(f"--number: {why or 'longer than 50 characters'} (sent as REF*G1/9F)")
    try:
        stored = parse_codes(codes)
    except CodeListError as e:
        raise BadInput(f"--codes: {e}") from None
    if valid_from is None or valid_to is None:
        raise BadInput("--from and --to: an authorization is valid between two dates")
    if valid_to < valid_from:
        raise BadInput("--to is before --from")
    if visits is not None and visits < 1:
        raise BadInput("--visits: at least 1 (leave it out when the payer sets no limit)")
    if used_before < 0:
        raise BadInput("--used: not negative")
    if kind not in KINDS:
        raise BadInput(f"--kind: one of {', '.join(KINDS)}")
    with dbmod.write(conn):
        if conn.execute(
            "SELECT 1 FROM authorizations WHERE payer_id = ? AND number = ?", (payer_id, number)
        ).fetchone():
            raise BadInput(f"--number: this payer's authorization {number} is already recorded")
        cur = conn.execute(
            "INSERT INTO authorizations (payer_id, patient_id, number, kind, codes, valid_from,"
            " valid_to, visits_allowed, visits_used_before, created_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                payer_id,
                patient_id,
                number,
                kind,
                stored,
                valid_from.isoformat(),
                valid_to.isoformat(),
                visits,
                used_before,
                audit.utcnow(),
            ),
        )
        auth_id = int(cur.lastrowid or 0)
        audit.record(conn, "auth add", entity="authorizations", ids=[auth_id], count=1)
    return auth_list(conn, ids=[auth_id], audited=False)[0]


def require(conn: Database, *, payer: str, requirement: str, codes: str) -> dict:
    """Record a payer requirement (an authorization, an NDC or a referring provider for these
    codes); audited."""
    payer_id, _ = _payer(conn, payer)
    if requirement not in ("auth", "ndc", "referring"):
        raise BadInput("the requirement is one of auth, ndc, referring")
    try:
        stored = parse_codes(codes)
    except CodeListError as e:
        raise BadInput(f"--codes: {e}") from None
    with dbmod.write(conn):
        conn.execute(
            "INSERT OR IGNORE INTO payer_requirements (payer_id, requirement, codes, created_at)"
            " VALUES (?,?,?,?)",
            (payer_id, requirement, stored, audit.utcnow()),
        )
        audit.record(
            conn,
            "auth require",
            entity="payer_requirements",
            ids=[payer_id],
            count=1,
            detail={"requirement": requirement, "codes": stored},
        )
    return {"payer": payer.strip().upper(), "requirement": requirement, "codes": stored}


def requirement_list(conn: Database) -> list[dict]:
    """The built-in requirements and each payer's recorded ones."""
    from .rules import BUILT_IN

    rows = [
        {"payer": f"every {kind} payer", "requirement": req, "codes": codes, "source": "built-in"}
        for (kind, req), codes in BUILT_IN.items()
    ]
    rows += [
        {"payer": code, "requirement": req, "codes": codes, "source": "recorded"}
        for code, req, codes in conn.execute(
            "SELECT p.code, r.requirement, r.codes FROM payer_requirements r"
            " JOIN payers p ON p.id = r.payer_id ORDER BY p.code, r.requirement, r.id"
        )
    ]
    return rows


def load(conn: Database, where: str = "", args: tuple = ()) -> list[Auth]:
    return [
        Auth(*r)
        for r in conn.execute(f"SELECT {_AUTH_COLS} FROM authorizations {where} ORDER BY id", args)
    ]


def visits(conn: Database, a: Auth) -> list[int]:
    """The encounter ids that are visits of this authorization, in order (module rules)."""
    out: list[int] = []
    last = None
    for eid, code in conn.execute(
        "SELECT e.id, l.code FROM encounters e JOIN charge_lines l ON l.encounter_id = e.id"
        " WHERE e.patient_id = ? AND e.date_of_service BETWEEN ? AND ? AND l.status != 'void'"
        " AND EXISTS (SELECT 1 FROM coverages c WHERE c.patient_id = e.patient_id"
        " AND c.payer_id = ? AND c.effective_from <= e.date_of_service"
        " AND (c.effective_to IS NULL OR c.effective_to = '' OR c.effective_to >= e.date_of_service))"
        " ORDER BY e.date_of_service, e.id",
        (a.patient_id, a.valid_from, a.valid_to, a.payer_id),
    ):
        if eid != last and matches(a.codes, (code or "").strip().upper()):
            out.append(eid)
            last = eid
    return out


def auth_list(
    conn: Database,
    *,
    ids: list[int] | None = None,
    payer: str | None = None,
    active_on: _dt.date | None = None,
    audited: bool = True,
) -> list[dict]:
    """Authorizations with their visits used and left; names patients by MRN (a PHI read,
    audited)."""
    where: list[str] = []
    args: list[object] = []
    if ids is not None:
        where.append(f"id IN ({','.join('?' * len(ids))})")
        args += ids
    if payer is not None:
        pid, _ = _payer(conn, payer)
        where.append("payer_id = ?")
        args.append(pid)
    if active_on is not None:
        where.append("? BETWEEN valid_from AND valid_to")
        args.append(active_on.isoformat())
    sql = "WHERE " + " AND ".join(where) if where else ""
    codes = dict(conn.execute("SELECT id, code FROM payers"))
    mrns: dict[int, str] = {}
    rows = []
    for a in load(conn, sql, tuple(args)):
        if a.patient_id not in mrns:
            mrns[a.patient_id] = conn.execute(
                "SELECT mrn FROM patients WHERE id = ?", (a.patient_id,)
            ).fetchone()[0]
        used = a.visits_used_before + len(visits(conn, a))
        rows.append(
            {
                "id": a.id,
                "payer": codes[a.payer_id],
                "mrn": mrns[a.patient_id],
                "number": a.number,
                "kind": a.kind,
                "codes": a.codes,
                "valid_from": a.valid_from,
                "valid_to": a.valid_to,
                "visits_allowed": a.visits_allowed,
                "visits_used": used,
                "visits_left": None if a.visits_allowed is None else a.visits_allowed - used,
            }
        )
    if audited:
        with dbmod.write(conn):
            audit.record(conn, "auth list", entity="authorizations", count=len(rows))
    return rows


def expiring(
    conn: Database, *, as_of: _dt.date, days: int = 30, visits_left: int = 2
) -> list[dict]:
    """Authorizations in force on `as_of` that end within `days` or have at most `visits_left`
    visits left (or are used up), soonest end first, each with why it is listed; audited."""
    if days < 0 or visits_left < 0:
        raise BadInput("--days and --visits-left are not negative")
    horizon = (as_of + _dt.timedelta(days=days)).isoformat()
    out = []
    for r in auth_list(conn, active_on=as_of, audited=False):
        why = []
        if r["valid_to"] <= horizon:
            left = (_dt.date.fromisoformat(r["valid_to"]) - as_of).days
            why.append(f"ends in {left} day{'s' if left != 1 else ''}")
        if r["visits_left"] is not None and r["visits_left"] <= visits_left:
            why.append("used up" if r["visits_left"] <= 0 else f"{r['visits_left']} visit(s) left")
        if why:
            out.append({**r, "why": "; ".join(why)})
    out.sort(key=lambda r: (r["valid_to"], r["id"]))
    with dbmod.write(conn):
        audit.record(conn, "auth expiring", entity="authorizations", count=len(out))
    return out


def get(conn: Database, auth_id: int) -> dict:
    rows = auth_list(conn, ids=[auth_id])
    if not rows:
        raise NotFound(f"no authorization {auth_id} (billadmin auth list)")
    return rows[0]


def covering(conn: Database, enc_table: str) -> dict[int, list[Auth]]:
    """Encounter id -> the authorizations of its patient whose dates cover its date of service
    (any payer), for the encounters in `enc_table` (a temp table of ids)."""
    exists = conn.execute("SELECT EXISTS (SELECT 1 FROM authorizations)").fetchone()[0]
    if not exists:
        return {}
    out: dict[int, list[Auth]] = {}
    cols = ", ".join("a." + c.strip() for c in _AUTH_COLS.split(","))
    for eid, *rest in conn.execute(
        f"SELECT e.id, {cols} FROM encounters e JOIN {enc_table} t ON t.id = e.id"
        " JOIN authorizations a ON a.patient_id = e.patient_id"
        " AND e.date_of_service BETWEEN a.valid_from AND a.valid_to ORDER BY a.id"
    ):
        out.setdefault(eid, []).append(Auth(*rest))
    return out
