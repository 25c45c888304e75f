"""Reading acknowledgement files: TA1 (interchange), 999 (005010X231A1) and 277 (277CA
005010X214, the claim acknowledgement; 277 005010X212, the answer to a 276) into plain data.

Rules (the TR3s named; the envelope as in x12/reader.py):
- A file is read whole before anything is written. It is refused (BadInput, exit 2), naming
  the file and the segment number, never the data, when: it is not X12; an envelope does not
  close (SE01 counts the segments from ST to SE, SE02 = ST02, GE01 the sets and GE02 = GS06,
  IEA01 the groups and IEA02 = ISA13); a group is neither FA (999) nor HN (277); a 999 set
  lacks AK1, an AK2 lacks its IK5, or the group lacks AK9 (X231A1 2000/2110 and the AK9
  "required" note); a 277's HL names a parent that is not the level above it (HL02), or a
  claim's TRN is not followed by an STC (X214/X212 2200D: TRN and STC are required).
- 999: AK1 names our group (AK102 = our GS06); each AK2 our transaction set (AK202 = our
  ST02); IK3 a segment (IK302 its position counted from ST = 1), with CTX*CLM01 the claim
  it is in; IK4 an element of it (IK401 position, "5:3" for a component); IK5 the set's
  verdict, AK9 the group's (P: partially accepted).
- 277: the status at 2200B (the whole batch) and 2200C (a billing provider) applies to every
  claim below it; 2200D TRN02 is our CLM01 (277CA) or the trace of our 276 (277); STC01 and
  the repeats in STC10/STC11 are category:status:entity; REF*1K the payer's claim number;
  2220D SVC/STC/REF*FJ a line's own status.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import money
from ..errors import BadInput
from ..x12 import reader


@dataclass(frozen=True)
class Status:
    category: str
    code: str
    entity: str = ""


@dataclass
class ElementError:
    position: str  # IK401, e.g. "2" or "5:3"
    reference: str  # IK402 data element number
    code: str  # IK403


@dataclass
class SegmentError:
    segment: str  # IK301
    position: int  # IK302: from ST = 1
    loop: str  # IK303
    code: str  # IK304
    claim: str | None = None  # CTX*CLM01
    elements: list[ElementError] = field(default_factory=list)


@dataclass
class SetAck:
    st_control: str  # AK202: our ST02
    code: str = ""  # IK501
    reasons: list[str] = field(default_factory=list)  # IK502..IK506
    errors: list[SegmentError] = field(default_factory=list)


@dataclass
class GroupAck:
    """One 999 transaction set: the verdict on one of our functional groups."""

    st_control: str
    group_control: str  # AK102
    version: str  # AK103
    functional_id: str = "HC"  # AK101: HC claims; HS a 270, HR a 276
    sets: list[SetAck] = field(default_factory=list)
    code: str = ""  # AK901
    counts: tuple[int, int, int] = (0, 0, 0)  # AK902..AK904: included, received, accepted


@dataclass
class TA1:
    control: str  # TA101: our ISA13
    code: str  # TA104
    note: str  # TA105


@dataclass
class LineStatus:
    procedure: str
    charge_cents: int | None
    line_ref: str | None  # REF*FJ: our REF*6R
    statuses: list[Status] = field(default_factory=list)


@dataclass
class ClaimStatus:
    trace: str  # 2200D TRN02
    statuses: list[Status] = field(default_factory=list)  # its own STCs
    above: list[Status] = field(default_factory=list)  # 2200B/2200C STCs that apply to it
    effective_on: str | None = None
    charge_cents: int | None = None
    payer_claim_number: str | None = None
    lines: list[LineStatus] = field(default_factory=list)


@dataclass
class StatusSet:
    """One 277 transaction set."""

    st_control: str
    version: str  # 005010X214 (277CA) or 005010X212 (277)
    source: str  # 2100A NM101: AY clearinghouse, PR payer
    batch: str | None  # 2200B TRN02
    claims: list[ClaimStatus] = field(default_factory=list)


@dataclass
class AckFile:
    name: str
    kind: str  # 'TA1', '999', '277CA' or '277' (the first acknowledgement in the file)
    isa_control: str
    ta1: list[TA1] = field(default_factory=list)
    groups: list[GroupAck] = field(default_factory=list)
    statuses: list[StatusSet] = field(default_factory=list)


def _bad(name: str, where: int | None, msg: str) -> BadInput:
    return BadInput(f"{name}" + (f", segment {where}" if where else "") + f": {msg}")


def _d8(text: str) -> str | None:
    t = text.split("-")[0]
    if len(t) == 8 and t.isdigit():
        return f"{t[:4]}-{t[4:6]}-{t[6:]}"
    return None


def read(data: bytes | str, name: str) -> AckFile:
    """Parse a whole acknowledgement file (see the module docstring); refuse it if malformed."""
    try:
        ics = reader.interchanges(data)
    except reader.X12SyntaxError as e:
        raise _bad(name, e.segment, str(e)) from None
    out: AckFile | None = None
    for ic in ics:
        segs = ic.segments
        first = ic.first_segment
        isa = segs[0]
        if len(isa) < 17:
            raise _bad(name, first, "the ISA segment needs 16 elements")
        if out is None:
            out = AckFile(name, "", isa[13].strip())
        last = segs[-1]
        if last[0] != "IEA":
            raise _bad(name, first + len(segs) - 1, "the interchange does not end with IEA")
        if reader.element(last, 2).strip() != isa[13].strip():
            raise _bad(name, first + len(segs) - 1, "IEA02 does not repeat ISA13")
        groups = 0
        i = 1
        while i < len(segs) - 1:
            s = segs[i]
            if s[0] == "TA1":
                out.ta1.append(
                    TA1(reader.element(s, 1), reader.element(s, 4), reader.element(s, 5))
                )
                out.kind = out.kind or "TA1"
                i += 1
                continue
            if s[0] != "GS":
                raise _bad(name, first + i, f"{s[0]} where a GS or TA1 segment must be")
            i = _group(out, ic, i, name)
            groups += 1
        if reader.element(last, 1) != str(groups):
            raise _bad(name, first + len(segs) - 1, f"IEA01 says {reader.element(last, 1)}"
                       f" group(s), the interchange has {groups}")  # fmt: skip
    assert out is not None  # reader.interchanges raises on an empty file
    if not out.kind:
        raise _bad(name, None, "no TA1, 999 or 277 in the file")
    return out


def _group(out: AckFile, ic: reader.Interchange, i: int, name: str) -> int:
    """Read the GS..GE group starting at segs[i]; returns the index after GE."""
    segs, first = ic.segments, ic.first_segment
    gs = segs[i]
    fid, version = reader.element(gs, 1), reader.element(gs, 8)
    if fid == "FA":
        kind = "999"
    elif fid == "HN" and version.startswith("005010X214"):
        kind = "277CA"
    elif fid == "HN" and version.startswith("005010X212"):
        kind = "277"
    else:
        raise _bad(name, first + i, f"group {fid or '?'} {version or '?'} is not a 999 or 277"
                   " acknowledgement")  # fmt: skip
    out.kind = out.kind or kind
    j = i + 1
    sets = 0
    while j < len(segs) and segs[j][0] == "ST":
        end = j + 1
        while end < len(segs) and segs[end][0] not in ("SE", "ST", "GE", "IEA"):
            end += 1
        if end >= len(segs) or segs[end][0] != "SE":
            raise _bad(name, first + j, "transaction set without its SE trailer")
        st, se = segs[j], segs[end]
        if reader.element(se, 1) != str(end - j + 1):
            raise _bad(name, first + end, f"SE01 says {reader.element(se, 1)} segments, the set"
                       f" has {end - j + 1}")  # fmt: skip
        if reader.element(se, 2) != reader.element(st, 2):
            raise _bad(name, first + end, "SE02 does not repeat ST02")
        body = segs[j + 1 : end]
        if kind == "999":
            out.groups.append(_set999(reader.element(st, 2), body, first + j + 1, name, ic))
        else:
            out.statuses.append(_set277(reader.element(st, 2), version, body, first + j + 1,
                                        name, ic))  # fmt: skip
        sets += 1
        j = end + 1
    if j >= len(segs) or segs[j][0] != "GE":
        raise _bad(name, first + min(j, len(segs) - 1), "functional group without its GE trailer")
    ge = segs[j]
    if reader.element(ge, 1) != str(sets):
        raise _bad(name, first + j, f"GE01 says {reader.element(ge, 1)} set(s), the group has"
                   f" {sets}")  # fmt: skip
    if reader.element(ge, 2) != reader.element(gs, 6):
        raise _bad(name, first + j, "GE02 does not repeat GS06")
    return j + 1


def _set999(st02: str, body: list, at: int, name: str, ic: reader.Interchange) -> GroupAck:
    if not body or body[0][0] != "AK1":
        raise _bad(name, at, "a 999 begins with AK1 (the group it acknowledges)")
    ak1 = body[0]
    g = GroupAck(st02, reader.element(ak1, 2).lstrip("0") or "0", reader.element(ak1, 3),
                 reader.element(ak1, 1))  # fmt: skip
    cur: SetAck | None = None
    err: SegmentError | None = None
    for k, s in enumerate(body[1:], start=1):
        tag = s[0]
        if tag == "AK2":
            if cur is not None:
                raise _bad(name, at + k, "AK2 before the previous set's IK5")
            cur, err = SetAck(reader.element(s, 2)), None
        elif tag == "IK3":
            if cur is None:
                raise _bad(name, at + k, "IK3 outside an AK2 loop")
            pos = reader.element(s, 2)
            if not pos.isdigit():
                raise _bad(name, at + k, "IK302 (segment position) is not a number")
            err = SegmentError(reader.element(s, 1), int(pos), reader.element(s, 3),
                               reader.element(s, 4))  # fmt: skip
            cur.errors.append(err)
        elif tag == "CTX":
            parts = ic.components(reader.element(s, 1))
            if err is not None and parts[0] == "CLM01" and len(parts) > 1:
                err.claim = parts[1]
        elif tag == "IK4":
            if err is None:
                raise _bad(name, at + k, "IK4 outside an IK3 loop")
            pos = reader.element(s, 1).replace(ic.separators.component, ":")
            err.elements.append(ElementError(pos, reader.element(s, 2), reader.element(s, 3)))
        elif tag == "IK5":
            if cur is None:
                raise _bad(name, at + k, "IK5 outside an AK2 loop")
            cur.code = reader.element(s, 1)
            cur.reasons = [x for x in s[2:7] if x]
            g.sets.append(cur)
            cur, err = None, None
        elif tag == "AK9":
            if cur is not None:
                raise _bad(name, at + k, "AK9 before the last set's IK5")
            g.code = reader.element(s, 1)
            nums = [reader.element(s, n) for n in (2, 3, 4)]
            if not all(x.isdigit() for x in nums):
                raise _bad(name, at + k, "AK902-AK904 must be numbers")
            g.counts = (int(nums[0]), int(nums[1]), int(nums[2]))
        else:
            raise _bad(name, at + k, f"{tag} is not a 999 segment")
    if cur is not None:
        raise _bad(name, at + len(body) - 1, "an AK2 loop without its IK5")
    if not g.code:
        raise _bad(name, at + len(body) - 1, "the 999 has no AK9 (the group's verdict)")
    return g


def _stcs(s: list, ic: reader.Interchange) -> list[Status]:
    out = []
    for n in (1, 10, 11):
        v = reader.element(s, n)
        if v:
            p = ic.components(v) + ["", ""]
            out.append(Status(p[0], p[1], p[2]))
    return out


_LEVELS = {"20": "A", "21": "B", "19": "C", "PT": "D", "22": "D", "23": "E"}


def _set277(
    st02: str, version: str, body: list, at: int, name: str, ic: reader.Interchange
) -> StatusSet:
    if not body or body[0][0] != "BHT":
        raise _bad(name, at, "a 277 begins with BHT")
    ss = StatusSet(st02, version, "", None)
    level = ""
    above: dict[str, list[Status]] = {"B": [], "C": []}
    claim: ClaimStatus | None = None
    line: LineStatus | None = None
    want_stc = False
    ids: dict[str, str] = {}
    for k, s in enumerate(body[1:], start=1):
        tag = s[0]
        if want_stc and tag != "STC":
            raise _bad(name, at + k, "a claim's TRN must be followed by its STC")
        if tag == "HL":
            code = reader.element(s, 3)
            if code not in _LEVELS:
                raise _bad(name, at + k, f"HL03 {code or '(empty)'} is not a 277 level")
            want = {"A": "", "B": "A", "C": "B", "D": "C", "E": "D"}[_LEVELS[code]]
            if ids.get(reader.element(s, 2), "") != want:
                raise _bad(name, at + k, f"HL {reader.element(s, 1)} does not sit under its level")
            ids[reader.element(s, 1)] = _LEVELS[code]
            level, claim, line = _LEVELS[code], None, None
            if level in ("B", "C"):
                above[level] = []
                if level == "B":
                    above["C"] = []
        elif tag == "NM1" and level == "A" and not ss.source:
            ss.source = reader.element(s, 1)
        elif tag == "TRN":
            if level in ("D", "E") and reader.element(s, 1) == "2":
                claim = ClaimStatus(reader.element(s, 2))
                claim.above = above["B"] + above["C"]
                ss.claims.append(claim)
                line = None
                want_stc = True
            elif level == "B":
                ss.batch = reader.element(s, 2)
        elif tag == "STC":
            if not reader.element(s, 1):
                raise _bad(name, at + k, "STC01 (the status) is empty")
            st = _stcs(s, ic)
            want_stc = False
            if line is not None:
                line.statuses += st
            elif claim is not None:
                claim.statuses += st
                claim.effective_on = claim.effective_on or _d8(reader.element(s, 2))
                amt = reader.element(s, 4)
                if amt and claim.charge_cents is None:
                    claim.charge_cents = _cents(amt, name, at + k)
            elif level in ("B", "C"):
                above[level] += st
        elif tag == "REF" and claim is not None:
            q, v = reader.element(s, 1), reader.element(s, 2)
            if line is not None and q == "FJ":
                line.line_ref = v
            elif line is None and q == "1K":
                claim.payer_claim_number = v
        elif tag == "SVC" and claim is not None:
            proc = ic.components(reader.element(s, 1)) + [""]
            amt = reader.element(s, 2)
            line = LineStatus(proc[1], _cents(amt, name, at + k) if amt else None, None)
            claim.lines.append(line)
    if want_stc:
        raise _bad(name, at + len(body), "a claim's TRN must be followed by its STC")
    return ss


def _cents(text: str, name: str, where: int) -> int:
    try:
        return money.parse_x12_amount(text)
    except money.MoneyError:
        raise _bad(name, where, "an amount is not a number") from None
