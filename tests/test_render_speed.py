"""The 837P renderer's fast paths (issue 15) write the bytes the general rules write.

`EXPECTED` below is the 837P of `_claims()` as the renderer wrote it before the fast paths
(commit fd73258), one segment a line: claims with every optional loop and element x837.py
writes (accident, claim dates, co-pay, referral, prior authorization, replacement and void,
CLIA, split note, referring and rendering providers, prior payers with and without their
adjudication, a dependent, ICD-9, drug lines, line-level fields and adjudications, identifiers
and names that need cleaning), more than 100 claims of one subscriber (a second 2000B) and
several transaction sets. The other tests hold the shared helpers (seg, ident, to_text, the
subscriber grouping) to the rules their docstrings state, on many inputs.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import random
from typing import Any

import pytest

from billadmin.x12 import envelope, x837
from billadmin.x12.text import DELIMITERS

PRACTICE = {
    "name": "Riverbend Family Médicine",
    "npi": "1748392010",
    "tax_id": "81-2345678",
    "taxonomy": "207Q00000X",
    "address1": "1200 River Road",
    "address2": "Suite 300",
    "city": "Columbus",
    "state": "OH",
    "zip": "43215-1234",
    "phone": "(614) 555-0100",
    "contact_name": "Billing Office",
    "submitter_id": "RBFM01",
    "receiver_id": "CLEARHOUSE01",
    "receiver_name": "Demo Clearinghouse",
}
ENV = envelope.Envelope(
    sender_id="RBFM01",
    receiver_id="CLEARHOUSE01",
    isa_control=42,
    gs_control=7,
    created=dt.datetime(2026, 6, 30, 9, 5),
)
PAYER = {"code": "KEY", "name": "Keystone Commercial", "kind": "commercial", "id": "KEY77"}
SELF = {
    "last": "Łukasiewicz",
    "first": "Zoë",
    "dob": "1975-09-17",
    "sex": "f",
    "address1": "67 Main St",
    "address2": None,
    "city": "Columbus",
    "state": "OH",
    "zip": "43215",
    "member_id": "K100000057",
    "group": "G 77",
    "relationship": "self",
}
RENDERING = {"npi": "1394051621", "last": "Whitcomb", "first": "Daniel", "taxonomy": "207Q00000X"}
ORDERING = {"npi": "1627384955", "last": "O’Kafor", "first": "Anita"}
REFERRING = {"npi": "1182736458", "last": "Voss", "first": "Elena"}


def _line(n: int, **kw) -> dict:
    ln = {"invoice_line_id": n, "code": "99213", "units": 1, "charge_cents": 14000, "pointers": [1]}
    ln.update(kw)
    return ln


def _claims() -> list[dict]:
    full: dict[str, Any] = {
        "kind": "claim",
        "number": "C000001",
        "frequency": "7",
        "payer_claim_number": "PCN-0001",
        "date_of_service": "2026-05-05",
        "place_of_service": "11",
        "total_cents": 123456,
        "copay_cents": 2500,
        "payer": PAYER,
        "subscriber": SELF,
        "patient": None,
        "accident": {"cause": "AA", "state": "OH"},
        "dates": {
            "onset_date": "2026-05-01",
            "initial_treatment_date": "2026-05-02",
            "last_seen_date": "2026-04-01",
            "accident_date": "2026-04-30",
        },
        "referral_number": "REF123",
        "prior_auth": "PA 9*9",
        "clia": "36D0998877",
        "split": {"part": 1, "of": 2},
        "referring": REFERRING,
        "rendering": RENDERING,
        "diagnoses": [f"E11.{i}" for i in range(13)],
        "other_payers": [
            {
                "priority": 2,
                "subscriber": dict(SELF, group=None),
                "payer": {
                    "code": "MCR",
                    "name": "Medicare Part B",
                    "kind": "medicare",
                    "id": "MCR1",
                },
                "adjudication": {
                    "cas": [["CO", "45", 1000]]
                    + [["PR", str(r), 100 + r] for r in range(1, 9)]
                    + [["OA", "23", -250]],
                    "paid_cents": 80050,
                    "remaining_cents": 1234,
                    "remarks": ["N1", "N2", "M3", "MA4", "N5", "N6"],
                },
            },
            {
                "priority": 3,
                "responsibility": "T",
                "subscriber": dict(SELF, relationship="spouse", member_id="S9", group="GRP 1"),
                "payer": {"code": "SUM", "name": "Summit Health", "kind": "hmo", "code2": "x"},
            },
        ],
        "lines": [
            _line(
                1,
                modifiers=["25", "", "59", "XU", "GA", "GY"],
                pointers=[1, 2, 3, 4, 5],
                units=2,
                date_of_service="2026-05-06",
                prior_auth="LPA1",
                clia="LCLIA",
                referral_number="LREF",
                drug={"ndc": "12345-6789-01", "quantity": "1.5", "unit": "ML"},
                ordering=ORDERING,
                referring=REFERRING,
                adjudications=[
                    {
                        "payer_id": "MCR1",
                        "paid_cents": 40025,
                        "cas": [["CO", "45", 1000], ["PR", "2", 50]],
                        "date": "2026-06-01",
                    }
                ],
            ),
            _line(2, code="36415", units=None, charge_cents=1500, pointers=["1", "2"]),
            _line(0, code="J3420", charge_cents=2050, drug={"ndc": "00009-0031-01"}),
            _line(4, clia=None, units=1.0, modifiers=["25"]),
            _line(5, code="9921*3", modifiers=[None, "2 5"], units=3, charge_cents=-100),
        ],
    }
    del full["lines"][2]["invoice_line_id"]
    dependent: dict[str, Any] = {
        **copy.deepcopy(full),
        "number": "C000002",
        "frequency": "8",
        "payer_claim_number": "VOID 1",
        "date_of_service": "2015-09-30",
        "responsibility": "S",
        "msp_type": "12",
        "subscriber": dict(SELF, relationship="child", member_id="K200"),
        "patient": {
            "last": "Muñoz–Pérez",
            "first": "Ana",
            "dob": "2015-01-18",
            "sex": "X",
            "address1": "448 Main St",
            "address2": "Apt 2",
            "city": "Columbus",
            "state": "OH",
            "zip": "43215",
        },
        "accident": {"cause": "EM"},
        "rendering": dict(RENDERING, npi="1748392010"),
        "diagnoses": ["250.00", "401.9"],
        "other_payers": [],
        "split": None,
        "dates": {"onset_date": "2015-09-01", "last_seen_date": None},
    }
    plain: dict[str, Any] = {
        "kind": "claim",
        "number": "C0*01 é",
        "frequency": None,
        "payer_claim_number": "ignored (frequency 1)",
        "date_of_service": "2026-05-07",
        "place_of_service": None,
        "total_cents": 14000,
        "copay_cents": 0,
        "payer": PAYER,
        # the same subscriber written in another key order: the same 2000B
        "subscriber": dict(reversed(list(SELF.items()))),
        "patient": None,
        "accident": {"cause": "*", "state": "OH"},
        "clia": "X4:~",
        "referral_number": "~ :",  # nothing of it can be sent: REF*9F without a value
        "rendering": dict(RENDERING, taxonomy=None, npi="1405162730"),
        "diagnoses": ["I10"],
        "lines": [_line(9, prior_auth=" ", drug={"ndc": "n/a", "quantity": "^"})],
    }
    moved: dict[str, Any] = {**copy.deepcopy(plain), "number": "C000004"}
    moved["subscriber"]["address1"] = "1 New Street"  # same member id, another address
    many = [
        {**copy.deepcopy(plain), "number": f"M{n:05d}", "accident": None, "clia": None}
        for n in range(103)
    ]
    for n, c in enumerate(many):
        c["lines"] = [_line(100 + n, code=("99213", "99214", "87880")[n % 3], pointers=[1])]
    return [full, dependent, plain, moved, *many]


def _text(claims: list[dict], per_st: int) -> str:
    r = x837.render(ENV, PRACTICE, claims, claims_per_st=per_st)
    return "\n".join(r.segments) + "\n"


def test_every_optional_loop_renders_the_bytes_written_before_the_fast_paths():
    assert _text(_claims()[:4], 3) == EXPECTED


def test_107_claims_render_the_bytes_written_before_the_fast_paths():
    """105 claims of one subscriber: two 2000B loops (100 claims each at most); the sha256 of
    what the renderer wrote before the fast paths for the same claims."""
    text = _text(_claims(), 200)
    assert text.count("\nHL*") == 6 and "\nHL*3*1*22*0\nSBR*P*18*G 77******CI\n" in text
    assert hashlib.sha256(text.encode()).hexdigest() == EXPECTED_107_SHA256


def test_render_twice_gives_the_same_bytes():
    """The caches (procedure, SV1, NM1 of a person) answer what the first call wrote."""
    assert _text(_claims(), 40) == _text(_claims(), 40)


def test_rendered_text_is_its_segments_each_ended_with_the_terminator_and_newline():
    r = x837.render(ENV, PRACTICE, _claims(), claims_per_st=40)
    assert r.text == "".join(s + "~\n" for s in r.segments)
    assert envelope.to_text([]) == ""
    # the ST sets' ranges and each claim's ST02
    assert [st for st, _, _ in r.st_sets] == ["0001", "0002", "0003"]
    assert all(r.segments[a].startswith(f"ST*837*{st}*") for st, a, _ in r.st_sets)
    assert all(r.segments[b].startswith("SE*") for _, _, b in r.st_sets)
    assert r.claim_st == ["0001"] * 40 + ["0002"] * 40 + ["0003"] * 27


def _seg_rule(*elements) -> str:
    """seg()'s docstring: None is empty, other values str(); trailing empty elements dropped
    (the segment id stays)."""
    parts = ["" if e is None else str(e) for e in elements]
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return "*".join(parts)


def test_seg_writes_what_its_rule_says_for_any_elements():
    rnd = random.Random(15)
    pool = ["", "", "A", "B*", "12", None, 0, 7, 1.5, "é", " ", "~"]
    for _ in range(5000):
        els = [rnd.choice(pool) for _ in range(rnd.randint(0, 7))]
        assert envelope.seg(*els) == _seg_rule(*els), els
    assert envelope.seg() == "" and envelope.seg("") == "" and envelope.seg(None) == ""
    assert (
        envelope.seg("REF", "G1", "") == "REF*G1" and envelope.seg("SE", 12, "0001") == "SE*12*0001"
    )


def _ident_rule(value, maxlen=None) -> str:
    """ident()'s docstring: printable characters kept as written, except the space and the four
    delimiters; then cut at maxlen."""
    s = "" if value is None else str(value)
    kept = "".join(ch for ch in s if ch.isprintable() and ch != " " and ch not in DELIMITERS)
    return kept[: maxlen or None]


def test_ident_keeps_every_character_its_rule_keeps():
    # one character at a time, the fast path and the scan agree on each: all of the first 4,096
    # code points (ASCII, Latin, the controls), then a sample of the rest
    some = [*range(0x1000), *range(0x1000, 0x110000, 257), 0xFEFF, 0x10FFFF]
    for ch in (chr(c) for c in some if not 0xD800 <= c <= 0xDFFF):
        assert envelope.ident(ch) == _ident_rule(ch), hex(ord(ch))
    rnd = random.Random(13)
    sample = [chr(c) for c in range(0x20, 0x80)] + ["é", "\t", "\u00a0", "\u200b", "王"]
    for _ in range(3000):
        v = "".join(rnd.choice(sample) for _ in range(rnd.randint(0, 12)))
        n = rnd.choice([None, 0, 3, 50])
        assert envelope.ident(v, n) == _ident_rule(v, n), (v, n)
    assert envelope.ident(None) == "" and envelope.ident(12345, 3) == "123"


def test_subscriber_groups_are_the_groups_of_equal_parties_in_order_of_appearance():
    rnd = random.Random(7)
    subs = [dict(SELF, member_id=f"K{n % 3}", address1=f"{n} Main") for n in range(5)]
    pats = [None, {}, {"last": "A", "dob": "2020-01-01"}, {"last": "B", "dob": "2020-01-01"}]
    payers = [PAYER, dict(PAYER, name="Other")]
    claims: list[dict[str, Any]] = [
        {
            "n": i,
            "payer": dict(rnd.choice(payers)),
            "subscriber": dict(reversed(list(rnd.choice(subs).items())))
            if rnd.random() < 0.5
            else dict(rnd.choice(subs)),
            "patient": copy.deepcopy(rnd.choice(pats)),
            "responsibility": rnd.choice([None, "P", "S"]),
            "msp_type": rnd.choice([None, "12"]),
        }
        for i in range(600)
    ]
    by_key: dict = {}
    for c in claims:  # the rule: sorted item tuples (as the renderer grouped before issue 15)
        pat = c["patient"]
        key = (
            tuple(sorted(c["payer"].items())),
            tuple(sorted(c["subscriber"].items())),
            tuple(sorted(pat.items())) if pat else None,
            c["responsibility"] or "P",
            c["msp_type"],
        )
        by_key.setdefault(key, []).append(c["n"])
    want = list(by_key.values())
    assert [[c["n"] for c in g] for g in x837._subscriber_groups(claims)] == want
    keyed: dict = {}
    for c in claims:
        keyed.setdefault(x837._subscriber_key(c), []).append(c["n"])
    assert list(keyed.values()) == want  # x837i groups by the key: the same groups


@pytest.mark.parametrize("units, written", [(1, "1"), (1.0, "1.0"), (None, "1"), (2, "2")])
def test_sv1_cache_keeps_units_as_written(units, written):
    """1 and 1.0 are equal keys to an untyped cache; the SV1 cache is typed."""
    for u, w in [(1, "1"), (units, written)]:
        assert x837._sv1("99213", (), 14000, u, (1,)) == f"SV1*HC:99213*140*UN*{w}***1"


# the pre-fast-path renderer (commit fd73258) on _claims(), 200 claims a transaction set
EXPECTED_107_SHA256 = "10ad73185b672d58ff956a3a166a603c730361727d597bd74eb9883bf5dc33b6"

# the pre-fast-path renderer on _claims()[:4], 3 claims a transaction set
EXPECTED = """\
ISA*00*          *00*          *ZZ*RBFM01         *ZZ*CLEARHOUSE01   *260630*0905*^*00501*000000042*0*P*:
GS*HC*RBFM01*CLEARHOUSE01*20260630*0905*7*X*005010X222A1
ST*837*0001*005010X222A1
BHT*0019*00*42-1*20260630*0905*CH
NM1*41*2*RIVERBEND FAMILY MEDICINE*****46*RBFM01
PER*IC*BILLING OFFICE*TE*6145550100
NM1*40*2*DEMO CLEARINGHOUSE*****46*CLEARHOUSE01
HL*1**20*1
PRV*BI*PXC*207Q00000X
NM1*85*2*RIVERBEND FAMILY MEDICINE*****XX*1748392010
N3*1200 RIVER ROAD*SUITE 300
N4*COLUMBUS*OH*432151234
REF*EI*812345678
HL*2*1*22*0
SBR*P*18*G 77******CI
NM1*IL*1*LUKASIEWICZ*ZOE****MI*K100000057
N3*67 MAIN ST
N4*COLUMBUS*OH*43215
DMG*D8*19750917*F
NM1*PR*2*KEYSTONE COMMERCIAL*****PI*KEY77
CLM*C000001*1234.56***11:B:7*Y*A*Y*Y**AA:::OH
DTP*431*D8*20260501
DTP*454*D8*20260502
DTP*304*D8*20260401
DTP*439*D8*20260430
AMT*F5*25
REF*9F*REF123
REF*G1*PA99
REF*F8*PCN-0001
REF*X4*36D0998877
NTE*ADD*CLAIM 1 OF 2 FOR THE SAME VISIT (50 LINES A CLAIM)
HI*ABK:E110*ABF:E111*ABF:E112*ABF:E113*ABF:E114*ABF:E115*ABF:E116*ABF:E117*ABF:E118*ABF:E119*ABF:E1110*ABF:E1111
NM1*DN*1*VOSS*ELENA****XX*1182736458
NM1*82*1*WHITCOMB*DANIEL****XX*1394051621
PRV*PE*PXC*207Q00000X
SBR*S*18*******MB
CAS*CO*45*10
CAS*PR*1*1.01**2*1.02**3*1.03**4*1.04**5*1.05**6*1.06
CAS*PR*7*1.07**8*1.08
CAS*OA*23*-2.5
AMT*D*800.5
AMT*EAF*12.34
OI***Y*P**Y
MOA***N1*N2*M3*MA4*N5
NM1*IL*1*LUKASIEWICZ*ZOE****MI*K100000057
NM1*PR*2*MEDICARE PART B*****PI*MCR1
SBR*T*01*GRP 1******HM
OI***Y*P**Y
NM1*IL*1*LUKASIEWICZ*ZOE****MI*S9
NM1*PR*2*SUMMIT HEALTH*****PI*SUM
LX*1
SV1*HC:99213:25:59:XU:GA*140*UN*2***1:2:3:4
DTP*472*D8*20260506
REF*G1*LPA1
REF*6R*1
REF*X4*LCLIA
REF*9F*LREF
LIN**N4*12345678901
CTP****1.5*ML
NM1*DK*1*O'KAFOR*ANITA****XX*1627384955
NM1*DN*1*VOSS*ELENA****XX*1182736458
SVD*MCR1*400.25*HC:99213:25:59:XU:GA**2
CAS*CO*45*10
CAS*PR*2*0.5
DTP*573*D8*20260601
LX*2
SV1*HC:36415*15*UN*1***1:2
DTP*472*D8*20260505
REF*6R*2
LX*3
SV1*HC:J3420*20.5*UN*1***1
DTP*472*D8*20260505
LIN**N4*00009003101
CTP****1*UN
LX*4
SV1*HC:99213:25*140*UN*1.0***1
DTP*472*D8*20260505
REF*6R*4
LX*5
SV1*HC:99213:25*-1*UN*3***1
DTP*472*D8*20260505
REF*6R*5
CLM*C001é*140***11:B:1*Y*A*Y*Y
REF*9F
REF*X4*X4
HI*ABK:I10
NM1*82*1*WHITCOMB*DANIEL****XX*1405162730
LX*1
SV1*HC:99213*140*UN*1***1
DTP*472*D8*20260507
REF*G1
REF*6R*9
LIN**N4
CTP*****UN
HL*3*1*22*1
SBR*S**G 77**12****CI
NM1*IL*1*LUKASIEWICZ*ZOE****MI*K200
NM1*PR*2*KEYSTONE COMMERCIAL*****PI*KEY77
HL*4*3*23*0
PAT*19
NM1*QC*1*MUNOZ-PEREZ*ANA
N3*448 MAIN ST*APT 2
N4*COLUMBUS*OH*43215
DMG*D8*20150118*U
CLM*C000002*1234.56***11:B:8*Y*A*Y*Y**EM
DTP*431*D8*20150901
AMT*F5*25
REF*9F*REF123
REF*G1*PA99
REF*F8*VOID1
REF*X4*36D0998877
HI*BK:25000*BF:4019
NM1*DN*1*VOSS*ELENA****XX*1182736458
LX*1
SV1*HC:99213:25:59:XU:GA*140*UN*2***1:2:3:4
DTP*472*D8*20260506
REF*G1*LPA1
REF*6R*1
REF*X4*LCLIA
REF*9F*LREF
LIN**N4*12345678901
CTP****1.5*ML
NM1*DK*1*O'KAFOR*ANITA****XX*1627384955
NM1*DN*1*VOSS*ELENA****XX*1182736458
SVD*MCR1*400.25*HC:99213:25:59:XU:GA**2
CAS*CO*45*10
CAS*PR*2*0.5
DTP*573*D8*20260601
LX*2
SV1*HC:36415*15*UN*1***1:2
DTP*472*D8*20150930
REF*6R*2
LX*3
SV1*HC:J3420*20.5*UN*1***1
DTP*472*D8*20150930
LIN**N4*00009003101
CTP****1*UN
LX*4
SV1*HC:99213:25*140*UN*1.0***1
DTP*472*D8*20150930
REF*6R*4
LX*5
SV1*HC:99213:25*-1*UN*3***1
DTP*472*D8*20150930
REF*6R*5
SE*144*0001
ST*837*0002*005010X222A1
BHT*0019*00*42-2*20260630*0905*CH
NM1*41*2*RIVERBEND FAMILY MEDICINE*****46*RBFM01
PER*IC*BILLING OFFICE*TE*6145550100
NM1*40*2*DEMO CLEARINGHOUSE*****46*CLEARHOUSE01
HL*1**20*1
PRV*BI*PXC*207Q00000X
NM1*85*2*RIVERBEND FAMILY MEDICINE*****XX*1748392010
N3*1200 RIVER ROAD*SUITE 300
N4*COLUMBUS*OH*432151234
REF*EI*812345678
HL*2*1*22*0
SBR*P*18*G 77******CI
NM1*IL*1*LUKASIEWICZ*ZOE****MI*K100000057
N3*1 NEW STREET
N4*COLUMBUS*OH*43215
DMG*D8*19750917*F
NM1*PR*2*KEYSTONE COMMERCIAL*****PI*KEY77
CLM*C000004*140***11:B:1*Y*A*Y*Y
REF*9F
REF*X4*X4
HI*ABK:I10
NM1*82*1*WHITCOMB*DANIEL****XX*1405162730
LX*1
SV1*HC:99213*140*UN*1***1
DTP*472*D8*20260507
REF*G1
REF*6R*9
LIN**N4
CTP*****UN
SE*31*0002
GE*2*7
IEA*1*000000042
"""
