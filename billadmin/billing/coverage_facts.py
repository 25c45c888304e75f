"""The coverage facts coordination of benefits needs, set on an existing coverage
(`billadmin patient coverage-set`; `import coverage` reads the same from its MSP Type and QMB
columns).

Rules:
- msp_type: the Medicare secondary payer type, sent as SBR05 when Medicare is secondary
  (005010X222A1 loop 2000B SBR05, and 2320 SBR05 for a prior Medicare payer): 12 working aged
  with an employer group health plan, 13 ESRD in the coordination period, 14 no-fault, 15
  workers' compensation, 16 Public Health Service or other federal agency, 41 black lung,
  42 Veterans Administration, 43 disabled under 65 with a large group health plan, 47 other
  liability insurance. Only a Medicare coverage carries it (refused otherwise, exit 2); without
  it a Medicare secondary claim is held (COB-MSP-TYPE, billing/cob.py).
- qmb: the patient is a Qualified Medicare Beneficiary: Medicare cost-sharing is never billed to
  the patient (SSA 1902(n)(3)(B), 1866(a)(1)(A)); billing/cob.py holds it (COB-QMB) just as it
  does for remark codes N781-N783 on the 835.
- The change is one audited write; the audit row names the coverage id and the fields changed,
  never a value that identifies the patient.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

from .. import audit, db
from ..errors import BadInput, NotFound
from ..ingest.fields import normalise_header
from ..ingest.specs import MSP_TYPE

if TYPE_CHECKING:
    from ..db import Database

CLEAR = ("-", "none")


def msp_code(text: str) -> str | None:
    """The stored SBR05 code for what the clerk typed ("12", "working aged"); None clears."""
    if (text or "").strip().lower() in CLEAR:
        return None
    key = normalise_header(text)
    code = MSP_TYPE.get(key)
    if code is None:
        raise BadInput(
            "--msp-type must be one of 12, 13, 14, 15, 16, 41, 42, 43, 47 (837P SBR05), or - to clear"
        )
    return code


def _coverage(conn: Database, mrn: str, payer: str, effective_from: _dt.date | None) -> dict:
    pat = conn.execute("SELECT id FROM patients WHERE mrn = ?", ((mrn or "").strip(),)).fetchone()
    if pat is None:
        raise NotFound("no patient with that MRN (see billadmin patient list)")
    sql = (
        "SELECT c.id, c.effective_from, p.code, p.kind, c.msp_type, c.qmb FROM coverages c"
        " JOIN payers p ON p.id = c.payer_id WHERE c.patient_id = ? AND p.code = ?"
    )
    args: list = [pat[0], (payer or "").strip().upper()]
    if effective_from:
        sql += " AND c.effective_from = ?"
        args.append(effective_from.isoformat())
    rows = conn.execute(sql + " ORDER BY c.effective_from DESC, c.id DESC", args).fetchall()
    if not rows:
        raise NotFound(
            f"the patient has no {args[1]} coverage" + (" from that date" if effective_from else "")
        )
    if len(rows) > 1 and len({r[1] for r in rows}) > 1 and not effective_from:
        raise BadInput(
            f"the patient has {len(rows)} {args[1]} coverages: say which with --from"
            " (its Effective From date)"
        )
    keys = ("id", "effective_from", "payer", "kind", "msp_type", "qmb")
    return dict(zip(keys, rows[0], strict=True))


def set_facts(
    conn: Database,
    mrn: str,
    payer: str,
    *,
    msp_type: str | None = None,
    qmb: bool | None = None,
    effective_from: _dt.date | None = None,
) -> dict:
    """Set the Medicare secondary payer type and/or the QMB flag on one coverage."""
    if msp_type is None and qmb is None:
        raise BadInput("nothing to set: give --msp-type or --qmb/--no-qmb")
    new_msp = msp_code(msp_type) if msp_type is not None else None
    with db.write(conn):
        cov = _coverage(conn, mrn, payer, effective_from)
        sets: dict = {}
        if msp_type is not None:
            if new_msp and cov["kind"] != "medicare":
                raise BadInput(
                    f"--msp-type: the {cov['payer']} coverage is not Medicare (SBR05 is sent only"
                    " when Medicare is secondary)"
                )
            if new_msp != cov["msp_type"]:
                sets["msp_type"] = new_msp
        if qmb is not None and int(qmb) != cov["qmb"]:
            sets["qmb"] = int(qmb)
        if sets:
            cols = ", ".join(f"{k} = ?" for k in sets)
            conn.execute(f"UPDATE coverages SET {cols} WHERE id = ?", (*sets.values(), cov["id"]))
            audit.record(
                conn,
                "patient coverage-set",
                entity="coverages",
                ids=[cov["id"]],
                count=1,
                detail={"fields": sorted(sets)},
            )
    merged = {**cov, **sets}
    return {
        "coverage": cov["id"],
        "payer": cov["payer"],
        "effective_from": cov["effective_from"],
        "msp_type": merged["msp_type"],
        "qmb": "yes" if merged["qmb"] else "no",
        "changed": ",".join(sorted(sets)) or "nothing",
    }
