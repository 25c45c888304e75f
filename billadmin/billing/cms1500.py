"""A professional claim on the paper CMS-1500 (02/12) form, as a PDF, from the claim's issued
content (the same content the 837P is rendered from).

The form is laid out for a typewriter grid: 10 characters per inch and 6 lines per inch, 66
lines of 85 columns on letter paper. Every value goes to its box as (line, column, width) on
that grid (the NUCC 1500 Health Insurance Claim Form Reference Instruction Manual, 02/12, gives
each item's content; the grid positions are the form's printed boxes). Text is Courier 12 pt,
which is exactly 10 characters per inch, so a value printed at its column sits in its box on
the red drop-out form fed through a printer with no scaling.

Two renderings:
- ``form=True`` (``--format cms1500``): the values and, in red, each box's number, so the PDF
  reads as a claim on screen or on plain paper;
- ``form=False`` (``--format cms1500-data``): the values only, for printing onto the red form
  (payers scan the red form: the box outlines must not be printed by us).

Choices, where the manual leaves room:
- Six service lines per page (24A-24J). A claim with more lines continues on more pages; each
  page repeats the header boxes, boxes 28 and 29 carry the totals on the last page and
  "CONTINUED" on the others, and the page number is printed beside box 33.
- Dates MM DD YYYY in boxes 3, 11a, 14, 15 and MM DD YY in 24A; amounts with a space where the
  form's printed line divides dollars from cents; diagnosis codes without the decimal point.
- Item 19 carries the claim note of a split encounter's part (billing/split.py), as the 837P's
  2300 NTE*ADD does: NUCC's qualifier NTE and the note's qualifier ADD, then the note with no
  space ("NTEADDCLAIM 2 OF 3 FOR THE SAME VISIT"). The box holds 48 characters on the grid (up
  to item 20's rule): a note longer than that leaves out its closing parenthesis, the reason
  "(50 LINES A CLAIM)", which is the 837P's own limit.
- Box 26 is our claim number (CLM01 on the 837P: the number the payer sends back); box 21's
  indicator is 0 (ICD-10-CM).
- Boxes 12 and 13 say SIGNATURE ON FILE; box 27 accepts assignment (the practice bills payers
  directly, as on the 837P).
- Payer name and address (the carrier block) come from the payer as recorded now: the form is
  printed to be mailed now.
Nothing here is written to a log: the form is PHI and goes only where the caller writes it.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

from .pdf import _t

if TYPE_CHECKING:
    from collections.abc import Sequence

    from fpdf import FPDF

LINES_PER_PAGE = 6
CHAR_PT = 7.2  # Courier 12 pt: 0.6 em = 7.2 pt = 1/10 inch
LINE_PT = 12.0  # 6 lines per inch
LEFT_PT = 0.0  # column 1 starts at the paper's left edge (the form's grid)
TOP_PT = 0.0  # line 1 is the paper's first sixth of an inch
BASELINE_PT = 9.5  # where a line's text sits inside its 12-pt band

# Box 1, by payer kind: the column of the X (line 8)
INSURANCE_TYPE_COL = {
    "medicare": 1,
    "medicaid": 8,
    "tricare": 15,
    "champva": 24,
    "commercial": 31,
    "hmo": 31,
    "ppo": 31,
    "bcbs": 31,
    "group": 31,
    "feca": 39,
}
OTHER_TYPE_COL = 45
RELATIONSHIP_COL = {"self": 33, "spouse": 38, "child": 42}  # box 6; anything else: other, 47
RELATIONSHIP_OTHER_COL = 47

# Labels printed in red with form=True: (line, column, text) just above or before each box
LABELS = (
    (7, 1, "1 MEDICARE MEDICAID TRICARE CHAMPVA GROUP FECA OTHER"),
    (7, 50, "1a INSURED'S I.D. NUMBER"),
    (9, 1, "2 PATIENT'S NAME"),
    (9, 31, "3 BIRTH DATE  SEX"),
    (9, 50, "4 INSURED'S NAME"),
    (11, 1, "5 PATIENT'S ADDRESS"),
    (11, 31, "6 RELATIONSHIP S SP C O"),
    (11, 50, "7 INSURED'S ADDRESS"),
    (17, 1, "9 OTHER INSURED'S NAME"),
    (17, 31, "10 CONDITION RELATED TO"),
    (17, 50, "11 INSURED'S GROUP NUMBER"),
    (19, 1, "9a OTHER POLICY/GROUP"),
    (19, 31, "10a EMPLOYMENT Y/N"),
    (19, 50, "11a INSURED'S BIRTH DATE  SEX"),
    (21, 31, "10b AUTO ACCIDENT Y/N"),
    (23, 31, "10c OTHER ACCIDENT Y/N"),
    (23, 50, "11c PLAN NAME"),
    (25, 1, "9d OTHER PLAN NAME"),
    (25, 50, "11d ANOTHER PLAN Y/N"),
    (28, 1, "12 PATIENT SIGNATURE"),
    (28, 50, "13 INSURED SIGNATURE"),
    (31, 1, "14 DATE OF CURRENT ILLNESS"),
    (31, 31, "15 OTHER DATE"),
    (33, 1, "17 REFERRING PROVIDER"),
    (33, 33, "17b NPI"),
    (35, 1, "19 ADDITIONAL CLAIM INFORMATION"),
    (35, 50, "20 OUTSIDE LAB Y/N"),
    (37, 1, "21 DIAGNOSIS (ICD IND.)"),
    (37, 50, "22 RESUBMISSION  ORIGINAL REF."),
    (39, 50, "23 PRIOR AUTHORIZATION"),
    (42, 1, "24A DATES  B POS  D CPT/HCPCS MOD  E PTR  F CHARGES  G UNITS  J NPI"),
    (55, 1, "25 FEDERAL TAX ID"),
    (55, 23, "26 ACCOUNT NO."),
    (55, 38, "27 ASSIGN"),
    (55, 52, "28 TOTAL"),
    (55, 62, "29 PAID"),
    (57, 1, "31 SIGNATURE"),
    (57, 23, "32 SERVICE FACILITY"),
    (57, 50, "33 BILLING PROVIDER"),
)


ITEM19_WIDTH = 48  # columns 1-48 of line 36: item 20's box starts at column 50


def item19_note(split: dict) -> str:
    """Item 19 of a split part: NUCC's NTE qualifier, the 837P note's qualifier ADD and its
    text (x12/x837.py part_note), without the parenthesized reason when the whole does not
    fit the box (NUCC 1500 Reference Instruction Manual for form 02/12, item 19: the qualifier
    NTE, then the 837's note qualifier, then the information, with no space between)."""
    from ..x12.x837 import part_note

    text = "NTEADD" + part_note(split)
    if len(text) > ITEM19_WIDTH and text.endswith(")"):
        text = text[: text.rindex(" (")]
    return text


def _mdy(iso: str | None, year_digits: int = 4) -> tuple[str, str, str] | None:
    if not iso:
        return None
    d = _dt.date.fromisoformat(str(iso)[:10])
    return f"{d.month:02d}", f"{d.day:02d}", str(d.year)[-year_digits:]


def _amount(cents: int) -> str:
    """8 characters, the printed divider as a space: 15500 -> '  155 00'."""
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(cents), 100)
    return f"{sign}{dollars}".rjust(5) + f" {rest:02d}"


def _name(p: dict | None) -> str:
    if not p:
        return ""
    return ", ".join(x for x in (p.get("last"), p.get("first")) if x)


def _digits(s) -> str:
    return "".join(ch for ch in str(s or "") if ch.isdigit())


class _Page:
    """The values of one page: {(line, column): text}; width-limited as placed."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], str] = {}

    def put(self, line: int, col: int, width: int, value) -> None:
        text = _t(value).upper()[:width].rstrip()
        lead = len(text) - len(text.lstrip())  # right-aligned amounts: kept where they print
        if text.strip():
            self.cells[(line, col + lead)] = text.lstrip()

    def x(self, line: int, col: int) -> None:
        self.cells[(line, col)] = "X"

    def date(self, line: int, cols: tuple[int, int, int], iso, year_digits: int = 4) -> None:
        mdy = _mdy(iso, year_digits)
        if mdy:
            for c, part in zip(cols, mdy, strict=True):
                self.put(line, c, len(part), part)


def _header(pg: _Page, c: dict, practice: dict, payer_row: dict | None) -> None:
    """Boxes 1-23 and 25-33 but the totals: the same on every page of a claim."""
    payer = c.get("payer") or {}
    sub = c.get("subscriber") or {}
    pat = c.get("patient") or sub  # None in the content when the patient is the subscriber
    medicare = payer.get("kind") == "medicare"
    # the carrier block: where the form is mailed
    pr = payer_row or {}
    pg.put(2, 41, 31, payer.get("name"))
    pg.put(3, 41, 31, pr.get("address1"))
    city = ", ".join(x for x in (pr.get("city"), pr.get("state")) if x)
    pg.put(4, 41, 31, f"{city} {pr.get('zip') or ''}".strip())
    # 1, 1a
    pg.x(8, INSURANCE_TYPE_COL.get(str(payer.get("kind") or "").lower(), OTHER_TYPE_COL))
    pg.put(8, 50, 17, sub.get("member_id"))
    # 2, 3
    pg.put(10, 1, 28, _name(pat))
    pg.date(10, (31, 34, 37), pat.get("dob"))
    if (pat.get("sex") or "").upper() in ("M", "F"):
        pg.x(10, 42 if pat["sex"].upper() == "M" else 47)
    # 4 insured's name
    pg.put(10, 50, 28, _name(sub))
    # 5 patient's address
    pg.put(12, 1, 28, pat.get("address1"))
    pg.put(14, 1, 20, pat.get("city"))
    pg.put(14, 26, 2, pat.get("state"))
    pg.put(16, 1, 10, pat.get("zip"))
    # 6 relationship
    rel = str(sub.get("relationship") or "self").lower()
    pg.x(12, RELATIONSHIP_COL.get(rel, RELATIONSHIP_OTHER_COL))
    # 7 insured's address: recorded for the subscriber only when it is the patient
    if c.get("patient") is None:
        pg.put(12, 50, 28, sub.get("address1"))
        pg.put(14, 50, 20, sub.get("city"))
        pg.put(14, 74, 2, sub.get("state"))
        pg.put(16, 50, 10, sub.get("zip"))
    # 9, 9a, 9d: the next payer (the claim's other payers, in priority order)
    others = c.get("other_payers") or []
    if others:
        o = others[0]
        pg.put(18, 1, 28, _name(o.get("subscriber")))
        pg.put(20, 1, 28, (o.get("subscriber") or {}).get("member_id"))
        pg.put(26, 1, 28, (o.get("payer") or {}).get("name"))
    # 10a-c: condition related to employment, auto or other accident
    cause = ((c.get("accident") or {}).get("cause") or "").upper()
    for line, code in ((20, "EM"), (22, "AA"), (24, "OA")):
        pg.x(line, 35 if cause == code else 41)
    if cause == "AA":
        pg.put(22, 45, 2, (c.get("accident") or {}).get("state"))
    # 11: group number; Medicare primary with no insurance primary to it: NONE
    pg.put(18, 50, 30, "NONE" if medicare and not others else sub.get("group"))
    # 11a insured's birth date and sex
    pg.date(20, (53, 56, 59), sub.get("dob"))
    if (sub.get("sex") or "").upper() in ("M", "F"):
        pg.x(20, 68 if sub["sex"].upper() == "M" else 75)
    # 11c plan name, 11d another plan
    pg.put(24, 50, 30, payer.get("name"))
    pg.x(26, 52 if others else 57)
    # 12, 13
    pg.put(29, 7, 17, "SIGNATURE ON FILE")
    pg.put(29, 55, 17, "SIGNATURE ON FILE")
    # 14 onset (qualifier 431), 15 other date (454 initial treatment, 304 last seen)
    dates = c.get("dates") or {}
    if dates.get("onset_date"):
        pg.date(32, (2, 5, 8), dates["onset_date"])
        pg.put(32, 16, 3, "431")
    for key, qual in (("initial_treatment_date", "454"), ("last_seen_date", "304")):
        if dates.get(key):
            pg.put(32, 31, 3, qual)
            pg.date(32, (37, 40, 43), dates[key])
            break
    # 17 referring provider (qualifier DN), 17b its NPI
    ref = c.get("referring")
    if ref:
        pg.put(34, 1, 2, "DN")
        pg.put(34, 4, 25, _name(ref))
        pg.put(34, 33, 10, ref.get("npi"))
    # 19 additional claim information: a split part's note (module docstring)
    if c.get("split"):
        pg.put(36, 1, ITEM19_WIDTH, item19_note(c["split"]))
    # 20 outside lab: no
    pg.x(36, 57)
    # 21: ICD indicator 0 (ICD-10-CM), diagnoses A-L, four across
    pg.put(37, 42, 1, "0")
    for i, code in enumerate((c.get("diagnoses") or [])[:12]):
        pg.put(38 + i // 4, 3 + 13 * (i % 4), 8, str(code).replace(".", ""))
    # 22 resubmission: the frequency of a replacement (7) or void (8), the payer's claim number
    if str(c.get("frequency") or "1") in ("7", "8"):
        pg.put(38, 50, 10, c["frequency"])
        pg.put(38, 62, 15, c.get("payer_claim_number"))
    # 23: prior authorization, else the referral number, else the CLIA number
    pg.put(40, 50, 28, c.get("prior_auth") or c.get("referral_number") or c.get("clia"))
    # 25 tax id (EIN), 26 account number, 27 accept assignment
    pg.put(56, 1, 15, practice.get("tax_id"))
    pg.x(56, 19)
    pg.put(56, 23, 14, c.get("number"))
    pg.x(56, 38)
    # 31 signature, 32 service facility (the practice's office), 33 billing provider
    rendering = c.get("rendering") or {}
    pg.put(60, 1, 21, " ".join(x for x in (rendering.get("first"), rendering.get("last")) if x))
    issued = c.get("issued_on") or c.get("date_of_service")
    pg.date(61, (6, 9, 12), issued, 2)
    phone = _digits(practice.get("phone"))
    if len(phone) == 10:
        pg.put(57, 66, 3, phone[:3])
        pg.put(57, 70, 8, f"{phone[3:6]}-{phone[6:]}")
    where = (
        f"{practice.get('city') or ''} {practice.get('state') or ''} {practice.get('zip') or ''}"
    )
    for col, width in ((23, 25), (50, 27)):
        pg.put(58, col, width, practice.get("name"))
        pg.put(59, col, width, practice.get("address1"))
        pg.put(60, col, width + 2, " ".join(where.split()))
    pg.put(61, 23, 10, practice.get("npi"))
    pg.put(61, 50, 10, practice.get("npi"))


def _service_line(pg: _Page, row: int, c: dict, ln: dict) -> None:
    """One of 24's six rows: the shaded supplemental line (NDC, 24I qualifier) above the
    service line (24A-24J)."""
    shaded, line = 41 + 2 * row, 42 + 2 * row
    drug = ln.get("drug")
    if drug:  # N4 + the 11-digit NDC, 3 spaces, unit and quantity (NUCC 24 shaded area)
        qty = drug.get("quantity")
        text = (
            f"N4{_digits(drug.get('ndc'))}   {drug.get('unit') or ''}{'' if qty is None else qty}"
        )
        pg.put(shaded, 1, 40, text)
    dos = ln.get("date_of_service") or c.get("date_of_service")
    pg.date(line, (1, 4, 7), dos, 2)
    pg.date(line, (10, 13, 16), dos, 2)
    pg.put(line, 19, 2, c.get("place_of_service"))
    pg.put(line, 25, 6, ln.get("code"))
    for i, m in enumerate((ln.get("modifiers") or [])[:4]):
        pg.put(line, 33 + 3 * i, 2, m)
    pg.put(
        line,
        45,
        4,
        "".join(chr(64 + int(p)) for p in ln.get("pointers") or [] if 1 <= int(p) <= 12),
    )
    pg.put(line, 50, 8, _amount(int(ln["charge_cents"])))
    pg.put(line, 59, 3, ln.get("units"))
    pg.put(line, 68, 10, (ln.get("rendering") or c.get("rendering") or {}).get("npi"))


def pages(
    c: dict, practice: dict, payer_row: dict | None = None
) -> list[dict[tuple[int, int], str]]:
    """The form's values, page by page: [{(line, column): text}]. The tests read a rendered
    PDF back into this shape and compare."""
    if c.get("kind") != "claim":
        raise ValueError("a CMS-1500 is a professional claim's form")
    lines = c.get("lines") or []
    chunks = [lines[i : i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)] or [[]]
    prior_paid = sum(
        int((o.get("adjudication") or {}).get("paid_cents") or 0)
        for o in c.get("other_payers") or []
    )
    out = []
    for n, chunk in enumerate(chunks, start=1):
        pg = _Page()
        _header(pg, c, practice, payer_row)
        for row, ln in enumerate(chunk, start=1):
            _service_line(pg, row, c, ln)
        if n == len(chunks):
            pg.put(56, 52, 8, _amount(int(c["total_cents"])))
            pg.put(56, 62, 8, _amount(prior_paid))
        else:
            pg.put(56, 52, 9, "CONTINUED")
        if len(chunks) > 1:
            pg.put(62, 50, 12, f"PAGE {n} OF {len(chunks)}")
        out.append(pg.cells)
    return out


def render(c: dict, practice: dict, payer_row: dict | None = None, *, form: bool = True) -> bytes:
    """The claim as a CMS-1500 PDF (module docstring)."""
    issued = c.get("issued_on") or c.get("date_of_service") or "2000-01-01"
    return grid_pdf(
        pages(c, practice, payer_row),
        title=f"CMS-1500 {c.get('number')}",
        created=str(issued),
        labels=LABELS if form else None,
        heading=(1, 1, "HEALTH INSURANCE CLAIM FORM  (CMS-1500 02/12 LAYOUT)"),
    )


def grid_pdf(
    pages_cells: list[dict[tuple[int, int], str]],
    *,
    title: str,
    created: str,
    labels: Sequence[tuple[int, int, str]] | None,
    heading: tuple[int, int, str],
) -> bytes:
    """A paper claim's pages on the form grid (10 characters per inch, 6 lines per inch, Courier
    12): each page's {(line, col): text}; with `labels`, each box's name in red above its place
    and the `heading` (line, col, text), for reading; without, the values only, for the red
    form. The creation date is the claim's (`created`, YYYY-MM-DD...), so a reprint is the same
    bytes. Shared by the CMS-1500 and the UB-04 (ub04.py)."""
    from fpdf import FPDF

    pdf: FPDF = FPDF(unit="pt", format="letter")
    pdf.set_creation_date(_dt.datetime.fromisoformat(created[:10]).replace(tzinfo=_dt.UTC))
    pdf.set_title(title)
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    for cells in pages_cells:
        pdf.add_page()
        if labels is not None:
            pdf.set_text_color(200, 30, 30)
            pdf.set_font("Helvetica", size=5)
            for line, col, text in labels:
                pdf.text(_x(col), _y(line) - 1, text)
            pdf.set_font("Helvetica", "B", 7)
            pdf.text(_x(heading[1]), _y(heading[0]), heading[2])
        pdf.set_text_color(0, 0, 0)
        pdf.set_font("Courier", size=12)
        for (line, col), text in sorted(cells.items()):
            pdf.text(_x(col), _y(line), text)
    return bytes(pdf.output())


def _x(col: int) -> float:
    return LEFT_PT + (col - 1) * CHAR_PT


def _y(line: int) -> float:
    return TOP_PT + (line - 1) * LINE_PT + BASELINE_PT
