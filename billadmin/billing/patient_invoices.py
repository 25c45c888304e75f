"""Patient invoices (P...): one per patient, for the self-pay encounters' lines and the patient
responsibility posted from remittances (adjustments with source 'transfer') not yet invoiced.

A patient whose items total zero or less is skipped. Co-pays held as credit are applied at once
(accounts.payments.apply_credit); the statement's content is stored and, when a balance is due,
its PDF named in the run (invoice_runs.file). The PDF itself is rendered from that stored
content after the run's COMMIT, without the write lock (`render_pdfs`, called by
billing/generate.py with the run's invoices.csv): a run stopped before then has its PDFs
rendered by the next run into the same folder.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import audit
from ..outfile import absolute, inside
from . import content, numbering
from .files import Staged
from .invoices import InvoiceIds, NewInvoice, insert_invoices, insert_snapshots, line_row
from .result import RunResult

if TYPE_CHECKING:
    from pathlib import Path

    from ..db import Database
    from .describe import Describer

# CARC group PR reason codes a clerk reads on the statement
_REASONS = {"1": "Deductible", "2": "Coinsurance", "3": "Co-payment"}

# one item of a patient invoice: ("encounter", encounter dict) or ("transfer", transfer dict)
Item = tuple[str, dict]


def transfers(conn: Database, patient_filter: set[int] | None) -> dict[int, list[dict]]:
    """Patient id -> patient responsibility moved from claims by remittances, not yet invoiced."""
    out: dict[int, list[dict]] = defaultdict(list)
    for r in conn.execute(
        "SELECT a.id, a.invoice_id, a.invoice_line_id, a.reason_code, a.amount_cents, i.number,"
        " i.patient_id, i.encounter_id, l.code, l.modifiers, l.units,"
        " COALESCE(l.date_of_service, e.date_of_service), l.amount_cents, l.charge_line_id"
        " FROM adjustments a JOIN invoices i ON i.id = a.invoice_id"
        " LEFT JOIN invoice_lines l ON l.id = a.invoice_line_id"
        " LEFT JOIN encounters e ON e.id = i.encounter_id"
        " WHERE a.source = 'transfer' AND i.kind = 'claim'"
        " AND NOT EXISTS (SELECT 1 FROM patient_invoice_adjustments x WHERE x.adjustment_id = a.id)"
        # routed to a next payer or held by a patient-protection rule (billing/cob.py)
        " AND NOT EXISTS (SELECT 1 FROM cob_routes r WHERE r.adjustment_id = a.id)"
        " ORDER BY i.patient_id, a.id"
    ):
        if patient_filter is not None and r[6] not in patient_filter:
            continue
        out[r[6]].append(
            {
                "adjustment_id": r[0],
                "claim_id": r[1],
                "claim_line_id": r[2],
                "reason": r[3],
                "amount_cents": r[4],
                "claim": r[5],
                "encounter_id": r[7],
                "code": r[8],
                "modifiers": r[9] or "",
                "units": r[10] or 1,
                "date_of_service": r[11],
                "line_charge_cents": r[12],
                "charge_line_id": r[13],
            }
        )
    return out


def patient_invoices(
    conn: Database,
    result: RunResult,
    staged: Staged,
    prac: dict,
    self_encs: list[dict],
    pats: dict[int, dict],
    ids: InvoiceIds,
    *,
    issued_on: str,
    at: str,
    run_id: int,
    pdf: bool,
    today: _dt.date,
    files_by_invoice: dict[int, str],
) -> list[NewInvoice]:
    """Issue the run's patient invoices (see the module docstring) in the caller's write
    transaction, built there (a run prepared inside the lock; `invoice generate` otherwise builds
    them before it: `build`, `plan`, `write_planned`); their PDFs (rendered after COMMIT:
    `render_pdfs`) are named in `files_by_invoice`."""
    from .describe import Describer

    describer = Describer(conn)
    issues, adj_rows = build(
        conn,
        result,
        prac,
        self_encs,
        pats,
        ids,
        lambda count: numbering.take(conn, "patient", count),
        issued_on=issued_on,
        today=today,
        describer=describer,
    )
    if not issues:
        return []
    _insert(conn, issues, adj_rows, at=at, today=today)
    _store(conn, result, issues, prac, describer, pdf=pdf, today=today, files=files_by_invoice)
    return issues


def build(
    conn: Database,
    result: RunResult,
    prac: dict,
    self_encs: list[dict],
    pats: dict[int, dict],
    ids: InvoiceIds,
    numbers: Callable[[int], list[str]],
    *,
    issued_on: str,
    today: _dt.date,
    describer: Describer,
) -> tuple[list[NewInvoice], list[tuple[int, int]]]:
    """The patient invoices of the self-pay encounters and the transfers not yet invoiced (one
    per patient whose items total more than zero), numbered by `numbers(count)`, with ids from
    `ids`; and the (adjustment id, invoice line id) links of their transfer lines."""
    from .practice import SETTINGS

    items = _items_by_patient(conn, self_encs)
    if not items:
        return [], []
    missing = [pid for pid in items if pid not in pats]
    if missing:
        t = content.temp_ids(conn, "_gen_pat2", missing)
        pats.update(content.load_patients(conn, t))
    due_days = int(prac.get("due_days") or SETTINGS["due_days"][1])
    due_on = (today + _dt.timedelta(days=due_days)).isoformat()

    plans = _payable(items, pats, result)
    issues: list[NewInvoice] = []
    adj_rows: list[tuple[int, int]] = []
    for pid, number in zip(plans, numbers(len(plans)), strict=True):
        issues.append(
            _build(
                ids,
                pid,
                number,
                items[pid],
                pats[pid]["mrn"],
                issued_on=issued_on,
                due_on=due_on,
                describer=describer,
                adj_rows=adj_rows,
            )
        )
    return issues, adj_rows


# the tables a planned group of patient invoices waits in (plan), copied under the lock
_PLANNED = ("invoices", "invoice_lines", "invoice_events")


@dataclass
class Planned:
    """Patient invoices built before the write lock (issue 15), their rows waiting in the temp
    tables `{prefix}invoices`, `invoice_lines` and `invoice_events` (their batch seals in the
    caller's batches table: seal_planned), with their transfers' links (`{prefix}adjustments`)
    and the facility claims they bill (`{prefix}claims`), for write_planned to copy; and the
    statement content of those plan_contents could compute before the lock
    (`{prefix}invoice_snapshots`, copied from one table per run of consecutive ids)."""

    prefix: str
    issues: list[NewInvoice]
    first_event: int = 0  # the id planned for the first 'issued' event (seal_planned)
    # the invoices whose content is planned: their balance due (plan_contents)
    stored: dict[int, int] = field(default_factory=dict)
    segments: list[str] = field(default_factory=list)  # their runs of ids' tables (seal_planned)


class PlanChanged(Exception):
    "Under the lock: a patient whose statement content was planned holds credit now."


def plan(
    conn: Database,
    name: str,
    issues: list[NewInvoice],
    adj_rows: list[tuple[int, int]],
    *,
    at: str,
    claims: list[tuple[int, int]] | None = None,
) -> Planned:
    """Before the lock: `issues` (with their content hashes) inserted into temp tables named
    after `name`, with their transfers' links and the (invoice id, facility claim id) `claims`
    they bill; each invoice of one encounter named by the encounter's number."""
    drop_planned(conn, name)
    for t in _PLANNED:
        conn.execute(f"CREATE TEMP TABLE {name}{t} AS SELECT * FROM main.{t} WHERE 0")
    conn.execute(
        f"CREATE TEMP TABLE {name}adjustments AS SELECT * FROM main.patient_invoice_adjustments"
        " WHERE 0"
    )
    conn.execute(f"CREATE TEMP TABLE {name}claims (invoice_id INTEGER, claim_id INTEGER)")
    prefix = f"temp.{name}"
    insert_invoices(conn, issues, at=at, into=prefix)
    conn.conn.executemany(
        f"INSERT INTO {prefix}adjustments (adjustment_id, invoice_line_id) VALUES (?, ?)",
        adj_rows,
    )
    conn.conn.executemany(
        f"INSERT INTO {prefix}claims (invoice_id, claim_id) VALUES (?, ?)", claims or []
    )
    name_encounters(conn, issues)
    return Planned(prefix, issues)


def drop_planned(conn: Database, name: str) -> None:
    """The temp tables `plan` made for `name` (none is needed once the run committed)."""
    segments = [
        r[0].removeprefix(name)
        for r in conn.execute(
            "SELECT name FROM sqlite_temp_master WHERE type = 'table' AND name LIKE ?",
            (f"{name}segment%",),
        )
    ]
    for t in (*_PLANNED, "adjustments", "claims", "invoice_snapshots", *segments):
        conn.execute(f"DROP TABLE IF EXISTS temp.{name}{t}")


def plan_contents(
    conn: Database,
    planned: Planned,
    prac: dict,
    describer: Describer,
    *,
    today: _dt.date,
    skip: set[int],
) -> None:
    """Before the lock: the statement content of the planned invoices whose patient holds no
    credit (so nothing is applied under the lock) and is not in `skip` (a patient with another
    invoice in the run: its content reads that one), computed from the plan
    (statement.patient_contents) and planned in `{prefix}invoice_snapshots`. What it reads
    besides the plan is in the run's readset (readset.more: the patients' accounts and credit,
    the claims their transfers come from), so it is what the lock would compute."""
    from .statement import patient_contents

    p = planned.prefix
    conn.execute(
        f"CREATE TABLE {p}invoice_snapshots AS SELECT * FROM main.invoice_snapshots WHERE 0"
    )
    holders = _holders(conn, f"(SELECT patient_id AS id FROM {p}invoices)")
    ids = [
        it.row["id"]
        for it in planned.issues
        if it.row["patient_id"] not in holders and it.row["patient_id"] not in skip
    ]
    if not ids:
        return
    t = content.temp_ids(conn, "_pat_planned", ids)
    own = (f"{p}invoices", f"{p}invoice_lines", f"{p}adjustments")
    contents = patient_contents(conn, t, prac, describer, today=today, tables=own)
    insert_snapshots(conn, [(i, contents[i]) for i in ids], into=p)
    planned.stored = {i: contents[i]["balance_due_cents"] for i in ids}


def seal_planned(conn: Database, planned: Planned, first_event: int, batches: str) -> int:
    """Before the lock, once the ids of the events the run writes before these are known: the
    'issued' events get theirs from `first_event` on, and the rows their batch seals
    (audit.plan_batches into `batches`). Returns the id after the last event."""
    p = planned.prefix
    conn.execute(f"UPDATE {p}invoice_events SET id = ? + rowid - 1", (first_event,))
    planned.first_event = first_event
    for t in _PLANNED:
        audit.plan_batches(conn, t, f"{p}{t}", batches)
    # the planned contents, one table per run of consecutive invoice ids (a patient holding
    # credit leaves a gap: audit.insert_planned copies one run of ids a call)
    ids = sorted(planned.stored)
    runs = [k for k in range(len(ids)) if k == 0 or ids[k] != ids[k - 1] + 1] + [len(ids)]
    planned.segments = []
    for k, (a, b) in enumerate(zip(runs, runs[1:], strict=False)):
        seg = f"{p}segment{k}"
        conn.execute(
            f"CREATE TABLE {seg} AS SELECT * FROM {p}invoice_snapshots"
            " WHERE invoice_id BETWEEN ? AND ? ORDER BY invoice_id",
            (ids[a], ids[b - 1]),
        )
        audit.plan_batches(conn, "invoice_snapshots", seg, batches)
        planned.segments.append(seg)
    return first_event + len(planned.issues)


def write_planned(
    conn: Database,
    result: RunResult,
    planned: Planned,
    prac: dict,
    describer: Describer,
    *,
    batches: str,
    pdf: bool,
    today: _dt.date,
    files: dict[int, str],
) -> None:
    """Under the lock: the planned rows copied (audit.insert_planned: sealed by their planned
    batches), then what depends on the ledger as it is now, as `patient_invoices` does: held
    credit applied, the statement content stored; the facility claims linked and marked billed.
    The run checked that nothing they were built from changed (generate's readset) and took
    their numbers and ids (generate._check_and_take)."""
    p = planned.prefix
    first = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM main.invoice_events").fetchone()[0]
    if first != planned.first_event:
        # events were written since the ids were planned (credit applied to the invoices
        # copied before these, another command's): the events follow them, and the planned
        # seals no longer fit (insert_planned seals each row from the database instead)
        conn.execute(f"UPDATE {p}invoice_events SET id = id + ?", (first - planned.first_event,))
        conn.execute(f"DELETE FROM {batches} WHERE source = ?", (f"{p}invoice_events",))
    for t in _PLANNED:
        audit.insert_planned(conn, t, f"{p}{t}", batches)
    conn.execute(
        "INSERT INTO patient_invoice_adjustments (adjustment_id, invoice_line_id)"
        f" SELECT adjustment_id, invoice_line_id FROM {p}adjustments ORDER BY rowid"
    )
    applied = apply_credit(
        conn,
        [it.row["patient_id"] for it in planned.issues],
        today,
        patients=f"(SELECT patient_id AS id FROM {p}invoices)",
    )
    if applied & {it.row["patient_id"] for it in planned.issues if it.row["id"] in planned.stored}:
        raise PlanChanged()  # the readset holds credit: only a change it missed comes here
    for seg in planned.segments:
        audit.insert_planned(conn, "invoice_snapshots", seg, batches)
    _store(
        conn,
        result,
        planned.issues,
        prac,
        describer,
        pdf=pdf,
        today=today,
        files=files,
        table=None if planned.stored else f"{p}invoices",
        stored=planned.stored,
    )
    conn.execute(
        f"INSERT INTO inst_claim_invoices (invoice_id, claim_id) SELECT invoice_id, claim_id"
        f" FROM {p}claims ORDER BY rowid"
    )
    conn.execute(
        f"UPDATE inst_claims SET status = 'billed' WHERE id IN (SELECT claim_id FROM {p}claims)"
    )
    if any(ln["charge_line_id"] for it in planned.issues for ln in it.lines):
        conn.execute(
            "UPDATE charge_lines SET status = 'billed' WHERE id IN (SELECT charge_line_id FROM"
            f" {p}invoice_lines WHERE charge_line_id IS NOT NULL)"
        )


def _items_by_patient(conn: Database, self_encs: list[dict]) -> dict[int, list[Item]]:
    """Self-pay encounters (by date of service) then transfers (by date, claim), per patient."""
    items: dict[int, list[Item]] = defaultdict(list)
    for e in sorted(self_encs, key=lambda e: (e["date_of_service"], e["number"])):
        items[e["patient_id"]].append(("encounter", e))
    for pid, ts in transfers(conn, None).items():
        for t in sorted(
            ts, key=lambda t: (t["date_of_service"] or "", t["claim"], t["adjustment_id"])
        ):
            items[pid].append(("transfer", t))
    return items


def _payable(items: dict[int, list[Item]], pats: dict[int, dict], result: RunResult) -> list[int]:
    """Patients (by MRN) whose items total more than zero; the others are counted as skipped."""
    plans = []
    for pid in sorted(items, key=lambda p: pats[p]["mrn"]):
        total = sum(
            sum(ln["charge_cents"] for ln in x["lines"]) if k == "encounter" else x["amount_cents"]
            for k, x in items[pid]
        )
        if total <= 0:
            result.skipped_zero += 1
            continue
        plans.append(pid)
    return plans


def _build(
    ids: InvoiceIds,
    pid: int,
    number: str,
    items: list[Item],
    account: str,
    *,
    issued_on: str,
    due_on: str,
    describer: Describer,
    adj_rows: list[tuple[int, int]],
) -> NewInvoice:
    """One patient's invoice: a line per encounter line and per transfer (whose adjustment and
    line are added to `adj_rows`)."""
    inv_id = ids.next_invoice()
    lines = []
    enc_ids = set()
    n = 0
    for kind, x in items:
        if kind == "encounter":
            enc_ids.add(x["id"])
            for ln in x["lines"]:
                n += 1
                lines.append(
                    line_row(
                        ids,
                        inv_id,
                        n,
                        charge_line_id=ln["charge_line_id"],
                        # an institutional line has its own date and description (selfpay.py)
                        dos=ln.get("date_of_service") or x["date_of_service"],
                        code=ln["code"],
                        modifiers=content.modifiers_of(ln),
                        units=ln["units"],
                        description=ln.get("description")
                        or describer.procedure(ln["code"], x["date_of_service"]),
                        amount=ln["charge_cents"],
                    )
                )
        else:
            n += 1
            if x["encounter_id"]:
                enc_ids.add(x["encounter_id"])
            reason = _REASONS.get(x["reason"], f"Patient responsibility (CARC {x['reason']})")
            row = line_row(
                ids,
                inv_id,
                n,
                charge_line_id=None,
                dos=x["date_of_service"],
                code=x["code"],
                modifiers=[m for m in (x["modifiers"] or "").split(",") if m],
                units=x["units"],
                description=f"{reason}, claim {x['claim']}",
                amount=x["amount_cents"],
            )
            lines.append(row)
            adj_rows.append((x["adjustment_id"], row["id"]))
    one_encounter = next(iter(enc_ids)) if len(enc_ids) == 1 else None
    row = {
        "id": inv_id,
        "number": number,
        "kind": "patient",
        "patient_id": pid,
        "payer_id": None,
        "coverage_id": None,
        "encounter_id": one_encounter,
        "original_invoice_id": None,
        "frequency_code": "1",
        "issued_on": issued_on,
        "due_on": due_on,
        "filing_deadline": None,
        "total_cents": sum(ln["amount_cents"] for ln in lines),
        "copay_cents": 0,
    }
    dos = sorted({ln["date_of_service"] for ln in lines if ln["date_of_service"]})
    # the encounter's number is looked up once the invoice is inserted (_insert)
    return NewInvoice(row, lines, None, "patient", None, account, dos[0] if dos else None)


def _insert(
    conn: Database,
    issues: list[NewInvoice],
    adj_rows: list[tuple[int, int]],
    *,
    at: str,
    today: _dt.date,
) -> None:
    """Insert the invoices and their transfer links, name their encounter, apply held credit."""
    insert_invoices(conn, issues, at=at)
    conn.conn.executemany(
        "INSERT INTO patient_invoice_adjustments (adjustment_id, invoice_line_id) VALUES (?, ?)",
        adj_rows,
    )
    name_encounters(conn, issues)
    apply_credit(conn, [it.row["patient_id"] for it in issues], today)


def name_encounters(conn: Database, issues: list[NewInvoice]) -> None:
    """Each invoice of one encounter named by its encounter's number (one query for all)."""
    one = {it.row["encounter_id"] for it in issues if it.row["encounter_id"] is not None}
    if not one:
        return
    t = content.temp_ids(conn, "_pat_encounters", one)
    numbers = dict(
        conn.execute(f"SELECT e.id, e.number FROM {t} t JOIN encounters e ON e.id = t.id")
    )
    for it in issues:
        if it.row["encounter_id"] is not None:
            it.encounter = numbers[it.row["encounter_id"]]


def _store(
    conn: Database,
    result: RunResult,
    issues: list[NewInvoice],
    prac: dict,
    describer: Describer,
    *,
    pdf: bool,
    today: _dt.date,
    files: dict[int, str],
    table: str | None = None,
    stored: dict[int, int] | None = None,
) -> None:
    """Each invoice's statement content stored (after credit is applied), and the name of its
    PDF, when a balance is due, put in `files` (rendered after COMMIT: render_pdfs). `table`:
    one holding the invoices' ids (column id), when the caller has one; `stored`: the balance
    due of those whose content is stored already (write_planned)."""
    from .statement import patient_contents

    stored = stored or {}
    todo = [it.row["id"] for it in issues if it.row["id"] not in stored]
    contents = {}
    if todo:
        t = table or content.temp_ids(conn, "_pat_store", todo)
        contents = patient_contents(conn, t, prac, describer, today=today)
    snaps = []
    for it in issues:
        if it.row["id"] in stored:
            balance = stored[it.row["id"]]
        else:
            c = contents[it.row["id"]]
            snaps.append((it.row["id"], c))
            balance = c["balance_due_cents"]
        if pdf and balance > 0:
            final = inside(result.out_dir, f"{it.row['number']}.pdf")
            result.files.append(final)
            files[it.row["id"]] = final.name
    insert_snapshots(conn, snaps)


def _store_and_render(
    conn: Database,
    result: RunResult,
    staged: Staged,
    issues: list[NewInvoice],
    prac: dict,
    describer: Describer,
    *,
    at: str,
    run_id: int,
    pdf: bool,
    today: _dt.date,
    files_by_invoice: dict[int, str],
) -> None:
    """`_store`, with the PDFs rendered, staged and recorded at once, in the caller's
    transaction (institutional/selfpay.issue; `invoice generate` renders its own after COMMIT,
    render_pdfs)."""
    before = set(files_by_invoice)
    _store(conn, result, issues, prac, describer, pdf=pdf, today=today, files=files_by_invoice)
    named = [(iid, name) for iid, name in files_by_invoice.items() if iid not in before]
    pending = [
        (
            iid,
            name,
            run_id,
            conn.execute(
                "SELECT data FROM invoice_snapshots WHERE invoice_id = ?", (iid,)
            ).fetchone()[0],
        )
        for iid, name in named
    ]
    record_pdfs(conn, render_pdfs(conn, staged, result.out_dir, pending, at=at))


def pending_pdfs(conn: Database, out_dir: Path) -> list[tuple[int, str, int, str]]:
    """Patient invoices of the runs into `out_dir` whose PDF the run named (invoice_runs.file)
    and nobody recorded yet: (invoice id, file name, issuing run, stored content)."""
    return conn.execute(
        "SELECT ir.invoice_id, ir.file, ir.run_id, s.data FROM invoice_runs ir"
        " JOIN invoices i ON i.id = ir.invoice_id"
        " JOIN invoice_snapshots s ON s.invoice_id = ir.invoice_id"
        " WHERE ir.run_id IN (SELECT id FROM billing_runs WHERE out_dir = ?)"
        " AND i.kind = 'patient' AND ir.file LIKE '%.pdf'"
        " AND NOT EXISTS (SELECT 1 FROM invoice_files f WHERE f.invoice_id = ir.invoice_id"
        " AND f.kind = 'pdf') ORDER BY ir.invoice_id",
        (str(out_dir.resolve()),),
    ).fetchall()


def render_pdfs(
    conn: Database,
    staged: Staged,
    out_dir: Path,
    pending: list[tuple[int, str, int, str]],
    *,
    at: str,
) -> list[tuple]:
    """Without the write lock: the `pending` PDFs rendered from their stored content (as
    `invoice export --format pdf` renders them) and staged; returns their invoice_files rows,
    for the caller to record with the staged files in one short transaction."""
    import json

    from . import pdf as pdf_mod

    rows = []
    for iid, name, run_id, data in pending:
        final = inside(out_dir, name)
        staged.write_bytes(final, pdf_mod.render(json.loads(data)))
        rows.append((iid, "pdf", str(absolute(final)), run_id, None, None, at))
    return rows


def record_pdfs(conn: Database, rows: list[tuple]) -> None:
    """Under the write lock: the invoice_files rows of render_pdfs."""
    conn.conn.executemany(
        "INSERT INTO invoice_files (invoice_id, kind, path, run_id, interchange_id, st_control,"
        " created_at) VALUES (?,?,?,?,?,?,?)",
        rows,
    )


def apply_credit(
    conn: Database, patient_ids: list[int], today: _dt.date, *, patients: str | None = None
) -> set[int]:
    """Co-pays and other credit held for the patient pay the new invoice at once (accounts' rule).
    `patients`: a table (or subquery) of the same ids (column id), when the caller has one.
    Returns the patients who held credit."""
    try:
        from ..accounts.payments import apply_credit as apply
    except ImportError:  # the accounts domain is not installed in this build
        return set()
    # only the patients who hold credit (apply does nothing for the others): one query finds
    # them, where asking each patient cost a query per invoice under the write lock (issue 15)
    holders = _holders(conn, patients or content.temp_ids(conn, "_pat_credit", patient_ids))
    for pid in dict.fromkeys(patient_ids):
        if pid in holders:
            apply(conn, pid, today)
    return holders


def _holders(conn: Database, patients: str) -> set[int]:
    """Of the patients of `patients` (a table or subquery, column id), those holding credit."""
    try:
        from ..accounts.payments import holding_credit
    except ImportError:  # the accounts domain is not installed in this build
        return set()
    return holding_credit(conn, patients)
