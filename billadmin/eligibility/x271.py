"""Reading a 271 eligibility response (ASC X12 005010X279A1) into one answer per person.

Structure checked (a file failing any of these is refused whole): ISA..IEA, GS..GE and ST..SE
close with the right counts and control numbers; ST01 is 271 and GS08 a 005010X279 version;
HL01 numbers the levels 1, 2, 3 ..., each HL02 names the level above it (20 information source,
21 receiver, 22 subscriber, 23 dependent); HL04 1 has a level below it and HL04 0 none; a
subscriber level has its NM1*IL. linuxforhealth-x12's 271 model refuses the same breaks.

What is read, per person (2000C when it has no dependent below it, else each 2000D):
- the trace: TRN02 of the TRN segments at that level (TRN01 2 is our 270's trace returned; a
  payer may add its own TRN01 1), else BHT03 (our 270 puts the trace there too);
- status (EB01): 1-5 active, 6-8 inactive; an AAA at the person (or above it) is a rejection,
  AAA03 the reason (e.g. 72 invalid member id, 73 invalid name, 58 invalid birth date,
  75 subscriber not found);
- plan dates (DTP at the person, or with an active EB): begin 346, 356 or the start of a
  291/307 range; end 347, 357 or the end of a 291/307 range;
- co-pay (EB01 B, EB07 dollars), coinsurance (EB01 A, EB08 a decimal fraction: .2 is 20%),
  deductible (EB01 C, EB07) and its remaining amount (EB01 C with EB06 29 "remaining"). When
  several are given, in-network (EB12 not N) for an office visit (EB03 98, else 30) comes
  first, individual (EB02 IND) before family; a year-to-date amount (EB06 24) is not a
  deductible;
- the payer's identifying data: NM103/NM104/NM109, DMG02/DMG03, REF*6P group number, and
  whether it says it corrected them (INS03 001 with INS04 25).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from ..errors import BadInput
from ..money import MoneyError, parse_x12_amount
from ..x12 import reader
from ..x12.reader import element as el

ACTIVE = {"1", "2", "3", "4", "5"}
INACTIVE = {"6", "7", "8"}
# AAA03 reject reasons (TR3 005010X279A1, AAA segment code list), in plain words
REJECT_REASONS = {
    "04": "authorized quantity exceeded",
    "15": "required application data missing",
    "41": "authorization/access restrictions",
    "42": "the payer cannot answer now (try later)",
    "43": "invalid or missing provider identification",
    "45": "invalid or missing provider specialty",
    "47": "invalid or missing provider state",
    "48": "invalid or missing referring provider identification",
    "49": "provider is not the primary care physician",
    "50": "provider not eligible for inquiries with this payer",
    "51": "provider not on file",
    "52": "service dates not within provider plan enrollment",
    "56": "inappropriate date",
    "57": "invalid or missing dates of service",
    "58": "invalid or missing date of birth",
    "60": "date of birth follows date(s) of service",
    "61": "date of death precedes date(s) of service",
    "62": "date of service not within allowable inquiry period",
    "63": "date of service in future",
    "64": "invalid or missing patient id",
    "65": "invalid or missing patient name",
    "66": "invalid or missing patient gender",
    "67": "patient not found",
    "68": "duplicate patient id number",
    "71": "patient birth date does not match that for the patient on the database",
    "72": "invalid or missing subscriber/insured id",
    "73": "invalid or missing subscriber/insured name",
    "74": "invalid or missing subscriber/insured gender",
    "75": "subscriber/insured not found",
    "76": "duplicate subscriber/insured id number",
    "78": "subscriber/insured not in group/plan identified",
    "79": "invalid participant identification",
    "80": "no response received - transaction terminated",
    "97": "invalid or missing provider address",
    "T4": "payer name or identifier missing",
}


@dataclass
class Answer:
    """One person's answer, as the payer gave it."""

    st_control: str
    answered_on: str
    traces: list[str]
    segment: int  # the person's HL segment number in the file (for messages)
    status: str = "unknown"  # active | inactive | rejected | unknown
    reject_code: str | None = None
    plan_begin: str | None = None
    plan_end: str | None = None
    copay_cents: int | None = None
    coinsurance_pct: str | None = None
    deductible_cents: int | None = None
    deductible_remaining_cents: int | None = None
    corrected: bool = False
    payer: dict = field(default_factory=dict)  # last_name, first_name, dob, sex, member_id,
    # group_number; sub_last_name, sub_first_name, sub_dob for a dependent


@dataclass
class Response:
    interchange: str  # ISA13
    answers: list[Answer] = field(default_factory=list)
    refused: list[tuple[str, str, str | None]] = field(default_factory=list)  # (ST02, BHT03, AAA03)


def _iso(d8: str) -> str | None:
    try:
        return _dt.datetime.strptime(d8, "%Y%m%d").date().isoformat()
    except ValueError:
        return None


def _bad(file: str, where: int | None, msg: str) -> BadInput:
    return BadInput(
        f"{file}: " + (f"segment {where}: " if where else "") + msg + "; nothing was read"
    )


def read(data: bytes | str, file: str) -> Response:
    """The answers of a 271 file; BadInput (nothing read) when it is malformed."""
    try:
        ics = reader.interchanges(data)
    except reader.X12SyntaxError as e:
        raise _bad(file, e.segment, str(e)) from None
    if len(ics) != 1:
        raise _bad(file, None, "one interchange per 271 file is read")
    ic = ics[0]
    segs = ic.segments
    isa13 = el(segs[0], 13)
    if segs[-1][0] != "IEA" or el(segs[-1], 2) != isa13:
        raise _bad(
            file, len(segs), "IEA does not close the ISA (missing, or another control number)"
        )
    resp = Response(isa13)
    groups = 0
    i = 1
    while i < len(segs) - 1:
        gs = segs[i]
        if gs[0] != "GS":
            raise _bad(file, i + 1, "expected GS")
        if not el(gs, 8).startswith("005010X279"):
            raise _bad(file, i + 1, "GS08 is not 005010X279A1: not a 271 eligibility response")
        groups += 1
        sets = 0
        j = i + 1
        while j < len(segs) - 1 and segs[j][0] == "ST":
            k = j
            while k < len(segs) - 1 and segs[k][0] not in ("SE", "GE", "IEA"):
                k += 1
            if segs[k][0] != "SE":
                raise _bad(file, k + 1, "the transaction set has no SE")
            ts = segs[j : k + 1]
            if el(ts[-1], 1) != str(len(ts)) or el(ts[-1], 2) != el(ts[0], 2):
                raise _bad(
                    file, k + 1, "SE01 does not count the set's segments, or SE02 is not ST02"
                )
            if el(ts[0], 1) != "271":
                raise _bad(file, j + 1, "ST01 is not 271")
            _transaction(ts, j + 1, file, resp, ic.separators.repetition)
            sets += 1
            j = k + 1
        if j >= len(segs) - 1 or segs[j][0] != "GE":
            raise _bad(file, j + 1, "expected GE")
        if el(segs[j], 1) != str(sets) or el(segs[j], 2) != el(gs, 6):
            raise _bad(file, j + 1, "GE does not close the GS (count or control number)")
        i = j + 1
    if el(segs[-1], 1) != str(groups):
        raise _bad(file, len(segs), "IEA01 does not count the functional groups")
    return resp


@dataclass(eq=False)
class _Level:
    code: str
    parent: _Level | None
    child: str
    at: int
    segs: list[tuple[int, list[str]]] = field(default_factory=list)
    kids: int = 0


_LEVEL_ABOVE = {"20": None, "21": "20", "22": "21", "23": "22"}


def _transaction(
    ts: list[list[str]], first: int, file: str, resp: Response, rep: str | None
) -> None:
    """Split one set into its HL levels (checked) and read each person's answer."""
    bht = ts[1] if len(ts) > 1 and ts[1][0] == "BHT" else None
    if bht is None:
        raise _bad(file, first + 1, "BHT must follow ST")
    st02 = el(ts[0], 2)
    answered = _iso(el(bht, 4)) or ""
    levels: list[_Level] = []
    by_id: dict[str, _Level] = {}
    for n, s in enumerate(ts[2:-1], start=2):
        if s[0] == "HL":
            hid, parent, code, child = el(s, 1), el(s, 2), el(s, 3), el(s, 4)
            if hid != str(len(levels) + 1):
                raise _bad(file, first + n, "HL01 does not number the levels 1, 2, 3 ...")
            if code not in _LEVEL_ABOVE:
                raise _bad(file, first + n, "HL03 is not a 271 level (20, 21, 22, 23)")
            above = by_id.get(parent)
            if (above is None) != (_LEVEL_ABOVE[code] is None) or (
                above is not None and above.code != _LEVEL_ABOVE[code]
            ):
                raise _bad(file, first + n, "HL02 does not name the level above this one")
            lv = _Level(code, above, child, first + n)
            if above is not None:
                above.kids += 1
            levels.append(lv)
            by_id[hid] = lv
        elif not levels:
            if s[0] not in ("BHT",):
                raise _bad(file, first + n, "segment before the first HL")
        else:
            levels[-1].segs.append((first + n, s))
    for lv in levels:
        # a receiver the payer refused (AAA in 2100B) has HL04 1 and nothing below: accepted,
        # as linuxforhealth-x12 does; a subscriber announcing a dependent must have one
        if lv.child == "1" and not lv.kids and lv.code == "22":
            raise _bad(file, lv.at, "HL04 is 1 but no level follows below it")
        if lv.child == "0" and lv.kids:
            raise _bad(file, lv.at, "HL04 is 0 but a level follows below it")
        if lv.code in ("22", "23"):
            want = "IL" if lv.code == "22" else "03"
            if not any(s[0] == "NM1" and el(s, 1) == want for _, s in lv.segs):
                raise _bad(file, lv.at, f"the level has no NM1*{want}")
    people = [lv for lv in levels if lv.code == "23" or (lv.code == "22" and not lv.kids)]
    if not people:
        aaa = next((el(s, 3) for lv in levels for _, s in lv.segs if s[0] == "AAA"), None)
        resp.refused.append((st02, el(bht, 3), aaa))
        return
    for lv in people:
        resp.answers.append(_person(lv, st02, answered, el(bht, 3), rep))


def _chain(lv: _Level) -> list[_Level]:
    out = []
    cur: _Level | None = lv
    while cur is not None:
        out.append(cur)
        cur = cur.parent
    return out[::-1]


def _person(lv: _Level, st02: str, answered: str, bht03: str, rep: str | None) -> Answer:
    chain = _chain(lv)
    traces = [el(s, 2) for _, s in lv.segs if s[0] == "TRN" and el(s, 2)]
    a = Answer(st02, answered, traces or ([bht03] if bht03 else []), lv.at)
    for up in chain:
        for _, s in up.segs:
            if s[0] == "AAA" and el(s, 1) == "N" and _before_eb(up, s):
                a.status, a.reject_code = "rejected", el(s, 3)
    sub = next(x for x in chain if x.code == "22")
    _identity(sub, a.payer, "sub_" if lv is not sub else "")
    if lv is not sub:
        _identity(lv, a.payer, "")
        for f in ("member_id", "group_number"):
            if a.payer.get(f) is None and a.payer.get("sub_" + f):
                a.payer[f] = a.payer["sub_" + f]
    a.corrected = any(s[0] == "INS" and el(s, 3) == "001" and el(s, 4) == "25" for _, s in lv.segs)
    _benefits(lv, a, rep)
    return a


def _before_eb(lv: _Level, seg: list[str]) -> bool:
    """An AAA in 2100x (before the first EB), not one inside a 2110 benefit loop."""
    for _, s in lv.segs:
        if s is seg:
            return True
        if s[0] == "EB":
            return False
    return True


def _identity(lv: _Level, out: dict, prefix: str) -> None:
    for _, s in lv.segs:
        if s[0] == "EB":
            break
        if s[0] == "NM1" and el(s, 1) in ("IL", "03"):
            out[prefix + "last_name"] = el(s, 3) or None
            out[prefix + "first_name"] = el(s, 4) or None
            if el(s, 9):
                out[prefix + "member_id"] = el(s, 9)
        elif s[0] == "DMG" and el(s, 1) == "D8":
            out[prefix + "dob"] = _iso(el(s, 2))
            if el(s, 3):
                out[prefix + "sex"] = el(s, 3)
        elif s[0] == "REF" and el(s, 1) == "6P" and el(s, 2):
            out[prefix + "group_number"] = el(s, 2)


def _dates(s: list[str], a: Answer) -> None:
    q, fmt, val = el(s, 1), el(s, 2), el(s, 3)
    if fmt == "D8":
        d = _iso(val)
        if q in ("346", "356") and a.plan_begin is None:
            a.plan_begin = d
        elif q in ("347", "357") and a.plan_end is None:
            a.plan_end = d
        elif q in ("291", "307") and a.plan_begin is None:
            a.plan_begin = d
    elif fmt == "RD8" and "-" in val and q in ("291", "307", "292"):
        lo, hi = val.split("-", 1)
        if a.plan_begin is None:
            a.plan_begin = _iso(lo)
        if a.plan_end is None:
            a.plan_end = _iso(hi)


def _rank(eb: list[str], types: list[str]) -> tuple:
    return (el(eb, 12) == "N", "98" not in types, "30" not in types, el(eb, 2) == "FAM")


def _benefits(lv: _Level, a: Answer, rep: str | None) -> None:
    statuses: list[str] = []
    copays: list[tuple] = []
    coins: list[tuple] = []
    deds: list[tuple] = []
    remaining: list[tuple] = []
    in_eb: list[str] | None = None
    for _, s in lv.segs:
        if s[0] == "EB":
            in_eb = s
            code = el(s, 1)
            types = [t for t in el(s, 3).split(rep) if t] if rep else [el(s, 3)]
            statuses.append(code)
            try:
                amount = parse_x12_amount(el(s, 7)) if el(s, 7) else None
            except MoneyError:
                amount = None
            if code == "B" and amount is not None:
                copays.append((_rank(s, types), len(copays), amount))
            elif code == "A" and el(s, 8):
                try:
                    pct = Decimal(el(s, 8)) * 100
                    coins.append((_rank(s, types), len(coins), format(pct.normalize(), "f")))
                except InvalidOperation:
                    pass
            elif code == "C" and amount is not None:
                if el(s, 6) == "29":
                    remaining.append((_rank(s, types), len(remaining), amount))
                elif el(s, 6) != "24":
                    deds.append((_rank(s, types), len(deds), amount))
        elif s[0] == "DTP" and (in_eb is None or el(in_eb, 1) in ACTIVE | INACTIVE):
            _dates(s, a)
    if a.status != "rejected":
        if ACTIVE & set(statuses):
            a.status = "active"
        elif INACTIVE & set(statuses):
            a.status = "inactive"
    a.copay_cents = min(copays)[2] if copays else None
    a.coinsurance_pct = min(coins)[2] if coins else None
    a.deductible_cents = min(deds)[2] if deds else None
    a.deductible_remaining_cents = min(remaining)[2] if remaining else None
