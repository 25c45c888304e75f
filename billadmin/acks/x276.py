"""Writing 276 claim status requests (005010X212) and checking them before they are written.

Structure (TR3 005010X212, section 2.4; the guide's example "claim-request" in section 3):

    ST*276 BHT*0010*13*ref*date*time
    2000A HL*1**20*1   2100A NM1*PR*2*payer*****PI*payer id
    2000B HL*2*1*21*1  2100B NM1*41*2*practice*****46*submitter id (the information receiver)
    2000C HL*3*2*19*1  2100C NM1*1P*2*practice*****XX*NPI (the billing provider)
    2000D HL*n*3*22*{0|1} subscriber: DMG when the subscriber is the patient, NM1*IL (MI member id)
      2200D TRN*1*trace, REF*1K payer claim number when known, REF*EJ patient control number
            (= our CLM01), AMT*T3 total claim charge, DTP*472 date of service
    2000E HL*m*n*23 dependent (when the patient is not the subscriber): DMG, NM1*QC, then 2200E
          as 2200D

One transaction set per payer holds every claim asked about (one subscriber HL each). The
check (`check`) reads the text back and refuses it when an envelope count or control number
does not close, an HL names a parent that is not the level above it, a level lacks its NM1, or
a claim (from its TRN) is not named (REF*EJ patient control number, REF*1K payer claim number
or REF*XZ prescription number) or lacks its date of service (DTP*472, claim or line): the
TR3's requirements that the linuxforhealth-x12 276 model (the test oracle) checks as well.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from .. import money
from ..x12 import reader
from ..x12.envelope import Envelope, digits, ident, interchange, seg, text, to_text, transaction

VERSION = "005010X212"


@dataclass
class Ask:
    trace: str
    claim_number: str
    payer_claim_number: str | None
    total_cents: int
    date_of_service: str
    subscriber: dict  # the claim content's subscriber block (last, first, dob, sex, member_id)
    patient: dict | None  # the claim content's patient block, None when the subscriber


def _dmg(p: dict) -> str:
    return seg("DMG", "D8", (p.get("dob") or "").replace("-", ""), p.get("sex") or "U")


def _claim(a: Ask) -> list[str]:
    out = [seg("TRN", "1", ident(a.trace, 50))]
    if a.payer_claim_number:
        out.append(seg("REF", "1K", ident(a.payer_claim_number, 50)))
    out.append(seg("REF", "EJ", ident(a.claim_number, 50)))
    out.append(seg("AMT", "T3", money.x12_amount(a.total_cents)))
    out.append(seg("DTP", "472", "D8", a.date_of_service.replace("-", "")))
    return out


def body(practice: dict, payer: dict, asks: list[Ask], created: _dt.datetime) -> list[str]:
    name = text(practice["name"], 60)
    out = [
        seg("BHT", "0010", "13", ident(f"276{created:%Y%m%d%H%M}", 50),
            created.strftime("%Y%m%d"), created.strftime("%H%M")),
        seg("HL", "1", "", "20", "1"),
        seg("NM1", "PR", "2", text(payer["name"], 60), "", "", "", "", "PI", ident(payer["x12"], 80)),
        seg("HL", "2", "1", "21", "1"),
        seg("NM1", "41", "2", name, "", "", "", "", "46", ident(practice["submitter_id"], 80)),
        seg("HL", "3", "2", "19", "1"),
        seg("NM1", "1P", "2", name, "", "", "", "", "XX", digits(practice["npi"])),
    ]  # fmt: skip
    hl = 3
    for a in asks:
        hl += 1
        sub = a.subscriber
        out.append(seg("HL", str(hl), "3", "22", "1" if a.patient else "0"))
        if not a.patient:
            out.append(_dmg(sub))
        out.append(seg("NM1", "IL", "1", text(sub.get("last"), 60), text(sub.get("first"), 35),
                       "", "", "", "MI", ident(sub.get("member_id"), 80)))  # fmt: skip
        if a.patient:
            hl += 1
            p = a.patient
            out += [
                seg("HL", str(hl), str(hl - 1), "23"),
                _dmg(p),
                seg("NM1", "QC", "1", text(p.get("last"), 60), text(p.get("first"), 35)),
            ]
        out += _claim(a)
    return out


def build(env: Envelope, practice: dict, payer: dict, asks: list[Ask]) -> str:
    ts = transaction("0001", body(practice, payer, asks, env.created), set_id="276",
                     version=VERSION)  # fmt: skip
    return to_text(interchange(env, [ts]))


_PARENT = {"20": None, "21": "20", "19": "21", "22": "19", "23": "22"}
_NM1 = {"20": "PR", "21": "41", "19": "1P", "22": "IL", "23": "QC"}


def check(data: str) -> list[str]:
    """Problems of a 276 we built (module docstring), by segment number; none when it is good."""
    problems: list[str] = []
    try:
        ics = reader.interchanges(data)
    except reader.X12SyntaxError as e:
        return [str(e)]
    for ic in ics:
        segs = ic.segments
        if segs[-1][0] != "IEA" or segs[-1][2] != segs[0][13]:
            problems.append("IEA02 does not repeat ISA13")
        sts = [i for i, s in enumerate(segs) if s[0] == "ST"]
        for i in sts:
            end = next((k for k in range(i, len(segs)) if segs[k][0] == "SE"), None)
            if end is None:
                problems.append(f"segment {i + 1}: ST without SE")
                continue
            if segs[end][1] != str(end - i + 1) or segs[end][2] != segs[i][2]:
                problems.append(f"segment {end + 1}: SE01/SE02 do not close the set")
            if reader.element(segs[i], 3) != VERSION:
                problems.append(f"segment {i + 1}: ST03 is not {VERSION}")
            problems += _check_set(segs, i + 1, end)
    return problems


def _check_set(segs: list, start: int, end: int) -> list[str]:
    out: list[str] = []
    levels: dict[str, str] = {}
    claim_start = None
    level = None

    def close_claim(at: int) -> None:
        if claim_start is None:
            return
        tags = {(s[0], reader.element(s, 1)) for s in segs[claim_start:at]}
        if not tags & {("REF", "EJ"), ("REF", "1K"), ("REF", "XZ")}:
            out.append(f"segment {claim_start + 1}: the claim is not named (REF*EJ, 1K or XZ)")
        if ("DTP", "472") not in tags:
            out.append(f"segment {claim_start + 1}: the claim lacks its date of service (DTP*472)")

    for k in range(start, end):
        s = segs[k]
        if s[0] == "HL":
            close_claim(k)
            claim_start = None
            hid, parent, code = reader.element(s, 1), reader.element(s, 2), reader.element(s, 3)
            want = _PARENT.get(code, "?")
            if want == "?" or (want and levels.get(parent) != want) or (not want and parent):
                out.append(f"segment {k + 1}: HL {hid} ({code}) does not sit under its level")
            levels[hid] = code
            level = code
            nxt = segs[k + 1] if k + 1 < end else ["?"]
            if nxt[0] == "DMG":
                nxt = segs[k + 2]
            if nxt[0] != "NM1" or reader.element(nxt, 1) != _NM1.get(code):
                out.append(f"segment {k + 1}: HL {hid} lacks its NM1*{_NM1.get(code)}")
        elif s[0] == "TRN":
            if level not in ("22", "23"):
                out.append(f"segment {k + 1}: TRN outside a subscriber or dependent level")
            claim_start = k
    close_claim(end)
    return out
