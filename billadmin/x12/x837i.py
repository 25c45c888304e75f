"""Rendering institutional claims as X12 837I 005010X223A2 (the electronic UB-04).

Input is the claim *content* an invoice was issued with (institutional/content.py builds it from
the institutional model), so an issued claim renders the same bytes every time. The envelope,
1000A/1000B, the subscriber and patient loops are the 837P's (x837.py); what differs (TR3
005010X223A2, section 2.3, and the examples in its section 3):

    GS08 / ST03 005010X223A2
    2000A/2010AA  the facility: PRV*BI*PXC taxonomy, NM1*85*2 facility name and NPI, N3/N4 with a
                  9-digit ZIP (the guide requires ZIP+4 for the billing provider), REF*EI tax id
    2000B SBR09   Medicare claims on the 837I go to the Part A/B MAC's FISS: MA
    2300 CLM      CLM01 our invoice number, CLM02 total charge, CLM05 facility code (type of
                  bill's first two digits) : A (uniform billing claim form bill type) : frequency
                  (1 original ... 7 replacement, 8 void), CLM07 A, CLM08 Y, CLM09 Y
         DTP*096  discharge hour (TM, HHMM) on inpatient claims when known
         DTP*434  statement from-through (RD8, always both dates)
         DTP*435  admission date and hour (DT CCYYMMDDHHMM; D8 when the hour is not known)
         CL1      admission type, admission source, patient status
         REF*G1   prior authorization; REF*F8 the payer's claim number (frequency 7 and 8)
         HI       ABK principal (POA in HI01-9), ABJ admitting, APR reasons for visit (up to 3),
                  ABN external causes, ABF others (two HIs of 12), BBR principal procedure
                  (D8 date), BBQ others, BI occurrence spans (RD8), BH occurrences (D8), BE
                  value codes (amount in HI0x-5), BG condition codes; codes without the dot
    2310A NM1*71  attending, 2310B NM1*72 operating, 2310C NM1*ZZ other operating,
    2310F NM1*DN  referring: persons (NM102 1) named by NPI (XX)
    2320/2330A/B  each other payer known on the statement date: SBR (S or T), OI, NM1*IL, NM1*PR;
                  a prior payer that answered adds CAS, AMT, and MIA (inpatient) or MOA
                  (outpatient), never both
    2400  LX, SV2 (revenue code, HC:HCPCS:modifiers when given, charge, UN or DA, quantity,
          non-covered charge in SV207), DTP*472 (D8) when the line has a date, REF*6R our
          invoice line id (the 835 returns it so payments post to the line)

The claim content keys are listed in institutional/content.py. At most 100 claims per subscriber
HL and 5,000 per transaction set, as for the 837P.
"""

from __future__ import annotations

import datetime as _dt

from .. import money
from . import x837
from .envelope import Envelope, comp, digits, ident, interchange, seg, text, transaction, x12_date

VERSION = "005010X223A2"
FILING_INDICATOR = {"medicare": "MA", "medicaid": "MC", "hmo": "HM", "commercial": "CI"}
ROLE_ENTITY = {"attending": "71", "operating": "72", "other": "ZZ", "referring": "DN"}


def header(block: dict, *, bht_ref: str, created: _dt.datetime) -> list[str]:
    """BHT, submitter (1000A) and receiver (1000B) from the practice's EDI enrolment, then the
    facility as billing provider (2000A/2010AA)."""
    sub, fac = block["submitter"], block["facility"]
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
        seg(
            "NM1", "41", "2", text(sub["name"], 60), "", "", "", "", "46",
            ident(sub["submitter_id"], 80),
        ),
        seg(
            "PER", "IC", text(sub.get("contact_name") or sub["name"], 60), "TE",
            digits(fac.get("phone") or sub["phone"]),
        ),
        seg(
            "NM1", "40", "2", text(sub["receiver_name"], 60), "", "", "", "", "46",
            ident(sub["receiver_id"], 80),
        ),
        seg("HL", "1", "", "20", "1"),
    ]  # fmt: skip
    if fac.get("taxonomy"):
        out.append(seg("PRV", "BI", "PXC", ident(fac["taxonomy"], 50)))
    out.append(
        seg("NM1", "85", "2", text(fac["name"], 60), "", "", "", "", "XX", digits(fac["npi"]))
    )
    out += x837._address(fac)
    out.append(seg("REF", "EI", digits(fac["tax_id"])))
    return out


def _subscriber_loops(c: dict, hl: int, has_patient: bool) -> list[str]:
    """2000B/2010BA/2010BB as in the 837P, with the 837I's claim filing indicator."""
    out = x837._subscriber_loops(c, hl, has_patient)
    sbr = out[1].split("*")
    sbr += [""] * (10 - len(sbr))
    sbr[9] = FILING_INDICATOR.get(c["payer"]["kind"], "CI")
    out[1] = seg(*sbr)
    return out


def _dx(qual: str, code: str, poa: str = "") -> str:
    code = ident(code).replace(".", "")
    return comp(qual, code, "", "", "", "", "", "", poa) if poa else comp(qual, code)


def _his(qual: str, items: list[str], per: int = 12, max_segments: int = 2) -> list[str]:
    return [
        seg("HI", *items[i : i + per]) for i in range(0, min(len(items), per * max_segments), per)
    ]


def _codes_hi(c: dict) -> list[str]:
    """Every HI of loop 2300, in the TR3's order."""
    dx = c["diagnoses"]
    out = []
    for q, code, poa in dx:
        if q == "ABK":
            out.append(seg("HI", _dx("ABK", code, poa)))
            break
    adm = [code for q, code, _ in dx if q == "ABJ"]
    if adm:
        out.append(seg("HI", _dx("ABJ", adm[0])))
    rv = [_dx("APR", code) for q, code, _ in dx if q == "APR"][:3]
    if rv:
        out.append(seg("HI", *rv))
    out += _his("ABN", [_dx("ABN", code, poa) for q, code, poa in dx if q == "ABN"], max_segments=1)
    out += _his("ABF", [_dx("ABF", code, poa) for q, code, poa in dx if q == "ABF"])
    procs = c.get("procedures") or []
    for q, code, day in procs:
        if q == "BBR":
            out.append(seg("HI", comp("BBR", ident(code), "D8", x12_date(day))))
            break
    out += _his(
        "BBQ",
        [comp("BBQ", ident(code), "D8", x12_date(day)) for q, code, day in procs if q == "BBQ"],
    )
    out += _his(
        "BI",
        [
            comp("BI", ident(code), "RD8", f"{x12_date(d1)}-{x12_date(d2)}")
            for code, d1, d2 in c.get("spans") or []
        ],
    )
    out += _his(
        "BH", [comp("BH", ident(code), "D8", x12_date(d)) for code, d in c.get("occurrences") or []]
    )
    out += _his(
        "BE",
        [
            comp("BE", ident(code), "", "", money.x12_amount(cents))
            for code, cents in c.get("values") or []
        ],
    )
    out += _his("BG", [comp("BG", ident(code)) for code in c.get("conditions") or []])
    return out


def _providers(c: dict) -> list[str]:
    by_role = {p["role"]: p for p in c.get("providers") or []}
    out = []
    for role in ("attending", "operating", "other", "referring"):
        p = by_role.get(role)
        if p is None:
            continue
        out.append(
            seg(
                "NM1", ROLE_ENTITY[role], "1", text(p.get("last"), 60), text(p.get("first"), 35),
                "", "", "", "XX", digits(p["npi"]),
            )
        )  # fmt: skip
        if role == "attending" and p.get("taxonomy"):
            out.append(seg("PRV", "AT", "PXC", ident(p["taxonomy"], 50)))
    return out


# Loop 2320 MIA of the 837I (TR3 005010X223A2; pyx12's map 837Q3.I.5010.X223.A1): element
# position -> key of the adjudication's "inpatient" block (the names remit/parse.py gives the
# 835's MIA elements, which sit at the same positions). Unlike the 835's MIA, MIA02 (there the
# PPS operating outlier amount) is Not Used in the 837I, so that amount is not carried. Keys
# ending in _cents are money (X12 decimal), the others counts as the 835 gave them.
MIA_ELEMENTS: dict[int, str] = {
    1: "covered_days",
    3: "lifetime_psychiatric_days",
    4: "drg_cents",
    6: "disproportionate_share_cents",
    7: "msp_pass_through_cents",
    8: "pps_capital_cents",
    9: "pps_capital_fsp_drg_cents",
    10: "pps_capital_hsp_drg_cents",
    11: "pps_capital_dsh_drg_cents",
    12: "old_capital_cents",
    13: "pps_capital_ime_cents",
    14: "pps_operating_hsp_drg_cents",
    15: "cost_report_days",
    16: "pps_operating_fsp_drg_cents",
    17: "pps_capital_outlier_cents",
    18: "indirect_teaching_cents",
    19: "nonpayable_professional_cents",
    24: "pps_capital_exception_cents",
}
MIA_REMARKS = (5, 20, 21, 22, 23)  # claim payment remark codes, in this order


def _mia(m: dict) -> str | None:
    """The 2320 MIA from a prior payer's inpatient adjudication; None without MIA01 (covered
    days or visits, the one element the segment requires)."""
    if m.get("covered_days") in (None, ""):
        return None
    el = [""] * 24
    for pos, key in MIA_ELEMENTS.items():
        v = m.get(key)
        if v is not None:
            el[pos - 1] = money.x12_amount(v) if key.endswith("_cents") else ident(v, 15)
    for pos, remark in zip(MIA_REMARKS, m.get("remarks") or [], strict=False):
        el[pos - 1] = ident(remark, 50)
    return seg("MIA", *el)


MOA_AMOUNTS = {
    2: "hcpcs_payable_cents",
    8: "esrd_payment_cents",
    9: "nonpayable_professional_cents",
}


def _moa(adj: dict, inpatient: bool) -> str | None:
    """The 2320 MOA from a prior payer's outpatient adjudication (`adj["outpatient"]`, what its
    835's MOA gave: institutional/cob.outpatient_adjudication): MOA01 the reimbursement rate as
    read, MOA02 the HCPCS payable amount, MOA03-07 the remark codes, MOA08 the ESRD payment
    amount, MOA09 the non-payable professional component amount, each only when given (all
    Situational in TR3 005010X223A2 and pyx12's map 837Q3.I.5010.X223.A1); None when nothing
    is left to carry. Claims issued before the amounts were kept (`outpatient` true, or absent
    on an outpatient claim) carry the answer's remarks only, so they render as issued."""
    m = adj.get("outpatient")
    if not isinstance(m, dict):
        if not adj.get("remarks") or (inpatient and not m):
            return None
        m = {"remarks": adj["remarks"]}
    el = [""] * 9
    rate = m.get("reimbursement_rate")
    if rate and len(digits(rate)) <= 10:  # element 954: R, at most 10 digits
        el[0] = ident(rate, 12)
    for pos, key in MOA_AMOUNTS.items():
        if m.get(key) is not None:
            el[pos - 1] = money.x12_amount(m[key])
    for pos, remark in enumerate((m.get("remarks") or [])[:5], start=3):
        el[pos - 1] = ident(remark, 50)
    while el and not el[-1]:
        el.pop()
    return seg("MOA", *el) if el else None


def _other_payers(c: dict) -> list[str]:
    """Loops 2320/2330A/2330B for each other payer known on the statement date (SBR S or T,
    OI, the other subscriber, the other payer). A prior payer that answered the claim (its
    `adjudication`, as billing/cob.py builds it for the 837P) adds its claim-level CAS, AMT*D
    (paid), AMT*EAF (remaining patient liability), then on an inpatient claim MIA (what its
    835's MIA gave: covered days, DRG and PPS amounts, remarks; `_mia`) and on an outpatient
    claim MOA (what its 835's MOA gave: rate, HCPCS payable, ESRD and non-payable professional
    amounts, remarks; `_moa`), as on an inpatient claim whose 835 gave MOA and no MIA
    (`outpatient`: an inpatient Part B claim paid by the outpatient rules); never both (TR3
    005010X223A2 loop 2320: MIA when the remittance reported inpatient adjudication, MOA when
    outpatient)."""
    out = []
    for o in c.get("other_payers") or []:
        osub, opayer = o["subscriber"], o["payer"]
        rel = osub.get("relationship", "self")
        out.append(
            seg(
                "SBR",
                o.get("responsibility") or ("S" if o.get("priority", 2) == 2 else "T"),
                x837.RELATIONSHIP.get(rel, "G8"),
                text(osub.get("group"), 50),
                "", "", "", "", "",
                FILING_INDICATOR.get(opayer["kind"], "CI"),
            )
        )  # fmt: skip
        adj = o.get("adjudication")
        if adj:
            out += x837._cas(adj["cas"])
            out.append(seg("AMT", "D", x837._amount(adj["paid_cents"])))
            if adj.get("remaining_cents"):
                out.append(seg("AMT", "EAF", x837._amount(adj["remaining_cents"])))
        out.append(seg("OI", "", "", "Y", "", "", "Y"))
        if adj:
            mia = _mia(adj.get("inpatient") or {}) if c.get("inpatient") else None
            moa = None if mia else _moa(adj, bool(c.get("inpatient")))
            out += [s for s in (mia, moa) if s]
        last, first = x837._name_parts(osub)
        out.append(
            seg("NM1", "IL", "1", last, first, "", "", "", "MI", ident(osub["member_id"], 80))
        )
        out.append(
            seg(
                "NM1", "PR", "2", text(opayer["name"], 60), "", "", "", "", "PI",
                ident(opayer.get("id") or opayer["code"], 80),
            )
        )  # fmt: skip
    return out


def claim_loops(c: dict) -> list[str]:
    """Loop 2300 and everything under it for one institutional claim."""
    tob = c["type_of_bill"]
    out = [
        seg(
            "CLM",
            ident(c["number"], 38),
            money.x12_amount(c["total_cents"]),
            "",
            "",
            comp(tob[:2], "A", c.get("frequency") or tob[2]),
            "",
            "A",
            "Y",
            "Y",
        )
    ]
    if c.get("discharge_hour") and c.get("inpatient"):
        h = c["discharge_hour"]
        out.append(seg("DTP", "096", "TM", h if len(h) == 4 else h + "00"))
    out.append(
        seg(
            "DTP",
            "434",
            "RD8",
            f"{x12_date(c['statement_from'])}-{x12_date(c['statement_through'])}",
        )
    )
    adm = c.get("admission") or {}
    if adm.get("date"):
        h = adm.get("hour")
        if h:
            out.append(
                seg("DTP", "435", "DT", x12_date(adm["date"]) + (h if len(h) == 4 else h + "00"))
            )
        else:
            out.append(seg("DTP", "435", "D8", x12_date(adm["date"])))
    out.append(
        seg(
            "CL1",
            ident(adm.get("type"), 1),
            ident(adm.get("source"), 1),
            ident(c["patient_status"], 2),
        )
    )
    if c.get("prior_auth"):
        out.append(seg("REF", "G1", ident(c["prior_auth"], 50)))
    if c.get("frequency") in ("7", "8") and c.get("payer_claim_number"):
        out.append(seg("REF", "F8", ident(c["payer_claim_number"], 50)))
    out += _codes_hi(c)
    out += _providers(c)
    out += _other_payers(c)
    for i, ln in enumerate(c["lines"], start=1):
        proc = ""
        if ln.get("code"):
            proc = comp(
                "HC", ident(ln["code"], 48), *[ident(m, 2) for m in (ln.get("modifiers") or [])][:4]
            )
        sv2 = [
            "SV2",
            ident(ln["revenue_code"], 4),
            proc,
            money.x12_amount(ln["charge_cents"]),
            ln.get("unit_type") or "UN",
            str(ln.get("units") or 1),
            "",
            money.x12_amount(ln["non_covered_cents"]) if ln.get("non_covered_cents") else "",
        ]
        out.append(f"LX*{i}")
        out.append(seg(*sv2))
        if ln.get("date"):
            out.append(seg("DTP", "472", "D8", x12_date(ln["date"])))
        if ln.get("invoice_line_id"):
            out.append(f"REF*6R*{ln['invoice_line_id']}")
        for a in ln.get("adjudications") or []:
            out += _line_adjudication(a, ln, proc)
    return out


def _line_adjudication(a: dict, ln: dict, proc: str) -> list[str]:
    """Loop 2430 for one prior payer that answered the line (TR3 005010X223A2): SVD (SVD01 that
    payer's 2330B NM109, SVD02 paid, SVD03 the HCPCS billed, SVD04 the revenue code, SVD05
    units), its line CAS and DTP*573 (the adjudication date)."""
    out = [
        seg(
            "SVD",
            ident(a["payer_id"], 80),
            x837._amount(a["paid_cents"]),
            proc,
            ident(ln["revenue_code"], 4),
            str(ln.get("units") or 1),
        )
    ]
    out += x837._cas(a["cas"])
    out.append(seg("DTP", "573", "D8", x12_date(a["date"])))
    return out


def transaction_body(
    block: dict, claims: list[dict], *, bht_ref: str, created: _dt.datetime
) -> list[str]:
    """The segments between ST and SE for a list of one facility's claims to one payer."""
    body = header(block, bht_ref=bht_ref, created=created)
    groups: dict[tuple, list[dict]] = {}
    for c in claims:
        groups.setdefault(x837._subscriber_key(c), []).append(c)
    hl = 1
    for group in groups.values():
        for start in range(0, len(group), x837.CLAIMS_PER_SUBSCRIBER_HL):
            chunk = group[start : start + x837.CLAIMS_PER_SUBSCRIBER_HL]
            first = chunk[0]
            has_patient = first.get("patient") is not None
            hl += 1
            sub_hl = hl
            body += _subscriber_loops(first, sub_hl, has_patient)
            if has_patient:
                hl += 1
                body += x837._patient_loops(first, hl, sub_hl)
            for c in chunk:
                body += claim_loops(c)
    return body


def render(
    env: Envelope, block: dict, claims: list[dict], *, claims_per_st: int | None = None
) -> x837.Rendered:
    """One interchange (GS08 005010X223A2) of one facility's claims to one payer; `block` is
    {"submitter": practice_block, "facility": facility block}."""
    import dataclasses

    env = dataclasses.replace(env, version=VERSION)
    per = claims_per_st or x837.CLAIMS_PER_ST
    sets = []
    claim_st: list[str] = []
    for n, start in enumerate(range(0, len(claims), per), start=1):
        chunk = claims[start : start + per]
        st_control = f"{n:04d}"
        body = transaction_body(block, chunk, bht_ref=f"{env.isa_control}-{n}", created=env.created)
        sets.append(transaction(st_control, body, version=VERSION))
        claim_st += [st_control] * len(chunk)
    segments = interchange(env, sets)
    ranges = []
    i = 2
    for ts in sets:
        ranges.append((ts[0].split("*")[2], i, i + len(ts) - 1))
        i += len(ts)
    return x837.Rendered(segments, ranges, claim_st)
