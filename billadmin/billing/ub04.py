"""An institutional claim on the paper UB-04 (CMS-1450) form, as a PDF.

The renderer works from a plain dict of form-locator values (``FIELDS`` below lists the keys),
so it can be built and tested from any source: `fields_from_content` fills it from the content
an institutional claim was issued with (institutional/content.py), the content its 837I is
rendered from, so the paper and the electronic claim say the same.

The grid: like the CMS-1500 (cms1500.py, whose grid helpers this module shares), the UB-04 is
laid out for 10 characters per inch and 6 lines per inch on letter paper, Courier 12 pt, so a
value printed at its column sits in its box on the red drop-out form with no scaling. Each
form locator's (line, column, width) comes from the UB-04 form definition of the VA's VistA
Integrated Billing package (public domain: file 364.6, IB FORM SKELETON DEFINITION, form 3),
which has printed UB-04s on this grid since 2007. What goes in each locator follows the
Medicare Claims Processing Manual, Pub. 100-04, chapter 25, section 75 (75.1 FL 1-15, 75.2
FL 16-30, 75.3 FL 31-41, 75.4 FL 42, 75.5 FL 43-65, 75.6 FL 66-81).

Pages: 22 revenue lines a page (FL 42-48, grid lines 19-40). Line 23 (grid line 41) carries
revenue code 0001, "PAGE n OF m" in FL 43 and the creation date in FL 45 on every page, and the
claim totals in FL 47 and 48 on the last page only. Every page repeats the other locators.

Choices, where the manual leaves room:
- Dates are MMDDYY without separators (FL 6, 12, 31-36, 45, 74), MMDDYYYY in FL 10; amounts
  with a space where the form's printed line divides dollars from cents; codes without the
  decimal point. FL 4 has its leading zero.
- FL 3a is our claim number (CLM01 on the 837I: the number the payer sends back); FL 3b the
  medical record number when the content carries one (`mrn`).
- Occurrence codes and value codes fill the "a" row across (31a-34a, 39a-41a) before "b".
- FL 38 carries the payer's name and address (the form is mailed in a window envelope).
- FL 50-55 row A is the primary payer; FL 54 shows what each other payer paid, FL 55 the
  amount due from the payer billed (total charges less prior payments).
- FL 80 remarks may carry up to four lines of 24 characters.
- Codes and descriptions are the claim's own; FL 43 prints a description only when the claim
  carries one (NUBC's revenue-code descriptors are licensed text: we print none of it).
- A claim with more diagnoses (18), procedures (6), condition codes (11), occurrences (8),
  spans (4) or value codes (12) than the form has boxes is refused (TooMuchForPaper): it is
  billed on the 837I, which has room for them.
Nothing here is written to a log: the form is PHI and goes only where the caller writes it.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

from ..errors import BadInput
from .cms1500 import _amount, _digits, _name, _Page, grid_pdf

if TYPE_CHECKING:
    from .x12files import X12Run

LINES_PER_PAGE = 22
FIRST_LINE = 19  # grid line of revenue line 1
TOTAL_LINE = 41  # grid line of line 23 (page count, creation date, totals)

# The form-locator dict: key -> what it holds. Dates are ISO text, amounts integer cents.
FIELDS = {
    "1": "billing provider: {name, address1, city, state, zip, phone}",
    "3a": "patient control number (our claim number)",
    "3b": "medical record number",
    "4": "type of bill, 3 or 4 characters",
    "5": "federal tax number",
    "6": "statement period [from, through]",
    "8a": "patient identifier (when not the insured's id)",
    "8b": "patient name",
    "9": "patient address {address1, city, state, zip, country}",
    "10": "birth date",
    "11": "sex",
    "12": "admission / start of care date",
    "13": "admission hour (HH)",
    "14": "priority (type) of admission or visit",
    "15": "point of origin (source) of admission",
    "16": "discharge hour (HH)",
    "17": "patient discharge status",
    "18-28": "condition codes [code]",
    "29": "accident state",
    "31-34": "occurrence codes [[code, date]]",
    "35-36": "occurrence spans [[code, from, through]]",
    "38": "responsible party (we print the payer's name and address) [line]",
    "39-41": "value codes [[code, cents]]",
    "42-48": "revenue lines [{revenue_code, description, hcpcs, modifiers, rate_cents, date,"
    " units, charge_cents, non_covered_cents}]",
    "45": "creation date (line 23)",
    "50-55": "payers A-C [{name, plan_id, release, assignment, prior_cents, due_cents}]",
    "56": "billing provider NPI",
    "58-62": "insureds A-C [{name, relationship, id, group_name, group_number}]",
    "63": "treatment authorization codes A-C [code]",
    "64": "document control numbers A-C [number]",
    "65": "employer names A-C [name]",
    "66": "diagnosis code qualifier (0: ICD-10)",
    "67": "principal and other diagnoses [[code, poa]], principal first",
    "69": "admitting diagnosis",
    "70": "patient's reason for visit [code]",
    "71": "PPS code",
    "72": "external cause of injury [[code, poa]]",
    "74": "principal and other procedures [[code, date]], principal first",
    "76": "attending provider {npi, last, first}",
    "77": "operating physician {npi, last, first}",
    "78": "other provider {qualifier, npi, last, first}",
    "79": "other provider {qualifier, npi, last, first}",
    "80": "remarks [line]",
    "81": "code-code [[qualifier, code, value]]",
    "total_cents": "total charges (FL 47, line 23)",
    "non_covered_cents": "total non-covered charges (FL 48, line 23)",
}

# how many boxes the form has for each list (more is refused: TooMuchForPaper)
CAPACITY = {
    "18-28": 11,
    "31-34": 8,
    "35-36": 4,
    "39-41": 12,
    "50-55": 3,
    "58-62": 3,
    "63": 3,
    "64": 3,
    "65": 3,
    "67": 18,
    "70": 3,
    "72": 3,
    "74": 6,
    "80": 4,
    "81": 4,
}

# (line, column) of FL 67's 18 boxes: the principal, then A-H on grid line 54, I-Q on line 55;
# each box is 7 characters for the code (no decimal point) and 1 for the POA indicator
DIAGNOSIS_BOXES = (
    [(54, 2)] + [(54, 10 + 8 * i) for i in range(8)] + [(55, 2 + 8 * i) for i in range(9)]
)
# FL 74 principal and a-e: code (7), date (6)
PROCEDURE_BOXES = [(58, 1), (58, 16), (58, 31), (60, 1), (60, 16), (60, 31)]
# the X12 relationship codes FL 59 takes
RELATIONSHIP = {"self": "18", "spouse": "01", "child": "19"}
RELATIONSHIP_OTHER = "G8"

# Labels printed in red with form=True: (line, column, text), on the line above the values
LABELS = (
    (1, 1, "1 BILLING PROVIDER"),
    (1, 27, "2 PAY-TO"),
    (1, 54, "3a PAT. CNTL #  3b MED. REC. #"),
    (1, 76, "4 TYPE OF BILL"),
    (4, 51, "5 FED. TAX NO.   6 STATEMENT PERIOD FROM-THROUGH"),
    (6, 1, "8 PATIENT ID / NAME"),
    (6, 32, "9 PATIENT ADDRESS"),
    (8, 1, "10 BIRTHDATE 11 SEX 12 ADM DATE 13 HR 14 TYPE 15 SRC 16 DHR 17 STAT"),
    (8, 34, "18-28 CONDITION CODES"),
    (8, 67, "29 ACDT STATE"),
    (10, 1, "31-34 OCCURRENCE CODE / DATE"),
    (10, 41, "35-36 OCCURRENCE SPAN CODE / FROM / THROUGH"),
    (13, 44, "39-41 VALUE CODES / AMOUNTS"),
    (18, 1, "42 REV. CD. 43 DESCRIPTION"),
    (18, 31, "44 HCPCS / RATE"),
    (18, 46, "45 SERV. DATE  46 UNITS"),
    (18, 60, "47 TOTAL CHARGES  48 NON-COVERED"),
    (42, 1, "50 PAYER NAME  51 HEALTH PLAN ID  52 REL  53 ASG  54 PRIOR PAYMENTS  55 EST. DUE"),
    (42, 62, "56 NPI"),
    (46, 1, "58 INSURED'S NAME  59 P.REL  60 INSURED'S UNIQUE ID  61 GROUP NAME  62 GROUP NO."),
    (50, 1, "63 TREATMENT AUTHORIZATION  64 DOCUMENT CONTROL NUMBER  65 EMPLOYER NAME"),
    (57, 1, "74 PRINCIPAL AND OTHER PROCEDURES / DATES"),
    (57, 46, "76 ATTENDING"),
    (59, 46, "77 OPERATING"),
    (61, 51, "78 OTHER"),
    (63, 51, "79 OTHER"),
    # where every line is taken, a legend under the form
    (
        65,
        1,
        "38 RESPONSIBLE PARTY: LINES 13-17    66 DX QUALIFIER, 67 DIAGNOSES WITH POA: LINES 54-55",
    ),
    (
        66,
        1,
        "69 ADMIT DX, 70 REASON DX, 71 PPS, 72 ECI: LINE 56    80 REMARKS, 81 CODE-CODE: LINES 61-64",
    ),
)


class TooMuchForPaper(BadInput):
    "The claim has more of something than the UB-04 has boxes for: bill it on the 837I."


def _mdy(iso, year_digits: int = 2) -> str:
    if not iso:
        return ""
    d = _dt.date.fromisoformat(str(iso)[:10])
    return f"{d.month:02d}{d.day:02d}{str(d.year)[-year_digits:]}"


def _money(cents, width: int = 10) -> str:
    """Right-aligned in the box, the printed divider as a space: 15500 -> '    155 00'."""
    return "" if cents is None else _amount(int(cents)).rjust(width)


def _code(code) -> str:
    return str(code or "").replace(".", "")


def _check_capacity(f: dict) -> None:
    for key, room in CAPACITY.items():
        n = len(f.get(key) or [])
        if n > room:
            raise TooMuchForPaper(
                f"claim {f.get('3a') or '?'}: {n} entries for UB-04 FL {key}, which has {room}"
                " boxes; bill this claim on the 837I"
            )


def _header(pg: _Page, f: dict) -> None:
    """Every locator but the revenue lines and line 23: the same on every page."""
    prov = f.get("1") or {}
    pg.put(2, 2, 24, prov.get("name"))
    pg.put(3, 1, 25, prov.get("address1"))
    pg.put(4, 1, 12, prov.get("city"))
    pg.put(4, 14, 2, prov.get("state"))
    pg.put(4, 17, 9, prov.get("zip"))
    pg.put(5, 1, 10, _digits(prov.get("phone")))
    pg.put(2, 54, 20, f.get("3a"))
    pg.put(3, 54, 24, f.get("3b"))
    tob = str(f.get("4") or "")
    pg.put(3, 78, 4, tob.rjust(4, "0") if tob else "")
    pg.put(5, 51, 10, f.get("5"))
    period = f.get("6") or [None, None]
    pg.put(5, 62, 6, _mdy(period[0]))
    pg.put(5, 69, 6, _mdy(period[1]))
    # 8-17: the patient and the stay
    pg.put(6, 12, 19, f.get("8a"))
    pg.put(7, 2, 29, f.get("8b"))
    addr = f.get("9") or {}
    pg.put(6, 42, 40, addr.get("address1"))
    pg.put(7, 32, 30, addr.get("city"))
    pg.put(7, 65, 2, addr.get("state"))
    pg.put(7, 69, 10, addr.get("zip"))
    pg.put(7, 80, 2, addr.get("country"))
    pg.put(9, 1, 8, _mdy(f.get("10"), 4))
    pg.put(9, 10, 1, f.get("11"))
    pg.put(9, 13, 6, _mdy(f.get("12")))
    for col, width, key in ((19, 2, "13"), (22, 1, "14"), (25, 1, "15"), (28, 2, "16")):
        pg.put(9, col, width, f.get(key))
    pg.put(9, 31, 2, f.get("17"))
    # 18-28 condition codes, 29 accident state
    for i, code in enumerate(f.get("18-28") or []):
        pg.put(9, 34 + 3 * i, 2, code)
    pg.put(9, 67, 2, f.get("29"))
    # 31-34 occurrences (row a across, then row b), 35-36 spans
    for i, (code, when) in enumerate(f.get("31-34") or []):
        line, col = 11 + i // 4, 1 + 10 * (i % 4)
        pg.put(line, col, 2, code)
        pg.put(line, col + 4, 6, _mdy(when))
    for i, (code, start, end) in enumerate(f.get("35-36") or []):
        line, col = 11 + i // 2, 41 + 17 * (i % 2)
        pg.put(line, col, 2, code)
        pg.put(line, col + 4, 6, _mdy(start))
        pg.put(line, col + 11, 6, _mdy(end))
    # 38 responsible party (the payer's mailing block), 39-41 value codes
    for i, text in enumerate((f.get("38") or [])[:5]):
        pg.put(13 + i, 1, 42, text)
    for i, (code, cents) in enumerate(f.get("39-41") or []):
        line, col = 14 + i // 3, 44 + 13 * (i % 3)
        pg.put(line, col, 2, code)
        pg.put(line, col + 3, 10, _money(cents))
    _payers(pg, f)
    _codes(pg, f)
    _providers(pg, f)


def _payers(pg: _Page, f: dict) -> None:
    """FL 50-65: one row per payer (A primary, B, C), its insured, authorization and DCN."""
    pg.put(42, 68, 15, f.get("56"))
    for i, p in enumerate(f.get("50-55") or []):
        line = 43 + i
        pg.put(line, 1, 23, p.get("name"))
        pg.put(line, 24, 15, p.get("plan_id"))
        pg.put(line, 39, 1, p.get("release"))
        pg.put(line, 42, 1, p.get("assignment"))
        pg.put(line, 44, 10, _money(p.get("prior_cents")))
        pg.put(line, 55, 10, _money(p.get("due_cents")))
    for i, ins in enumerate(f.get("58-62") or []):
        line = 47 + i
        pg.put(line, 1, 26, ins.get("name"))
        rel = str(ins.get("relationship") or "").lower()
        pg.put(line, 27, 2, RELATIONSHIP.get(rel, RELATIONSHIP_OTHER if rel else ""))
        pg.put(line, 30, 20, ins.get("id"))
        pg.put(line, 50, 15, ins.get("group_name"))
        pg.put(line, 65, 18, ins.get("group_number"))
    for key, col, width in (("63", 1, 30), ("64", 32, 26), ("65", 58, 25)):
        for i, value in enumerate(f.get(key) or []):
            pg.put(51 + i, col, width, value)


def _codes(pg: _Page, f: dict) -> None:
    """FL 66-74: the code qualifier, diagnoses with POA, admitting and reason-for-visit
    diagnoses, PPS code, external causes and procedures."""
    if f.get("67"):
        pg.put(55, 1, 1, f.get("66") or "0")
    for (line, col), (code, poa) in zip(DIAGNOSIS_BOXES, f.get("67") or [], strict=False):
        pg.put(line, col, 7, _code(code))
        pg.put(line, col + 7, 1, poa)
    pg.put(56, 5, 7, _code(f.get("69")))
    for i, code in enumerate(f.get("70") or []):
        pg.put(56, 17 + 7 * i, 7, _code(code))
    pg.put(56, 43, 4, f.get("71"))
    for i, (code, poa) in enumerate(f.get("72") or []):
        pg.put(56, 49 + 8 * i, 7, _code(code))
        pg.put(56, 56 + 8 * i, 1, poa)
    for (line, col), (code, when) in zip(PROCEDURE_BOXES, f.get("74") or [], strict=False):
        pg.put(line, col, 7, _code(code))
        pg.put(line, col + 9, 6, _mdy(when))


def _providers(pg: _Page, f: dict) -> None:
    """FL 76-81: attending, operating and other providers; remarks; code-code."""
    for key, line in (("76", 57), ("77", 59), ("78", 61), ("79", 63)):
        p = f.get(key)
        if not p:
            continue
        if key in ("78", "79"):
            pg.put(line, 56, 2, p.get("qualifier"))
        pg.put(line, 59, 11, p.get("npi"))
        pg.put(line + 1, 53, 16, p.get("last"))
        pg.put(line + 1, 71, 12, p.get("first"))
    for i, text in enumerate(f.get("80") or []):
        pg.put(61 + i, 1, 24, text)
    for i, (qual, code, value) in enumerate(f.get("81") or []):
        pg.put(61 + i, 27, 2, qual)
        pg.put(61 + i, 29, 10, code)
        pg.put(61 + i, 39, 12, value)


def _revenue_line(pg: _Page, line: int, ln: dict) -> None:
    """FL 42-48 of one revenue line."""
    pg.put(line, 1, 4, ln.get("revenue_code"))
    pg.put(line, 6, 24, ln.get("description"))
    if ln.get("hcpcs"):
        mods = "".join(str(m) for m in (ln.get("modifiers") or [])[:4])
        pg.put(line, 31, 14, f"{ln['hcpcs']}{mods}")
    elif ln.get("rate_cents") is not None:  # an accommodation line's daily rate
        pg.put(line, 31, 14, _money(ln["rate_cents"], 14))
    pg.put(line, 46, 6, _mdy(ln.get("date")))
    pg.put(line, 53, 7, str(ln.get("units") or "").rjust(7))
    pg.put(line, 60, 10, _money(ln.get("charge_cents")))
    if ln.get("non_covered_cents"):
        pg.put(line, 70, 10, _money(ln["non_covered_cents"]))


def pages(f: dict[str, Any]) -> list[dict[tuple[int, int], str]]:
    """The form's values, page by page: [{(line, column): text}]. The tests read a rendered
    PDF back into this shape and compare."""
    _check_capacity(f)
    lines = f.get("42-48") or []
    chunks = [lines[i : i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)] or [[]]
    out = []
    for n, chunk in enumerate(chunks, start=1):
        pg = _Page()
        _header(pg, f)
        for row, ln in enumerate(chunk):
            _revenue_line(pg, FIRST_LINE + row, ln)
        pg.put(TOTAL_LINE, 1, 4, "0001")
        pg.put(TOTAL_LINE, 6, 24, f"PAGE {n} OF {len(chunks)}")
        pg.put(TOTAL_LINE, 46, 6, _mdy(f.get("45")))
        if n == len(chunks):
            pg.put(TOTAL_LINE, 60, 10, _money(f.get("total_cents")))
            if f.get("non_covered_cents"):
                pg.put(TOTAL_LINE, 70, 10, _money(f["non_covered_cents"]))
        out.append(pg.cells)
    return out


def render(f: dict[str, Any], *, form: bool = True) -> bytes:
    """The claim as a UB-04 PDF (module docstring). form=True prints each locator's number and
    name in red, for reading on screen or plain paper; form=False prints the values only, for
    the red form itself (payers scan it: the form's own print must not come from us)."""
    return grid_pdf(
        pages(f),
        title=f"UB-04 {f.get('3a') or ''}".strip(),
        created=str(f.get("45") or "2000-01-01"),
        labels=LABELS if form else None,
        heading=(66, 60, "UB-04 (CMS-1450) LAYOUT"),
    )


# ---------------------------------------------------------------------------------------------
# from an institutional claim's issued content (institutional/content.py) to the locator dict

# FL 78-79 qualifiers by provider role (the 837I's 2310C other operating and 2310F referring)
OTHER_PROVIDERS = (("other", "ZZ"), ("referring", "DN"))


def _tax_number(tax_id) -> str:
    d = _digits(tax_id)
    return f"{d[:2]}-{d[2:]}" if len(d) == 9 else str(tax_id or "")


def is_institutional(c: dict | None) -> bool:
    return c is not None and c.get("kind") == "claim" and c.get("claim_type") == "institutional"


def fields_from_content(
    c: dict, *, payer_address: dict | None = None, created: str | None = None
) -> dict[str, Any]:
    """The form-locator dict of an institutional claim, from the content it was issued with
    (the 837I's: institutional/content.py), so the paper and the electronic claim say the same.
    `payer_address` {address1, city, state, zip} is the payer's as recorded now (the form is
    mailed now: FL 38); `created` the creation date of FL 45 (default: the content's
    issued_on, else the statement's last day)."""
    return {
        **_stay_locators(c, payer_address or {}, created),
        **_payer_locators(c),
        **_clinical_locators(c),
    }


def _stay_locators(c: dict, addr: dict, created: str | None) -> dict[str, Any]:
    """FL 1-49: the facility, the patient, the stay, its codes and its revenue lines."""
    fac = c.get("facility") or {}
    pat = c.get("patient") or c.get("subscriber") or {}
    adm = c.get("admission") or {}
    lines = c.get("lines") or []
    return {
        "1": {k: fac.get(k) for k in ("name", "address1", "city", "state", "zip", "phone")},
        "3a": c.get("number"),
        "3b": c.get("mrn"),
        "4": c.get("type_of_bill"),
        "5": _tax_number(fac.get("tax_id")),
        "6": [c.get("statement_from"), c.get("statement_through")],
        "8b": _name(pat),
        "9": {k: pat.get(k) for k in ("address1", "city", "state", "zip")},
        "10": pat.get("dob"),
        "11": pat.get("sex"),
        "12": adm.get("date"),
        "13": (adm.get("hour") or "")[:2] or None,
        "14": adm.get("type"),
        "15": adm.get("source"),
        "16": (c.get("discharge_hour") or "")[:2] or None,
        "17": c.get("patient_status"),
        "18-28": list(c.get("conditions") or []),
        "31-34": [list(o) for o in c.get("occurrences") or []],
        "35-36": [list(s) for s in c.get("spans") or []],
        "38": [
            (c.get("payer") or {}).get("name"),
            addr.get("address1"),
            " ".join(x for x in (addr.get("city"), addr.get("state"), addr.get("zip")) if x),
        ],
        "39-41": [list(v) for v in c.get("values") or []],
        "42-48": [
            {
                "revenue_code": ln.get("revenue_code"),
                "hcpcs": ln.get("code"),
                "modifiers": list(ln.get("modifiers") or []),
                "date": ln.get("date"),
                "units": ln.get("units"),
                "charge_cents": ln.get("charge_cents"),
                "non_covered_cents": ln.get("non_covered_cents"),
            }
            for ln in lines
        ],
        "45": created or c.get("issued_on") or c.get("statement_through"),
        "total_cents": int(c.get("total_cents") or 0),
        "non_covered_cents": sum(int(ln.get("non_covered_cents") or 0) for ln in lines),
        "56": fac.get("npi"),
        "81": [["B3", fac["taxonomy"], ""]] if fac.get("taxonomy") else [],
    }


def _payer_locators(c: dict) -> dict[str, Any]:
    """FL 50-65, rows A-C: every payer in priority order, the billed one among them, with its
    insured; what the others paid (FL 54) and what is due from the billed one (FL 55)."""
    rows = [
        (int(c.get("priority") or 1), True, c.get("payer") or {}, c.get("subscriber") or {}, None)
    ]
    for o in c.get("other_payers") or []:
        paid = (o.get("adjudication") or {}).get("paid_cents")
        rows.append(
            (
                int(o.get("priority") or 9),
                False,
                o.get("payer") or {},
                o.get("subscriber") or {},
                paid,
            )
        )
    rows.sort(key=lambda r: (r[0], not r[1]))
    due = int(c.get("total_cents") or 0) - sum(int(r[4] or 0) for r in rows if not r[1])
    replaces = str(c.get("frequency") or "1") in ("7", "8")
    return {
        "50-55": [
            {
                "name": p.get("name"),
                "plan_id": p.get("id"),
                "release": "Y",
                "assignment": "Y",
                "prior_cents": paid,
                "due_cents": due if billed else None,
            }
            for _, billed, p, _, paid in rows
        ],
        "58-62": [
            {
                "name": _name(s),
                "relationship": s.get("relationship") or "self",
                "id": s.get("member_id"),
                "group_number": s.get("group"),
            }
            for _, _, _, s, _ in rows
        ],
        "63": [c.get("prior_auth") if billed else None for _, billed, *_ in rows],
        "64": [c.get("payer_claim_number") if billed else None for _, billed, *_ in rows]
        if replaces
        else [],
    }


def _clinical_locators(c: dict) -> dict[str, Any]:
    """FL 66-79: diagnoses by qualifier (ABK principal, ABF other, ABJ admitting, APR reason for
    visit, ABN external cause), procedures (BBR principal first) and the providers by role."""
    dx = c.get("diagnoses") or []
    procs = sorted(enumerate(c.get("procedures") or []), key=lambda p: (p[1][0] != "BBR", p[0]))
    f: dict[str, Any] = {
        "66": "0",
        "67": [[code, poa] for q, code, poa in dx if q == "ABK"]
        + [[code, poa] for q, code, poa in dx if q == "ABF"],
        "69": next((code for q, code, _ in dx if q == "ABJ"), None),
        "70": [code for q, code, _ in dx if q == "APR"],
        "72": [[code, poa] for q, code, poa in dx if q == "ABN"],
        "74": [[code, when] for _, (_, code, when) in procs],
    }
    by_role = {p.get("role"): p for p in c.get("providers") or []}
    for key, role in (("76", "attending"), ("77", "operating")):
        if role in by_role:
            f[key] = {k: by_role[role].get(k) for k in ("npi", "last", "first")}
    others = [(q, by_role[role]) for role, q in OTHER_PROVIDERS if role in by_role]
    for key, (qual, p) in zip(("78", "79"), others, strict=False):
        f[key] = {"qualifier": qual, **{k: p.get(k) for k in ("npi", "last", "first")}}
    return f


def export(
    c: dict | None, inv: dict, payer_address: dict | None, *, form: bool
) -> tuple[bytes, str]:
    """`invoice export N --format ub04|ub04-data`: the invoice's issued content on the UB-04,
    (PDF bytes, suggested name); BadInput when the invoice is not an institutional claim."""
    if c is None or not is_institutional(c):
        raise BadInput(
            f"{inv['number']} is not an institutional claim: a professional claim exports with"
            " --format cms1500, a patient invoice with --format pdf"
        )
    f = fields_from_content(c, payer_address=payer_address, created=inv.get("issued_on"))
    return render(f, form=form), f"{inv['number']}-ub04.pdf"


def add_paper(run: X12Run, payer_id: int, items: list[tuple[int, dict]]) -> None:
    """A paper-only payer's institutional claims in `invoice generate` (payers.claim_media =
    'paper'), as X12Run._add_paper prints the CMS-1500 for professional claims: each claim's
    UB-04, values only for the red form, as UB04-<payer>-<claim>.pdf beside the run's files,
    recorded by run.finish as the invoice's 'pdf' file and sent. `items` are (invoice id,
    issued content) pairs. Printing for Medicare leaves the clerk a note: Medicare takes paper
    only under the ASCA exceptions (42 CFR 424.32(d))."""
    import json

    from ..outfile import inside

    payer = run.payers[payer_id]
    address = {k: payer.get(k) for k in ("address1", "city", "state", "zip")}
    issued = dict(  # FL 45: each invoice's issue date, as `invoice export` prints it
        run.conn.execute(
            "SELECT id, issued_on FROM invoices WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps([iid for iid, _ in items]),),
        ).fetchall()
    )
    for iid, c in items:
        name = f"UB04-{payer['code']}-{c['number']}.pdf"
        final = inside(run.result.out_dir, name)  # the payer code comes from data
        if run.staged.enabled:
            f = fields_from_content(
                c, payer_address=address, created=issued.get(iid, run.issued_on)
            )
            run.staged.write_bytes(final, render(f, form=False))
        run.paper.append((iid, name, final))
    if payer.get("kind") == "medicare" and items:
        run.result.notes.append(
            f"{len(items)} claim(s) to {payer['code']} printed on the UB-04: Medicare accepts paper"
            " claims only under the ASCA exceptions (42 CFR 424.32(d)); otherwise bill it"
            f" electronically (billadmin payer set {payer['code']} --electronic)"
        )
