"""The one diagnosis-pointer grammar (billadmin.pointers) and its three readers."""

from __future__ import annotations

import pytest

from billadmin import pointers
from billadmin.ingest.charges import parse_pointers as import_pointers
from billadmin.ingest.columns import CellError


@pytest.mark.parametrize(
    "text,expected",
    [
        ("", ()),
        ("   ", ()),
        (None, ()),
        ("1", (1,)),
        ("9", (9,)),
        ("12", (1, 2)),  # digits run together: one pointer each, never twelve
        ("13", (1, 3)),  # ... so 13 alone is 1 and 3
        ("4321", (4, 3, 2, 1)),
        ("1,2", (1, 2)),
        (" 1 , 2 ", (1, 2)),
        ("1:2:3", (1, 2, 3)),  # as 837P SV107 writes them
        ("1;2", (1, 2)),
        ("1 2", (1, 2)),
        ("10,11,12", (10, 11, 12)),
        ("1,12", (1, 12)),
        ("A", (1,)),
        ("ab", (1, 2)),  # CMS-1500 24E letters, case ignored
        ("A,B", (1, 2)),
        ("L", (12,)),
        ("1,2,3,4,5", (1, 2, 3, 4, 5)),  # readable; `faults` says it is too many
        ("1,1", (1, 1)),  # readable; `faults` says it is repeated
    ],
)
def test_accepted_forms(text, expected):
    assert pointers.parse(text) == expected


@pytest.mark.parametrize(
    "text,reason",
    [
        ("0", "pointer '0' is not 1-12"),
        ("10", "digits run together must each be 1-9"),
        ("1,13", "pointer '13' is not 1-12"),
        ("1,0", "pointer '0' is not 1-12"),
        ("M", "pointer 'M' is not a number 1-12 or a letter A-L"),
        ("1,x", "pointer 'X' is not a number 1-12 or a letter A-L"),
        ("1/2", "pointer '1/2' is not a number 1-12 or a letter A-L"),
        ("1|2", "is not a number 1-12 or a letter A-L"),
        ("1-2", "is not a number 1-12 or a letter A-L"),
        ("1,B", "not both"),
        ("-1", "is not a number 1-12 or a letter A-L"),
    ],
)
def test_refused_forms(text, reason):
    with pytest.raises(pointers.PointerError) as ei:
        pointers.parse(text)
    assert reason in str(ei.value)


def test_refusal_is_a_value_error_and_not_cached_as_success():
    for _ in range(2):
        with pytest.raises(ValueError):
            pointers.parse("1,Z")


@pytest.mark.parametrize(
    "ptrs,n_dx,kinds",
    [
        ((1,), 1, []),
        ((1, 2, 3, 4), 4, []),
        ((), 2, [pointers.NONE]),
        ((1, 2, 3, 4, 5), 5, [pointers.TOO_MANY]),
        ((1, 2, 1), 2, [pointers.REPEATED]),
        ((3,), 2, [pointers.NO_DIAGNOSIS]),
        ((1, 1, 1, 1, 3), 2, [pointers.TOO_MANY, pointers.REPEATED, pointers.NO_DIAGNOSIS]),
        ((1,), 0, [pointers.NO_DIAGNOSIS]),
    ],
)
def test_faults(ptrs, n_dx, kinds):
    assert [f.kind for f in pointers.faults(ptrs, pointers.positions(n_dx))] == kinds


def test_fault_messages_name_the_pointers_and_the_diagnoses():
    (f,) = pointers.faults((3, 4), pointers.positions(2))
    assert f.pointers == (3, 4)
    assert f.message == "diagnosis pointer 3, 4 has no diagnosis (the encounter has 1-2)"
    (f,) = pointers.faults((1,), pointers.positions(0))
    assert f.message.endswith("(the encounter has none)")


def test_the_import_reads_the_same_grammar_and_stores_numbers():
    assert import_pointers("AB", 2) == "1,2"
    assert import_pointers("2:1", 2) == "2,1"
    assert import_pointers("12", 2) == "1,2"
    assert import_pointers("", 2) == ""  # empty: left to the scrubber
    for text, n_dx, message in [
        ("3", 2, "points at diagnosis 3, but the encounter has 2"),
        ("1,2,3,4,5", 5, "more than 4 diagnosis pointers"),
        ("1,1", 2, "a diagnosis pointer is repeated"),
        ("1,13", 12, 'pointers look like "1,2", "12" or "AB"'),
        ("Smith", 12, 'pointers look like "1,2", "12" or "AB"'),
    ]:
        with pytest.raises(CellError) as ei:
            import_pointers(text, n_dx)
        assert message in str(ei.value)
        assert "SMITH" not in str(ei.value).upper()  # a cell value is never repeated


def test_billing_holds_what_the_grammar_refuses():
    from billadmin.billing.holds import check_claim

    enc = {"id": 1, "number": "E1", "lines": []}
    patient = {
        "id": 1,
        "address1": "1 Main St",
        "city": "Springfield",
        "state": "IL",
        "zip": "62701",
    }
    cov = {"id": 1, "member_id": "M1", "relationship": "self"}
    payer = {"code": "KEY", "x12_payer_id": "12345"}
    for text, ok in [("1,2", True), ("AB", True), ("1,1", False), ("3", False), ("1/2", False)]:
        enc["lines"] = [{"line_no": 1, "dx_pointers": text, "charge_cents": 100, "units": 1}]
        found = check_claim(enc, ["E11.9", "I10"], patient, cov, payer)
        assert (found == []) is ok, (text, [f.message for f in found])
        assert all(f.rule == "CLAIM-POINTER" for f in found)
