"""Institutional self-pay: a facility claim with no insurance coverage active on its
statement-from date is billed to the patient on a patient invoice (P...), not held.

Rules:
- Which claims: unbilled institutional claims whose statement-through date is on or before the
  run's --through and whose patient has no insurance coverage (a payer that is not self-pay)
  active on the statement-from date: the same bill-to rule as an 837I (billing/content.py
  active_coverages), which holds such a claim with INST-NO-COVERAGE when no patient invoice is
  issued for it (`--claims-only`, `--payer`).
- One patient invoice per facility claim (a hospital statement is per stay or visit, the claim's
  patient control number), issued with the professional self-pay machinery
  (billing/patient_invoices.py) in the same run: the same numbering series, due date (practice
  `--due-days`), co-pays and other credit held for the patient applied at once, the stored
  statement content and its PDF when a balance is due.
- One line per revenue line, in line order: the HCPCS code (the revenue code when there is
  none), modifiers, the line's date (the statement-from date when the line has none), units and
  the whole charge (a patient without coverage owes the non-covered part too); the description
  names the revenue code, and the HCPCS description when the code sets hold it (revenue-code
  descriptors are the NUBC's, licensed: none is printed).
- A claim whose lines total zero is not invoiced (it stays unbilled and held).
- The claim is linked to its invoice (inst_claim_invoices) and marked billed, in the same
  transaction, so it is billed once.
- `invoice void --rebill` of such an invoice sets its claim back to unbilled (`unbill`), so the
  next run bills it again (to the patient, or to a payer whose coverage was added since), as
  it does a professional self-pay invoice's charge lines; a plain void leaves it billed.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..billing import content as bc
from ..billing import numbering
from ..billing import patient_invoices as pi
from . import model

if TYPE_CHECKING:
    from ..billing.files import Staged
    from ..billing.invoices import InvoiceIds, NewInvoice
    from ..billing.result import RunResult
    from ..db import Database

HELD_RULE = "INST-NO-COVERAGE"  # what holds the claim when it is not billed to the patient


def due(conn: Database, *, through: _dt.date) -> list[model.InstitutionalClaim]:
    """The unbilled institutional claims to bill to their patients (module docstring), by key."""
    claims = model.list_claims(conn, status="unbilled", through=through)
    if not claims:
        return []
    payers = bc.load_payers(conn)
    covs = bc.load_coverages(conn, bc.temp_ids(conn, "_inst_self", {c.patient_id for c in claims}))
    return [
        c
        for c in claims
        if not bc.active_coverages(covs.get(c.patient_id, []), c.statement_from, payers)
    ]


def item(c: model.InstitutionalClaim, describer) -> dict:
    """The claim as a self-pay item of a patient invoice (an encounter's shape, as
    billing/patient_invoices reads it), one line per revenue line."""
    lines = []
    for ln in c.lines:
        mods = list(ln.modifiers) + [None] * 4
        day = ln.line_date or c.statement_from
        proc = describer.procedure(ln.hcpcs, day) if ln.hcpcs else None
        lines.append(
            {
                "charge_line_id": None,
                "line_no": ln.line_no,
                "code": ln.hcpcs or ln.revenue_code,
                "modifier1": mods[0],
                "modifier2": mods[1],
                "modifier3": mods[2],
                "modifier4": mods[3],
                "units": ln.units,
                "charge_cents": ln.charge_cents,
                "date_of_service": day,
                "description": f"{proc} (revenue code {ln.revenue_code})"
                if proc
                else f"revenue code {ln.revenue_code}",
            }
        )
    return {
        "id": c.encounter_id,
        "number": c.key,
        "patient_id": c.patient_id,
        "date_of_service": c.statement_from,
        "lines": lines,
    }


def issue(
    conn: Database,
    result: RunResult,
    staged: Staged,
    prac: dict,
    claims: list[model.InstitutionalClaim],
    ids: InvoiceIds,
    *,
    issued_on: str,
    at: str,
    run_id: int,
    pdf: bool,
    today: _dt.date,
    files_by_invoice: dict[int, str],
    render: bool = True,
) -> list[NewInvoice]:
    """In the run's write transaction: a patient invoice for each claim of `due` (module
    docstring), its PDF named in `files_by_invoice` and, with `render`, staged in the output
    folder at once (`invoice generate` renders it after COMMIT with its other patient invoices:
    billing/patient_invoices.render_pdfs); the claims linked and marked billed, and their
    INST-NO-COVERAGE holds taken off `result.held`."""
    from ..billing.describe import Describer

    describer = Describer(conn)
    built = build(
        conn,
        result,
        prac,
        claims,
        ids,
        lambda count: numbering.take(conn, "patient", count),
        issued_on=issued_on,
        today=today,
        describer=describer,
    )
    if not built:
        return []
    issues = [it for it, _ in built]
    pi._insert(conn, issues, [], at=at, today=today)
    if render:
        pi._store_and_render(
            conn,
            result,
            staged,
            issues,
            prac,
            describer,
            at=at,
            run_id=run_id,
            pdf=pdf,
            today=today,
            files_by_invoice=files_by_invoice,
        )
    else:
        pi._store(
            conn, result, issues, prac, describer, pdf=pdf, today=today, files=files_by_invoice
        )
    links = [(it.row["id"], cid) for it, cid in built]
    conn.conn.executemany(
        "INSERT INTO inst_claim_invoices (invoice_id, claim_id) VALUES (?, ?)", links
    )
    conn.conn.executemany(
        "UPDATE inst_claims SET status = 'billed' WHERE id = ?", [(cid,) for _, cid in links]
    )
    return issues


def build(
    conn: Database,
    result: RunResult,
    prac: dict,
    claims: list[model.InstitutionalClaim],
    ids: InvoiceIds,
    numbers: Callable[[int], list[str]],
    *,
    issued_on: str,
    today: _dt.date,
    describer,
) -> list[tuple[NewInvoice, int]]:
    """The patient invoice of each of `claims` whose lines total more than zero (the others
    counted as skipped), numbered by `numbers(count)`, with its facility claim's id; their
    INST-NO-COVERAGE holds taken off `result.held` (`issue` bills them). Writes nothing but
    temp tables (`invoice generate` builds them before the write lock)."""
    from ..billing.practice import SETTINGS

    items = [(c, item(c, describer)) for c in claims]
    billable = [(c, x) for c, x in items if sum(ln["charge_cents"] for ln in x["lines"]) > 0]
    result.skipped_zero += len(items) - len(billable)
    if not billable:
        return []
    mrn = dict(
        conn.execute(
            "SELECT p.id, p.mrn FROM patients p JOIN"
            f" {bc.temp_ids(conn, '_inst_self', {c.patient_id for c, _ in billable})} t"
            " ON t.id = p.id"
        ).fetchall()
    )
    due_days = int(prac.get("due_days") or SETTINGS["due_days"][1])
    due_on = (today + _dt.timedelta(days=due_days)).isoformat()
    built = [
        (
            pi._build(
                ids,
                c.patient_id,
                number,
                [("encounter", x)],
                mrn[c.patient_id],
                issued_on=issued_on,
                due_on=due_on,
                describer=describer,
                adj_rows=[],
            ),
            c.id,
        )
        for (c, x), number in zip(billable, numbers(len(billable)), strict=True)
    ]
    billed = {c.key for c, _ in billable}
    result.held = [
        h
        for h in result.held
        if not (h.encounter in billed and all(f.rule == HELD_RULE for f in h.findings))
    ]
    return built


def bill(
    conn: Database,
    result: RunResult,
    staged: Staged,
    prac: dict,
    ids: InvoiceIds,
    *,
    through: _dt.date,
    **kw,
) -> list[NewInvoice]:
    """`invoice generate`, where it issues the patient invoices (in its write transaction):
    `issue` for the claims `due` through `through`, their PDFs left for the run to render after
    COMMIT; `kw` as `issue` takes them."""
    return issue(conn, result, staged, prac, due(conn, through=through), ids, render=False, **kw)


def unbill(conn: Database, invoice_id: int) -> int:
    """In the caller's write transaction (`invoice void --rebill` of a patient invoice): the
    facility claims this invoice billed (inst_claim_invoices) set back to unbilled, so the next
    run bills them again; the link stays, as history. How many were set back (0 for a patient
    invoice of professional lines)."""
    return conn.execute(
        "UPDATE inst_claims SET status = 'unbilled' WHERE status = 'billed' AND id IN"
        " (SELECT claim_id FROM inst_claim_invoices WHERE invoice_id = ?)",
        (invoice_id,),
    ).rowcount
