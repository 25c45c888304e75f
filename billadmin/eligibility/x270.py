"""The 270 eligibility request (ASC X12 005010X279A1), written and checked before it is written.

Shape (TR3 005010X279A1 section 2.4; one transaction set per payer):

    ST*270*0001*005010X279A1        BHT*0022*13*<reference>*CCYYMMDD*HHMM
    HL*1**20*1   NM1*PR*2*<payer>*****PI*<payer id>                  2000A/2100A information source
    HL*2*1*21*1  NM1*1P*1|2*<provider>*...****XX*<NPI>               2000B/2100B information receiver
    HL*3*2*22*0  TRN*1*<trace>*<1+EIN>                               2000C subscriber (the patient)
                 NM1*IL*1*<last>*<first>****MI*<member id>  DMG*D8*<birth date>*<sex>
                 DTP*291*D8*<service date>  EQ*30                    2110C: health benefit plan coverage
    HL*4*3*23*0  TRN ... NM1*03*1*<last>*<first>  DMG  DTP*291  EQ*30   2000D dependent, when the
                 patient is not the subscriber (the 2000C then names the subscriber, HL04 = 1)

- TRN02 is our trace number: the payer returns it in the 271 (TRN*2), which is how an answer is
  matched to the request (and so to the patient and coverage), never by name or member id.
- TRN03 is "1" followed by the practice's EIN (the originating company identifier, 10 characters).
- EQ01 30 asks for the health benefit plan coverage, the generic inquiry every payer answers.

pyx12 4 has no 270 map, so ``check`` is billadmin's own runtime validator: a structural check of
what ``build`` wrote (envelope counts and control numbers, HL numbering and parents, each loop's
required segments and qualifiers, the NPI check digit, D8 dates, no delimiter in the data). The
tests hold every file to linuxforhealth-x12's 270 model as well.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from .. import npi
from ..x12 import envelope as env
from ..x12.envelope import comp, ident, seg, text, x12_date  # noqa: F401

VERSION = "005010X279A1"
SERVICE_TYPE = "30"  # health benefit plan coverage


@dataclass
class Inquiry:
    """One person asked about: the request row's trace and what the 270 carries of them."""

    trace: str
    service_date: str
    member_id: str
    last_name: str
    first_name: str
    dob: str | None
    sex: str | None
    # when the patient is a dependent: the subscriber's name and birth date (2100C); the
    # patient goes in 2100D
    dependent: bool = False
    sub_last: str | None = None
    sub_first: str | None = None
    sub_dob: str | None = None


@dataclass
class Receiver:
    """The information receiver (2100B): a rendering provider (person) or the practice."""

    npi: str
    last_or_org: str
    first: str | None = None
    person: bool = False


def _dmg(dob: str | None, sex: str | None) -> list[str]:
    if not dob:
        return []
    return [seg("DMG", "D8", x12_date(dob), sex if sex in ("M", "F") else "")]


def _subscriber_loops(q: Inquiry, hl: int, parent: int, origin: str) -> tuple[list[str], int]:
    trn = seg("TRN", "1", ident(q.trace, 50), origin)
    ask = [seg("DTP", "291", "D8", x12_date(q.service_date)), seg("EQ", SERVICE_TYPE)]
    if not q.dependent:
        out = [
            seg("HL", hl, parent, "22", "0"),
            trn,
            seg("NM1", "IL", "1", text(q.last_name, 60), text(q.first_name, 35), "", "", "", "MI",
                ident(q.member_id, 80)),
            *_dmg(q.dob, q.sex),
            *ask,
        ]  # fmt: skip
        return out, hl + 1
    out = [
        seg("HL", hl, parent, "22", "1"),
        seg("NM1", "IL", "1", text(q.sub_last, 60), text(q.sub_first, 35), "", "", "", "MI",
            ident(q.member_id, 80)),
        *_dmg(q.sub_dob, None),
        seg("HL", hl + 1, hl, "23", "0"),
        trn,
        seg("NM1", "03", "1", text(q.last_name, 60), text(q.first_name, 35)),
        *_dmg(q.dob, q.sex),
        *ask,
    ]  # fmt: skip
    return out, hl + 2


def transaction_body(
    payer_name: str, payer_id: str, receiver: Receiver, q: Inquiry, tax_id: str,
    created: _dt.datetime,
) -> list[str]:  # fmt: skip
    """The segments between ST and SE: one payer, one receiver, one person asked about."""
    origin = "1" + env.digits(tax_id)[:9].rjust(9, "0")
    r = receiver
    if r.person:
        nm1 = seg("NM1", "1P", "1", text(r.last_or_org, 60), text(r.first or "", 35), "", "", "",
                  "XX", r.npi)  # fmt: skip
    else:
        nm1 = seg("NM1", "1P", "2", text(r.last_or_org, 60), "", "", "", "", "XX", r.npi)
    body = [
        seg("BHT", "0022", "13", ident(q.trace, 50), created.strftime("%Y%m%d"),
            created.strftime("%H%M")),
        seg("HL", 1, "", "20", "1"),
        seg("NM1", "PR", "2", text(payer_name, 60), "", "", "", "", "PI", ident(payer_id, 80)),
        seg("HL", 2, 1, "21", "1"),
        nm1,
    ]  # fmt: skip
    return body + _subscriber_loops(q, 3, 2, origin)[0]


def build(
    envl: env.Envelope, payer_name: str, payer_id: str, asks: list[tuple[Receiver, Inquiry]],
    tax_id: str,
) -> str:  # fmt: skip
    """The whole interchange for one payer as text: one functional group, one transaction set
    per person asked about, ST02 numbered 0001, 0002, ... in the order of `asks`.

    One set per person: the TR3 allows several 2000C under one 2000B, but linuxforhealth-x12
    (the test oracle) refuses any HL tree that is not a single chain, and a clearinghouse
    answers a batch of one-person sets the same way."""
    sets = [
        env.transaction(
            f"{n:04d}",
            transaction_body(payer_name, payer_id, r, q, tax_id, envl.created),
            set_id="270",
            version=VERSION,
        )
        for n, (r, q) in enumerate(asks, start=1)
    ]
    return env.to_text(env.interchange(envl, sets))


# ---- the runtime check --------------------------------------------------------------------------


_LEVELS = {"20": None, "21": "20", "22": "21", "23": "22"}


def _d8(value: str) -> bool:
    try:
        _dt.datetime.strptime(value, "%Y%m%d")
    except ValueError:
        return False
    return len(value) == 8


def check(data: str) -> list[str]:
    """What is wrong with a 270 we built (empty: nothing). Messages name segment numbers and
    rules, never the data."""
    from ..x12 import reader

    problems: list[str] = []
    try:
        ics = reader.interchanges(data)
    except reader.X12SyntaxError as e:
        return [str(e)]
    n = 0
    for ic in ics:
        segs = ic.segments
        n += len(segs)

        def say(i: int, msg: str, first: int = ic.first_segment) -> None:
            problems.append(f"segment {first + i}: {msg}")

        if segs[-1][0] != "IEA" or segs[1][0] != "GS" or segs[-2][0] != "GE":
            problems.append("the envelope is not ISA GS ... GE IEA")
            continue
        isa13 = segs[0][13] if len(segs[0]) > 13 else ""
        if reader.element(segs[-1], 2) != isa13 or reader.element(segs[-1], 1) != "1":
            say(len(segs) - 1, "IEA does not close the ISA (count or control number)")
        if reader.element(segs[1], 1) != "HS" or reader.element(segs[1], 8) != VERSION:
            say(1, f"GS must be functional group HS, version {VERSION}")
        st_count = 0
        i = 2
        while i < len(segs) - 2:
            if segs[i][0] != "ST":
                say(i, "expected ST")
                break
            j = i
            while j < len(segs) - 2 and segs[j][0] != "SE":
                j += 1
            st_count += 1
            _check_set(segs[i : j + 1], lambda k, m, i=i: say(i + k, m))
            i = j + 1
        ge = segs[-2]
        if reader.element(ge, 1) != str(st_count) or reader.element(ge, 2) != reader.element(
            segs[1], 6
        ):
            say(len(segs) - 2, "GE does not close the GS (count or control number)")
    return problems


def _check_set(ts: list[list[str]], say) -> None:
    st, se = ts[0], ts[-1]
    if se[0] != "SE":
        say(len(ts) - 1, "the transaction set has no SE")
        return
    if reader_el(st, 1) != "270" or reader_el(st, 3) != VERSION:
        say(0, f"ST must be 270, version {VERSION}")
    if reader_el(se, 1) != str(len(ts)) or reader_el(se, 2) != reader_el(st, 2):
        say(len(ts) - 1, "SE01 must count the segments from ST to SE, SE02 repeat ST02")
    if len(ts) < 3 or ts[1][0] != "BHT" or reader_el(ts[1], 1) != "0022":
        say(1, "BHT*0022 must follow ST")
    levels: dict[str, str] = {}
    current = None
    traces: set[str] = set()
    need: list[str] = []  # segments the current loop still needs
    for k, s in enumerate(ts[2:-1], start=2):
        tag = s[0]
        for e in s[1:]:
            if any(ch in e for ch in "~^") or not e.isascii():
                say(k, f"{tag}: an element holds a delimiter or a non-ASCII character")
        if tag == "HL":
            if need:
                say(k, f"the previous level lacks {', '.join(need)}")
            hid, parent, code = reader_el(s, 1), reader_el(s, 2), reader_el(s, 3)
            if hid != str(len(levels) + 1):
                say(k, "HL01 must number the levels 1, 2, 3 ...")
            if code not in _LEVELS or (
                (parent == "") != (_LEVELS[code] is None)
                or (parent and levels.get(parent) != _LEVELS[code])
            ):
                say(k, "HL02/HL03: the level's parent is not the level above it")
            levels[hid] = code
            current = code
            need = {"20": ["NM1*PR"], "21": ["NM1*1P"], "22": ["NM1*IL"], "23": ["NM1*03"]}.get(
                code, []
            )
            if code == "23" or (code == "22" and reader_el(s, 4) == "0"):
                need += ["TRN", "EQ"]
        elif tag == "NM1":
            q = reader_el(s, 1)
            want = {"20": "PR", "21": "1P", "22": "IL", "23": "03"}.get(current or "")
            if q != want:
                say(k, f"NM1 qualifier {q} does not belong at this level")
            need = [x for x in need if x != f"NM1*{q}"]
            if q == "PR" and (reader_el(s, 8) != "PI" or not reader_el(s, 9)):
                say(k, "NM1*PR needs the payer id (NM108 PI)")
            if q == "1P" and (reader_el(s, 8) != "XX" or not npi.is_valid(reader_el(s, 9))):
                say(k, "NM1*1P needs a valid NPI (NM108 XX)")
            if q == "IL" and (reader_el(s, 8) != "MI" or not reader_el(s, 9)):
                say(k, "NM1*IL needs the member id (NM108 MI)")
            if q in ("03", "1P") and reader_el(s, 2) == "1" and not reader_el(s, 3):
                say(k, f"NM1*{q} needs a last name")
        elif tag == "TRN":
            need = [x for x in need if x != "TRN"]
            t = reader_el(s, 2)
            if reader_el(s, 1) != "1" or not t or len(reader_el(s, 3)) != 10:
                say(k, "TRN needs TRN01 1, a trace number and a 10-character TRN03")
            if t in traces:
                say(k, "TRN02 repeats a trace number of this transaction")
            traces.add(t)
        elif tag in ("DMG", "DTP"):
            day = reader_el(s, 3) if tag == "DTP" else reader_el(s, 2)
            if not _d8(day):
                say(k, f"{tag}: the date is not a CCYYMMDD date")
        elif tag == "EQ":
            need = [x for x in need if x != "EQ"]
            if not reader_el(s, 1):
                say(k, "EQ01 must name a service type")
        elif tag not in ("REF", "N3", "N4", "PRV", "INS", "HI"):
            say(k, f"segment {tag} does not belong in this 270")
    if need:
        say(len(ts) - 1, f"the last level lacks {', '.join(need)}")


def reader_el(s: list[str], i: int) -> str:
    return s[i] if len(s) > i else ""
