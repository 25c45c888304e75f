"""`billadmin invoice generate`: bill everything that is ready, and nothing twice.

One run is one BEGIN IMMEDIATE transaction:
1. Unbilled charge lines of encounters with a date of service up to --through are gathered per
   encounter, and each encounter gets its bill-to (content.py: the primary coverage active on
   the date of service, else the patient).
2. Encounters are held, with their findings, when the scrubber (injected: billadmin.scrub.check)
   reports an error, or when the claim could not be built (rules CLAIM-* below), or when some of
   the encounter's lines are already on an invoice (ALREADY-BILLED: a late line is a correction,
   `invoice replace`).
3. Claims (one per encounter, numbered C...) carry collected co-pays as AMT*F5 and the payer's
   timely-filing deadline. Voids and replacements queued by `invoice void|replace` join them.
   One 837P per payer; each is validated with pyx12 before it is written: a file that fails
   rolls the whole run back (no number is used) and the errors are raised (exit 2).
4. Patient invoices (P...) per patient: self-pay encounters' lines and patient responsibility
   posted from remittances (adjustments with source 'transfer') not yet invoiced. A patient
   whose items total zero or less is skipped. Co-pays held as credit are applied at once
   (accounts.payments.apply_credit); a PDF is written when a balance is due.
5. invoices.csv and invoices.xlsx list every invoice issued into the output folder.
Files are written next to their final names and renamed after COMMIT (files.py).

Rules for building a claim (each holds the encounter with a finding, severity error):
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
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import audit, db, ledger, pointers
from ..errors import BadInput, NotFound
from ..findings import Finding
from . import content, numbering
from .files import Staged, folder_lock

X12_SOURCE = "X12 837P 005010X222A1 TR3"
LISTING_COLUMNS = [
    "number",
    "kind",
    "frequency",
    "issued_on",
    "bill_to",
    "encounter",
    "account",
    "date_of_service",
    "total_cents",
    "copay_cents",
    "filing_deadline",
    "due_on",
    "file",
]


# scrubber rule -> our structural rule that says the same thing (ours is dropped when both fire)
_SAME_AS = {"CLM-POINTER": "CLAIM-POINTER"}


class X12Invalid(BadInput):
    "An 837P we built failed pyx12 validation: nothing was issued."


class _DryRun(Exception):
    pass


@dataclass
class Held:
    encounter: str
    encounter_id: int
    findings: list[Finding]

    def rows(self) -> list[dict]:
        return [
            {"encounter": self.encounter, "rule": f.rule, "line": f.line, "message": f.message}
            for f in self.findings
            if f.severity == "error"
        ]


@dataclass
class RunResult:
    out_dir: Path
    dry_run: bool
    run_id: int | None = None
    issued: list[dict] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    skipped_zero: int = 0
    warnings: int = 0
    held_file: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> list[dict]:
        """Per file: what it carries (the table a clerk reads)."""
        groups: dict[tuple, dict] = {}
        for r in self.issued:
            key = (r["kind"], r["bill_to"], r["file"] if r["kind"] != "patient" else "")
            g = groups.setdefault(
                key,
                {
                    "kind": r["kind"],
                    "bill_to": r["bill_to"],
                    "invoices": 0,
                    "first": r["number"],
                    "last": r["number"],
                    "total_cents": 0,
                    "file": key[2],
                },
            )
            g["invoices"] += 1
            g["first"] = min(g["first"], r["number"])
            g["last"] = max(g["last"], r["number"])
            g["total_cents"] += r["total_cents"]
        if any(r["kind"] == "patient" for r in self.issued):
            pdfs = sum(1 for r in self.issued if r["kind"] == "patient" and r["file"])
            for g in groups.values():
                if g["kind"] == "patient":
                    g["file"] = f"{pdfs} PDF(s)" if pdfs else "(no balance due)"
        return list(groups.values())


# ---------------------------------------------------------------------------------------------
# gathering


def _finding(rule: str, message: str, enc: dict, line: int | None = None) -> Finding:
    return Finding(
        rule=rule,
        severity="error",
        message=message,
        encounter=enc["number"],
        line=line,
        source=X12_SOURCE,
        encounter_id=enc["id"],
    )


def _candidates(conn, through: str) -> dict[int, dict]:
    encs: dict[int, dict] = {}
    for r in conn.execute(
        "SELECT c.id, c.encounter_id, c.line_no, c.code, c.modifier1, c.modifier2, c.modifier3, c.modifier4,"
        " c.dx_pointers, c.units, c.charge_cents, e.number, e.patient_id, e.provider_id, e.date_of_service,"
        " e.place_of_service FROM charge_lines c JOIN encounters e ON e.id = c.encounter_id"
        " WHERE c.status = 'unbilled' AND e.date_of_service <= ? ORDER BY c.encounter_id, c.line_no",
        (through,),
    ):
        e = encs.get(r[1])
        if e is None:
            e = encs[r[1]] = {
                "id": r[1],
                "number": r[11],
                "patient_id": r[12],
                "provider_id": r[13],
                "date_of_service": r[14],
                "place_of_service": r[15],
                "lines": [],
            }
        e["lines"].append(
            {
                "charge_line_id": r[0],
                "line_no": r[2],
                "code": (r[3] or "").strip().upper(),
                "modifier1": r[4],
                "modifier2": r[5],
                "modifier3": r[6],
                "modifier4": r[7],
                "dx_pointers": r[8],
                "units": r[9],
                "charge_cents": r[10],
            }
        )
    return encs


def already_billed(conn, enc_table: str) -> dict[int, str]:
    """Encounter id -> number of an active invoice (not voided or replaced) holding its lines."""
    out = {}
    for eid, number in conn.execute(
        f"SELECT c.encounter_id, i.number FROM {enc_table} t JOIN charge_lines c ON c.encounter_id = t.id"
        " JOIN invoice_lines l ON l.charge_line_id = c.id JOIN invoices i ON i.id = l.invoice_id"
        " WHERE i.kind != 'credit' AND NOT EXISTS (SELECT 1 FROM invoice_events v WHERE v.invoice_id = i.id"
        " AND v.status IN ('voided', 'replaced'))"
    ):
        out.setdefault(eid, number)
    return out


def check_claim(enc: dict, dx: list[str], patient: dict, cov: dict, payer: dict) -> list[Finding]:
    from .practice import US_STATES

    out = []
    if not dx:
        out.append(
            _finding(
                "CLAIM-NO-DX", "no diagnosis on the encounter: a claim needs at least one (HI)", enc
            )
        )
    if len(enc["lines"]) > 50:
        out.append(
            _finding(
                "CLAIM-LINES",
                f"{len(enc['lines'])} lines: a claim holds at most 50 (loop 2400); split the encounter",
                enc,
            )
        )
    for ln in enc["lines"]:
        try:
            ptrs = pointers.parse(ln["dx_pointers"])
        except pointers.PointerError as e:
            out.append(_finding("CLAIM-POINTER", str(e), enc, ln["line_no"]))
            continue
        for fault in pointers.faults(ptrs, pointers.positions(len(dx))):
            out.append(_finding("CLAIM-POINTER", fault.message, enc, ln["line_no"]))
        if ln["charge_cents"] < 0 or (ln["units"] or 0) < 1:
            out.append(
                _finding("CLAIM-CHARGE", "negative charge or units below 1", enc, ln["line_no"])
            )
    zip_digits = "".join(ch for ch in (patient.get("zip") or "") if ch.isdigit())
    if not (
        patient.get("address1")
        and patient.get("city")
        and (patient.get("state") or "").upper() in US_STATES
        and len(zip_digits) in (5, 9)
    ):
        out.append(
            _finding(
                "CLAIM-ADDRESS",
                f"patient {patient['id']}: street, city, US state and 5- or 9-digit ZIP are needed on a claim",
                enc,
            )
        )
    if not payer.get("x12_payer_id"):
        out.append(
            _finding(
                "CLAIM-PAYER-ID",
                f"payer {payer['code']} has no X12 payer id: set it before billing it",
                enc,
            )
        )
    if not (cov.get("member_id") or "").strip():
        out.append(_finding("CLAIM-MEMBER-ID", f"coverage {cov['id']} has no member id", enc))
    if (cov.get("relationship") or "self") != "self" and not (
        cov.get("subscriber_last") and cov.get("subscriber_first")
    ):
        out.append(
            _finding(
                "CLAIM-SUBSCRIBER",
                f"coverage {cov['id']}: the patient is a dependent; record the subscriber's name",
                enc,
            )
        )
    return out


def _copays(conn, pat_table: str) -> dict[tuple[int, str], list[tuple[int, int]]]:
    """(patient, service date) -> [(payment id, cents)] co-pays collected and not yet on a claim."""
    has_receipts = (
        conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'receipts'").fetchone() is not None
    )
    date = "COALESCE(r.service_date, p.received_on)" if has_receipts else "p.received_on"
    join = "LEFT JOIN receipts r ON r.payment_id = p.id" if has_receipts else ""
    out: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
    for pid, patient_id, day, cents in conn.execute(
        f"SELECT p.id, p.patient_id, {date}, p.amount_cents FROM payments p JOIN {pat_table} t ON t.id = p.patient_id {join}"
        " WHERE p.kind = 'copay' AND p.amount_cents > 0 AND NOT EXISTS (SELECT 1 FROM claim_copays c WHERE c.payment_id = p.id)"
        " ORDER BY p.id"
    ):
        out[(patient_id, day)].append((pid, cents))
    return out


# ---------------------------------------------------------------------------------------------
# writing the ledger


class _Ids:
    def __init__(self, conn):
        self.invoice = (conn.execute("SELECT COALESCE(MAX(id), 0) FROM invoices").fetchone()[0]) + 1
        self.line = (
            (conn.execute("SELECT COALESCE(MAX(id), 0) FROM invoice_lines").fetchone()[0]) + 1
        )

    def next_invoice(self) -> int:
        self.invoice += 1
        return self.invoice - 1

    def next_line(self) -> int:
        self.line += 1
        return self.line - 1


@dataclass
class Issue:
    """One invoice about to be inserted."""

    row: dict  # invoices columns (ledger.INVOICE_FIELDS + id, content_hash, created_at)
    lines: list[dict]  # invoice_lines columns (+ id)
    content: dict | None  # snapshot; None = written later (patient invoices)
    bill_to: str
    encounter: str | None
    account: str
    date_of_service: str | None

    def slim(self) -> Issue:
        """What is still needed once the invoice is inserted and rendered (the run's listing)."""
        keep = ("id", "number", "kind", "patient_id", "frequency_code", "total_cents")
        return Issue(
            {k: self.row[k] for k in keep},
            [],
            None,
            self.bill_to,
            self.encounter,
            self.account,
            self.date_of_service,
        )


_INV_COLS = ["id"] + list(ledger.INVOICE_FIELDS) + ["content_hash", "created_at"]
_LINE_COLS = ["id", "invoice_id"] + list(ledger.LINE_FIELDS)


def insert_invoices(conn, issues: list[Issue], *, at: str, event_note: str | None = None) -> None:
    """Insert invoices, lines and their 'issued' event (content hash per billadmin.ledger)."""
    for it in issues:
        it.row["content_hash"] = ledger.content_hash(it.row, it.lines)
        it.row["created_at"] = at
    conn.conn.executemany(
        f"INSERT INTO invoices ({', '.join(_INV_COLS)}) VALUES ({', '.join('?' * len(_INV_COLS))})",
        ([it.row[c] for c in _INV_COLS] for it in issues),
    )
    conn.conn.executemany(
        f"INSERT INTO invoice_lines ({', '.join(_LINE_COLS)}) VALUES ({', '.join('?' * len(_LINE_COLS))})",
        ([ln[c] for c in _LINE_COLS] for it in issues for ln in it.lines),
    )
    conn.conn.executemany(
        "INSERT INTO invoice_events (invoice_id, status, at, note) VALUES (?, 'issued', ?, ?)",
        ((it.row["id"], at, event_note) for it in issues),
    )


def insert_snapshots(conn, pairs) -> None:
    conn.conn.executemany(
        "INSERT INTO invoice_snapshots (invoice_id, data) VALUES (?, ?)",
        ((iid, content.canonical(c)) for iid, c in pairs),
    )


def _mark_billed(conn, charge_line_ids: list[int]) -> None:
    t = content.temp_ids(conn, "_billed_lines", charge_line_ids)
    conn.execute(f"UPDATE charge_lines SET status = 'billed' WHERE id IN (SELECT id FROM {t})")


def _line_row(
    ids: _Ids,
    invoice_id: int,
    line_no: int,
    *,
    charge_line_id,
    dos,
    code,
    modifiers,
    units,
    description,
    amount,
) -> dict:
    return {
        "id": ids.next_line(),
        "invoice_id": invoice_id,
        "line_no": line_no,
        "charge_line_id": charge_line_id,
        "date_of_service": dos,
        "code": code,
        "modifiers": ",".join(modifiers),
        "units": units,
        "description": description,
        "amount_cents": amount,
    }


# ---------------------------------------------------------------------------------------------
# the run


def _scope_payer(conn, code: str | None) -> dict | None:
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


def generate(
    conn,
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
    progress: Callable[[str], None] | None = None,
) -> RunResult:
    """Issue every claim and patient invoice that is ready (see the module docstring).
    `progress(step)` is told each step as it starts, and `progress("pyx12 segments checked",
    done, total)` how far pyx12 has got on a large run (from a worker-reading thread)."""
    today = today or _dt.date.today()
    through = through or today
    if through > today:
        raise BadInput(
            f"--through {through.isoformat()} is after today ({today.isoformat()}): future services are not billed"
        )
    out_dir = Path(out_dir) if out_dir else Path("out") / today.isoformat()
    result = RunResult(out_dir=out_dir, dry_run=dry_run)
    staged = Staged(enabled=not dry_run)
    import gc

    # a run builds hundreds of thousands of small dicts and frees them at the end: the cyclic
    # collector would rescan them over and over (about a fifth of a large run), and a larger
    # page cache keeps the index inserts in memory
    gc_was = gc.isenabled()
    gc.disable()
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute("PRAGMA cache_size = -131072")
    try:
        with folder_lock(out_dir, enabled=not dry_run):
            try:
                with db.write(conn):
                    _run(
                        conn,
                        result,
                        staged,
                        through=through,
                        payer=payer,
                        claims=claims,
                        patients=patients,
                        pdf=pdf,
                        xlsx=xlsx,
                        scrub=scrub,
                        today=today,
                        workers=workers,
                        say=progress or _silent,
                    )
                    if dry_run:
                        raise _DryRun()
            except _DryRun:
                pass
            except BaseException:
                staged.discard()
                raise
            staged.commit()
    finally:
        staged.discard()
        conn.execute(f"PRAGMA cache_size = {int(cache)}")
        if gc_was:
            gc.enable()
    return result


def _silent(_step: str, _done: int | None = None, _total: int | None = None) -> None:
    pass


def _run(
    conn,
    result: RunResult,
    staged: Staged,
    *,
    through,
    payer,
    claims,
    patients,
    pdf,
    xlsx,
    scrub,
    today,
    workers,
    say,
):
    from . import practice as practice_mod

    t0 = time.perf_counter()
    now = audit.utcnow()
    issued_on = today.isoformat()
    scope = _scope_payer(conn, payer)
    if scope:
        patients = False
    prac = practice_mod.for_claims(conn) if claims else practice_mod.get(conn)
    if prac is None:
        raise BadInput("the practice is not set up: run `billadmin practice set` first")

    say("reading unbilled charge lines")
    encs = _candidates(conn, through.isoformat())
    payers = content.load_payers(conn)
    providers = content.load_providers(conn)
    enc_t = content.temp_ids(conn, "_gen_enc", encs)
    pat_t = content.temp_ids(conn, "_gen_pat", {e["patient_id"] for e in encs.values()})
    pats = content.load_patients(conn, pat_t)
    covs = content.load_coverages(conn, pat_t)
    dxs = content.load_diagnoses(conn, enc_t)

    # bill-to and scope
    claim_encs, self_encs = [], []
    for e in encs.values():
        active = content.active_coverages(
            covs.get(e["patient_id"], []), e["date_of_service"], payers
        )
        if active:
            e["coverage"], e["others"] = active[0], active[1:]
            if claims and (scope is None or active[0]["payer_id"] == scope["id"]):
                claim_encs.append(e)
        elif patients:
            self_encs.append(e)
    in_scope = claim_encs + self_encs

    # holds
    findings: dict[int, list[Finding]] = defaultdict(list)
    billed = already_billed(conn, enc_t)
    for e in in_scope:
        if e["id"] in billed:
            findings[e["id"]].append(
                _finding(
                    "ALREADY-BILLED",
                    f"lines of this encounter are on {billed[e['id']]}: correct it with "
                    f"`billadmin invoice replace {billed[e['id']]}`",
                    e,
                )
            )
    for e in claim_encs:
        findings[e["id"]] += check_claim(
            e,
            dxs.get(e["id"], []),
            pats[e["patient_id"]],
            e["coverage"],
            payers[e["coverage"]["payer_id"]],
        )
    t1 = time.perf_counter()
    if scrub is not None and in_scope:
        say(f"scrubbing {len(in_scope):,} encounter(s)")
        by_number = {e["number"]: e["id"] for e in in_scope}
        scope_ids = set(by_number.values())
        # all unbilled encounters in scope: let the scrubber take its whole-table path
        n_unbilled = conn.execute(
            "SELECT COUNT(DISTINCT encounter_id) FROM charge_lines WHERE status = 'unbilled'"
        ).fetchone()[0]
        ids = None if n_unbilled == len(in_scope) else [e["id"] for e in in_scope]
        for f in scrub(conn, encounter_ids=ids, as_of=today):
            eid = f.encounter_id or by_number.get(f.encounter)
            if eid is None or eid not in scope_ids:
                continue
            if f.severity == "error":
                findings[eid].append(f)
            else:
                result.warnings += 1
    result.timings["scrub"] = time.perf_counter() - t1
    for eid, fs in findings.items():
        # the scrubber's own pointer rule says the same as ours: keep one finding per line
        theirs = {(f.line, _SAME_AS.get(f.rule)) for f in fs if f.rule in _SAME_AS}
        if theirs:
            findings[eid] = [f for f in fs if (f.line, f.rule) not in theirs]
    held_ids = {eid for eid, fs in findings.items() if any(f.severity == "error" for f in fs)}
    result.held = sorted(
        (
            Held(encs[eid]["number"], eid, [f for f in findings[eid] if f.severity == "error"])
            for eid in held_ids
        ),
        key=lambda h: h.encounter,
    )
    claim_encs = [e for e in claim_encs if e["id"] not in held_ids]
    self_encs = [e for e in self_encs if e["id"] not in held_ids]
    del encs, in_scope  # each claim's encounter is released once its payer's file is rendered

    run_id = conn.execute(
        "INSERT INTO billing_runs (started_at, issued_on, through, out_dir, os_user) VALUES (?,?,?,?,?)",
        (now, issued_on, through.isoformat(), str(result.out_dir.resolve()), audit.os_user()),
    ).lastrowid
    result.run_id = run_id

    ids = _Ids(conn)
    result.timings["load+checks"] = time.perf_counter() - t0 - result.timings["scrub"]

    # claims, one payer at a time: built, inserted and rendered into the payer's 837P, then only
    # what the listing needs is kept (a large run would otherwise hold every claim three ways)
    claim_encs.sort(
        key=lambda e: (payers[e["coverage"]["payer_id"]]["code"], e["date_of_service"], e["number"])
    )
    numbers = numbering.take(conn, "claim", len(claim_encs))
    copays = _copays(conn, pat_t) if claim_encs else {}
    copay_rows: list[tuple[int, int]] = []
    billed_lines: list[int] = []
    by_payer: dict[int, list[tuple[dict, str]]] = defaultdict(list)
    for e, number in zip(claim_encs, numbers):
        by_payer[e["coverage"]["payer_id"]].append((e, number))
    del claim_encs, numbers
    queued_by_payer, queued = _queued(conn, result, payers, scope) if claims else ({}, [])
    issues: list[Issue] = []
    x12 = (
        _X12Run(conn, result, staged, prac, payers, run_id=run_id, at=now, workers=workers, say=say)
        if by_payer or queued_by_payer
        else None
    )
    try:  # pyx12 workers (large runs) are stopped if anything below fails
        for payer_id in sorted(
            set(by_payer) | set(queued_by_payer), key=lambda p: payers[p]["code"]
        ):
            say(
                f"claims to {payers[payer_id]['code']}: {len(by_payer.get(payer_id, [])):,} new"
                + (
                    f", {len(queued_by_payer[payer_id])} void/replacement"
                    if payer_id in queued_by_payer
                    else ""
                )
            )
            tb = time.perf_counter()
            built = [
                _build_claim(
                    e,
                    number,
                    ids,
                    issued_on=issued_on,
                    dxs=dxs,
                    pats=pats,
                    payers=payers,
                    providers=providers,
                    copays=copays,
                    copay_rows=copay_rows,
                    billed_lines=billed_lines,
                )
                for e, number in by_payer.pop(payer_id, [])
            ]
            _add_timing(result, "build", tb)
            tb = time.perf_counter()
            insert_invoices(conn, built, at=now)
            _add_timing(result, "insert", tb)
            tb = time.perf_counter()
            insert_snapshots(conn, ((it.row["id"], it.content) for it in built))
            _add_timing(result, "snapshots", tb)
            tb = time.perf_counter()
            x12.add(
                payer_id,
                [(it.row["id"], it.content) for it in built] + queued_by_payer.get(payer_id, []),
            )
            _add_timing(result, "render", tb)
            issues += [it.slim() for it in built]
            del built
        conn.conn.executemany(
            "INSERT INTO claim_copays (payment_id, invoice_id) VALUES (?, ?)", copay_rows
        )
        if queued:
            t = content.temp_ids(conn, "_sent_queue", queued)
            conn.execute(f"DELETE FROM claim_queue WHERE invoice_id IN (SELECT id FROM {t})")
        if billed_lines:
            _mark_billed(conn, billed_lines)
        t2 = time.perf_counter()
        result.timings["claims"] = t2 - t0 - result.timings["scrub"]

        # every 837P validated with pyx12 (all or nothing), then recorded
        files_by_invoice: dict[int, str] = x12.finish() if x12 else {}
        result.timings["x12"] = time.perf_counter() - t2 + result.timings.get("render", 0)
    finally:
        if x12:
            x12.close()

    # patient invoices
    t3 = time.perf_counter()
    p_issues: list[Issue] = []
    if patients:
        say("patient invoices")
        p_issues = _patient_invoices(
            conn,
            result,
            staged,
            prac,
            self_encs,
            pats,
            ids,
            issued_on=issued_on,
            at=now,
            run_id=run_id,
            pdf=pdf,
            today=today,
            files_by_invoice=files_by_invoice,
        )
        billed_lines = [
            ln["charge_line_id"] for it in p_issues for ln in it.lines if ln["charge_line_id"]
        ]
        if billed_lines:
            _mark_billed(conn, billed_lines)
    result.timings["patient"] = time.perf_counter() - t3

    all_issues = issues + p_issues
    conn.conn.executemany(
        "INSERT INTO invoice_runs (invoice_id, run_id, file) VALUES (?, ?, ?)",
        [(it.row["id"], run_id, files_by_invoice.get(it.row["id"])) for it in all_issues]
        + [(iid, run_id, files_by_invoice.get(iid)) for iid in queued],
    )
    new_rows = []
    for it in all_issues:
        new_rows.append(
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
        )
    for r in result.issued:
        r["file"] = files_by_invoice.get(r["invoice_id"])
    result.issued = new_rows + result.issued
    t4 = time.perf_counter()
    if all_issues or queued:
        say("writing invoices.csv" + (" and invoices.xlsx" if xlsx and staged.enabled else ""))
        _write_listing(conn, result, staged, xlsx=xlsx)
    if result.held:
        import io

        from .. import render

        buf = io.StringIO()
        render.write_csv(
            [r for h in result.held for r in h.rows()],
            ["encounter", "rule", "line", "message"],
            buf,
        )
        held_path = result.out_dir / "held.csv"
        staged.write_text(held_path, buf.getvalue())
        result.held_file = held_path
    result.timings["listing"] = time.perf_counter() - t4
    conn.execute(
        "UPDATE billing_runs SET issued = ?, held = ? WHERE id = ?",
        (len(result.issued), len(result.held), run_id),
    )
    kinds = defaultdict(int)
    for r in result.issued:
        kinds[r["kind"]] += 1
    audit.record(
        conn,
        "invoice generate",
        entity="invoices",
        count=len(result.issued),
        detail={
            "run": run_id,
            "through": through.isoformat(),
            "held": len(result.held),
            "files": len(result.files),
            "dry_run": not staged.enabled,
            **kinds,
        },
    )


def _add_timing(result: RunResult, key: str, since: float) -> None:
    result.timings[key] = result.timings.get(key, 0.0) + time.perf_counter() - since


def _build_claim(
    e: dict,
    number: str,
    ids: _Ids,
    *,
    issued_on,
    dxs,
    pats,
    payers,
    providers,
    copays,
    copay_rows,
    billed_lines,
) -> Issue:
    """One encounter's claim: invoice row, lines and the snapshot the 837P is rendered from."""
    cov = e["coverage"]
    payer_row = payers[cov["payer_id"]]
    inv_id = ids.next_invoice()
    dx = dxs.get(e["id"], [])
    copay = 0
    for pid, cents in copays.pop((e["patient_id"], e["date_of_service"]), []):
        copay += cents
        copay_rows.append((pid, inv_id))
    lines, clines = [], []
    for n, ln in enumerate(e["lines"], start=1):
        mods = content.modifiers_of(ln)
        row = _line_row(
            ids,
            inv_id,
            n,
            charge_line_id=ln["charge_line_id"],
            dos=e["date_of_service"],
            code=ln["code"],
            modifiers=mods,
            units=ln["units"],
            description=None,
            amount=ln["charge_cents"],
        )
        lines.append(row)
        clines.append(
            content.claim_line(
                row["id"],
                ln["code"],
                mods,
                ln["units"],
                ln["charge_cents"],
                list(pointers.parse(ln["dx_pointers"])),
            )
        )
        billed_lines.append(ln["charge_line_id"])
    c = content.claim_content(
        number=number,
        frequency="1",
        encounter=e,
        lines=clines,
        diagnoses=dx,
        patient=pats[e["patient_id"]],
        coverage=cov,
        payer=payer_row,
        others=[(o, payers[o["payer_id"]]) for o in e["others"]],
        provider=providers[e["provider_id"]],
        copay_cents=copay,
    )
    row = {
        "id": inv_id,
        "number": number,
        "kind": "claim",
        "patient_id": e["patient_id"],
        "payer_id": cov["payer_id"],
        "coverage_id": cov["id"],
        "encounter_id": e["id"],
        "original_invoice_id": None,
        "frequency_code": "1",
        "issued_on": issued_on,
        "due_on": None,
        "filing_deadline": content.filing_deadline(e["date_of_service"], payer_row),
        "total_cents": c["total_cents"],
        "copay_cents": copay,
    }
    return Issue(
        row,
        lines,
        c,
        payer_row["code"],
        e["number"],
        pats[e["patient_id"]]["mrn"],
        e["date_of_service"],
    )


def _queued(
    conn, result: RunResult, payers, scope
) -> tuple[dict[int, list[tuple[int, dict]]], list[int]]:
    """Voids and replacements queued by `invoice void|replace`: they join their payer's file."""
    q = (
        "SELECT q.invoice_id, i.number, i.kind, i.payer_id, s.data, i.encounter_id, i.total_cents, i.patient_id"
        " FROM claim_queue q JOIN invoices i ON i.id = q.invoice_id JOIN invoice_snapshots s ON s.invoice_id = i.id"
    )
    args: tuple = ()
    if scope:
        q += " WHERE i.payer_id = ?"
        args = (scope["id"],)
    by_payer: dict[int, list[tuple[int, dict]]] = defaultdict(list)
    queued = []
    for iid, number, kind, payer_id, data, _enc_id, total, _pat_id in conn.execute(
        q + " ORDER BY q.invoice_id", args
    ).fetchall():
        c = json.loads(data)
        by_payer[payer_id].append((iid, c))
        queued.append(iid)
        result.issued.append(
            {
                "number": number,
                "kind": kind,
                "frequency": c.get("frequency"),
                "bill_to": payers[payer_id]["code"],
                "encounter": c.get("encounter"),
                "total_cents": total,
                "file": None,
                "invoice_id": iid,
                "queued": True,
            }
        )
    return by_payer, queued


class _X12Run:
    """The run's 837P files: `add` renders one payer's file, writes it beside its final name and
    hands it to pyx12 (validate.Checker: on a large run worker processes check it while the next
    payer's claims are built); `finish` waits for every verdict and records the interchanges.
    Any invalid file raises X12Invalid and the caller rolls everything back."""

    def __init__(
        self,
        conn,
        result: RunResult,
        staged: Staged,
        prac: dict,
        payers: dict,
        *,
        run_id: int,
        at: str,
        workers,
        say=_silent,
    ):
        from .practice import SETTINGS

        self.conn, self.result, self.staged, self.payers = conn, result, staged, payers
        self.run_id, self.at, self.workers, self.say = run_id, at, workers, say
        self.block = content.practice_block(prac)
        self.prac = prac
        self.usage = prac.get("usage") or SETTINGS["usage"][1]
        self.created = _dt.datetime.now().replace(second=0, microsecond=0)
        self.built: list[
            tuple
        ] = []  # (payer_id, invoice ids, env, name, final path, sha256, ST sets, claim ST list)
        from ..x12 import validate

        self.checker = validate.Checker(
            workers=workers,
            on_progress=lambda done, total: say("pyx12 segments checked", done, total),
        )

    def add(self, payer_id: int, items: list[tuple[int, dict]]) -> None:
        import hashlib

        from ..x12 import envelope, validate, x837

        conn, prac = self.conn, self.prac
        env = envelope.Envelope(
            sender_id=prac["submitter_id"],
            receiver_id=prac["receiver_id"],
            isa_control=numbering.next_control(conn, "isa"),
            gs_control=numbering.next_control(conn, "gs"),
            created=self.created,
            usage=self.usage,
        )
        rendered = x837.render(env, self.block, [c for _, c in items])
        name = f"837P-{self.payers[payer_id]['code']}-{env.isa_control:09d}.edi"
        final = self.result.out_dir / name
        text = rendered.text
        sha = hashlib.sha256(text.encode()).hexdigest()
        if self.staged.enabled:
            self.staged.write_text(final, text)
            self.checker.add_file(
                self.staged.pending(final),
                rendered.st_sets,
                name,
                len(rendered.segments),
                split_problems=validate.envelope_problems(rendered.segments, rendered.st_sets),
            )
        else:
            self.checker.add_segments(rendered.segments, rendered.st_sets, name)
        self.built.append(
            (
                payer_id,
                [iid for iid, _ in items],
                env,
                name,
                final,
                sha,
                rendered.st_sets,
                rendered.claim_st,
            )
        )

    def close(self) -> None:
        """Stop pyx12 workers still running (a run that failed before it needed them)."""
        self.checker.close()

    def finish(self) -> dict[int, str]:
        conn, result = self.conn, self.result
        t = time.perf_counter()
        self.say(
            f"pyx12 validating {len(self.checker.files)} 837P file(s), {self.checker.segments:,} segments"
        )
        verdicts = self.checker.verdicts()
        result.timings["pyx12"] = (
            time.perf_counter() - t
        )  # the wait after the last file was rendered
        failures = [v for v in verdicts if not v.valid]
        if failures:
            details = []
            for v in failures:
                details += [f"{v.name}: {p}" for p in v.problems[:25]]
            raise X12Invalid(
                f"{len(failures)} 837P file(s) failed pyx12 validation; nothing was issued",
                details=details,
            )
        files_by_invoice: dict[int, str] = {}
        file_rows = []
        prac = self.prac
        env_json = json.dumps(
            {
                "practice": self.block,
                "usage": self.usage,
                "created": self.created.isoformat(),
                "sender_id": prac["submitter_id"],
                "receiver_id": prac["receiver_id"],
            },
            sort_keys=True,
        )
        for payer_id, inv_ids, env, name, final, sha, st_sets, claim_st in self.built:
            result.files.append(final)
            where = str(final.resolve())
            iid_x = conn.execute(
                "INSERT INTO x12_interchanges (run_id, payer_id, isa_control, gs_control, usage, envelope, path, sha256,"
                " transaction_sets, claims, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    self.run_id,
                    payer_id,
                    f"{env.isa_control:09d}",
                    str(env.gs_control),
                    self.usage,
                    env_json,
                    where,
                    sha,
                    len(st_sets),
                    len(inv_ids),
                    self.at,
                ),
            ).lastrowid
            for inv_id, st in zip(inv_ids, claim_st):
                file_rows.append((inv_id, "x12", where, self.run_id, iid_x, st, self.at))
                files_by_invoice[inv_id] = name
        conn.conn.executemany(
            "INSERT INTO invoice_files (invoice_id, kind, path, run_id, interchange_id, st_control, created_at)"
            " VALUES (?,?,?,?,?,?,?)",
            file_rows,
        )
        conn.conn.executemany(
            "INSERT INTO invoice_events (invoice_id, status, at, note) VALUES (?, 'sent', ?, ?)",
            ((inv_id, self.at, name) for inv_id, name in files_by_invoice.items()),
        )
        return files_by_invoice


# ---------------------------------------------------------------------------------------------
# patient invoices


_REASONS = {"1": "Deductible", "2": "Coinsurance", "3": "Co-payment"}


def _transfers(conn, patient_filter: set[int] | None) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = defaultdict(list)
    for r in conn.execute(
        "SELECT a.id, a.invoice_id, a.invoice_line_id, a.reason_code, a.amount_cents, i.number, i.patient_id,"
        " i.encounter_id, l.code, l.modifiers, l.units, COALESCE(l.date_of_service, e.date_of_service), l.amount_cents,"
        " l.charge_line_id FROM adjustments a JOIN invoices i ON i.id = a.invoice_id"
        " LEFT JOIN invoice_lines l ON l.id = a.invoice_line_id LEFT JOIN encounters e ON e.id = i.encounter_id"
        " WHERE a.source = 'transfer' AND i.kind = 'claim'"
        " AND NOT EXISTS (SELECT 1 FROM patient_invoice_adjustments x WHERE x.adjustment_id = a.id)"
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


def _patient_invoices(
    conn,
    result,
    staged,
    prac,
    self_encs,
    pats,
    ids,
    *,
    issued_on,
    at,
    run_id,
    pdf,
    today,
    files_by_invoice,
) -> list[Issue]:
    from .describe import Describer
    from .practice import SETTINGS

    items: dict[int, list[tuple[str, dict]]] = defaultdict(list)
    for e in sorted(self_encs, key=lambda e: (e["date_of_service"], e["number"])):
        items[e["patient_id"]].append(("encounter", e))
    for pid, ts in _transfers(conn, None).items():
        for t in sorted(
            ts, key=lambda t: (t["date_of_service"] or "", t["claim"], t["adjustment_id"])
        ):
            items[pid].append(("transfer", t))
    if not items:
        return []
    missing = [pid for pid in items if pid not in pats]
    if missing:
        t = content.temp_ids(conn, "_gen_pat2", missing)
        pats.update(content.load_patients(conn, t))
    due_days = int(prac.get("due_days") or SETTINGS["due_days"][1])
    due_on = (today + _dt.timedelta(days=due_days)).isoformat()
    describer = Describer(conn)

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
    numbers = numbering.take(conn, "patient", len(plans))
    issues: list[Issue] = []
    adj_rows = []
    for pid, number in zip(plans, numbers):
        inv_id = ids.next_invoice()
        lines = []
        enc_ids = set()
        n = 0
        for kind, x in items[pid]:
            if kind == "encounter":
                enc_ids.add(x["id"])
                for ln in x["lines"]:
                    n += 1
                    lines.append(
                        _line_row(
                            ids,
                            inv_id,
                            n,
                            charge_line_id=ln["charge_line_id"],
                            dos=x["date_of_service"],
                            code=ln["code"],
                            modifiers=content.modifiers_of(ln),
                            units=ln["units"],
                            description=describer.procedure(ln["code"], x["date_of_service"]),
                            amount=ln["charge_cents"],
                        )
                    )
            else:
                n += 1
                if x["encounter_id"]:
                    enc_ids.add(x["encounter_id"])
                reason = _REASONS.get(x["reason"], f"Patient responsibility (CARC {x['reason']})")
                row = _line_row(
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
        row = {
            "id": inv_id,
            "number": number,
            "kind": "patient",
            "patient_id": pid,
            "payer_id": None,
            "coverage_id": None,
            "encounter_id": next(iter(enc_ids)) if len(enc_ids) == 1 else None,
            "original_invoice_id": None,
            "frequency_code": "1",
            "issued_on": issued_on,
            "due_on": due_on,
            "filing_deadline": None,
            "total_cents": sum(ln["amount_cents"] for ln in lines),
            "copay_cents": 0,
        }
        dos = sorted({ln["date_of_service"] for ln in lines if ln["date_of_service"]})
        issues.append(
            Issue(
                row,
                lines,
                None,
                "patient",
                next(iter(enc_ids)) if len(enc_ids) == 1 else None,
                pats[pid]["mrn"],
                dos[0] if dos else None,
            )
        )
    if not issues:
        return []
    insert_invoices(conn, issues, at=at)
    conn.conn.executemany(
        "INSERT INTO patient_invoice_adjustments (adjustment_id, invoice_line_id) VALUES (?, ?)",
        adj_rows,
    )
    for it in issues:
        if it.encounter is not None:
            it.encounter = conn.execute(
                "SELECT number FROM encounters WHERE id = ?", (it.row["encounter_id"],)
            ).fetchone()[0]
    _apply_credit(conn, [it.row["patient_id"] for it in issues], today)
    from . import pdf as pdf_mod

    snaps = []
    file_rows = []
    for it in issues:
        c = pdf_mod.patient_content(conn, it.row["id"], prac, describer, today=today)
        snaps.append((it.row["id"], c))
        if pdf and c["balance_due_cents"] > 0:
            final = result.out_dir / f"{it.row['number']}.pdf"
            staged.write_bytes(final, pdf_mod.render(c))
            result.files.append(final)
            file_rows.append((it.row["id"], "pdf", str(final.resolve()), run_id, None, None, at))
            files_by_invoice[it.row["id"]] = final.name
    insert_snapshots(conn, snaps)
    conn.conn.executemany(
        "INSERT INTO invoice_files (invoice_id, kind, path, run_id, interchange_id, st_control, created_at)"
        " VALUES (?,?,?,?,?,?,?)",
        file_rows,
    )
    return issues


def _apply_credit(conn, patient_ids: list[int], today: _dt.date) -> None:
    """Co-pays and other credit held for the patient pay the new invoice at once (accounts' rule)."""
    try:
        from ..accounts.payments import apply_credit
    except ImportError:  # the accounts domain is not installed in this build
        return
    for pid in dict.fromkeys(patient_ids):
        apply_credit(conn, pid, today)


# ---------------------------------------------------------------------------------------------
# listing


def listing_rows(conn, run_ids: list[int]) -> list[dict]:
    if not run_ids:
        return []
    t = content.temp_ids(conn, "_list_runs", run_ids)
    rows = []
    for r in conn.execute(
        f"SELECT i.id, i.number, i.kind, i.frequency_code, i.issued_on, COALESCE(py.code, 'patient'), e.number, p.mrn,"
        f" e.date_of_service, i.total_cents, i.copay_cents, i.filing_deadline, i.due_on, ir.file"
        f" FROM invoice_runs ir JOIN {t} t ON t.id = ir.run_id JOIN invoices i ON i.id = ir.invoice_id"
        f" JOIN patients p ON p.id = i.patient_id LEFT JOIN payers py ON py.id = i.payer_id"
        f" LEFT JOIN encounters e ON e.id = i.encounter_id ORDER BY i.id"
    ):
        rows.append(dict(zip(["invoice_id"] + LISTING_COLUMNS, r)))
    return rows


def _write_listing(conn, result, staged, *, xlsx: bool) -> None:
    import io

    out = str(result.out_dir.resolve())
    runs = [
        r[0]
        for r in conn.execute("SELECT id FROM billing_runs WHERE out_dir = ? ORDER BY id", (out,))
    ]
    rows = listing_rows(conn, runs)
    buf = io.StringIO()
    write_listing_csv(rows, LISTING_COLUMNS, buf)
    csv_path = result.out_dir / "invoices.csv"
    staged.write_text(csv_path, buf.getvalue())
    result.files.append(csv_path)
    if xlsx and staged.enabled:
        path = result.out_dir / "invoices.xlsx"
        write_listing_xlsx(staged.path_for(path), rows, LISTING_COLUMNS)
        result.files.append(path)


def write_listing_csv(rows: list[dict], columns: list[str], fh) -> None:
    """invoices.csv as render.write_csv writes it (money "123.45", cells a spreadsheet would
    evaluate escaped), specialised to the listing's plain values: 4x faster on large runs."""
    import csv

    from .. import money
    from ..render import safe_cell

    w = csv.writer(fh, lineterminator="\n")
    w.writerow([c[:-6] if c.endswith("_cents") else c for c in columns])
    is_money = [c.endswith("_cents") for c in columns]
    fmt = money.fmt
    for r in rows:
        w.writerow(
            [
                fmt(r.get(c)) if m else ("" if r.get(c) is None else safe_cell(r.get(c)))
                for c, m in zip(columns, is_money)
            ]
        )


def write_listing_xlsx(path: Path, rows: list[dict], columns: list[str]) -> None:
    """invoices.xlsx in openpyxl's streaming (write-only) mode, formatted like render.write_xlsx
    (bold header, money as numbers with a money format, frozen header, widths, text that a
    spreadsheet would evaluate escaped) at about a fifth of its time on large runs."""
    import os
    from decimal import Decimal

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from ..render import safe_cell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("invoices")
    for i, c in enumerate(columns, start=1):
        sample = [len(str(r.get(c) or "")) for r in rows[:200]]
        ws.column_dimensions[get_column_letter(i)].width = min(max([len(c)] + sample) + 2, 60)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    head = []
    for c in columns:
        cell = WriteOnlyCell(ws, value=c[:-6] if c.endswith("_cents") else c)
        cell.font = bold
        head.append(cell)
    ws.append(head)
    money_cols = [c.endswith("_cents") for c in columns]
    for r in rows:
        out = []
        for c, is_money in zip(columns, money_cols):
            v = r.get(c)
            if is_money:
                cell = WriteOnlyCell(ws, value=None if v is None else Decimal(v) / 100)
                cell.number_format = "#,##0.00"
                out.append(cell)
            else:
                out.append(safe_cell(v))
        ws.append(out)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        wb.save(fh)
