"""The loading shortcuts of `invoice generate` change nothing they load (issue 15): on cases the
benchmark does not have (a line already billed leaving a gap in the numbers, a row of fields
with nothing recorded, values JSON must escape, lines as plain dicts), what is attached is
written here by hand."""

from __future__ import annotations

import datetime as dt

import codes_fixtures as fx
from codes_fixtures import AS_OF, cdb, codes_db_path, icd_template  # noqa: F401  (fixtures)
from test_one_scrub import claims_db  # noqa: F401  (fixture)

from billadmin import db as dbmod
from billadmin.billing import content, holds

# a value json_array must escape: quotes, a backslash, a NUL, a record separator, a tab, CJK
ODD = "O'Br\"ien\\ 王\x00z\x1e\t"


def _fields(conn, eid: int, rows: list[tuple]) -> None:
    with dbmod.write(conn):
        for no, ndc, clia, referring_last in rows:
            conn.execute(
                "INSERT INTO charge_line_fields (encounter_id, line_no, ndc, clia, referring_last)"
                " VALUES (?, ?, ?, ?, ?)",
                (eid, no, ndc, clia, referring_last),
            )


def test_line_fields_go_to_their_own_lines(cdb):
    fx.setup_parties(cdb)
    pid = fx.add_patient(cdb)
    four = tuple(("99213", (), "1", 1, 100 * n) for n in range(1, 5))
    gap = fx.add_encounter(cdb, pid, lines=four)
    plain = fx.add_encounter(cdb, pid, lines=four[:2])
    with dbmod.write(cdb):  # line 1 billed already: the unbilled lines are numbered 2, 3, 4
        cdb.execute(
            "UPDATE charge_lines SET status = 'billed' WHERE encounter_id = ? AND line_no = 1",
            (gap,),
        )
    _fields(
        cdb,
        gap,
        [
            (1, "11111111111", None, None),  # the billed line's: goes nowhere
            (2, None, "11D0000001", None),
            (3, "12345678901", None, ODD),
            (4, None, None, None),  # nothing recorded
        ],
    )
    _fields(cdb, plain, [(2, None, "11D0000001", None), (7, "99999999999", None, None)])
    encs = holds.candidates(cdb, AS_OF.isoformat())
    got = {eid: [(ln["line_no"], ln["fields"]) for ln in e["lines"]] for eid, e in encs.items()}
    clia = {"clia": "11D0000001"}
    assert got == {
        gap: [(2, clia), (3, {"ndc": "12345678901", "referring_last": ODD}), (4, None)],
        plain: [(1, None), (2, clia)],
    }
    # lines with the same values share one dict (content.Blocks.line_fields keys on it)
    assert encs[gap]["lines"][0]["fields"] is encs[plain]["lines"][1]["fields"]

    # the same from lines given as plain dicts, in any order (lifecycle, resend)
    lines = [{"line_no": 4}, {"line_no": 3}, {"line_no": 2}]
    content.load_claim_fields(cdb, {gap: {"id": gap, "lines": lines}})
    assert [ln.get("fields") for ln in lines] == [
        None,
        {"ndc": "12345678901", "referring_last": ODD},
        clia,
    ]


def test_no_fields_recorded_attaches_nothing(cdb):
    fx.setup_parties(cdb)
    eid = fx.add_encounter(cdb, fx.add_patient(cdb))
    encs = holds.candidates(cdb, dt.date(2099, 1, 1).isoformat())
    assert [ln["fields"] for ln in encs[eid]["lines"]] == [None]
    assert "fields" not in encs[eid] and "auths" not in encs[eid]


def test_scrub_reads_the_fields_as_recorded(cdb):
    """scrub/claim_fields.FieldsRef (one json_array text per row) holds what a plain read of
    the same rows gives: every value exact, the rows with nothing recorded as empty dicts."""
    from billadmin.scrub import claim_fields, engine

    fx.setup_parties(cdb)
    pid = fx.add_patient(cdb)
    a = fx.add_encounter(cdb, pid, lines=(("J1100", (), "1", 1, 900),) * 3)
    b = fx.add_encounter(cdb, pid)
    billed = fx.add_encounter(cdb, pid, status="billed")
    _fields(cdb, a, [(1, ODD, "11D0000001", None), (2, None, None, None), (3, "", "x", "y")])
    _fields(cdb, b, [(1, ODD, "11D0000001", "z")])
    _fields(cdb, billed, [(1, "12345678901", None, None)])  # not in scope (nothing unbilled)
    ref = engine.Ref(cdb, AS_OF)
    ref.enc_filter = ("SELECT encounter_id FROM charge_lines WHERE status = 'unbilled'", ())
    got = claim_fields.FieldsRef(ref).lines
    same = {"ndc": ODD, "clia": "11D0000001"}
    assert got == {a: {1: same, 2: {}, 3: {"ndc": "", "clia": "x"}}, b: {1: same}}
    assert got[a][1] is got[b][1]  # one dict per distinct set of the values read


def test_ndc_shape_answered_once_per_distinct_fields(cdb):
    """NDC-FORMAT and NDC-UNIT are found once per distinct set of fields (FieldsRef.ndc) and
    reported on every line that carries it, in the rules' order, and on no other line."""
    from billadmin.scrub import check

    fx.setup_parties(cdb)
    pid = fx.add_patient(cdb)
    drug = ("J1100", (), "1", 1, 900)
    a = fx.add_encounter(cdb, pid, lines=(drug,) * 4)
    b = fx.add_encounter(cdb, pid, lines=(drug,) * 2)
    with dbmod.write(cdb):
        for eid, no, ndc, unit, qty in [
            (a, 1, "123", "XX", "0"),  # all three
            (a, 2, "12345678901", "ML", "1"),  # well formed
            (a, 3, "12345678901", "ML", "abc"),  # no quantity
            (a, 4, None, None, None),  # no NDC: nothing to check
            (b, 1, "12345678901", "ML", "1"),
            (b, 2, "123", "XX", "0"),  # the same as a's line 1
        ]:
            cdb.execute(
                "INSERT INTO charge_line_fields (encounter_id, line_no, ndc, ndc_unit,"
                " ndc_quantity, clia) VALUES (?, ?, ?, ?, ?, 'x')",
                (eid, no, ndc, unit, qty),
            )
    fmt = "the NDC is not 11 digits (5-4-2): correct it from the package"
    unit = "the NDC has no unit of measure F2, GR, ME, ML or UN: record the unit given"
    qty = "the NDC has no quantity above 0: record how much of the drug was given"
    found = check(cdb, as_of=AS_OF, rules=["NDC-FORMAT", "NDC-UNIT"])
    assert [(f.encounter_id, f.line, f.rule, f.message) for f in found] == [
        (a, 1, "NDC-FORMAT", fmt),
        (a, 1, "NDC-UNIT", unit),
        (a, 1, "NDC-UNIT", qty),
        (a, 3, "NDC-UNIT", qty),
        (b, 2, "NDC-FORMAT", fmt),
        (b, 2, "NDC-UNIT", unit),
        (b, 2, "NDC-UNIT", qty),
    ]


def test_generate_asks_the_scrubber_only_for_the_rules_it_keeps(claims_db, tmp_path):
    """A scrubber that takes `rules` (billadmin.scrub.check) is not asked for the rules
    `invoice generate` computes over its own bill-to (scrub.claim.GENERATE_RULES): what is held,
    with which findings, and the warnings counted are those of the scrubber asked for all."""
    import invoice_fixtures as ifx

    from billadmin.billing import generate as gen
    from billadmin.scrub import check
    from billadmin.scrub.claim import GENERATE_RULES

    asked: list = []

    def spy(conn, *, encounter_ids=None, as_of=None, rules=None):
        asked.append(None if rules is None else set(rules))
        return check(conn, encounter_ids=encounter_ids, as_of=as_of, rules=rules)

    def everything(conn, *, encounter_ids=None, as_of=None):  # no `rules`: asked for all
        return check(conn, encounter_ids=encounter_ids, as_of=as_of)

    def run(scrub, name, **kw):
        res = gen.generate(
            claims_db,
            today=ifx.TODAY,
            through=ifx.TODAY,
            scrub=scrub,
            out_dir=tmp_path / name,
            dry_run=True,
            pdf=False,
            **kw,
        )
        return res.warnings, [(h.encounter, h.findings) for h in res.held]

    fast = run(spy, "fast")
    assert asked and asked[0] is not None and not asked[0] & GENERATE_RULES
    assert {"CLM-POINTER", "CLM-COVERAGE", "X12-TEXT-EMPTY", "INST-POA"} <= asked[0]
    slow = run(everything, "slow")
    assert fast == slow
    held = {(number, f.rule) for number, fs in fast[1] for f in fs}
    assert {("E-LINES", "CLAIM-LINES"), ("E-NODX", "CLM-DX"), ("E-ADDR", "CLAIM-ADDRESS")} <= held
    # a chosen set (--payer: the scrubber is given the encounters' ids)
    fast, slow = run(spy, "fast-mcr", payer="MCR"), run(everything, "slow-mcr", payer="MCR")
    assert fast == slow and fast[1]


def test_candidates_read_every_value_exactly(cdb):
    """holds.candidates reads a line's values as one json_array text: each comes back with its
    type and every character (a code trimmed and upper-cased as billed, an empty modifier, a
    NUL, quotes, an amount past 2**53, a negative one), whatever line shares the text."""
    fx.setup_parties(cdb)
    pid = fx.add_patient(cdb)
    eid = fx.add_encounter(cdb, pid, lines=())
    big = 2**53 + 1
    rows = [
        (1, " 99213 ", None, None, None, None, "1", 1, 14000),
        (2, "j1100", "", 'a"b', ODD, "\\", "1,2", 3, big),
        (3, "99213", None, None, None, None, "1", 1, -500),
        (4, "99213", None, None, None, None, "", 0, 0),
        (5, " 99213 ", None, None, None, None, "1", 1, 14000),  # line 1's values again
    ]
    with dbmod.write(cdb):
        cdb.conn.executemany(
            "INSERT INTO charge_lines (encounter_id, line_no, code, modifier1, modifier2,"
            " modifier3, modifier4, dx_pointers, units, charge_cents) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [(eid, *r) for r in rows],
        )
    [enc] = holds.candidates(cdb, AS_OF.isoformat()).values()
    keys = ("line_no", "code", "modifier1", "modifier2", "modifier3", "modifier4")
    keys += ("dx_pointers", "units", "charge_cents", "fields")
    got = [tuple(ln[k] for k in keys) for ln in enc["lines"]]
    assert got == [
        (1, "99213", None, None, None, None, "1", 1, 14000, None),
        (2, "J1100", "", 'a"b', ODD, "\\", "1,2", 3, big, None),
        (3, "99213", None, None, None, None, "1", 1, -500, None),
        (4, "99213", None, None, None, None, "", 0, 0, None),
        (5, "99213", None, None, None, None, "1", 1, 14000, None),
    ]
    assert [type(ln["charge_cents"]) for ln in enc["lines"]] == [int] * 5
    ids = [r[0] for r in cdb.execute("SELECT id FROM charge_lines ORDER BY line_no")]
    assert [ln["charge_line_id"] for ln in enc["lines"]] == ids


def test_check_claim_memo_keeps_each_answer_to_its_own_inputs():
    """holds.check_claim with a run's memo answers as without one: a line's answer is kept per
    pointers, number of diagnoses and amounts, a party's per patient, coverage and payer."""
    addr = {"address1": "1 Main St", "city": "Springfield", "state": "IL", "zip": "62701"}
    pat = {"id": 1, **addr}
    no_id = {"id": None, **addr, "zip": "1"}  # (not kept: no id to key it by)
    good = {"id": 1, "member_id": "M1", "relationship": "self"}
    blank = {"id": 2, "member_id": "", "relationship": "self"}
    payer = {"id": 1, "code": "KEY", "x12_payer_id": "12345"}

    def line(no, ptrs, cents=100, units=1):
        return {"line_no": no, "dx_pointers": ptrs, "charge_cents": cents, "units": units}

    cases = [  # (lines, diagnoses, patient, coverage) -> (rule, line) found, written by hand
        ([line(1, "1,2"), line(2, "1", -5)], ["E11.9"], pat, good),
        ([line(1, "1,2"), line(2, "1", -5)], ["E11.9", "I10"], pat, good),
        ([line(1, "1"), line(2, "1", 100, 0)], [], pat, blank),
        ([line(1, "1")], ["E11.9"], no_id, good),
        ([line(1, "1")], ["E11.9"], {**no_id, "zip": "62701"}, good),
    ]
    expected = [
        [("CLAIM-POINTER", 1), ("CLAIM-CHARGE", 2)],
        [("CLAIM-CHARGE", 2)],
        [("CLAIM-NO-DX", None), ("CLAIM-POINTER", 1), ("CLAIM-POINTER", 2)]
        + [("CLAIM-CHARGE", 2), ("CLAIM-MEMBER-ID", None)],
        [("CLAIM-ADDRESS", None)],
        [],
    ]
    memo: dict = {}
    for (lines, dx, patient, cov), want in zip(cases, expected, strict=True):
        enc = {"id": 7, "number": "E7", "lines": lines}
        alone = holds.check_claim(enc, dx, patient, cov, payer)
        shared = holds.check_claim(enc, dx, patient, cov, payer, memo)
        assert shared == alone
        assert [(f.rule, f.line) for f in shared] == want


def test_temp_ids_holds_the_ids_given_by_either_path():
    """content.temp_ids fills its table from one JSON array when every id is a 64-bit int, and
    row by row otherwise: both hold exactly the distinct ids given (a generator too)."""
    import sqlite_utils

    conn = sqlite_utils.Database(memory=True)
    cases = [
        [3, 1, 2, 3, -(2**63), 2**63 - 1],
        (i for i in [5, 5, 7]),
        [],
        [1, True],  # a bool is not an int for the JSON path: stored as the integer 1 either way
        ["8", 9],  # text: SQLite's INTEGER PRIMARY KEY takes '8' as 8, as the row-by-row path does
    ]
    expected = [[-(2**63), 1, 2, 3, 2**63 - 1], [5, 7], [], [1], [8, 9]]
    for ids, want in zip(cases, expected, strict=True):
        t = content.temp_ids(conn, "_t_ids", ids)
        got = [r[0] for r in conn.execute(f"SELECT id FROM {t} ORDER BY id")]
        assert got == want
        assert all(type(r[0]) is int for r in conn.execute(f"SELECT id FROM {t}"))
