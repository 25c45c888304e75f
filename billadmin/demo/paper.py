"""The demo's paper-only payer (issue 17): a workers' compensation carrier that takes claims on
paper, billed both ways.

A patient of the practice hurts an ankle at work. The hospital's emergency department (the
hospital step's facility RGH) treats it, and the practice's physician sees the patient the next
day. The carrier is loaded like any payer (`import payers`), marked paper-only (`payer set
WCOMP --paper`), the patient's claim with it added (`import coverage`: for that injury only);
the department's claim is imported (`import institutional`: type of bill 131, occurrence code
04, accident related to employment) and the visit as a charge (`import charges`). One
`invoice generate` scoped to the carrier then prints both: the visit on the CMS-1500 and the
emergency visit on the UB-04, values only for the red forms, each recorded as sent.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from .hospital import CHARGE_HEADER, INST_HEADER, _write

PAYER = ["WCOMP", "Buckeye Workers' Comp (Demo)", "commercial", "WC001", "PO Box 1000"]
PAYER += ["Columbus", "OH", "43216"]
PAYER_HEADER = ["Code", "Name", "Kind", "Payer ID", "Address", "City", "State", "ZIP"]
COVERAGE_HEADER = ["MRN", "Payer Code", "Member ID", "Priority", "Effective From", "Effective To"]


def _patient(conn, day: _dt.date) -> tuple[str, str] | None:
    """(MRN, provider NPI) of a commercially insured patient with an address and nothing billed
    or to bill on the injury day or the day after (so no other claim changes payer)."""
    row = conn.execute(
        "SELECT p.mrn, (SELECT npi FROM providers ORDER BY id LIMIT 1) FROM patients p"
        " JOIN coverages c ON c.patient_id = p.id JOIN payers y ON y.id = c.payer_id"
        " WHERE y.kind = 'commercial' AND c.priority = 1 AND c.relationship = 'self'"
        " AND p.address1 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM encounters e"
        " WHERE e.patient_id = p.id AND e.date_of_service BETWEEN ? AND ?)"
        " ORDER BY p.mrn LIMIT 1",
        (day.isoformat(), (day + _dt.timedelta(days=1)).isoformat()),
    ).fetchone()
    return (row[0], row[1]) if row else None


def step_paper(ctx) -> None:
    """Demo step: the paper-only carrier's CMS-1500 and UB-04 (module docstring)."""
    from ..accounts import rules
    from ..billing.generate import generate
    from ..ingest.engine import ImportOptions, run_import
    from ..institutional import ingest
    from ..scrub import check

    conn, as_of = ctx.conn, ctx.as_of
    if conn.execute("SELECT 1 FROM facilities WHERE code = 'RGH'").fetchone() is None:
        return  # the hospital step did not run (a tiny demo)
    day = as_of - _dt.timedelta(days=6)
    found = _patient(conn, day)
    if found is None:
        return
    mrn, npi = found
    files = Path(ctx.summary.files_dir)
    opts = ImportOptions(today=as_of)
    run_import(conn, "payers", _write(files / "paper-payer.csv", PAYER_HEADER, [PAYER]), opts)
    rules.set_rules(conn, "WCOMP", claim_media="paper")
    end = (day + _dt.timedelta(days=1)).isoformat()
    cov = [mrn, "WCOMP", "WC-26-0412", "1", day.isoformat(), end]
    run_import(conn, "coverage", _write(files / "paper-coverage.csv", COVERAGE_HEADER, [cov]), opts)
    d = day.isoformat()
    blanks = [""] * (len(INST_HEADER) - 8)
    inst = [
        ["HWC0001", mrn, "131", d, d, d, "16", "1", "1", "", "01", npi, "", "S93.401A", "", "",
         "S93.401A", "", "", "", f"04:{d}", "", "0450", "99283", "", "1", "", "640.00", d],
        ["HWC0001"] + blanks + ["0320", "73610", "", "1", "", "210.00", d],
    ]  # fmt: skip
    res = ingest.import_file(conn, _write(files / "paper-ub04.csv", INST_HEADER, inst))
    visit = [
        ["WC-0001", mrn, end, npi, "11", "1", "99213", "", "S93.401A", "W10.9XXA", "1", "1",
         "140.00", "", "", "", ""],
    ]  # fmt: skip
    run_import(conn, "charges", _write(files / "paper-charges.csv", CHARGE_HEADER, visit), opts)
    run = generate(
        conn,
        through=as_of,
        today=as_of,
        payer="WCOMP",
        patients=False,
        xlsx=False,
        out_dir=ctx.out_dir / "out" / "paper",
        scrub=check,
    )
    printed = sorted(Path(f).name for f in run.files if Path(f).suffix == ".pdf")
    ctx.summary.counts["paper_claims"] = len(printed)
    ctx.summary.steps.append(
        f"Paper-only payer: a workers' compensation carrier (WCOMP, payer set --paper) got a"
        f" work injury's {res.claims} emergency department claim and the follow-up visit as"
        f" {len(printed)} printed claim(s) ({', '.join(printed) or 'none'}), values only for the"
        " red CMS-1500 and UB-04 forms"
    )
