"""Rendering professional claims as X12 837P 005010X222A1 (the loops and segments we send).

Input is the claim *content* an invoice was issued with (a plain dict, see billing/snapshot.py),
so an issued claim renders the same bytes every time. Loop structure (TR3 005010X222A1, section
2.3 and the examples in its section 3):

    ST  BHT
    1000A  NM1*41 submitter, PER*IC contact
    1000B  NM1*40 receiver
    2000A  HL*n**20*1 billing provider, PRV*BI
      2010AA NM1*85, N3, N4 (9-digit ZIP), REF*EI tax id
      2000B  HL*n*1*22*{0|1} subscriber, SBR (payer responsibility P, or S/T on a COB claim;
             relationship 18 when the patient is the subscriber, group, SBR05 Medicare secondary
             payer type when Medicare is not primary, claim filing indicator SBR09)
        2010BA NM1*IL (MI member id), N3/N4/DMG only when the subscriber is the patient
        2010BB NM1*PR (PI payer id)
        2000C  HL*n*p*23*0 patient (only when the patient is not the subscriber), PAT01
          2010CA NM1*QC, N3, N4, DMG
        2300   CLM (CLM01 patient control number = our invoice number, CLM05 place of service :
               B : frequency code 1 original / 7 replacement / 8 void), AMT*F5 patient amount
               paid (collected copays), REF*F8 payer claim control number (frequency 7 and 8),
               HI with ICD-10-CM qualifiers ABK (principal) and ABF (others), no decimal point;
               when recorded (issue 20): CLM11 accident cause, DTP*431 onset / 454 initial
               treatment / 304 last seen / 439 accident, REF*9F referral, REF*G1 prior
               authorization, REF*X4 CLIA (claim level when one value serves every line);
               NTE*ADD on each claim of an encounter split in several (billing/split.py)
          2310A  NM1*DN referring provider (one for the whole claim)
          2310B  NM1*82 rendering provider + PRV*PE, when it differs from the billing provider
          2320   other payers known on the date of service: SBR (P/S/T), and for a payer that has
                 answered (COB, billing/cob.py) its claim-level CAS, AMT*D paid, AMT*EAF remaining
                 patient liability; OI; MOA remark codes; 2330A NM1*IL, 2330B NM1*PR
          2400   LX, SV1 (HC:code:modifiers, charge, UN, units, diagnosis pointers), DTP*472,
                 REF*6R line item control number = our invoice line id (the 835 returns it in
                 REF*6R so payments post to the right line); REF*G1/X4/9F when they differ
                 by line
            2410 LIN*N4 (11-digit NDC), CTP (quantity, unit F2/GR/ME/ML/UN) for a drug line
            2420E NM1*DK ordering provider; 2420F NM1*DN referring provider when lines differ
            2430 per prior payer that answered the line: SVD (SVD01 = its 2330B NM109, SVD02
                 paid), CAS, DTP*573 adjudication date

Claim filing indicator (SBR09, code source 1032): Medicare Part B MB, Medicaid MC, HMO HM,
commercial CI. Patient relationship (PAT01 / SBR02 in 2320, code source 1069): spouse 01,
child 19, other G8, self 18. A subscriber HL holds at most 100 claims (2300 repeat 100) and a
transaction set at most 5,000 claims (TR3 section 1.4.1 recommendation).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from functools import lru_cache

from .. import money
from .envelope import Envelope, comp, digits, ident, interchange, seg, text, transaction, x12_date

FILING_INDICATOR = {"medicare": "MB", "medicaid": "MC", "hmo": "HM", "commercial": "CI"}
RELATIONSHIP = {"self": "18", "spouse": "01", "child": "19", "other": "G8"}
CLAIMS_PER_ST = 5000
CLAIMS_PER_SUBSCRIBER_HL = 100


@dataclass
class Rendered:
    """An 837P interchange: its segments and where each transaction set and claim sits."""

    segments: list[str]
    st_sets: list[tuple[str, int, int]] = field(
        default_factory=list
    )  # (ST02, first seg index, last seg index)
    claim_st: list[str] = field(default_factory=list)  # ST02 of each claim, in input order

    @property
    def text(self) -> str:
        from .envelope import to_text

        return to_text(self.segments)


def _name_parts(p: dict) -> tuple[str, str]:
    return text(p.get("last"), 60), text(p.get("first"), 35)


def _address(p: dict) -> list[str]:
    out = [seg("N3", text(p.get("address1"), 55), text(p.get("address2"), 55))]
    out.append(
        seg("N4", text(p.get("city"), 30), text(p.get("state"), 2), digits(p.get("zip"))[:9])
    )
    return out


def _dmg(p: dict) -> str:
    sex = (p.get("sex") or "U").upper()
    return seg("DMG", "D8", x12_date(p["dob"]), sex if sex in ("M", "F", "U") else "U")


def header(practice: dict, *, bht_ref: str, created: _dt.datetime) -> list[str]:
    """BHT, submitter (1000A), receiver (1000B), billing provider (2000A/2010AA)."""
    name = text(practice["name"], 60)
    out = [
        seg(
            "BHT",
            "0019",
            "00",
            ident(bht_ref, 50),
            created.strftime("%Y%m%d"),
            created.strftime("%H%M"),
            "CH",
        ),
        seg("NM1", "41", "2", name, "", "", "", "", "46", ident(practice["submitter_id"], 80)),
        seg(
            "PER",
            "IC",
            text(practice.get("contact_name") or practice["name"], 60),
            "TE",
            digits(practice["phone"]),
        ),
        seg(
            "NM1",
            "40",
            "2",
            text(practice["receiver_name"], 60),
            "",
            "",
            "",
            "",
            "46",
            ident(practice["receiver_id"], 80),
        ),
        seg("HL", "1", "", "20", "1"),
    ]
    if practice.get("taxonomy"):
        out.append(seg("PRV", "BI", "PXC", ident(practice["taxonomy"], 50)))
    out.append(seg("NM1", "85", "2", name, "", "", "", "", "XX", digits(practice["npi"])))
    out += _address(practice)
    out.append(seg("REF", "EI", digits(practice["tax_id"])))
    return out


def _parties(c: dict) -> tuple:
    """What a claim's subscriber loop (2000B, 2000C) is written from: claims with equal parties
    share one (payer, subscriber, patient, SBR01, SBR05)."""
    return (
        c["payer"],
        c["subscriber"],
        c.get("patient") or None,
        c.get("responsibility") or "P",
        c.get("msp_type"),
    )


def _subscriber_key(c: dict) -> tuple:
    """_parties in a hashable form (x837i groups its claims by it)."""
    return tuple(frozenset(p.items()) if isinstance(p, dict) else p for p in _parties(c))


def _subscriber_groups(claims: list[dict]) -> list[list[dict]]:
    """The claims by subscriber loop, in order of first appearance: the groups _subscriber_key
    gives. Issue 15: hashing every claim's parties cost a quarter of rendering it, so they are
    compared as dicts instead, among the groups of the same member id (one or two)."""
    groups: list[list[dict]] = []
    by_member: dict = {}
    for c in claims:
        parties = _parties(c)
        same = by_member.setdefault(parties[1].get("member_id"), [])
        for other, members in same:
            if other == parties:
                members.append(c)
                break
        else:
            same.append((parties, [c]))
            groups.append(same[-1][1])
    return groups


def _subscriber_loops(c: dict, hl: int, has_patient: bool) -> list[str]:
    sub, payer = c["subscriber"], c["payer"]
    self_ = c.get("patient") is None
    out = [
        seg("HL", str(hl), "1", "22", "1" if has_patient else "0"),
        seg(
            "SBR",
            c.get("responsibility") or "P",
            "18" if self_ else "",
            text(sub.get("group"), 50),
            "",
            ident(c.get("msp_type"), 3),
            "",
            "",
            "",
            FILING_INDICATOR.get(payer["kind"], "CI"),
        ),
    ]
    last, first = _name_parts(sub)
    out.append(seg("NM1", "IL", "1", last, first, "", "", "", "MI", ident(sub["member_id"], 80)))
    if self_:
        # N3/N4/DMG in 2010BA: "Required when the patient is the subscriber ... If not required
        # by this implementation guide, do not send" (TR3; X12 RFI 2281): a dependent's own
        # address and DMG go in 2010CA, the subscriber's birth date is not sent
        out += _address(sub)
        out.append(_dmg(sub))
    out.append(
        seg("NM1", "PR", "2", text(payer["name"], 60), "", "", "", "", "PI", ident(payer["id"], 80))
    )
    return out


def _patient_loops(c: dict, hl: int, parent: int) -> list[str]:
    p = c["patient"]
    rel = c["subscriber"].get("relationship", "other")
    last, first = _name_parts(p)
    return [
        seg("HL", str(hl), str(parent), "23", "0"),
        seg("PAT", RELATIONSHIP.get(rel, "G8")),
        seg("NM1", "QC", "1", last, first),
        *_address(p),
        _dmg(p),
    ]


@lru_cache(maxsize=4096)
def _rendering(npi, last, first, taxonomy, practice_npi) -> tuple[str, ...]:
    """Loop 2310B, only when the rendering provider is not the billing provider."""
    if digits(npi) == digits(practice_npi):
        return ()
    out = [seg("NM1", "82", "1", text(last, 60), text(first, 35), "", "", "", "XX", digits(npi))]
    if taxonomy:
        out.append(seg("PRV", "PE", "PXC", ident(taxonomy, 50)))
    return tuple(out)


@lru_cache(maxsize=16384)
def _hi(diagnoses: tuple[str, ...], icd9: bool = False) -> str:
    """HI: ICD-10-CM without the dot, ABK for the principal diagnosis, ABF for the others;
    a date of service before 2015-10-01 is ICD-9-CM, qualifiers BK and BF (X222A1 HI01-1)."""
    dx = [ident(d).replace(".", "") for d in diagnoses]
    p, o = ("BK", "BF") if icd9 else ("ABK", "ABF")
    return seg("HI", *[comp(p if i == 0 else o, d) for i, d in enumerate(dx)])


# procedure codes and modifiers repeat on every claim: each distinct one made safe once
_ident = lru_cache(maxsize=16384)(ident)


@lru_cache(maxsize=16384, typed=True)
def _procedure(code, modifiers: tuple) -> str:
    """SV101: HC, the procedure code and up to four modifiers (empty ones left out)."""
    return ":".join(["HC", _ident(code, 48)] + [_ident(m, 2) for m in modifiers if m][:4])


@lru_cache(maxsize=65536, typed=True)
def _sv1(code, modifiers: tuple, charge_cents, units, pointers: tuple) -> str:
    """SV1 of a line: the same procedure, charge, units and pointers recur on many lines of a
    large run, so each distinct SV1 is written once (typed: units 1 and 1.0 write differently;
    modifiers are text, content.modifiers_of)."""
    return (
        f"SV1*{_procedure(code, modifiers)}*{_amount(charge_cents)}*UN*{units or 1}***"
        f"{_pointers(pointers)}"
    )


@lru_cache(maxsize=1024)
def _pointers(pointers: tuple) -> str:
    """SV107: up to four diagnosis pointers (1, 1.0 and True are one key to this cache, and
    int() writes each of them 1)."""
    return ":".join(str(int(p)) for p in pointers[:4])


@lru_cache(maxsize=16384)
def _amount(cents: int) -> str:
    return money.x12_amount(cents)


# 2300 DTP qualifiers in the order the TR3 lists the segments (onset, initial treatment, last
# seen, accident)
CLAIM_DATES = (
    ("onset_date", "431"),
    ("initial_treatment_date", "454"),
    ("last_seen_date", "304"),
    ("accident_date", "439"),
)


def _person_nm1(entity: str, p: dict) -> str:
    """NM1 of a referring (DN) or ordering (DK) provider: a person (NM102 1), named by NPI (XX)."""
    return _person_nm1_of(entity, p.get("last"), p.get("first"), p["npi"])


@lru_cache(maxsize=4096, typed=True)
def _person_nm1_of(entity: str, last, first, npi) -> str:
    # the same few providers order and refer on many lines: each one's NM1 written once
    return seg("NM1", entity, "1", text(last, 60), text(first, 35), "", "", "", "XX", digits(npi))


def _ref(qualifier: str, value) -> str:
    """REF*qualifier*identifier (at most 50), as seg() writes it: REF*qualifier when nothing
    of the value can be sent."""
    v = ident(value, 50)
    return f"REF*{qualifier}*{v}" if v else f"REF*{qualifier}"


# a line with none of these keys has only its REF*6R after DTP*472 (_service_lines' fast path)
_LINE_FIELD_KEYS = frozenset(
    ("prior_auth", "clia", "referral_number", "drug", "ordering", "referring")
)


def _line_fields(ln: dict) -> tuple[list[str], list[str]]:
    """(2400 REF*G1/REF*6R/REF*X4/REF*9F in TR3 order, loops 2410/2420E/2420F) of one line."""
    refs: list[str] = []
    if ln.get("prior_auth"):
        refs.append(_ref("G1", ln["prior_auth"]))
    if ln.get("invoice_line_id"):
        refs.append(f"REF*6R*{ln['invoice_line_id']}")
    if ln.get("clia"):
        refs.append(_ref("X4", ln["clia"]))
    if ln.get("referral_number"):
        refs.append(_ref("9F", ln["referral_number"]))
    loops: list[str] = []
    drug = ln.get("drug")
    if drug:
        # 2410: LIN03 the 11-digit NDC (qualifier N4), CTP04 quantity, CTP05-1 unit of measure
        loops.append(seg("LIN", "", "N4", digits(drug["ndc"])))
        loops.append(
            seg("CTP", "", "", "", ident(drug.get("quantity") or "1"), drug.get("unit") or "UN")
        )
    if ln.get("ordering"):
        loops.append(_person_nm1("DK", ln["ordering"]))
    if ln.get("referring"):
        loops.append(_person_nm1("DN", ln["referring"]))
    return refs, loops


def part_note(split: dict) -> str:
    """The claim note of part k of n of a split encounter (billing/split.py): NTE02 of its
    2300 NTE*ADD, and item 19 of its CMS-1500 (billing/cms1500.py)."""
    return f"CLAIM {split['part']} OF {split['of']} FOR THE SAME VISIT (50 LINES A CLAIM)"


def claim_loops(c: dict, practice_npi: str) -> list[str]:
    """Loop 2300 and everything under it for one claim."""
    out = _claim_segments(c)
    if c.get("referring"):
        out.append(_person_nm1("DN", c["referring"]))  # 2310A
    r = c.get("rendering")
    if r:
        out += _rendering(
            r.get("npi"), r.get("last"), r.get("first"), r.get("taxonomy"), practice_npi
        )
    if c.get("other_payers"):
        out += _other_payer_loops(c["other_payers"])
    out += _service_lines(c)
    return out


def _claim_segments(c: dict) -> list[str]:
    """CLM and the 2300 segments after it, through HI."""
    # CLM: CLM05 place of service : B : frequency (both defaulted, never empty), then CLM06-09
    clm = (
        f"CLM*{ident(c['number'], 38)}*{_amount(c['total_cents'])}***"
        f"{c.get('place_of_service') or '11'}:B:{c.get('frequency') or '1'}*Y*A*Y*Y"
    )
    acc = c.get("accident")
    if acc:
        # CLM11 related causes: AA auto (CLM11-4 the state), EM employment, OA other accident
        cause = ident(acc["cause"], 3)
        clm11 = comp(cause, "", "", ident(acc.get("state"), 2)) if cause == "AA" else cause
        if clm11:  # an empty one is left out with the empty CLM10 before it (as seg() would)
            clm += f"**{clm11}"
    out = [clm]
    dates = c.get("dates")
    if dates:
        out += [seg("DTP", q, "D8", x12_date(dates[k])) for k, q in CLAIM_DATES if dates.get(k)]
    if c.get("copay_cents"):
        out.append(seg("AMT", "F5", money.x12_amount(c["copay_cents"])))
    if c.get("referral_number"):
        out.append(_ref("9F", c["referral_number"]))
    if c.get("prior_auth"):
        out.append(_ref("G1", c["prior_auth"]))
    if c.get("frequency") in ("7", "8") and c.get("payer_claim_number"):
        out.append(_ref("F8", c["payer_claim_number"]))
    if c.get("clia"):
        out.append(_ref("X4", c["clia"]))
    if c.get("split"):  # one of the claims of a long encounter (billing/split.py): 2300 NTE
        out.append(seg("NTE", "ADD", part_note(c["split"])))
    out.append(_hi(tuple(c["diagnoses"][:12]), c["date_of_service"] < "2015-10-01"))
    return out


def _other_payer_loops(other_payers: list[dict]) -> list[str]:
    """Loops 2320/2330A/2330B, one per other payer (with its answer when it has adjudicated)."""
    out: list[str] = []
    for o in other_payers:
        osub, opayer = o["subscriber"], o["payer"]
        rel = osub.get("relationship", "self")
        out.append(
            seg(
                "SBR",
                o.get("responsibility") or ("S" if o.get("priority", 2) == 2 else "T"),
                RELATIONSHIP.get(rel, "G8"),
                text(osub.get("group"), 50),
                "",
                "",
                "",
                "",
                "",
                FILING_INDICATOR.get(opayer["kind"], "CI"),
            )
        )
        adj = o.get("adjudication")
        if adj:
            out += _cas(adj["cas"])
            out.append(seg("AMT", "D", _amount(adj["paid_cents"])))
            if adj.get("remaining_cents"):
                out.append(seg("AMT", "EAF", _amount(adj["remaining_cents"])))
        out.append(seg("OI", "", "", "Y", "P", "", "Y"))
        if adj and adj.get("remarks"):
            out.append(seg("MOA", "", "", *[ident(r, 50) for r in adj["remarks"][:5]]))
        last, first = _name_parts(osub)
        out.append(
            seg("NM1", "IL", "1", last, first, "", "", "", "MI", ident(osub["member_id"], 80))
        )
        out.append(
            seg(
                "NM1",
                "PR",
                "2",
                text(opayer["name"], 60),
                "",
                "",
                "",
                "",
                "PI",
                ident(opayer.get("id") or opayer["code"], 80),
            )
        )
    return out


def _service_lines(c: dict) -> list[str]:
    """Loops 2400 (and 2410, 2420E/F, 2430 under them), one per line."""
    # the hot loop of a large run: f-strings over the same element rules as seg()/comp(), each
    # distinct SV1 cached (few procedure, charge and pointer combinations on many lines)
    out: list[str] = []
    add = out.append
    dtp = f"DTP*472*D8*{x12_date(c['date_of_service'])}"  # a line's own date when it has one
    for i, ln in enumerate(c["lines"], start=1):
        mods = ln.get("modifiers")
        mods = tuple(mods) if mods else ()
        d = ln.get("date_of_service")
        add(f"LX*{i}")
        add(_sv1(ln["code"], mods, ln["charge_cents"], ln.get("units"), tuple(ln["pointers"])))
        add(f"DTP*472*D8*{x12_date(d)}" if d else dtp)
        if not _LINE_FIELD_KEYS.isdisjoint(ln):
            refs, loops = _line_fields(ln)
            out += refs
            out += loops
        elif ln.get("invoice_line_id"):
            add(f"REF*6R*{ln['invoice_line_id']}")
        if ln.get("adjudications"):
            out += _line_adjudication(ln, _procedure(ln["code"], mods))
    return out


def _cas(adjustments: list[list]) -> list[str]:
    """CAS segments from [group, reason, cents] in order: one per group code, at most six
    reason/amount pairs each (CAS02-CAS19), as the prior payer's 835 reported them."""
    out: list[str] = []
    by_group: dict[str, list[str]] = {}
    for group, reason, cents in adjustments:
        by_group.setdefault(group, []).append(reason)
        by_group[group] += [_amount(cents), ""]
    for group, triplets in by_group.items():
        for start in range(0, len(triplets), 18):
            chunk = triplets[start : start + 18]
            while chunk and chunk[-1] == "":
                chunk.pop()
            out.append(seg("CAS", ident(group, 2), *chunk))
    return out


def _line_adjudication(ln: dict, proc: str) -> list[str]:
    """Loop 2430, one per prior payer that answered the line: SVD (SVD01 = that payer's 2330B
    NM109, SVD02 paid, the procedure billed, units), its line CAS and DTP*573 (adjudication)."""
    out = []
    for a in ln["adjudications"]:
        out.append(
            seg(
                "SVD",
                ident(a["payer_id"], 80),
                _amount(a["paid_cents"]),
                proc,
                "",
                str(ln.get("units") or 1),
            )
        )
        out += _cas(a["cas"])
        out.append(seg("DTP", "573", "D8", x12_date(a["date"])))
    return out


def transaction_body(
    practice: dict, claims: list[dict], *, bht_ref: str, created: _dt.datetime
) -> list[str]:
    """The segments between ST and SE for a list of claims to one payer."""
    body = header(practice, bht_ref=bht_ref, created=created)
    hl = 1
    for group in _subscriber_groups(claims):
        for start in range(0, len(group), CLAIMS_PER_SUBSCRIBER_HL):
            chunk = group[start : start + CLAIMS_PER_SUBSCRIBER_HL]
            first = chunk[0]
            has_patient = first.get("patient") is not None
            hl += 1
            sub_hl = hl
            body += _subscriber_loops(first, sub_hl, has_patient)
            if has_patient:
                hl += 1
                body += _patient_loops(first, hl, sub_hl)
            for c in chunk:
                body += claim_loops(c, practice["npi"])
    return body


def render(
    env: Envelope, practice: dict, claims: list[dict], *, claims_per_st: int | None = None
) -> Rendered:
    """One interchange with one functional group; claims split over transaction sets."""
    claims_per_st = claims_per_st or CLAIMS_PER_ST
    sets = []
    claim_st: list[str] = []
    for n, start in enumerate(range(0, len(claims), claims_per_st), start=1):
        chunk = claims[start : start + claims_per_st]
        st_control = f"{n:04d}"
        body = transaction_body(
            practice, chunk, bht_ref=f"{env.isa_control}-{n}", created=env.created
        )
        sets.append(transaction(st_control, body))
        claim_st += [st_control] * len(chunk)
    segments = interchange(env, sets)
    ranges = []
    i = 2
    for ts in sets:
        ranges.append((ts[0].split("*")[2], i, i + len(ts) - 1))
        i += len(ts)
    return Rendered(segments, ranges, claim_st)
