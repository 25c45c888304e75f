"""Adversarial review of issue 15's speed changes to `invoice generate` (claim building, the
write lock, the listing): cases the 10,000-encounter benchmark does not hold, each built here.

The practice (tests/invoice_fixtures.py): insured patients with one visit on 2026-06-10
(99213 140.00 + 36415 15.00 = 155.00 a claim), claims numbered by payer code."""

from __future__ import annotations

import json

import invoice_fixtures as fx
import pytest

from billadmin import db as dbmod
from billadmin import integrity, npi, scrub
from billadmin.billing import content, lifecycle, practice
from billadmin.billing import generate as gen


def _practice(conn, n: int) -> None:
    with dbmod.write(conn):
        fx.practice(conn)
        for i in range(n):
            p = fx.patient(conn, f"70{i:02d}")
            fx.coverage(conn, p, "KEY" if i % 2 else "MCD", member=f"M{i:04d}")
            fx.encounter(conn, p, "2026-06-10", [("99213", 14000), ("36415", 1500)], number=f"A{i}")


def _run(conn, out, **kw):
    return gen.generate(conn, today=fx.TODAY, scrub=fx.no_scrub, out_dir=out, pdf=False, **kw)


def test_an_interrupt_while_the_plan_is_dropped_after_commit_keeps_the_runs_files(
    tmp_path, monkeypatch
):
    """The planned rows are dropped after COMMIT now (issue 15), a moment that takes time on a
    large run: a Ctrl-C there must not delete the committed run's staged 837s (Staged.discard is
    never called after COMMIT), so the next run into the folder puts them in place instead of
    marking them lost."""
    conn = dbmod.connect(tmp_path / "p.db", create=True)
    _practice(conn, 2)
    out = tmp_path / "out"
    real = gen._drop_plan
    raised = []

    def interrupted(c):
        committed = c.execute("SELECT COUNT(*) FROM billing_runs").fetchone()[0]
        if committed and not raised:
            raised.append(True)
            raise KeyboardInterrupt
        real(c)

    monkeypatch.setattr(gen, "_drop_plan", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _run(conn, out)
    assert raised  # the interrupt came after the run's COMMIT
    monkeypatch.setattr(gen, "_drop_plan", real)
    # run 1 committed C000001 (A1, KEY) and C000002 (A0, MCD), one 837P per payer
    assert conn.execute("SELECT COUNT(*) FROM invoices").fetchone()[0] == 2
    again = _run(conn, out)
    states = conn.execute(
        "SELECT state, COUNT(*) FROM billing_run_files WHERE run_id = 1 GROUP BY state"
    ).fetchall()
    assert "lost" not in dict(states), again.notes
    assert sorted(p.name for p in out.glob("837P-*.edi")) == [
        "837P-KEY-000000001.edi",
        "837P-MCD-000000002.edi",
    ]
    conn.close()


class _Fresh(content.Blocks):
    """Every block built again for each claim, as claims were built before issue 15's shared
    content.Blocks."""

    def payer(self, p):
        return content.payer_block(p)

    def provider(self, p):
        return content.provider_block(p)

    def subscriber(self, cov, patient):
        return content.subscriber_block(cov, patient)

    def line_fields(self, fields):
        return content._line_fields(fields)

    def filing_deadline(self, dos, payer):
        return content.filing_deadline(dos, payer)


def _claim_rules(conn, *, encounter_ids=None, as_of=None):
    """The scrubber's rules a split claim trips (no code sets loaded here)."""
    return scrub.check(
        conn, encounter_ids=encounter_ids, as_of=as_of, rules=["ALREADY-BILLED", "CLAIM-LINES"]
    )


def _fields(conn, eid: int, line_no: int, **values) -> None:
    cols = ", ".join(values)
    conn.execute(
        f"INSERT INTO charge_line_fields (encounter_id, line_no, {cols})"
        f" VALUES (?, ?, {', '.join('?' * len(values))})",
        (eid, line_no, *values.values()),
    )


_DRUG = {"ndc": "00409488201", "ndc_unit": "ML", "ndc_quantity": "2"}
_REF = {"referring_npi": npi.make("198765432"), "referring_last": "Reed", "referring_first": "Ro"}


def _varied_practice(conn) -> None:
    """What the benchmark's claims never carry, several claims sharing each block: a secondary
    coverage (other payer), a dependent subscriber, a second provider, two visits a day, the same
    drug on lines of different claims, ordering and referring providers, per-line authorization
    numbers, the register's authorization, and a 55-line visit split into two claims."""
    with dbmod.write(conn):
        fx.practice(conn)
        practice.update(conn, {"long_claims": "split"})
        a = fx.patient(conn, "8001")
        fx.coverage(conn, a, "KEY", member="KA1")
        fx.coverage(conn, a, "MCD", member="MA1", priority=2)
        e1 = fx.encounter(
            conn, a, "2026-06-10", [("99213", 14000), ("J3301", 1200), ("36415", 1500)], number="V1"
        )
        _fields(conn, e1, 2, **_DRUG, **_REF)
        e2 = fx.encounter(conn, a, "2026-06-10", [("99212", 9500)], number="V2", provider_id=2)
        _fields(conn, e2, 1, ordering_npi=npi.make("187654321"), ordering_last="Ord", **_REF)
        long = [("97110", 3000 + k) for k in range(55)]
        e3 = fx.encounter(conn, a, "2026-06-11", long, number="V3")
        for k in range(1, 56):
            _fields(conn, e3, k, **_REF, prior_auth="PA1" if k != 52 else "PA2")
        b = fx.patient(conn, "8002", first="Bea")
        fx.coverage(
            conn,
            b,
            "KEY",
            member="KA1",
            relationship="spouse",
            sub_first="Al",
            sub_last="Sample",
            sub_dob="1949-01-02",
        )
        e4 = fx.encounter(
            conn, b, "2026-06-10", [("99213", 14000), ("J3301", 1200), ("36415", 1500)], number="V4"
        )
        _fields(conn, e4, 2, **_DRUG, **_REF)
        fx.encounter(conn, b, "2026-06-12", [("99213", 14000)], number="V5", provider_id=2)
        c = fx.patient(conn, "8003")
        fx.coverage(conn, c, "KEY", member="KC1")
        conn.execute(
            "INSERT INTO authorizations (payer_id, patient_id, number, codes, valid_from, valid_to,"
            " created_at) VALUES (?, ?, 'AUTH9', '99213', '2026-06-01', '2026-06-30', ?)",
            (fx.payer_id(conn, "KEY"), c, fx.NOW),
        )
        e6 = fx.encounter(conn, c, "2026-06-10", [("99213", 14000), ("J3301", 1200)], number="V6")
        _fields(conn, e6, 2, **_DRUG)
        d = fx.patient(conn, "8004")
        fx.coverage(conn, d, "MCR", member="1EG4TE5MK72")
        fx.encounter(conn, d, "2026-06-10", [("99213", 14000), ("36415", 1500)], number="V7")


def _without_clock(text: str) -> list[str]:
    return [s for s in text.split("~") if not s.strip().startswith(("ISA", "GS", "BHT"))]


def test_shared_blocks_store_and_send_what_blocks_built_per_claim_do(tmp_path, monkeypatch):
    """content.Blocks shares one payer, provider, subscriber and line-fields block among the
    claims that carry it: nothing in a run (split parts, other payers, the register's numbers,
    rendering) may change one in place. The same practice billed with a fresh block per claim
    stores the same snapshots and rows and sends the same 837Ps."""
    got = {}
    for way in ("shared", "fresh"):
        conn = dbmod.connect(tmp_path / f"{way}.db", create=True)
        _varied_practice(conn)
        with monkeypatch.context() as m:
            if way == "fresh":
                m.setattr(content, "Blocks", _Fresh)
            res = gen.generate(
                conn, today=fx.TODAY, scrub=_claim_rules, out_dir=tmp_path / way, pdf=False
            )
        assert not res.held
        got[way] = (
            conn.execute(
                "SELECT i.number, i.total_cents, i.filing_deadline, i.content_hash, s.data"
                " FROM invoices i JOIN invoice_snapshots s ON s.invoice_id = i.id ORDER BY i.id"
            ).fetchall(),
            {p.name: _without_clock(p.read_text()) for p in (tmp_path / way).glob("*.edi")},
        )
        conn.close()
    assert got["shared"] == got["fresh"]
    claims = {n: json.loads(data) for n, _, _, _, data in got["shared"][0]}
    # V1-V6 to KEY (V3 in two parts: 50 + 5 lines), V7 to MCR: 8 claims
    assert len(claims) == 8
    by_enc = {}
    for c in claims.values():
        by_enc.setdefault(c["encounter"], []).append(c)
    # the same drug on V1, V4 and V6's second line; V6's 99213 carries the register's number,
    # its only line with one: sent once, for the claim
    for v in ("V1", "V4", "V6"):
        [c] = by_enc[v]
        assert c["lines"][1]["drug"] == {"ndc": "00409488201", "unit": "ML", "quantity": "2"}
    assert by_enc["V6"][0]["prior_auth"] == "AUTH9"
    assert "prior_auth" not in by_enc["V1"][0] and "prior_auth" not in by_enc["V4"][0]
    parts = sorted(by_enc["V3"], key=lambda c: c["split"]["part"])
    assert [len(c["lines"]) for c in parts] == [50, 5]
    # part 1 (lines 1-50): PA1 on every line, once for the claim; part 2 (51-55): PA2 on 52
    assert parts[0]["prior_auth"] == "PA1" and "prior_auth" not in parts[1]
    assert [ln.get("prior_auth") for ln in parts[1]["lines"]] == ["PA1", "PA2", "PA1", "PA1", "PA1"]
    assert [c["total_cents"] for c in parts] == [
        sum(3000 + k for k in range(50)),  # 150,000 + 1,225 = 151,225
        sum(3000 + k for k in range(50, 55)),  # 15,000 + 260 = 15,260
    ]
    assert by_enc["V4"][0]["subscriber"]["relationship"] == "spouse"
    assert by_enc["V1"][0]["other_payers"][0]["subscriber"]["member_id"] == "MA1"


@pytest.mark.parametrize(
    "meanwhile, numbers",
    [
        # `invoice replace` (say) takes C000001 while the run is prepared
        (
            "UPDATE series SET next_number = next_number + 1 WHERE kind = 'claim'",
            ["C000002", "C000003"],
        ),
        # the series' prefix changed, its position not: the same position, other numbers
        ("UPDATE series SET prefix = 'K' WHERE kind = 'claim'", ["K000001", "K000002"]),
    ],
)
def test_the_claim_series_moved_while_prepared_gives_claims_with_the_numbers_taken(
    tmp_path, monkeypatch, meanwhile, numbers
):
    """The lock compares the claim series' (prefix, position) read before it, not the numbers
    rendered (issue 15): a series moved or renamed meanwhile sends the run back to be prepared
    again, and its claims and 837Ps carry the numbers it then took."""
    path = tmp_path / "p.db"
    conn = dbmod.connect(path, create=True)
    _practice(conn, 2)
    real = gen._recheck
    calls = []

    def recheck(c, result, plan):
        if not calls:
            other = dbmod.connect(path)
            with dbmod.write(other):
                other.execute(meanwhile)
            other.close()
        calls.append(plan)
        real(c, result, plan)

    monkeypatch.setattr(gen, "_recheck", recheck)
    res = _run(conn, tmp_path / "out")
    assert len(calls) == 2  # prepared again once
    got = conn.execute("SELECT number FROM invoices ORDER BY number").fetchall()
    assert [n for (n,) in got] == numbers
    assert sorted(r["number"] for r in res.issued) == numbers
    sent = "".join(p.read_text() for p in (tmp_path / "out").glob("837P-*.edi"))
    assert [n for n in numbers if f"CLM*{n}*" in sent] == numbers
    conn.close()


def test_invoices_csv_lists_every_run_into_its_folder_with_parts_and_patient_invoices(tmp_path):
    """invoices.csv is read with the folder's runs as the outer loop and written from tuples now
    (issue 15): runs into the folder before and after a run into another folder, a visit split
    into two claims and a patient invoice, each listed once, in issue order."""
    conn = dbmod.connect(tmp_path / "p.db", create=True)
    _practice(conn, 2)  # A0 (MCD), A1 (KEY): 140.00 + 15.00 = 155.00 each
    with dbmod.write(conn):
        practice.update(conn, {"long_claims": "split"})
        a1 = conn.execute("SELECT patient_id FROM encounters WHERE number = 'A1'").fetchone()[0]
        fx.encounter(conn, a1, "2026-06-11", [("97110", 3000)] * 55, number="L0")
        s = fx.patient(conn, "9900")  # no coverage: a patient invoice
        fx.encounter(conn, s, "2026-06-12", [("99203", 17500)], number="S0")

    def run(folder):
        return gen.generate(
            conn, today=fx.TODAY, scrub=_claim_rules, out_dir=tmp_path / folder, pdf=False
        )

    run("A")
    with dbmod.write(conn):
        fx.encounter(conn, a1, "2026-06-15", [("99212", 9500)], number="B0")
    run("B")
    with dbmod.write(conn):
        fx.encounter(conn, a1, "2026-06-20", [("99213", 14000)], number="A2")
    run("A")
    rows = [r.split(",") for r in (tmp_path / "A" / "invoices.csv").read_text().splitlines()]
    assert rows[0] == LISTING_HEADER
    got = [(r[0], r[4], r[5], r[6], r[8], r[12]) for r in rows[1:]]
    # run 1: KEY's claims first (A1, then L0's parts: 50 x 30.00 and 5 x 30.00), MCD's A0, then
    # the patient invoice; run 2 into B: C000005 (not listed here); run 2 into A: C000006
    assert got == [
        ("C000001", "KEY", "A1", "7001", "155.00", "837P-KEY-000000001.edi"),
        ("C000002", "KEY", "L0 (part 1 of 2)", "7001", "1500.00", "837P-KEY-000000001.edi"),
        ("C000003", "KEY", "L0 (part 2 of 2)", "7001", "150.00", "837P-KEY-000000001.edi"),
        ("C000004", "MCD", "A0", "7000", "155.00", "837P-MCD-000000002.edi"),
        ("P000001", "patient", "S0", "9900", "175.00", ""),
        ("C000006", "KEY", "A2", "7001", "140.00", "837P-KEY-000000004.edi"),
    ]
    b = (tmp_path / "B" / "invoices.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in b[1:]] == ["C000005"]
    conn.close()


LISTING_HEADER = [
    "number",
    "kind",
    "frequency",
    "issued_on",
    "bill_to",
    "encounter",
    "account",
    "date_of_service",
    "total",
    "copay",
    "filing_deadline",
    "due_on",
    "file",
]


def test_a_run_rejected_by_the_gate_after_its_plan_leaves_the_next_run_whole(tmp_path):
    """The gate's verdicts are waited for last in phase (a) now, after the plan's seals and
    marks (issue 15): a rejected run writes nothing and leaves no plan behind, and the next run
    on the same connection bills every line once, sealed."""
    conn = dbmod.connect(tmp_path / "p.db", create=True)
    _practice(conn, 2)
    with dbmod.write(conn):  # place of service 00: CLM05-1 the 837P guide does not allow
        conn.execute("UPDATE encounters SET place_of_service = '00' WHERE number = 'A1'")
    with pytest.raises(gen.X12Invalid):
        _run(conn, tmp_path / "out")
    assert conn.execute("SELECT COUNT(*) FROM invoices").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM billing_runs").fetchone()[0] == 0
    left = conn.execute("SELECT name FROM temp.sqlite_master WHERE name LIKE '_plan%'").fetchall()
    assert left == []
    with dbmod.write(conn):
        conn.execute("UPDATE encounters SET place_of_service = '11' WHERE number = 'A1'")
    res = _run(conn, tmp_path / "out")
    assert sorted(r["number"] for r in res.issued) == ["C000001", "C000002"]
    assert conn.execute("SELECT status, COUNT(*) FROM charge_lines GROUP BY status").fetchall() == [
        ("billed", 4)
    ]
    assert conn.execute(
        "SELECT i.number, r.run_id, r.file FROM invoice_runs r JOIN invoices i ON i.id = r.invoice_id"
        " ORDER BY i.number"
    ).fetchall() == [
        ("C000001", 1, "837P-KEY-000000001.edi"),  # A1 (KEY)
        ("C000002", 1, "837P-MCD-000000002.edi"),  # A0 (MCD)
    ]
    assert integrity.run_checks(conn) == []
    conn.close()


def test_candidates_leave_out_void_and_billed_lines_and_keep_visits_of_one_day_apart(db):
    """holds.candidates reads the encounters and their unbilled lines in two queries now (issue
    15): a visit whose lines are all billed or void is no candidate, a void line among unbilled
    ones is left out, and two visits of one patient on one day stay two candidates."""
    from billadmin.billing.holds import candidates

    with dbmod.write(db):
        fx.practice(db)
        a = fx.patient(db, "1001")
        e1 = fx.encounter(db, a, "2026-06-01", [("99213", 14000), ("36415", 1500)], number="E1")
        e2 = fx.encounter(db, a, "2026-06-01", [("99212", 9500), ("81002", 800)], number="E2")
        e3 = fx.encounter(db, a, "2026-06-01", [("99211", 4500), ("36415", 1500)], number="E3")
        db.execute(
            "UPDATE charge_lines SET status = 'void' WHERE encounter_id = ? AND line_no = 1", (e2,)
        )
        db.execute("UPDATE charge_lines SET status = 'billed' WHERE encounter_id = ?", (e3,))
        e4 = fx.encounter(db, a, "2026-06-02", [("99213", 14000)], number="E4")
        db.execute("UPDATE charge_lines SET status = 'void' WHERE encounter_id = ?", (e4,))
    got = candidates(db, "2026-06-30")
    assert list(got) == [e1, e2]
    assert [(ln["line_no"], ln["code"]) for ln in got[e1]["lines"]] == [(1, "99213"), (2, "36415")]
    assert [(ln["line_no"], ln["code"], ln["charge_cents"]) for ln in got[e2]["lines"]] == [
        (2, "81002", 800)
    ]


def _rows(conn) -> dict:
    return {
        "invoice_runs": conn.execute(
            "SELECT i.number, r.run_id, r.file FROM invoice_runs r"
            " JOIN invoices i ON i.id = r.invoice_id ORDER BY r.invoice_id"
        ).fetchall(),
        "charge_lines": conn.execute("SELECT id, status FROM charge_lines ORDER BY id").fetchall(),
        "billing_runs": conn.execute("SELECT id, issued, held FROM billing_runs").fetchall(),
        "audit": conn.execute(
            "SELECT row_count, detail FROM audit_log WHERE action = 'invoice generate' ORDER BY id"
        ).fetchall(),
    }


def test_planned_marks_on_paper_claims_split_parts_rebilled_and_patient_invoices(
    tmp_path, monkeypatch
):
    """The lock marks the claims' lines billed and copies their invoice_runs rows as planned in
    phase (a) (issue 15). On what tests/test_generate_lock_cut.py does not hold, a paper payer's
    CMS-1500s (the replacement of one queued), a split claim's part voided with --rebill and
    billed again as that part, and a patient invoice, planned and row by row write the same."""
    got = {}
    for way in ("planned", "row by row"):
        conn = dbmod.connect(tmp_path / f"{way}.db", create=True)
        _varied_practice(conn)
        with dbmod.write(conn):
            conn.execute("UPDATE payers SET claim_media = 'paper' WHERE code = 'BVH'")
            p = fx.patient(conn, "8100")
            fx.coverage(conn, p, "BVH", member="BV1")
            fx.encounter(conn, p, "2026-06-10", [("99213", 14000)], number="W1")
            s = fx.patient(conn, "8200")  # self-pay
            fx.encounter(conn, s, "2026-06-10", [("99203", 17500)], number="SP")
        with monkeypatch.context() as m:
            if way == "row by row":
                m.setattr(gen, "_plan_marks", lambda conn, result, plan: None)
            out = tmp_path / way
            r1 = gen.generate(conn, today=fx.TODAY, scrub=_claim_rules, out_dir=out, pdf=False)
            lifecycle.replace(conn, "C000001", scrub=_claim_rules, today=fx.TODAY)
            lifecycle.void(conn, "C000007", reason="billed in error", rebill=True, today=fx.TODAY)
            r2 = gen.generate(conn, today=fx.TODAY, scrub=_claim_rules, out_dir=out, pdf=False)
        issued = [[{**r, "invoice_id": None} for r in res.issued] for res in (r1, r2)]
        got[way] = (_rows(conn), issued, (out / "invoices.csv").read_text())
        assert integrity.run_checks(conn) == []
        conn.close()
    assert got["planned"] == got["row by row"]
    rows, issued, _ = got["planned"]
    runs = dict((n, (run, f)) for n, run, f in rows["invoice_runs"])
    # run 1: BVH's W1 on paper (C000001), KEY's V1-V6 with V3's parts C000006/C000007, MCR's V7
    assert runs["C000001"] == (1, "CMS1500-BVH-C000001.pdf")
    assert runs["C000007"] == (1, "837P-KEY-000000001.edi")
    # between: `invoice replace C000001` (C000010, frequency 7, paper) and `invoice void C000007
    # --rebill` (CN000002, frequency 8: the part was sent), both queued; run 2 bills the part's
    # 5 lines again (C000011: 30.50 + 30.51 + 30.52 + 30.53 + 30.54 = 152.60) as part 2 of 2
    assert [(r["number"], r["frequency"], r["total_cents"], r["file"]) for r in issued[1]] == [
        ("C000011", "1", 15260, "837P-KEY-000000003.edi"),
        ("C000010", "7", 14000, "CMS1500-BVH-C000010.pdf"),
        ("CN000002", "8", -15260, "837P-KEY-000000003.edi"),
    ]
    assert [runs[n] for n in ("C000011", "C000010", "CN000002")] == [
        (2, "837P-KEY-000000003.edi"),
        (2, "CMS1500-BVH-C000010.pdf"),
        (2, "837P-KEY-000000003.edi"),
    ]
    assert "C000011,claim,1,2026-06-30,KEY,V3 (part 2 of 2)," in got["planned"][2]
    assert rows["billing_runs"] == [(1, 10, 0), (2, 3, 0)]  # 9 claims + P000001; 1 + 2 queued


def test_a_line_voided_while_prepared_stays_void_and_off_the_claim(tmp_path, monkeypatch):
    """The charge lines to mark billed are planned in phase (a) now (issue 15): a line voided by
    another command after that is not marked billed by the planned statement; the run is
    prepared again and bills what is left."""
    path = tmp_path / "p.db"
    conn = dbmod.connect(path, create=True)
    _practice(conn, 2)
    real = gen._recheck
    calls = []

    def recheck(c, result, plan):
        if not calls:  # A1's 36415 voided by another connection, after the plan's marks
            other = dbmod.connect(path)
            with dbmod.write(other):
                other.execute(
                    "UPDATE charge_lines SET status = 'void' WHERE line_no = 2 AND encounter_id ="
                    " (SELECT id FROM encounters WHERE number = 'A1')"
                )
            other.close()
        calls.append(plan)
        real(c, result, plan)

    monkeypatch.setattr(gen, "_recheck", recheck)
    res = _run(conn, tmp_path / "out")
    assert len(calls) == 2  # prepared again once
    assert sorted((r["encounter"], r["total_cents"]) for r in res.issued) == [
        ("A0", 15500),  # 140.00 + 15.00
        ("A1", 14000),  # 140.00: its 15.00 line was voided
    ]
    assert conn.execute(
        "SELECT e.number, c.line_no, c.status FROM charge_lines c"
        " JOIN encounters e ON e.id = c.encounter_id ORDER BY e.number, c.line_no"
    ).fetchall() == [
        ("A0", 1, "billed"),
        ("A0", 2, "billed"),
        ("A1", 1, "billed"),
        ("A1", 2, "void"),
    ]
    conn.close()
