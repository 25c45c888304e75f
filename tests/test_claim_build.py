"""Claim content built the fast way (issue 15): blocks shared across a run's claims, claim fields
placed as before. Expected content written by hand from the rules in content.py."""

from __future__ import annotations

from types import SimpleNamespace

from billadmin.billing import content

PAYER = {
    "id": 7,
    "code": "ACME",
    "name": "Acme Health",
    "kind": "commercial",
    "x12_payer_id": "ACM01",
    "timely_filing_days": 90,
    "timely_filing_months": None,
}
OTHER = {"id": 8, "code": "MCR", "name": "Medicare", "kind": "medicare", "x12_payer_id": ""}
PROVIDER = {"id": 3, "npi": "1234567893", "first_name": "Ann", "last_name": "Lee", "taxonomy": None}
PATIENT = {
    "id": 11,
    "mrn": "M1",
    "first_name": "Pat",
    "last_name": "Doe",
    "dob": "1980-01-02",
    "sex": "F",
    "address1": "1 Main St",
    "address2": None,
    "city": "Columbus",
    "state": "OH",
    "zip": "43215",
}
SELF_COV = {
    "id": 21,
    "payer_id": 7,
    "member_id": "A1",
    "group_number": "G1",
    "relationship": "self",
}
CHILD_COV = {
    "id": 22,
    "payer_id": 8,
    "member_id": "B2",
    "group_number": None,
    "relationship": "child",
    "subscriber_first": "Sam",
    "subscriber_last": "Doe",
    "subscriber_dob": "1950-03-04",
    "subscriber_sex": None,
}


def _content(number: str, enc: dict, blocks: content.Blocks | None, others=()) -> dict:
    lines = [
        content.claim_line(100 + k, ln["code"], [], 1, 5000, [1])
        for k, ln in enumerate(enc["lines"])
    ]
    return content.claim_content(
        number=number,
        frequency="1",
        encounter=enc,
        lines=lines,
        diagnoses=["J20.9"],
        patient=PATIENT,
        coverage=SELF_COV,
        payer=PAYER,
        others=list(others),
        provider=PROVIDER,
        copay_cents=0,
        blocks=blocks,
    )


def _enc(number: str, *fields: dict | None) -> dict:
    return {
        "number": number,
        "date_of_service": "2026-03-02",
        "lines": [{"code": f"9921{k}", "fields": f} for k, f in enumerate(fields)],
    }


def test_shared_blocks_give_the_same_content_and_are_built_once():
    blocks = content.Blocks()
    enc = _enc("E1", None)
    a = _content("C1", enc, blocks, [(CHILD_COV, OTHER)])
    b = _content("C2", _enc("E2", None), blocks, [(CHILD_COV, OTHER)])
    alone = _content("C1", enc, None, [(CHILD_COV, OTHER)])
    assert content.canonical(a) == content.canonical(alone)
    assert a["subscriber"] == {
        "last": "Doe",
        "first": "Pat",
        "dob": "1980-01-02",
        "sex": "F",
        "address1": "1 Main St",
        "address2": None,
        "city": "Columbus",
        "state": "OH",
        "zip": "43215",
        "member_id": "A1",
        "group": "G1",
        "relationship": "self",
    }
    assert a["patient"] is None
    assert a["other_payers"] == [
        {
            "priority": 2,
            "payer": {"code": "MCR", "name": "Medicare", "kind": "medicare", "id": None},
            "subscriber": {
                "last": "Doe",
                "first": "Sam",
                "dob": "1950-03-04",
                "sex": "U",
                "member_id": "B2",
                "group": None,
                "relationship": "child",
            },
        }
    ]
    # one dict per payer, provider and subscriber for the whole run (read only)
    assert a["payer"] is b["payer"] and a["rendering"] is b["rendering"]
    assert a["subscriber"] is b["subscriber"]
    assert a["other_payers"][0]["subscriber"] is b["other_payers"][0]["subscriber"]
    assert a["other_payers"] is not b["other_payers"]  # each claim's own list


def test_filing_deadline_once_per_day_and_payer():
    blocks = content.Blocks()
    assert blocks.filing_deadline("2026-03-02", PAYER) == "2026-05-31"  # 90 days
    assert blocks.filing_deadline("2026-03-02", OTHER) == "2027-03-02"  # Medicare: 12 months
    assert blocks.filing_deadline("2026-03-02", PAYER) == "2026-05-31"


def test_claim_fields_same_on_every_line_go_once_and_different_go_on_their_lines():
    ref = {"referring_npi": "1111111112", "referring_last": "Ray", "referring_first": "Al"}
    other_ref = {"referring_npi": "2222222224", "referring_last": "Moe"}
    drug = {"ndc": "00002143380", "ndc_unit": "UN", "ndc_quantity": 1, "clia": "12D3456789"}
    same = _content("C1", _enc("E1", {**ref, **drug}, ref, None), content.Blocks())
    # the referring provider and the CLIA number are sent once, at claim level
    assert same["referring"] == {"first": "Al", "last": "Ray", "npi": "1111111112"}
    assert same["clia"] == "12D3456789"
    assert same["lines"][0]["drug"] == {"ndc": "00002143380", "unit": "UN", "quantity": 1}
    assert "referring" not in same["lines"][0] and "drug" not in same["lines"][1]
    assert list(same["lines"][2]) == [
        "invoice_line_id",
        "code",
        "units",
        "charge_cents",
        "pointers",
    ]

    differ = _content("C2", _enc("E2", ref, other_ref, None), content.Blocks())
    assert "referring" not in differ
    assert differ["lines"][0]["referring"] == {"npi": "1111111112", "last": "Ray", "first": "Al"}
    assert differ["lines"][1]["referring"] == {"npi": "2222222224", "last": "Moe", "first": None}
    assert "referring" not in differ["lines"][2]

    plain = _content("C3", _enc("E3", None, None), content.Blocks())
    assert list(plain)[-2:] == ["diagnoses", "lines"]  # nothing added


def test_register_authorization_fills_lines_without_their_own_number():
    enc = _enc("E1", None, {"prior_auth": "OWN1"})
    enc["auths"] = [
        SimpleNamespace(payer_id=7, kind="prior_auth", codes="99210,99211", number="REG9"),
        SimpleNamespace(payer_id=99, kind="referral", codes="9921*", number="NOTOURS"),
    ]
    c = _content("C1", enc, content.Blocks())
    assert "prior_auth" not in c  # two different numbers: each on its line
    assert [ln.get("prior_auth") for ln in c["lines"]] == ["REG9", "OWN1"]
    assert all("referral_number" not in ln for ln in c["lines"])
    assert enc["lines"][0]["fields"] is None  # the encounter's own fields untouched


def test_claim_fields_kept_per_distinct_set_of_field_dicts_give_the_same_content():
    ref = {"referring_npi": "1111111112", "referring_last": "Ray", "referring_first": "Al"}
    lab = {"clia": "12D3456789", "ordering_npi": "3333333336", "ordering_last": "Oz"}
    blocks = content.Blocks()
    for fields in [(ref, lab, None), (ref, {"referring_npi": "2222222224"}), (lab, lab), (None,)]:
        alone = content.canonical(_content("C1", _enc("E1", *fields), None))
        first = _content("C1", _enc("E1", *fields), blocks)
        again = _content("C1", _enc("E1", *fields), blocks)  # from what the first one kept
        assert content.canonical(first) == content.canonical(again) == alone
        assert first["lines"][0] is not again["lines"][0]  # each claim its own lines
    assert len(blocks._fields) == 4


def test_candidates_are_the_unbilled_lines_served_by_through_grouped_per_encounter(db):
    import invoice_fixtures as fx

    from billadmin import db as dbmod
    from billadmin.billing.holds import candidates

    with dbmod.write(db):
        fx.practice(db)
        a = fx.patient(db, "1001", "Ann", "Able")
        e1 = fx.encounter(db, a, "2026-06-01", [("99213", 14000), (" j3301 ", 1200)], number="E1")
        late = fx.encounter(db, a, "2026-07-15", [("99212", 9500)], number="E2")
        e3 = fx.encounter(db, a, "2026-06-02", [("99214", 20500), ("36415", 1500)], number="E3")
        db.execute(
            "UPDATE charge_lines SET status = 'billed' WHERE encounter_id = ? AND line_no = 1",
            (e3,),
        )
    got = candidates(db, "2026-06-30")
    assert list(got) == [e1, e3]  # E2 is served after --through
    assert late not in got
    e = got[e1]
    assert (e["number"], e["patient_id"], e["date_of_service"], e["place_of_service"]) == (
        "E1",
        a,
        "2026-06-01",
        "11",
    )
    assert [(ln["line_no"], ln["code"], ln["charge_cents"]) for ln in e["lines"]] == [
        (1, "99213", 14000),
        (2, "J3301", 1200),  # as billed: trimmed, upper case
    ]
    assert [(ln["line_no"], ln["code"]) for ln in got[e3]["lines"]] == [(2, "36415")]
