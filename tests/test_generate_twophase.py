"""`invoice generate` renders and validates its 837I and next-payer (COB) claims before the write
lock (issues 15 and 17): while the run waits for the gate, another connection takes the write
lock at once; an institutional claim imported or corrected meanwhile is billed as it is then;
`--cob CLAIM` limits the next-payer 837Is as it limits the 837Ps; `check` is clean after.

The practice (`two_kinds`): Cora (KEY, then BVH) had a 99214 at 200.00 billed as C000001; Ann
(Medicare, then Medicaid) the hospital's outpatient endoscopy HO1 billed as C000002 (0750
1,850.00 + 0310 420.00 + 0710 300.00 = 2,570.00). Keystone answered C000001: paid 120.00, CO-45
50.00, PR-2 30.00, so 30.00 is left for Blue Valley; Medicare answered C000002: paid 680.00,
PR-2 150.00 + 20.00 = 170.00 left for Medicaid. Bob (Medicare) has a second endoscopy HO2
unbilled. The next run bills: C000003 Blue Valley's 837P COB claim (200.00, OA-23 200.00 -
30.00 = 170.00), C000004 Medicaid's 837I COB claim (2,570.00, OA-23 2,570.00 - 170.00 =
2,400.00), C000005 HO2 to Medicare (2,570.00)."""

from __future__ import annotations

import sqlite3

import institutional_fixtures as ifx
import invoice_fixtures as fx
import ledger_scenarios as ls
import pytest
import test_generate_lock as lock
from test_cob import KEY_ANSWER
from test_generate_lock import PAUSE_TIMEOUT, Paused
from test_remit_institutional import _add, _medicare, _outpatient_answer

from billadmin import db as dbmod
from billadmin import integrity
from billadmin.billing import generate as gen
from billadmin.billing import x12files
from billadmin.remit import post

TODAY = ls.DAY0
DOS = ls.day("D-4").isoformat()


def _run(db, out, **kw) -> gen.RunResult:
    return gen.generate(db, today=TODAY, scrub=fx.no_scrub, out_dir=out, pdf=False, **kw)


@pytest.fixture
def two_kinds(db, tmp_path):
    with dbmod.write(db):
        ids = ifx.hospital(db)  # Ann and Bob, Medicare
        fx.coverage(db, ids["a"], "MCD", member="OH0012345", priority=2)
        ifx.outpatient(db, ids["a"], "HO1", ids["facility"])
        cora = fx.patient(db, "C0001", "Cora", "Benefit")
        fx.coverage(db, cora, "KEY", member="KEY001", priority=1)
        fx.coverage(db, cora, "BVH", member="BVH002", priority=2)
        fx.encounter(db, cora, DOS, [("99214", 20000)])
    first = _run(db, tmp_path / "r1")
    assert [(r["number"], r["bill_to"]) for r in first.issued] == [
        ("C000001", "KEY"),
        ("C000002", "MCR"),
    ]
    key = tmp_path / "key.835"
    key.write_text(
        ls.remit_text({"payer": "KEY", "trace": "EFT1", "on": "D", "claims": [KEY_ANSWER]})
    )
    mcr = _add(_medicare(), _outpatient_answer(), 68000).write(tmp_path / "mcr.835")
    res = post.import_files(db, [key, mcr])
    assert [t.result for t in res.transactions] == ["posted", "posted"]
    with dbmod.write(db):
        ifx.outpatient(db, ids["b"], "HO2", ids["facility"])
    return db


class Generating(lock.Generating):
    """`invoice generate` on its own connection in a thread, with this module's dates."""

    def run(self):
        conn = dbmod.connect(self.db_path)
        try:
            self.result = _run(conn, self.out, **self.kw)
        except BaseException as e:  # reported by the test
            self.error = e
        finally:
            conn.close()


def _lock_is_free(db_path) -> bool:
    """Another connection gets the write lock at once (no busy wait)."""
    conn = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


def _issued(res) -> list[tuple[str, str, int]]:
    return sorted((r["number"], r["bill_to"], r["total_cents"]) for r in res.issued)


def _cob_rows(db) -> list[tuple]:
    return db.execute(
        "SELECT i.number, a.group_code, a.reason_code, a.amount_cents, p.number, c.sequence"
        " FROM cob_claims c JOIN invoices i ON i.id = c.invoice_id"
        " JOIN invoices p ON p.id = c.prior_invoice_id"
        " JOIN adjustments a ON a.invoice_id = i.id AND a.source = 'cob' ORDER BY i.number"
    ).fetchall()


def test_837i_and_next_payer_claims_are_validated_without_the_lock(
    two_kinds, db_path, tmp_path, monkeypatch, cli
):
    db = two_kinds
    seen: dict = {}

    def while_validating(n):
        # the gate has every file of the run (the 837P, both 837Is); nobody holds the lock
        seen["free"] = _lock_is_free(db_path)
        r = cli("payment", "post", "H1001", "5.00", "--method", "cash", "--credit")
        seen["post"] = r.exit_code

    paused = Paused(monkeypatch, on_pause=while_validating)
    staged: list[str] = []
    wrapped = x12files.X12Run.check

    def check(run):  # what the gate is given: every file, rendered before the lock
        staged.extend("-".join(b[3].split("-")[:2]) for b in run.built)
        return wrapped(run)

    monkeypatch.setattr(x12files.X12Run, "check", check)
    res = _run(db, tmp_path / "r2")
    assert paused.calls == 1  # prepared once: the payment touched nothing it bills
    assert seen == {"free": True, "post": 0}
    assert sorted(staged) == ["837I-MCD", "837I-MCR", "837P-BVH"]
    assert _issued(res) == [
        ("C000003", "BVH", 20000),
        ("C000004", "MCD", 257000),
        ("C000005", "MCR", 257000),
    ]
    assert _cob_rows(db) == [
        ("C000003", "OA", "23", 17000, "C000001", "S"),
        ("C000004", "OA", "23", 240000, "C000002", "S"),
    ]
    assert db.execute(
        "SELECT e.number, c.status FROM inst_claims c JOIN encounters e ON e.id = c.encounter_id"
        " ORDER BY e.number"
    ).fetchall() == [("HO1", "billed"), ("HO2", "billed")]
    links = db.execute(
        "SELECT i.number, e.number FROM inst_claim_invoices l JOIN invoices i ON i.id = l.invoice_id"
        " JOIN inst_claims c ON c.id = l.claim_id JOIN encounters e ON e.id = c.encounter_id"
        " ORDER BY i.number"
    ).fetchall()
    assert links == [("C000002", "HO1"), ("C000004", "HO1"), ("C000005", "HO2")]
    files = sorted((tmp_path / "r2").glob("837*.edi"))
    assert [f.name.split("-")[0] + "-" + f.name.split("-")[1] for f in files] == [
        "837I-MCD",
        "837I-MCR",
        "837P-BVH",
    ]
    lock._files_valid_and_recorded(db, files=files)
    assert res.timings["write lock"] < 5
    # each new claim's 'sent' event names its file
    sent = db.execute(
        "SELECT i.number, e.note FROM invoice_events e JOIN invoices i ON i.id = e.invoice_id"
        " WHERE e.status = 'sent' AND i.number > 'C000002' ORDER BY i.number"
    ).fetchall()
    assert [(n, note.split("-")[0]) for n, note in sent] == [
        ("C000003", "837P"),
        ("C000004", "837I"),
        ("C000005", "837I"),
    ]
    assert integrity.run_checks(db) == []
    r = cli("check")
    assert r.exit_code == 0, r.stdout + r.stderr
    # nothing is billed twice
    again = _run(db, tmp_path / "r3")
    assert again.issued == [] and again.held == []


def test_an_institutional_claim_imported_while_validating_is_billed(
    two_kinds, db_path, tmp_path, monkeypatch
):
    """HO3 (Bob) arrives while the run waits for the gate: the run is prepared again and bills
    it too, numbered after HO2."""
    paused = Paused(monkeypatch)
    run = Generating(db_path, tmp_path / "r2")
    run.start()
    assert paused.entered.wait(PAUSE_TIMEOUT), run.error
    other = dbmod.connect(db_path)
    with dbmod.write(other):
        bob, fac = other.execute(
            "SELECT patient_id, facility_id FROM inst_claims c JOIN encounters e"
            " ON e.id = c.encounter_id WHERE e.number = 'HO2'"
        ).fetchone()
        ifx.outpatient(other, bob, "HO3", fac)
    other.close()
    paused.release.set()
    res = run.finish()
    assert paused.calls == 2
    assert [(h.encounter, [f.rule for f in h.findings]) for h in res.held] == []
    assert [(n, b) for n, b, _ in _issued(res)] == [
        ("C000003", "BVH"),
        ("C000004", "MCD"),
        ("C000005", "MCR"),
        ("C000006", "MCR"),
    ]
    db = dbmod.connect(db_path)
    assert db.execute(
        "SELECT i.number FROM inst_claim_invoices l JOIN invoices i ON i.id = l.invoice_id"
        " JOIN inst_claims c ON c.id = l.claim_id JOIN encounters e ON e.id = c.encounter_id"
        " WHERE e.number = 'HO3'"
    ).fetchall() == [("C000006",)]
    assert integrity.run_checks(db) == []
    db.close()


def test_an_institutional_claim_corrected_while_validating_is_billed_as_corrected(
    two_kinds, db_path, tmp_path, monkeypatch
):
    """HO2's recovery line goes from 300.00 to 350.00 while the run waits: prepared again, its
    claim carries 1,850.00 + 420.00 + 350.00 = 2,620.00, in the 837I too."""
    paused = Paused(monkeypatch)
    run = Generating(db_path, tmp_path / "r2")
    run.start()
    assert paused.entered.wait(PAUSE_TIMEOUT), run.error
    other = dbmod.connect(db_path)
    with dbmod.write(other):
        other.execute(
            "UPDATE inst_lines SET charge_cents = 35000 WHERE revenue_code = '0710' AND claim_id ="
            " (SELECT c.id FROM inst_claims c JOIN encounters e ON e.id = c.encounter_id"
            " WHERE e.number = 'HO2')"
        )
    other.close()
    paused.release.set()
    res = run.finish()
    assert paused.calls == 2
    assert ("C000005", "MCR", 262000) in _issued(res)
    (edi,) = (tmp_path / "r2").glob("837I-MCR-*.edi")
    assert "CLM*C000005*2620***13:A:1" in edi.read_text()


def test_two_runs_at_once_bill_the_837i_and_next_payer_claims_once(
    two_kinds, db_path, tmp_path, monkeypatch
):
    """The first run is paused while prepared; a second run bills everything meanwhile. The
    first, under the lock, sees the facility claim billed and the next payers' claims issued,
    prepares again and issues nothing: no claim twice, no number skipped."""
    paused = Paused(monkeypatch, pause_at=(1,))
    first = Generating(db_path, tmp_path / "a")
    first.start()
    assert paused.entered.wait(PAUSE_TIMEOUT), first.error
    second = Generating(db_path, tmp_path / "b")
    second.start()
    res2 = second.finish()
    paused.release.set()
    res1 = first.finish()
    assert [n for n, _, _ in _issued(res2)] == ["C000003", "C000004", "C000005"]
    assert res1.issued == []
    db = dbmod.connect(db_path)
    assert [r[0] for r in _cob_rows(db)] == ["C000003", "C000004"]
    assert db.execute(
        "SELECT COUNT(*), COUNT(DISTINCT claim_id) FROM inst_claim_invoices l"
        " JOIN invoices i ON i.id = l.invoice_id WHERE i.payer_id = (SELECT id FROM payers"
        " WHERE code = 'MCR')"
    ).fetchone() == (2, 2)
    assert not list((tmp_path / "a").glob("837*"))
    assert integrity.run_checks(db) == []
    db.close()


@pytest.mark.parametrize(
    ("only", "issued"),
    [(["C000001"], [("C000003", "BVH")]), (["C000002"], [("C000003", "MCD")])],
)
def test_cob_limits_the_institutional_next_payer_claims_too(two_kinds, tmp_path, only, issued):
    """--cob names the claims whose next payer is billed: the 837I one is left when only the
    837P's prior claim is named, and the other way round (new claims are billed as always)."""
    res = _run(two_kinds, tmp_path / "r2", cob_for=only)
    assert [(n, b) for n, b, _ in _issued(res)] == issued + [
        (f"C{int(issued[-1][0][1:]) + 1:06d}", "MCR")
    ]
    assert [r[0] for r in _cob_rows(two_kinds)] == [issued[0][0]]
    left = _run(two_kinds, tmp_path / "r3")  # the other one waits for the next run
    assert [(n, b) for n, b, _ in _issued(left)] == [
        ("C000005", "MCD" if only == ["C000001"] else "BVH")
    ]


def test_an_835_posted_while_validating_is_routed_before_the_run_bills(
    db, db_path, tmp_path, monkeypatch
):
    """Keystone's 835 is posted (and routed) while the run, with nothing due yet, waits: under
    the lock what next-payer claims read has changed, so the run is prepared again and bills
    Blue Valley's claim (after Dan's new one) rather than leaving it to the next run."""
    with dbmod.write(db):
        fx.practice(db)
        cora = fx.patient(db, "C0001", "Cora", "Benefit")
        fx.coverage(db, cora, "KEY", member="KEY001", priority=1)
        fx.coverage(db, cora, "BVH", member="BVH002", priority=2)
        fx.encounter(db, cora, DOS, [("99214", 20000)])
        dan = fx.patient(db, "D0001", "Dan", "Later")
        fx.coverage(db, dan, "KEY", member="KEY003", priority=1)
    _run(db, tmp_path / "r1")
    with dbmod.write(db):
        fx.encounter(db, dan, DOS, [("99213", 14000)])
    key = tmp_path / "key.835"
    key.write_text(
        ls.remit_text({"payer": "KEY", "trace": "EFT1", "on": "D", "claims": [KEY_ANSWER]})
    )

    def post_once(n):
        if n == 1:
            other = dbmod.connect(db_path)
            post.import_files(other, [key])
            other.close()

    paused = Paused(monkeypatch, on_pause=post_once)
    res = _run(db, tmp_path / "r2")
    assert paused.calls == 2
    assert [(n, b) for n, b, _ in _issued(res)] == [("C000002", "KEY"), ("C000003", "BVH")]


# ---- patient invoices: their PDFs rendered after COMMIT, without the lock ------------------------


@pytest.fixture
def self_pay(db):
    """Two self-pay patients (no coverage): a 99203 at 175.00 and a 99212 at 95.00."""
    with dbmod.write(db):
        fx.practice(db)
        for mrn, code, cents in (("S001", "99203", 17500), ("S002", "99212", 9500)):
            p = fx.patient(db, mrn)
            fx.encounter(db, p, DOS, [(code, cents)], number=f"V{mrn}")
    return db


def _pdfs_recorded(db) -> list[tuple[str, str]]:
    return db.execute(
        "SELECT i.number, f.path FROM invoice_files f JOIN invoices i ON i.id = f.invoice_id"
        " WHERE f.kind = 'pdf' ORDER BY i.number"
    ).fetchall()


def _rendered_from_snapshot(db, number: str) -> bytes:
    import json

    from billadmin.billing import pdf

    (data,) = db.execute(
        "SELECT s.data FROM invoice_snapshots s JOIN invoices i ON i.id = s.invoice_id"
        " WHERE i.number = ?",
        (number,),
    ).fetchone()
    return pdf.render(json.loads(data))


def test_patient_invoice_pdfs_are_rendered_without_the_lock(
    self_pay, db_path, tmp_path, monkeypatch
):
    from billadmin.billing import pdf

    real, free = pdf.render, []

    def render(c):
        free.append(_lock_is_free(db_path))
        return real(c)

    monkeypatch.setattr(pdf, "render", render)
    out = tmp_path / "o"
    res = gen.generate(self_pay, today=TODAY, scrub=fx.no_scrub, out_dir=out)
    assert [(r["number"], r["total_cents"], r["file"]) for r in res.issued] == [
        ("P000001", 17500, "P000001.pdf"),
        ("P000002", 9500, "P000002.pdf"),
    ]
    assert free == [True, True]
    recorded = _pdfs_recorded(self_pay)
    assert [(n, p.rsplit("/", 1)[1]) for n, p in recorded] == [
        ("P000001", "P000001.pdf"),
        ("P000002", "P000002.pdf"),
    ]
    monkeypatch.setattr(pdf, "render", real)
    for n, path in recorded:  # the bytes in place are the stored content's, as exported
        assert (out / f"{n}.pdf").read_bytes() == _rendered_from_snapshot(self_pay, n)
        assert str((out / f"{n}.pdf").resolve()) == path
    listed = (out / "invoices.csv").read_text()
    assert "P000001.pdf" in listed and "P000002.pdf" in listed
    assert integrity.run_checks(self_pay) == []


def test_pdfs_lost_after_commit_are_rendered_by_the_next_run(self_pay, tmp_path, monkeypatch, cli):
    """A run stopped just after COMMIT has issued its patient invoices without their PDFs; the
    next run into the folder (with nothing new to bill) renders and records them."""
    out = tmp_path / "o"
    real = gen._listing_after_commit
    monkeypatch.setattr(
        gen, "_listing_after_commit", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt())
    )
    with pytest.raises(KeyboardInterrupt):
        gen.generate(self_pay, today=TODAY, scrub=fx.no_scrub, out_dir=out)
    assert _pdfs_recorded(self_pay) == [] and not list(out.glob("*.pdf"))
    monkeypatch.setattr(gen, "_listing_after_commit", real)
    again = gen.generate(self_pay, today=TODAY, scrub=fx.no_scrub, out_dir=out)
    assert again.issued == []
    assert [n for n, _ in _pdfs_recorded(self_pay)] == ["P000001", "P000002"]
    for n in ("P000001", "P000002"):
        assert (out / f"{n}.pdf").read_bytes() == _rendered_from_snapshot(self_pay, n)
    # a run without PDFs (--no-pdf) names none, so none is rendered later
    with dbmod.write(self_pay):
        p = fx.patient(self_pay, "S003")
        fx.encounter(self_pay, p, DOS, [("99213", 14000)], number="VS003")
    gen.generate(self_pay, today=TODAY, scrub=fx.no_scrub, out_dir=out, pdf=False)
    gen.generate(self_pay, today=TODAY, scrub=fx.no_scrub, out_dir=out)
    assert [n for n, _ in _pdfs_recorded(self_pay)] == ["P000001", "P000002"]
    r = cli("check")
    assert r.exit_code == 0, r.stdout + r.stderr


def test_a_dry_run_with_transfers_to_route_writes_nothing(db, tmp_path):
    """Keystone leaves 30.00 (PR-2) and Cora has no other coverage: the transfer stays to be
    routed (to the patient). A dry run cannot route in a transaction of its own, so it is
    prepared inside its rolled-back one: it lists the patient invoice of 30.00 and writes
    nothing; the real run then bills it."""
    with dbmod.write(db):
        fx.practice(db)
        cora = fx.patient(db, "C0001", "Cora", "Benefit")
        fx.coverage(db, cora, "KEY", member="KEY001", priority=1)
        fx.encounter(db, cora, DOS, [("99214", 20000)])
    _run(db, tmp_path / "r1")
    key = tmp_path / "key.835"
    key.write_text(
        ls.remit_text({"payer": "KEY", "trace": "EFT1", "on": "D", "claims": [KEY_ANSWER]})
    )
    post.import_files(db, [key])

    def counts():
        return [
            db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("invoices", "cob_routes", "billing_runs", "invoice_events")
        ]

    before = counts()
    dry = gen.generate(
        db, today=TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "d", dry_run=True, pdf=False
    )
    assert _issued(dry) == [("P000001", "patient", 3000)]
    assert "write lock" not in dry.timings  # prepared inside its one transaction (live)
    assert counts() == before and not (tmp_path / "d").exists()
    res = _run(db, tmp_path / "r2")
    assert _issued(res) == [("P000001", "patient", 3000)]


def test_a_dry_run_routes_in_its_own_transaction_and_lists_the_next_payer_claim(
    db, tmp_path, monkeypatch
):
    """Keystone's 835 posted without routing (as by an older billadmin): the dry run routes the
    30.00 to Blue Valley inside its rolled-back transaction and lists its claim (C000002,
    200.00); nothing is written. The real run routes it in a transaction of its own and bills
    it."""
    from billadmin.billing import cob

    with dbmod.write(db):
        fx.practice(db)
        cora = fx.patient(db, "C0001", "Cora", "Benefit")
        fx.coverage(db, cora, "KEY", member="KEY001", priority=1)
        fx.coverage(db, cora, "BVH", member="BVH002", priority=2)
        fx.encounter(db, cora, DOS, [("99214", 20000)])
    _run(db, tmp_path / "r1")
    key = tmp_path / "key.835"
    key.write_text(
        ls.remit_text({"payer": "KEY", "trace": "EFT1", "on": "D", "claims": [KEY_ANSWER]})
    )
    with monkeypatch.context() as m:
        m.setattr(cob, "route", lambda *a, **k: [])
        post.import_files(db, [key])
    assert db.execute("SELECT COUNT(*) FROM cob_routes").fetchone()[0] == 0
    dry = gen.generate(
        db, today=TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "d", dry_run=True, pdf=False
    )
    assert _issued(dry) == [("C000002", "BVH", 20000)]
    assert [(r["claim"], r["rule"], r["amount_cents"]) for r in dry.cob][:1] == [
        ("C000001", "COB-NEXT-PAYER", 3000)
    ]
    assert db.execute("SELECT COUNT(*) FROM cob_routes").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM invoices").fetchone()[0] == 1
    res = _run(db, tmp_path / "r2")
    assert _issued(res) == [("C000002", "BVH", 20000)]
    assert _cob_rows(db) == [("C000002", "OA", "23", 17000, "C000001", "S")]


def test_a_paper_payers_ub04_is_printed_before_the_lock_with_the_issue_date(
    db, db_path, tmp_path, monkeypatch
):
    """Medicare set to paper: HO1's UB-04 is rendered while the run is prepared (its invoice
    only planned, not in the ledger yet), FL 45 the run's issue date as `invoice export` prints
    it, and recorded as the claim's pdf file."""
    from billadmin.billing import ub04

    with dbmod.write(db):
        ids = ifx.hospital(db)
        ifx.outpatient(db, ids["a"], "HO1", ids["facility"])
        db.execute("UPDATE payers SET claim_media = 'paper' WHERE code = 'MCR'")
    real, seen = ub04.fields_from_content, []

    def fields(c, **kw):
        seen.append((c["number"], kw.get("created"), _lock_is_free(db_path)))
        return real(c, **kw)

    monkeypatch.setattr(ub04, "fields_from_content", fields)
    res = _run(db, tmp_path / "o")
    assert _issued(res) == [("C000001", "MCR", 257000)]
    assert seen == [("C000001", TODAY.isoformat(), True)]
    assert db.execute(
        "SELECT f.kind, f.path LIKE '%UB04-MCR-C000001.pdf' FROM invoice_files f"
    ).fetchall() == [("pdf", 1)]
    assert (tmp_path / "o" / "UB04-MCR-C000001.pdf").read_bytes().startswith(b"%PDF")
    assert integrity.run_checks(db) == []
