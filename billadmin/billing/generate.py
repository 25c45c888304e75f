"""`billadmin invoice generate`: bill everything that is ready, and nothing twice.

A run is prepared from one read snapshot without the write lock (steps 1-3: gathered, held,
built, rendered, validated), then written under one BEGIN IMMEDIATE transaction that first
checks nothing it read has changed (steps 3-5 written; `generate` says how):
1. Unbilled charge lines of encounters with a date of service up to --through are gathered per
   encounter, and each encounter gets its bill-to (content.py: the primary coverage active on
   the date of service, else the patient).
2. Encounters are held, with their findings, when the scrubber (injected: billadmin.scrub.check)
   reports an error, or when the claim could not be built (rules CLAIM-* below), or when some of
   the encounter's lines are already on an invoice (ALREADY-BILLED: a late line is a correction,
   `invoice replace`).
3. Claims (one per encounter, numbered C...) carry collected co-pays as AMT*F5 and the payer's
   timely-filing deadline. Voids and replacements queued by `invoice void|replace` join them,
   and so do next-payer (COB) claims for what posted 835s left (cob.py: routed first, in a
   short transaction of its own, so what goes to a next payer or is held by a
   patient-protection rule never reaches step 4), and institutional claims on 837Is
   (institutional/generate.py).
   One 837P per payer; each is validated before it is written (x12files.Gate: the validator
   compiled from pyx12's maps, pyx12's verdicts; `pyx12=True` runs pyx12 too): a file that fails
   rolls the whole run back (no number is used) and the errors are raised (exit 2).
4. Patient invoices (P...) per patient: self-pay encounters' lines and patient responsibility
   posted from remittances (adjustments with source 'transfer') not yet invoiced. A patient
   whose items total zero or less is skipped. Co-pays held as credit are applied at once
   (accounts.payments.apply_credit); a PDF is written when a balance is due.
5. invoices.csv and invoices.xlsx list every invoice issued into the output folder.
Files are written next to their final names, recorded, and renamed after COMMIT; a run stopped
in between is finished by the next run into the folder and reported by `check` (files.py).

The steps live in their own modules: holds.py (what is ready, what is held), claims.py,
x12files.py (the 837P files), patient_invoices.py, invoices.py (rows written to the ledger),
listing.py (invoices.csv/xlsx, held.csv); this module runs them in order.

Rules for building a claim (each holds the encounter with a finding, severity error; checked by
scrub/claim.py and registered in the scrubber's registry, so `codes check` reports them too and
`codes rules` lists them):
  CLAIM-NO-DX        the encounter has no diagnosis: HI (loop 2300) needs at least one.
  CLAIM-POINTER      a line's pointers are unreadable, or point to no diagnosis, to one that does
                     not exist, to more than 4 or to one twice (billadmin.pointers; SV107 holds
                     1-4 pointers to HI positions).
  CLAIM-LINES        more than 50 lines (loop 2400 repeats at most 50 times).
  CLAIM-CHARGE       a negative charge or a unit count below 1.
  CLAIM-ADDRESS      the patient's street, city, state or ZIP is missing or not a US address
                     (N3/N4 required for the patient, loop 2010BA or 2010CA).
  CLAIM-PAYER-ID     the payer has no X12 payer id (NM1*PR NM109, loop 2010BB).
  CLAIM-SUBSCRIBER   the patient is a dependent and the subscriber's name is not recorded.
  CLAIM-MEMBER-ID    the coverage has no member id (NM1*IL NM109).
  ALREADY-BILLED     some of the encounter's lines are on an issued invoice (use invoice replace).
"""

from __future__ import annotations

import datetime as _dt
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import audit, db
from ..errors import BadInput, BillAdminError, NotFound
from . import cob, content, numbering, readset, split
from .claims import build_claim, copays_due, queued_claims
from .files import Staged, folder_lock, place_run_files, remove_stale_temps, repair_runs
from .holds import candidates, hold
from .invoices import (
    InvoiceIds,
    NewInvoice,
    insert_invoices,
    insert_snapshots,
    mark_billed,
    plan_digests,
    planned_digests,
)
from .listing import write_held, write_listing
from .patient_invoices import Planned, drop_planned, patient_invoices
from .result import Held, Progress, RunResult, silent
from .x12files import X12Invalid, X12Run

if TYPE_CHECKING:
    from ..db import Database
    from ..institutional.generate import Prepared
    from .describe import Describer

__all__ = ["Held", "RunChanged", "RunResult", "X12Invalid", "generate", "insert_invoices"]


class _DryRun(Exception):
    "Raised inside the write transaction to roll a dry run back."


class RunChanged(BillAdminError):
    "What a run bills kept changing while it was prepared: nothing was written (exit 3, retry)."

    exit_code = 3


class _Stale(Exception):
    "Under the lock: what the run read, or a number it rendered, changed since its snapshot."

    def __init__(self, parts: list[str]):
        super().__init__(", ".join(parts))
        self.parts = parts


# phase (a)'s invoice rows wait in temp tables of the run's connection (no lock, little memory)
PLAN = "temp._plan_"
_PLANNED = ("invoices", "invoice_lines", "invoice_events", "invoice_snapshots")
# the 837P files' invoice_files rows and 'sent' events, planned too, copied after the files'
# interchanges are recorded when the ids they were planned with still hold (_copy_sent)
_PLANNED_SENT = (("_plan_files", "invoice_files"), ("_plan_sent", "invoice_events"))
# their columns as _plan_sent inserts them (X12Run.planned_rows' order, after the id)
_FILE_COLS = [
    "id",
    "invoice_id",
    "kind",
    "path",
    "run_id",
    "interchange_id",
    "st_control",
    "created_at",
]
_SENT_COLS = ["id", "invoice_id", "status", "at", "note"]
# their batch seals (each row's digest, packed per run of consecutive ids), computed in phase
# (a) for the write phase's copy (audit.plan_batches, audit.insert_planned)
DIGESTS = "temp._plan_batches"
# the claims' charge lines to mark billed, and the invoice_runs rows of the claims and queued
# invoices, planned in phase (a) too (_plan_marks)
BILLED = "temp._plan_billed"
RUNS = "temp._plan_runs"
# preparations before a run whose input keeps changing gives up (RunChanged): a run that commits
# claims sends each run being prepared meanwhile back once (the claim series moved), so up to
# this many runs started at once all finish (tests/test_invoice_generate.py starts four)
ATTEMPTS = 5


def generate(
    conn: Database,
    *,
    through: _dt.date | None = None,
    payer: str | None = None,
    claims: bool = True,
    patients: bool = True,
    out_dir: Path | None = None,
    dry_run: bool = False,
    pdf: bool = True,
    xlsx: bool = True,
    scrub: Callable | None = None,
    today: _dt.date | None = None,
    workers: int | None = None,
    pyx12: bool = False,
    progress: Progress | None = None,
    cob_for: list[str] | None = None,
) -> RunResult:
    """Issue every claim and patient invoice that is ready (see the module docstring).
    `progress(step)` is told each step as it starts, and `progress("837 segments checked",
    done, total)` how far validation has got on a large run.

    Two phases (issue 15: the write lock is never held while claims are built, rendered or
    validated):
    (a) `_prepare`, in one read transaction (a consistent snapshot, no lock): gather, scrub and
        hold, build the claims with the numbers the snapshot says come next (claim series,
        invoice and line ids, ISA13/GS06), plan their rows in temp tables, render and stage
        each payer's 837P and wait for the gate's verdict on every file; and `readset.digest` of
        what all that read.
    (b) `_write_phase`, under BEGIN IMMEDIATE: when another connection committed meanwhile
        (PRAGMA data_version), the digest is taken again and compared (first without the lock,
        `_recheck`, then under it only for commits made since); the numbers are taken
        and compared with the ones rendered. Anything different: the transaction rolls back,
        the staged files are removed and the run is prepared again from a new snapshot (at most
        ATTEMPTS times, then RunChanged, exit 3). Otherwise the planned rows are copied (their
        batch seals were computed in phase (a): _plan_seals, audit.insert_planned; the claims'
        charge lines are marked billed and their invoice_runs rows copied from tables phase (a)
        filled too: _plan_marks), the files recorded, patient invoices issued and held.csv
        written, then COMMIT; the plan is dropped and result.issued listed after it, and
        invoices.csv (and .xlsx) are rendered without the lock and recorded by a short
        transaction (_listing_after_commit).
    Why the files stay valid: the numbers taken under the lock are the numbers rendered (else
    the run is prepared again), so the bytes the gate accepted are the bytes recorded and put in
    place; nothing is substituted. Gapless numbering and all-or-nothing are the lock's as before.
    Nothing is billed twice: a line billed by another run since the snapshot changes its status,
    so the digest differs and the next preparation no longer sees it unbilled.
    Next-payer (COB) claims and institutional claims (837I, UB-04) are prepared in phase (a)
    like the others: what posted 835s left is routed first by a short transaction of its own
    (cob.route: its own business fact, idempotent), then the claims due are built, numbered
    after the 837P claims, planned and rendered into their payers' files (cob.plan_claims,
    institutional/generate.py); under the lock only their plan is copied and their few other
    rows inserted (cob.write_claims, institutional write). A transfer to route that was not
    there when the run was prepared (an 835 posted meanwhile) sends the run back (readset.more).
    Only a dry run with transfers to route is `live` (prepared inside one write transaction,
    rolled back): routing writes, and a dry run writes nothing."""
    today = today or _dt.date.today()
    through = through or today
    if through > today:
        raise BadInput(
            f"--through {through.isoformat()} is after today ({today.isoformat()}):"
            " future services are not billed"
        )
    out_dir = Path(out_dir) if out_dir else Path("out") / today.isoformat()
    result = RunResult(out_dir=out_dir, dry_run=dry_run)
    opts = _Options(
        through=through,
        payer=payer,
        claims=claims,
        patients=patients,
        pdf=pdf,
        xlsx=xlsx,
        scrub=scrub,
        today=today,
        workers=workers,
        pyx12=pyx12,
        say=progress or silent,
        cob_for=cob.require_answers(conn, cob_for) if cob_for else None,
    )
    import gc

    # a run builds hundreds of thousands of small dicts and frees them at the end: the cyclic
    # collector would rescan them over and over (about a fifth of a large run), and a larger
    # page cache keeps the index inserts in memory
    gc_was = gc.isenabled()
    gc.disable()
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    # 32 MiB: at 100,000 encounters 128 MiB held no shorter a lock and took the run past 400 MB
    conn.execute("PRAGMA cache_size = -32768")
    try:
        with folder_lock(out_dir, enabled=not dry_run):
            notes: list[str] = []
            if not dry_run:  # an earlier run into this folder stopped after its COMMIT
                notes = repair_runs(conn, out_dir)
                remove_stale_temps(conn, out_dir)
            # a dry run cannot route (a write of its own): it is prepared in its rolled-back
            # transaction when there is something to route
            live = dry_run and claims and cob.unrouted(conn)
            attempt, routed = 0, []
            while True:
                attempt += 1
                result = RunResult(out_dir=out_dir, dry_run=dry_run, notes=list(notes))
                if not live and claims:
                    routed += _route(conn, opts)
                result.cob = list(routed)
                try:
                    _attempt(conn, result, opts, live=live)
                except _Stale as e:
                    if attempt >= ATTEMPTS:
                        raise RunChanged(
                            f"what this run bills changed while it was prepared, {attempt} times"
                            f" ({e}): nothing was written; run it again when fewer changes are"
                            " being made"
                        ) from None
                    opts.say(f"{e} changed while the run was prepared: preparing it again")
                    continue
                break
    finally:
        _drop_plan(conn)
        conn.execute(f"PRAGMA cache_size = {int(cache)}")
        if gc_was:
            gc.enable()
    return result


def _route(conn: Database, opts: _Options) -> list[dict]:
    """What posted 835s left, routed (cob.route) by a short write transaction of its own before
    the run is prepared; result.cob rows of what was routed."""
    if not cob.unrouted(conn):
        return []
    with db.write(conn):
        return [r.row() for r in cob.route(conn, today=opts.today, at=audit.utcnow())]


def _attempt(conn: Database, result: RunResult, opts: _Options, *, live: bool) -> None:
    """One preparation and its write phase (generate's docstring); `live`: both in one write
    transaction."""
    staged = Staged(enabled=not result.dry_run)
    try:
        try:
            if live:
                with db.write(conn):
                    if opts.claims:  # routed in this (rolled-back) transaction
                        result.cob += [
                            r.row() for r in cob.route(conn, today=opts.today, at=audit.utcnow())
                        ]
                    plan = _prepare(conn, result, staged, opts, live=True)
                    _write(conn, result, staged, opts, plan)
            else:
                plan = _read_phase(conn, result, staged, opts)
                _recheck(conn, result, plan)
                t = time.perf_counter()
                try:
                    with db.write(conn):
                        _write(conn, result, staged, opts, plan)
                finally:
                    result.timings["write lock"] = time.perf_counter() - t
        except _DryRun:
            pass
    except BaseException:
        staged.discard()  # rolled back: no file may name a number that is reused
        raise
    # committed: from here on no file of the run is deleted (files.py)
    staged.committed()
    if not live:  # after COMMIT (dropping 100,000s of planned rows takes time) and after
        # staged.committed(): an interrupt while dropping must not discard committed files
        _drop_plan(conn)
    if plan.to_list is not None:  # what the run issued, listed without the lock
        _list_issued(result, *plan.to_list)
        plan.to_list = None
    if result.run_id is not None and not result.dry_run:
        place_run_files(conn, result.run_id)
        if not live:
            _listing_after_commit(conn, result, opts)


def _listing_after_commit(conn: Database, result: RunResult, opts: _Options) -> None:
    """invoices.csv (and .xlsx) and the patient invoices' PDFs rendered from the committed rows
    without the lock, then recorded (one short transaction) and put in place like the run's
    other files (files.py). A run stopped before this has no listing or PDFs of its own; the
    next run into the folder lists it (every invoice issued into the folder) and renders the
    PDFs it named (patient_invoices.pending_pdfs), and `invoice list` and `invoice export`
    always can."""
    from .patient_invoices import pending_pdfs, record_pdfs, render_pdfs

    t = time.perf_counter()
    staged = Staged()
    pending = pending_pdfs(conn, result.out_dir)
    if not result.issued and not pending:
        return
    try:
        if pending:
            opts.say(f"writing {len(pending):,} patient invoice PDF(s)")
        pdf_rows = render_pdfs(conn, staged, result.out_dir, pending, at=audit.utcnow())
        if result.issued:
            opts.say("writing invoices.csv" + (" and invoices.xlsx" if opts.xlsx else ""))
            write_listing(conn, result, staged, xlsx=opts.xlsx)
        with db.write(conn):
            assert result.run_id is not None  # committed run
            record_pdfs(conn, pdf_rows)
            staged.record(conn, result.run_id)
    except BaseException:
        staged.discard()
        raise
    staged.committed()
    assert result.run_id is not None
    place_run_files(conn, result.run_id)
    result.timings["listing"] = result.timings.get("listing", 0.0) + time.perf_counter() - t


def _write(conn: Database, result: RunResult, staged: Staged, opts: _Options, plan: _Plan) -> None:
    _write_phase(conn, result, staged, opts, plan)
    if result.dry_run:
        raise _DryRun()
    assert result.run_id is not None  # set by _write_phase
    staged.record(conn, result.run_id)


def _read_phase(conn: Database, result: RunResult, staged: Staged, opts: _Options) -> _Plan:
    """Phase (a) in one read transaction: SQLite's snapshot of the database as of its first
    read; other connections write meanwhile. data_version is read before it begins, so any
    commit the snapshot might not show moves it."""
    version = readset.data_version(conn)
    conn.execute("BEGIN")
    try:
        plan = _prepare(conn, result, staged, opts, live=False)
    except BaseException:
        if conn.conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")  # only temp tables were written (the plan)
    plan.version = version
    return plan


# how many times _recheck hashes again while other connections keep committing
RECHECKS = 3


def _recheck(conn: Database, result: RunResult, plan: _Plan) -> None:
    """Still without the lock: when another connection committed while the run was prepared
    (a clerk posting a payment, say), what it read is hashed again from a new snapshot, so the
    lock is taken with a recent data_version and only a commit in these last moments makes the
    write phase hash it again under the lock. A commit made while it hashes (the digest takes a
    second at 100,000 encounters) moves data_version again: hashed again, up to RECHECKS times,
    rather than under the lock. A difference: _Stale (prepared again)."""
    for _ in range(RECHECKS):
        version = readset.data_version(conn)
        if version == plan.version:
            return
        t = time.perf_counter()
        conn.execute("BEGIN")
        try:
            now = _digest(conn, plan)
            _rebase_events(conn, result, plan)
        finally:
            conn.execute("COMMIT")
        took = time.perf_counter() - t
        result.timings["readset recheck"] = result.timings.get("readset recheck", 0.0) + took
        parts = readset.changed(plan.readset, now)
        if parts:
            raise _Stale(parts)
        plan.version = version


def _drop_plan(conn: Database) -> None:
    """Every temp table phase (a) planned rows in (none is needed once the run committed)."""
    for t in _PLANNED:
        conn.execute(f"DROP TABLE IF EXISTS {PLAN}{t}")
    for name, _ in _PLANNED_SENT:
        conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
    for t in (DIGESTS, BILLED, RUNS, PATIENT_DIGESTS):
        conn.execute(f"DROP TABLE IF EXISTS {t}")
    for name in ("_plan_pat_", "_plan_inst_pat_"):  # _plan_patients
        drop_planned(conn, name)


def _new_plan_tables(conn: Database) -> None:
    _drop_plan(conn)
    for t in _PLANNED:
        conn.execute(f"CREATE TEMP TABLE _plan_{t} AS SELECT * FROM main.{t} WHERE 0")
    for name, t in _PLANNED_SENT:
        conn.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM main.{t} WHERE 0")
    conn.execute(f"DROP TABLE IF EXISTS {DIGESTS}")
    conn.execute(f"CREATE TABLE {DIGESTS} {audit.BATCHES_SQL}")
    # the invoices, lines and snapshots planned are digested as they are inserted, from the
    # values in hand (_plan_seals packs them; audit.PlannedDigests says when they are taken)
    plan_digests(conn, audit.PlannedDigests(PLAN, DIGESTS))


def _next_event_id(conn: Database) -> int:
    return conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM main.invoice_events").fetchone()[0]


def _plan_seals(conn: Database, result: RunResult, plan: _Plan) -> None:
    """Phase (a), once the rows are planned: the 'issued' events get their ids (the next ones
    in the snapshot: other commands add events too, so _rebase_events follows them), and the
    planned rows their batch seals (audit.plan_batches: each row's digest, one record per run of
    ids), so the write phase copies them without queueing a seal a row and its seal only chains
    one HMAC a batch (audit.insert_planned)."""
    t = time.perf_counter()
    digested = planned_digests(conn)
    plan_digests(conn, None)
    plan.events_base = _next_event_id(conn)
    conn.execute(f"UPDATE {PLAN}invoice_events SET id = ? + rowid - 1", (plan.events_base,))
    if digested is not None:  # the same ids, in the order insert_invoices inserted them
        digested.number(conn, "invoice_events", plan.events_base)
    if plan.x12 is not None:
        _plan_sent(conn, plan, plan.x12, digested)
    sources = [(t, f"{PLAN}{t}") for t in _PLANNED]
    sources += [(t, f"temp.{name}") for name, t in _PLANNED_SENT]
    for table, source in sources:  # the rows not digested as they were planned are read back
        if digested is None or digested.finish(conn, table, source=source) is None:
            audit.plan_batches(conn, table, source, DIGESTS)
    result.timings["seal digests"] = time.perf_counter() - t


def _plan_marks(conn: Database, result: RunResult, plan: _Plan) -> None:
    """Phase (a), last: the claims' charge lines to mark billed (sorted: a temp table filled in
    key order is several times faster to fill than in claim order) and the invoice_runs rows of
    the claims and of the queued invoices sent, in the order _record inserts them (their files
    are the planned files' names, which nothing under the lock changes; the run id is given
    there), so that the lock marks and copies each with one statement (_write_phase, _record)."""
    t = time.perf_counter()
    files = plan.files
    content.temp_ids(conn, BILLED.removeprefix("temp."), sorted(plan.billed_lines))
    conn.execute(f"DROP TABLE IF EXISTS {RUNS}")
    conn.execute(f"CREATE TABLE {RUNS} (invoice_id INTEGER NOT NULL, file TEXT, queued INTEGER)")
    conn.conn.executemany(
        f"INSERT INTO {RUNS} (invoice_id, file, queued) VALUES (?, ?, ?)",
        [(it.row["id"], files.get(it.row["id"]), 0) for it in plan.issues]
        + [(iid, files.get(iid), 1) for iid in plan.queued],
    )
    plan.marks_planned = True
    result.add_timing("insert", t)


@dataclass
class _SentPlan:
    """The ids the 837P files' rows were planned with (_plan_sent)."""

    run: int  # billing_runs
    interchange: int  # the first x12_interchanges id
    file: int  # the first invoice_files id
    events: int  # how many 'issued' events come before the 'sent' ones


def _max_id(conn: Database, table: str) -> int:
    return conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM main.{table}").fetchone()[0]


def _plan_sent(
    conn: Database, plan: _Plan, x12: X12Run, digested: audit.PlannedDigests | None = None
) -> None:
    """The invoice_files rows and 'sent' events X12Run.record would insert, with the ids the
    snapshot says come next (the run's, its interchanges', its files' and the events' after the
    planned 'issued' ones), digested from the values inserted (`digested`) rather than read
    back."""
    sp = _SentPlan(
        run=_max_id(conn, "billing_runs") + 1,
        interchange=_max_id(conn, "x12_interchanges") + 1,
        file=_max_id(conn, "invoice_files") + 1,
        events=conn.execute(f"SELECT COUNT(*) FROM {PLAN}invoice_events").fetchone()[0],
    )
    file_rows, sent = x12.planned_rows(sp.run, sp.interchange)
    files = [(sp.file + k, *row) for k, row in enumerate(file_rows)]
    del file_rows
    conn.conn.executemany(
        f"INSERT INTO temp._plan_files ({', '.join(_FILE_COLS)}) VALUES (?,?,?,?,?,?,?,?)", files
    )
    first = plan.events_base + sp.events
    events = [(first + k, iid, "sent", x12.at, name) for k, (iid, name) in enumerate(sent)]
    conn.conn.executemany(
        f"INSERT INTO temp._plan_sent ({', '.join(_SENT_COLS)}) VALUES (?, ?, ?, ?, ?)", events
    )
    if digested is not None:
        digested.add(conn, "invoice_files", _FILE_COLS, files, source="temp._plan_files")
        digested.add(conn, "invoice_events", _SENT_COLS, events, source="temp._plan_sent")
    plan.sent = sp
    plan.files = dict(sent)


def _copy_sent(
    conn: Database, plan: _Plan, run_id: int, first_interchange: int
) -> dict[int, str] | None:
    """Under the lock, once the interchanges are recorded (X12Run.record's copy_planned): the
    planned files and 'sent' events inserted (with their batch seals) when every id they name
    is the one given now, and their names by invoice id returned; else None, and record inserts
    them as it always did."""
    sp = plan.sent
    first_event = plan.events_base + sp.events if sp else 0
    if (
        sp is not None
        and (sp.run, sp.interchange) == (run_id, first_interchange)
        and _max_id(conn, "invoice_files") + 1 == sp.file
        and _next_event_id(conn) == first_event
    ):
        for name, table in _PLANNED_SENT:
            audit.insert_planned(conn, table, f"temp.{name}", DIGESTS)
        return plan.files  # the names record would give (planned_rows, in its order)
    return None


def _rebase_events(conn: Database, result: RunResult, plan: _Plan, *, digest: bool = True) -> None:
    """Other commands (a payment posted, an acknowledgment) added invoice events since the
    planned ones were numbered: they move up to follow them, and their digests are computed
    again (digest=False, under the lock: dropped, so they are sealed a row at a time)."""
    base = _next_event_id(conn)
    if base == plan.events_base:
        return
    t = time.perf_counter()
    for events in (f"{PLAN}invoice_events", "temp._plan_sent"):
        conn.execute(f"UPDATE {events} SET id = id + ?", (base - plan.events_base,))
    plan.events_base = base
    conn.execute(f"DELETE FROM {DIGESTS} WHERE tbl = 'invoice_events'")
    if digest:
        for events in (f"{PLAN}invoice_events", "temp._plan_sent"):
            audit.plan_batches(conn, "invoice_events", events, DIGESTS)
    result.timings["seal digests"] = result.timings.get("seal digests", 0) + time.perf_counter() - t


@dataclass(frozen=True)
class _Options:
    through: _dt.date
    payer: str | None
    claims: bool
    patients: bool
    pdf: bool
    xlsx: bool
    scrub: Callable | None
    today: _dt.date
    workers: int | None
    pyx12: bool
    say: Progress
    cob_for: list[int] | None = None  # only these claims' next-payer claims (cob.require_answers)


@dataclass
class _Gathered:
    """What the run reads before it writes: the encounters to bill and everything about them."""

    claim_encs: list[dict]  # encounters billed to their primary coverage's payer
    self_encs: list[dict]  # self-pay encounters (patient invoices)
    enc_table: str  # temp tables of the candidate encounters' and patients' ids
    pat_table: str
    payers: dict[int, dict]
    providers: dict[int, dict]
    pats: dict[int, dict]
    dxs: dict[int, list[str]]


@dataclass
class _Plan:
    """What phase (a) prepared, for phase (b) to check, number and write."""

    live: bool  # prepared inside the write lock (numbers taken, rows inserted)
    g: _Gathered
    prac: dict
    scope: dict | None
    patients: bool
    at: str
    ids: InvoiceIds  # past the claims' ids: the patient invoices go on from here
    ids_start: tuple[int, int]  # the first invoice and line ids the snapshot gave
    claim_numbers: list[str]
    issues: list[NewInvoice]  # the claims, slimmed (listing)
    queued: list[int]  # voids, replacements and resends sent
    copay_rows: list[tuple[int, int]]
    billed_lines: list[int]
    x12: X12Run | None
    billed_table: str  # temp table: the encounters billed (readset)
    readset: dict[str, str]
    version: int | None = None  # PRAGMA data_version before the snapshot
    events_base: int = 0  # the id of the first planned invoice event (_plan_seals)
    sent: _SentPlan | None = None  # the ids the files' rows were planned with (_plan_sent)
    files: dict[int, str] = field(default_factory=dict)  # their names by invoice id (_plan_sent)
    # next-payer claims (837P, 837I) and institutional claims planned, their rows for the lock
    cob: list[cob.Planned] = field(default_factory=list)
    inst: Prepared | None = None
    # temp tables of their patients and prior claims (readset.more), once they are planned
    more_tables: tuple[str, str] | None = None
    # the claim series' (prefix, next number) in the snapshot: the numbers peeked go on from it
    claim_from: tuple[str, int] | None = None
    # phase (a) planned the charge lines to mark billed and the claims' invoice_runs rows
    # (_plan_marks): the lock copies them with one statement each
    marks_planned: bool = False
    # the run's invoices and their files: result.issued listed from them after COMMIT
    to_list: tuple[list[NewInvoice], dict[int, str]] | None = None
    # the patient invoices built and planned in phase (a) (_plan_patients), the patient
    # series' (prefix, next number) in the snapshot and how many they take from it
    patient_plan: list[Planned] | None = None
    patient_from: tuple[str, int] | None = None
    patient_count: int = 0
    describer: Describer | None = None


def _prepare(
    conn: Database, result: RunResult, staged: Staged, opts: _Options, *, live: bool
) -> _Plan:
    """Phase (a): everything but the writes (generate's docstring)."""
    from . import practice as practice_mod

    t0 = time.perf_counter()
    now = audit.utcnow()
    scope = _scope_payer(conn, opts.payer)
    patients = opts.patients and not scope
    prac = practice_mod.for_claims(conn) if opts.claims else practice_mod.get(conn)
    if prac is None:
        raise BadInput("the practice is not set up: run `billadmin practice set` first")

    opts.say("reading unbilled charge lines")
    g = _gather(conn, opts, scope, patients)
    held_ids = hold(
        conn,
        result,
        claim_encs=g.claim_encs,
        self_encs=g.self_encs,
        enc_table=g.enc_table,
        dxs=g.dxs,
        pats=g.pats,
        payers=g.payers,
        scrub=opts.scrub,
        today=opts.today,
        say=opts.say,
    )
    held_ids = split.long_claims(conn, prac, result, g.claim_encs, held_ids)  # over 50 lines
    # each claim's encounter is released once its payer's file is rendered
    g.claim_encs = [e for e in g.claim_encs if e["id"] not in held_ids]
    g.self_encs = [e for e in g.self_encs if e["id"] not in held_ids]
    billed_t = content.temp_ids(
        conn, "_gen_billed", [e["id"] for e in g.claim_encs] + [e["id"] for e in g.self_encs]
    )
    tr = time.perf_counter()
    rs = {} if live else readset.digest(conn, billed_t, g.pat_table)
    result.timings["readset"] = time.perf_counter() - tr

    ids = InvoiceIds(conn)
    plan = _Plan(
        live=live,
        g=g,
        prac=prac,
        scope=scope,
        patients=patients,
        at=now,
        ids=ids,
        ids_start=(ids.invoice, ids.line),
        claim_numbers=[],
        issues=[],
        queued=[],
        copay_rows=[],
        billed_lines=[],
        x12=None,
        billed_table=billed_t,
        readset=rs,
    )
    result.timings["load+checks"] = (
        time.perf_counter() - t0 - result.timings["scrub"] - result.timings["readset"]
    )
    if not live:
        _new_plan_tables(conn)
    _issue_claims(conn, result, staged, opts, plan, t0=t0)
    try:
        if not live:
            _plan_patients(conn, result, opts, plan)
            _more_readset(conn, result, plan)
            _plan_seals(conn, result, plan)
            _plan_marks(conn, result, plan)
            _seal_patients(conn, result, plan)
    except BaseException:
        if plan.x12 is not None:
            plan.x12.close()
        raise
    _gate(result, plan)
    return plan


def _more_readset(conn: Database, result: RunResult, plan: _Plan) -> None:
    """Phase (a), in the same snapshot: what the next-payer and institutional claims read
    (readset.more) joins the readset."""
    t = time.perf_counter()
    issues = [it for planned in plan.cob for it in planned.issues]
    pats = {it.row["patient_id"] for it in issues}
    if plan.inst is not None:
        pats |= plan.inst.patient_ids
    plan.more_tables = (
        content.temp_ids(conn, "_gen_more_pat", pats),
        content.temp_ids(conn, "_gen_cob_prior", [p for pl in plan.cob for p in pl.priors]),
    )
    plan.readset.update(readset.more(conn, *plan.more_tables))
    result.timings["readset"] += time.perf_counter() - t


def _claim_numbers(conn: Database, plan: _Plan) -> Callable[[int], list[str]]:
    """`numbers(count)`: the run's next claim numbers, after the ones it already has (peeked
    in phase (a), taken when live); all of them are in plan.claim_numbers, in order."""

    def numbers(count: int) -> list[str]:
        if count <= 0:
            return []
        have = len(plan.claim_numbers)
        if plan.live:
            got = numbering.take(conn, "claim", count)
        else:  # what `take` will give under the lock (_check_and_take compares the position)
            if plan.claim_from is None:
                plan.claim_from = numbering.position(conn, "claim")
            prefix, nxt = plan.claim_from
            got = [
                numbering.format_number(prefix, n) for n in range(nxt + have, nxt + have + count)
            ]
        plan.claim_numbers += got
        return got

    return numbers


def _check_and_take(conn: Database, result: RunResult, plan: _Plan) -> None:
    """Under the lock: what the run read is unchanged and the numbers it rendered are the ones
    it takes now (the take itself; a rollback gives them back). Else _Stale."""
    parts: list[str] = []
    if readset.data_version(conn) != plan.version:  # another connection committed meanwhile
        result.timings["readset again"] = time.perf_counter()
        parts = readset.changed(plan.readset, _digest(conn, plan))
        result.timings["readset again"] = time.perf_counter() - result.timings["readset again"]
    # the numbers rendered are consecutive from plan.claim_from: the series' position is
    # compared, not each number (formatting 100,000 of them under the lock)
    count = len(plan.claim_numbers)
    if count and numbering.take_range(conn, "claim", count) != plan.claim_from:
        parts.append("claim numbers")
    if plan.patient_count and (
        numbering.take_range(conn, "patient", plan.patient_count) != plan.patient_from
    ):
        parts.append("patient invoice numbers")
    ids = InvoiceIds(conn)
    if (ids.invoice, ids.line) != plan.ids_start:
        parts.append("invoice ids")
    if plan.x12 is not None and not plan.x12.take_controls():
        parts.append("X12 control numbers")
    if parts:
        raise _Stale(parts)


def _digest(conn: Database, plan: _Plan) -> dict[str, str]:
    """What the run read (readset.py), as hashed in phase (a)."""
    out = readset.digest(conn, plan.billed_table, plan.g.pat_table)
    if plan.more_tables is not None:
        out.update(readset.more(conn, *plan.more_tables))
    return out


def _write_phase(
    conn: Database, result: RunResult, staged: Staged, opts: _Options, plan: _Plan
) -> None:
    """Phase (b), in the write transaction (generate's docstring)."""
    if not plan.live:
        _check_and_take(conn, result, plan)
        _rebase_events(conn, result, plan, digest=False)
        for t in _PLANNED:  # sealed by their planned batch records (audit.py says how it checks)
            audit.insert_planned(conn, t, f"{PLAN}{t}", DIGESTS)
    for planned in plan.cob:  # next-payer claims' adjustments, cob_claims and 837I links
        cob.write_claims(conn, planned)
    if plan.inst is not None:
        from ..institutional import generate as inst

        inst.write(conn, plan.inst)
    issued_on = opts.today.isoformat()
    run_id = conn.execute(
        "INSERT INTO billing_runs (started_at, issued_on, through, out_dir, os_user)"
        " VALUES (?,?,?,?,?)",
        (
            plan.at,
            issued_on,
            opts.through.isoformat(),
            str(result.out_dir.resolve()),
            audit.os_user(),
        ),
    ).lastrowid
    assert run_id is not None  # set by every INSERT
    result.run_id = run_id
    conn.conn.executemany(
        "INSERT INTO claim_copays (payment_id, invoice_id) VALUES (?, ?)", plan.copay_rows
    )
    if plan.queued:
        t = content.temp_ids(conn, "_sent_queue", plan.queued)
        conn.execute(f"DELETE FROM claim_queue WHERE invoice_id IN (SELECT id FROM {t})")
    if plan.marks_planned:  # invoices.mark_billed's statement, on the lines phase (a) planned
        conn.execute(
            f"UPDATE charge_lines SET status = 'billed' WHERE id IN (SELECT id FROM {BILLED})"
        )
    elif plan.billed_lines:
        mark_billed(conn, plan.billed_lines)
    files_by_invoice: dict[int, str] = {}
    if plan.x12 is not None:
        plan.x12.run_id = run_id
        files_by_invoice = plan.x12.record(
            None if plan.live else lambda first: _copy_sent(conn, plan, run_id, first)
        )
    t3 = time.perf_counter()
    p_issues = _bill_patients(conn, result, staged, opts, plan, run_id, files_by_invoice)
    result.timings["patient"] = time.perf_counter() - t3

    listing = plan.live or result.dry_run
    all_issues = plan.issues + p_issues
    _record(
        conn,
        result,
        staged,
        opts,
        all_issues,
        plan.queued,
        files_by_invoice,
        run_id,
        planned=len(plan.issues) if plan.marks_planned else None,
        listing=listing,
    )
    if not listing:  # result.issued is listed after COMMIT (_attempt)
        plan.to_list = (all_issues, files_by_invoice)


def _bill_patients(
    conn: Database,
    result: RunResult,
    staged: Staged,
    opts: _Options,
    plan: _Plan,
    run_id: int,
    files_by_invoice: dict[int, str],
) -> list[NewInvoice]:
    """Under the lock: the run's patient invoices (self-pay visits, and facility claims without
    coverage), their charge lines marked billed; their PDFs are rendered after COMMIT. Copied
    when phase (a) planned them (_plan_patients), else built here."""
    g = plan.g
    issued_on = opts.today.isoformat()
    p_issues: list[NewInvoice] = []
    if plan.patient_plan is not None:
        from . import patient_invoices as pi

        assert plan.describer is not None  # set with the plan
        opts.say("patient invoices")
        for planned in plan.patient_plan:
            try:
                pi.write_planned(
                    conn,
                    result,
                    planned,
                    plan.prac,
                    plan.describer,
                    batches=PATIENT_DIGESTS,
                    pdf=opts.pdf,
                    today=opts.today,
                    files=files_by_invoice,
                )
            except pi.PlanChanged:
                raise _Stale(["patient credit"]) from None
            p_issues += planned.issues
    elif plan.patients:
        opts.say("patient invoices")
        p_issues = patient_invoices(
            conn,
            result,
            staged,
            plan.prac,
            g.self_encs,
            g.pats,
            plan.ids,
            issued_on=issued_on,
            at=plan.at,
            run_id=run_id,
            pdf=opts.pdf,
            today=opts.today,
            files_by_invoice=files_by_invoice,
        )
        from ..institutional import selfpay  # a facility claim without coverage: the patient's

        p_issues += selfpay.bill(
            conn,
            result,
            staged,
            plan.prac,
            plan.ids,
            through=opts.through,
            issued_on=issued_on,
            at=plan.at,
            run_id=run_id,
            pdf=opts.pdf,
            today=opts.today,
            files_by_invoice=files_by_invoice,
        )
        billed_lines = [
            ln["charge_line_id"] for it in p_issues for ln in it.lines if ln["charge_line_id"]
        ]
        if billed_lines:
            mark_billed(conn, billed_lines)
    return p_issues


def _plan_patients(conn: Database, result: RunResult, opts: _Options, plan: _Plan) -> None:
    """Phase (a), after the claims (their invoice and line ids come first): the patient
    invoices built as the write phase built them (patient_invoices.build, then the facility
    claims without coverage: institutional/selfpay.build), numbered in the patient series from
    the snapshot's position (taken and compared under the lock: _check_and_take) and planned in
    temp tables of their own (patient_invoices.plan; their events are numbered after the sent
    ones, _seal_patients). What they read is in the readset (readset.py). Credit and the
    statement content stay under the lock: they follow the ledger as it is then."""
    readset.statement_patients(conn, ())
    if not plan.patients:
        return
    from ..institutional import selfpay
    from . import patient_invoices as pi
    from .describe import Describer

    t = time.perf_counter()
    plan.patient_from = prefix, nxt = numbering.position(conn, "patient")

    def numbers(count: int) -> list[str]:
        first = nxt + plan.patient_count
        plan.patient_count += count
        return [numbering.format_number(prefix, n) for n in range(first, first + count)]

    issued_on = opts.today.isoformat()
    plan.describer = describer = Describer(conn)
    g = plan.g
    issues, adj_rows = pi.build(
        conn,
        result,
        plan.prac,
        g.self_encs,
        g.pats,
        plan.ids,
        numbers,
        issued_on=issued_on,
        today=opts.today,
        describer=describer,
    )
    plan.patient_plan = (
        [pi.plan(conn, "_plan_pat_", issues, adj_rows, at=plan.at)] if issues else []
    )
    claims = selfpay.build(
        conn,
        result,
        plan.prac,
        selfpay.due(conn, through=opts.through),
        plan.ids,
        numbers,
        issued_on=issued_on,
        today=opts.today,
        describer=describer,
    )
    if claims:
        plan.patient_plan.append(
            pi.plan(
                conn,
                "_plan_inst_pat_",
                [it for it, _ in claims],
                [],
                at=plan.at,
                claims=[(it.row["id"], claim_id) for it, claim_id in claims],
            )
        )
    # their statement content too, but for a patient with credit to apply under the lock or
    # with two invoices in the run (each one's aging reads the other)
    once: dict[int, int] = defaultdict(int)
    for it in (it for planned in plan.patient_plan for it in planned.issues):
        once[it.row["patient_id"]] += 1
    skip = {pid for pid, n in once.items() if n > 1}
    for planned in plan.patient_plan:
        pi.plan_contents(conn, planned, plan.prac, describer, today=opts.today, skip=skip)
    readset.statement_patients(
        conn,
        {
            it.row["patient_id"]
            for pl in plan.patient_plan
            for it in pl.issues
            if it.row["id"] in pl.stored
        },
    )
    result.add_timing("patient plan", t)


# the patient invoices' batch seals (_seal_patients), apart from the claims' (DIGESTS)
PATIENT_DIGESTS = "temp._plan_patient_batches"


def _seal_patients(conn: Database, result: RunResult, plan: _Plan) -> None:
    """Phase (a), after _plan_seals: the planned patient invoices' 'issued' events numbered
    after every event the write phase inserts before them (the claims' 'issued' and their
    files' 'sent' events), and their rows' batch seals computed (patient_invoices.seal_planned).
    Under the lock they are copied with them, or, when other events came first, sealed a row
    at a time (patient_invoices.write_planned)."""
    if not plan.patient_plan:
        return
    from . import patient_invoices as pi

    t = time.perf_counter()
    conn.execute(f"DROP TABLE IF EXISTS {PATIENT_DIGESTS}")
    conn.execute(f"CREATE TABLE {PATIENT_DIGESTS} {audit.BATCHES_SQL}")
    before = conn.execute(
        f"SELECT (SELECT COUNT(*) FROM {PLAN}invoice_events)"
        " + (SELECT COUNT(*) FROM temp._plan_sent)"
    ).fetchone()[0]
    first = plan.events_base + before
    for planned in plan.patient_plan:
        first = pi.seal_planned(conn, planned, first, PATIENT_DIGESTS)
    result.add_timing("seal digests", t)


def _scope_payer(conn: Database, code: str | None) -> dict | None:
    """--payer: the payer whose claims this run bills (patient invoices are then left out)."""
    if not code:
        return None
    row = conn.execute(
        "SELECT id, code, kind FROM payers WHERE code = ?", (code.strip(),)
    ).fetchone()
    if row is None:
        raise NotFound(f"--payer {code}: no payer with that code (see billadmin payer list)")
    if row[2] == "self":
        raise BadInput(
            f"--payer {code} is the self-pay payer: patient invoices are billed with --patients-only"
        )
    return {"id": row[0], "code": row[1]}


def _gather(conn: Database, opts: _Options, scope: dict | None, patients: bool) -> _Gathered:
    """Candidate encounters with what billing them needs, and each one's bill-to: the primary
    coverage active on the date of service (claims, within --payer), else the patient."""
    encs = candidates(conn, opts.through.isoformat(), "_gen_enc")  # (their ids in temp._gen_enc)
    payers = content.load_payers(conn)
    enc_t = "temp._gen_enc"
    pat_t = content.temp_ids(conn, "_gen_pat", {e["patient_id"] for e in encs.values()})
    covs = content.load_coverages(conn, pat_t)
    claim_encs, self_encs = [], []
    for e in encs.values():
        active = content.active_coverages(
            covs.get(e["patient_id"], []), e["date_of_service"], payers
        )
        if active:
            e["coverage"], e["others"] = active[0], active[1:]
            if opts.claims and (scope is None or active[0]["payer_id"] == scope["id"]):
                claim_encs.append(e)
        elif patients:
            self_encs.append(e)
    return _Gathered(
        claim_encs=claim_encs,
        self_encs=self_encs,
        enc_table=enc_t,
        pat_table=pat_t,
        payers=payers,
        providers=content.load_providers(conn),
        pats=content.load_patients(conn, pat_t),
        dxs=content.load_diagnoses(conn, enc_t),
    )


def _issue_claims(
    conn: Database,
    result: RunResult,
    staged: Staged,
    opts: _Options,
    plan: _Plan,
    *,
    t0: float,
) -> None:
    """Claims, one payer at a time: built, planned (or inserted, live) and rendered into the
    payer's 837P, then only what the listing needs is kept (a large run would otherwise hold
    every claim three ways); every file's pyx12 verdict waited for. Fills the plan's claims,
    queued voids/replacements, co-pay rows, billed lines and X12 run."""
    g = plan.g
    payers = g.payers
    g.claim_encs.sort(
        key=lambda e: (payers[e["coverage"]["payer_id"]]["code"], e["date_of_service"], e["number"])
    )
    take_numbers = _claim_numbers(conn, plan)
    numbers = take_numbers(len(g.claim_encs))
    copays = copays_due(conn, g.pat_table) if g.claim_encs else {}
    by_payer: dict[int, list[tuple[dict, str]]] = defaultdict(list)
    for e, number in zip(g.claim_encs, numbers, strict=True):
        by_payer[e["coverage"]["payer_id"]].append((e, number))
    g.claim_encs = []
    del numbers
    queued_by_payer, plan.queued = (
        queued_claims(conn, result, payers, plan.scope) if opts.claims else ({}, [])
    )
    # next-payer (COB) claims for what posted 835s left join their payer's 837P (837I)
    inst_work = _cob_and_institutional(conn, result, opts, plan, take_numbers)
    for payer_id, items in plan.cob[0].by_payer().items() if plan.cob else ():
        queued_by_payer.setdefault(payer_id, []).extend(items)
    plan.issues = [it.slim() for it in plan.cob[0].issues] if plan.cob else []
    x12 = (
        X12Run(
            conn,
            result,
            staged,
            plan.prac,
            payers,
            at=plan.at,
            workers=opts.workers,
            pyx12=opts.pyx12,
            say=opts.say,
            live=plan.live,
            issued_on=opts.today.isoformat(),
        )
        if by_payer or queued_by_payer or inst_work
        else None
    )
    try:  # pyx12 workers (large runs) are stopped if anything below fails
        if x12 is not None:
            plan.issues = (
                _claims_per_payer(
                    conn,
                    result,
                    opts,
                    g,
                    x12,
                    by_payer,
                    queued_by_payer,
                    plan.ids,
                    at=plan.at,
                    copays=copays,
                    copay_rows=plan.copay_rows,
                    billed_lines=plan.billed_lines,
                    into="" if plan.live else PLAN,
                )
                + plan.issues
            )
        if x12 is not None and inst_work:
            plan.issues += _stage_institutional(conn, opts, plan, x12, take_numbers)
        result.timings["claims"] = time.perf_counter() - t0 - result.timings["scrub"]
    except BaseException:
        if x12:
            x12.close()
        raise
    plan.x12 = x12


def _gate(result: RunResult, plan: _Plan) -> None:
    """Every 837 validated by the gate (all or nothing) before anything is written. Waited for
    last in phase (a), so the gate's worker checks the last payer's file while the plan is
    sealed; the worker (or pyx12's) is stopped whatever happens."""
    t = time.perf_counter()
    try:
        if plan.x12 is not None:
            plan.x12.check()
    finally:
        if plan.x12 is not None:
            plan.x12.close()
    result.timings["x12"] = time.perf_counter() - t + result.timings.get("render", 0)


def _cob_and_institutional(
    conn: Database,
    result: RunResult,
    opts: _Options,
    plan: _Plan,
    numbers: Callable[[int], list[str]],
) -> bool:
    """The next-payer claims due, built, numbered after the new 837P claims and planned
    (cob.plan_claims: the 837P ones first, then the 837I ones), and the institutional claims
    read and held (institutional/generate.prepare); result.cob completed. Whether any 837I or
    UB-04 is to be rendered."""
    if not opts.claims:
        return False
    from ..institutional import generate as inst

    payers, today = plan.g.payers, opts.today.isoformat()
    into = "" if plan.live else PLAN
    scope_id = plan.scope["id"] if plan.scope else None
    plan.cob = [
        cob.plan_claims(
            conn,
            result,
            payers,
            plan.ids,
            numbers,
            build,
            institutional=institutional,
            scope_payer_id=scope_id,
            only=opts.cob_for,
            at=plan.at,
            into=into,
        )
        for institutional, build in (
            (False, cob.build_professional(payers, today)),
            (True, inst.build_next_payer(payers, today)),
        )
    ]
    plan.inst = inst.prepare(
        conn,
        result,
        payers,
        through=opts.through,
        today=opts.today,
        scope_id=scope_id,
        say=opts.say,
    )
    result.cob += [r for planned in plan.cob for r in planned.rows]
    result.cob += cob.waiting(conn, payers, opts.today)
    return bool(plan.inst.ready or plan.inst.queued or plan.cob[1].issues)


def _stage_institutional(
    conn: Database,
    opts: _Options,
    plan: _Plan,
    x12: X12Run,
    numbers: Callable[[int], list[str]],
) -> list[NewInvoice]:
    """The institutional claims numbered after the next-payer ones, planned and rendered with
    the next-payer 837Is and the queued institutional voids on the run's X12Run (validated by
    the gate with its 837Ps); their queued voids join the run's."""
    from ..institutional import generate as inst

    assert plan.inst is not None
    issues = inst.stage(
        conn,
        plan.inst,
        x12,
        plan.ids,
        numbers,
        next_payer=plan.cob[1].issues,
        payers=plan.g.payers,
        today=opts.today,
        at=plan.at,
        into="" if plan.live else PLAN,
        say=opts.say,
    )
    plan.queued += plan.inst.queued
    return issues


# claims built and inserted at a time (only their contents wait for the payer's 837P)
BUILD_CHUNK = 2000


def _claims_per_payer(
    conn: Database,
    result: RunResult,
    opts: _Options,
    g: _Gathered,
    x12: X12Run,
    by_payer: dict[int, list[tuple[dict, str]]],
    queued_by_payer: dict[int, list[tuple[int, dict]]],
    ids: InvoiceIds,
    *,
    at: str,
    copays: dict[tuple[int, str], list[tuple[int, int]]],
    copay_rows: list[tuple[int, int]],
    billed_lines: list[int],
    into: str,
) -> list[NewInvoice]:
    """Each payer's new claims built, inserted (`into` the plan's temp tables outside the lock)
    and rendered with its queued voids and replacements into its 837P (x12); returns the claims
    slimmed to what the listing needs."""
    payers = g.payers
    issues: list[NewInvoice] = []
    blocks = content.Blocks()  # each payer, provider and subscriber block built once
    for payer_id in sorted(set(by_payer) | set(queued_by_payer), key=lambda p: payers[p]["code"]):
        opts.say(
            f"claims to {payers[payer_id]['code']}: {len(by_payer.get(payer_id, [])):,} new"
            + (
                f", {len(queued_by_payer[payer_id])} void/replacement"
                if payer_id in queued_by_payer
                else ""
            )
        )
        pairs = by_payer.pop(payer_id, [])
        snapshots: list[tuple[int, dict]] = []
        while pairs:  # in chunks: each chunk's rows and lines are dropped once inserted (memory)
            chunk, pairs = pairs[:BUILD_CHUNK], pairs[BUILD_CHUNK:]
            tb = time.perf_counter()
            built = [
                build_claim(
                    e,
                    number,
                    ids,
                    issued_on=opts.today.isoformat(),
                    dxs=g.dxs,
                    pats=g.pats,
                    payers=payers,
                    providers=g.providers,
                    copays=copays,
                    copay_rows=copay_rows,
                    billed_lines=billed_lines,
                    blocks=blocks,
                )
                for e, number in chunk
            ]
            del chunk
            result.add_timing("build", tb)
            tb = time.perf_counter()
            # looked up at call time: a test replaces generate.insert_invoices to fail a payer
            insert_invoices(conn, built, at=at, into=into)
            result.add_timing("insert", tb)
            tb = time.perf_counter()
            done = [(it.row["id"], it.issued_content()) for it in built]
            insert_snapshots(conn, done, into=into)
            snapshots += done
            result.add_timing("snapshots", tb)
            issues += [it.slim() for it in built]
            del built, done
        tb = time.perf_counter()
        x12.add(payer_id, snapshots + queued_by_payer.get(payer_id, []))
        result.add_timing("render", tb)
        del snapshots
    return issues


def _record(
    conn: Database,
    result: RunResult,
    staged: Staged,
    opts: _Options,
    all_issues: list[NewInvoice],
    queued: list[int],
    files_by_invoice: dict[int, str],
    run_id: int,
    *,
    planned: int | None = None,
    listing: bool = True,
) -> None:
    """The run's invoices and files recorded, listed (result.issued, invoices.csv/xlsx unless
    `listing` is False: _attempt lists result.issued after COMMIT and _listing_after_commit
    writes the files; held.csv) and audited. `planned`: how many of `all_issues` (the claims,
    first) have their invoice_runs rows planned in phase (a), with the queued ones' (RUNS)."""
    sql = "INSERT OR IGNORE INTO invoice_runs (invoice_id, run_id, file) VALUES (?, ?, ?)"
    # OR IGNORE: a resent claim (billing/resend.py) keeps its issuing run
    if planned is None:
        conn.conn.executemany(
            sql,
            [(it.row["id"], run_id, files_by_invoice.get(it.row["id"])) for it in all_issues]
            + [(iid, run_id, files_by_invoice.get(iid)) for iid in queued],
        )
    else:  # the same rows in the same order: the planned claims, the others, the queued
        copy = (
            "INSERT OR IGNORE INTO invoice_runs (invoice_id, run_id, file)"
            f" SELECT invoice_id, ?, file FROM {RUNS} WHERE queued = ? ORDER BY rowid"
        )
        conn.execute(copy, (run_id, 0))
        conn.conn.executemany(
            sql,
            [
                (it.row["id"], run_id, files_by_invoice.get(it.row["id"]))
                for it in all_issues[planned:]
            ],
        )
        conn.execute(copy, (run_id, 1))
    kinds: dict[str, int] = defaultdict(int)  # counted as result.issued will list them
    for it in all_issues:
        kinds[it.row["kind"]] += 1
    for r in result.issued:
        kinds[r["kind"]] += 1
    issued = len(all_issues) + len(result.issued)
    if listing:
        _list_issued(result, all_issues, files_by_invoice)
    t4 = time.perf_counter()
    if listing and (all_issues or queued):
        opts.say(
            "writing invoices.csv" + (" and invoices.xlsx" if opts.xlsx and staged.enabled else "")
        )
        write_listing(conn, result, staged, xlsx=opts.xlsx)
    if result.held:
        write_held(result, staged)
    result.timings["listing"] = time.perf_counter() - t4
    conn.execute(
        "UPDATE billing_runs SET issued = ?, held = ? WHERE id = ?",
        (issued, len(result.held), run_id),
    )
    audit.record(
        conn,
        "invoice generate",
        entity="invoices",
        count=issued,
        detail={
            "run": run_id,
            "through": opts.through.isoformat(),
            "held": len(result.held),
            "files": len(result.files),
            "dry_run": not staged.enabled,
            **kinds,
        },
    )


def _list_issued(
    result: RunResult, all_issues: list[NewInvoice], files_by_invoice: dict[int, str]
) -> None:
    """result.issued: the run's new invoices, then the queued ones it sent, with their files."""
    new_rows = [
        {
            "number": it.row["number"],
            "kind": it.row["kind"],
            "frequency": it.row["frequency_code"],
            "bill_to": it.bill_to,
            "encounter": it.encounter,
            "total_cents": it.row["total_cents"],
            "file": files_by_invoice.get(it.row["id"]),
            "invoice_id": it.row["id"],
        }
        for it in all_issues
    ]
    for r in result.issued:
        r["file"] = files_by_invoice.get(r["invoice_id"])
    result.issued = new_rows + result.issued
