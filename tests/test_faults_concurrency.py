"""Several billadmin processes writing one database at once: two (import + invoice generate),
then the four kinds (import, invoice generate, remit import, payment post).

Every write is one BEGIN IMMEDIATE transaction with a 15 s busy timeout, so the processes take
turns: nothing is lost (every imported line, payment and remittance is there), nothing is
billed twice (every charge line on at most one invoice, invoice numbers gapless), two payments
racing for the same balance cannot both be applied, nobody sees "database is locked", and the
end state equals the one the same commands reach run one after another.
"""

from __future__ import annotations

import subprocess

import fault_helpers as fh
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture
def billed(tmp_path_factory, tmp_path):
    unbilled = fh.template(tmp_path_factory, "unbilled", fh.build_unbilled)
    return fh.copy_practice(
        fh.template(tmp_path_factory, "billed", fh.build_billed(unbilled)), tmp_path / "billed"
    )


def _run_together(jobs: dict[str, list]) -> dict[str, subprocess.CompletedProcess]:
    """Start every job at once (name -> (db, *args)), wait for all, return their results."""
    procs = {name: fh.spawn(args[0], *args[1:]) for name, args in jobs.items()}
    out = {}
    for name, p in procs.items():
        stdout, stderr = p.communicate(timeout=120)
        out[name] = subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr)
    for name, r in out.items():
        low = r.stderr.lower()
        assert "locked" not in low and "busy" not in low, f"{name}: {r.stderr[-2000:]}"
        assert "Traceback" not in r.stderr and "internal error" not in low, (
            f"{name}: {r.stderr[-3000:]}"
        )
        fh.assert_no_phi(r.stderr, f"stderr of {name}")
    return out


def _billed_once(db) -> None:
    dup = fh.query(
        db,
        "SELECT charge_line_id, count(*) FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id"
        " WHERE charge_line_id IS NOT NULL AND i.kind != 'credit' GROUP BY 1 HAVING count(*) > 1",
    )
    assert dup == [], f"charge lines billed twice: {dup[:10]}"
    orphan = fh.query(
        db,
        "SELECT count(*) FROM charge_lines c WHERE status = 'billed' AND NOT EXISTS"
        " (SELECT 1 FROM invoice_lines l WHERE l.charge_line_id = c.id)",
    )
    assert orphan == [(0,)]


def _settle(db, out) -> None:
    """Bill whatever arrived after the concurrent run's invoice generate looked."""
    fh.ok(fh.ba(db, *fh.generate_args(out)), 0, 1)


def _totals(db) -> dict:
    """What must not depend on the order the processes ran in."""
    q = lambda sql: fh.query(db, sql)  # noqa: E731
    return {
        "charge lines": q(
            "SELECT status, count(*), sum(charge_cents) FROM charge_lines GROUP BY 1 ORDER BY 1"
        ),
        "invoiced": q(
            "SELECT kind, sum(total_cents), (SELECT count(*) FROM invoice_lines l JOIN invoices j ON"
            " j.id = l.invoice_id WHERE j.kind = i.kind) FROM invoices i GROUP BY kind ORDER BY kind"
        ),
        "payments": q(
            "SELECT kind, count(*), sum(amount_cents) FROM payments GROUP BY 1 ORDER BY 1"
        ),
        "allocated": q("SELECT sum(amount_cents) FROM payment_allocations"),
        "adjusted": q(
            "SELECT source, group_code, sum(amount_cents) FROM adjustments GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        "remits": q("SELECT count(*), (SELECT count(*) FROM remit_claims) FROM remit_files"),
        "open balance": q(
            "SELECT sum(total_cents + credited_cents - paid_cents - adjusted_cents) FROM invoice_balances"
        ),
    }


def _new_charges(p, path, skip=()):
    path = fh.more_charges(p, path, encounters=120, prefix="X", skip_mrns=skip)
    with open(path) as fh_:
        n = sum(1 for _ in fh_) - 1
    return path, n


def test_import_and_invoice_generate_at_once(billed, tmp_path):
    db, out = billed.db, tmp_path / "out"
    charges, n_new = _new_charges(billed, tmp_path / "more.csv")
    lines_before = fh.counts(db, "charge_lines")["charge_lines"]
    res = _run_together(
        {
            "import": [db, "import", "charges", charges],
            "generate": [db, *fh.generate_args(out)],
        }
    )
    fh.ok(res["import"])
    fh.ok(res["generate"], 0, 1)
    assert fh.counts(db, "charge_lines")["charge_lines"] == lines_before + n_new  # nothing lost
    _settle(db, out)
    _billed_once(db)
    unbilled = fh.query(
        db,
        "SELECT count(*) FROM charge_lines c JOIN encounters e ON e.id = c.encounter_id"
        " WHERE c.status = 'unbilled' AND e.number LIKE 'X%'",
    )[0][0]
    billed_lines = fh.query(db, "SELECT count(*) FROM charge_lines WHERE status = 'billed'")[0][0]
    assert billed_lines > lines_before // 2 and unbilled < n_new // 4, (
        "the new encounters were not billed"
    )
    fh.integrity_ok(db)
    fh.check_passes(db)


def _patient_with_balance(db, *, self_pay: bool, exclude=()) -> tuple[str, int]:
    rows = fh.query(
        db,
        "SELECT p.mrn, sum(b.total_cents + b.credited_cents - b.paid_cents - b.adjusted_cents)"
        " FROM invoice_balances b JOIN patients p ON p.id = b.patient_id WHERE b.kind = 'patient'"
        f" AND {'NOT' if self_pay else ''} EXISTS (SELECT 1 FROM coverages c WHERE c.patient_id = p.id)"
        " GROUP BY p.id HAVING sum(b.total_cents + b.credited_cents - b.paid_cents - b.adjusted_cents) > 1000"
        " ORDER BY p.id",
    )
    rows = [r for r in rows if r[0] not in exclude]
    assert rows, "the template has no patient with an open patient invoice"
    return rows[0][0], rows[0][1]


def _scenario(p, tmp_path, out):
    """The four kinds of writer, and two payments racing for one patient's whole balance."""
    db = p.db
    race_mrn, race_balance = _patient_with_balance(db, self_pay=True)
    other_mrn, _ = _patient_with_balance(db, self_pay=True, exclude={race_mrn})
    charges, n_new = _new_charges(p, tmp_path / "more.csv", skip={race_mrn, other_mrn})
    amount = f"{race_balance // 100}.{race_balance % 100:02d}"
    jobs = {
        "import": [db, "import", "charges", charges],
        "generate": [db, *fh.generate_args(out)],
        "remit": [db, "remit", "import", *p.files["835"]],
        "pay-a": [db, "payment", "post", race_mrn, amount, "--method", "card", "--reference", "A"],
        "pay-b": [db, "payment", "post", race_mrn, amount, "--method", "cash", "--reference", "B"],
        "pay-other": [
            db,
            "payment",
            "post",
            other_mrn,
            "10.00",
            "--method",
            "check",
            "--reference",
            "1043",
        ],
    }
    return jobs, n_new


def test_four_kinds_of_writer_at_once(billed, tmp_path):
    db = billed.db
    control = fh.copy_practice(billed, tmp_path / "control")
    lines_before = fh.counts(db, "charge_lines")["charge_lines"]

    jobs, n_new = _scenario(billed, tmp_path, tmp_path / "out")
    res = _run_together(jobs)
    fh.ok(res["import"])
    fh.ok(res["generate"], 0, 1)
    fh.ok(res["remit"])
    fh.ok(res["pay-other"])
    pays = sorted((res["pay-a"].returncode, res["pay-b"].returncode))
    assert pays == [0, 2], (
        f"two payments of the whole balance both applied, or both refused: {pays}"
    )
    refused = res["pay-a"] if res["pay-a"].returncode else res["pay-b"]
    assert "over the open patient balance" in refused.stderr
    fh.assert_no_phi(refused.stdout + refused.stderr, "the refused payment")

    # nothing lost
    assert fh.counts(db, "charge_lines")["charge_lines"] == lines_before + n_new
    assert fh.counts(db, "remit_files")["remit_files"] == len(billed.files["835"])
    refs = fh.query(db, "SELECT reference FROM payments WHERE kind = 'patient' ORDER BY reference")
    assert sorted(r[0] for r in refs) in (["1043", "A"], ["1043", "B"])

    _settle(db, tmp_path / "out")
    _billed_once(db)
    fh.integrity_ok(db)
    fh.check_passes(db)

    # the same commands one after another reach the same totals
    cjobs, _ = _scenario(control, tmp_path / "c", tmp_path / "c-out")
    for name in ("import", "generate", "remit", "pay-a", "pay-b", "pay-other"):
        r = fh.ba(*cjobs[name])
        assert r.returncode in (
            (0, 1) if name == "generate" else (2,) if name == "pay-b" else (0,)
        ), (name, r.stderr)
    _settle(control.db, tmp_path / "c-out")
    assert _totals(db) == _totals(control.db)
