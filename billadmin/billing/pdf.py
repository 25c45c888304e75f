"""Patient invoices (and credit notes) as PDF, with fpdf2.

The content (what a statement shows, and why) is computed once, when the invoice is issued, and
stored (statement.py); rendering is a pure function of it with a fixed creation date, so an
export re-renders the same bytes. Page numbers are added here.
"""

from __future__ import annotations

import datetime as _dt
import unicodedata
from typing import TYPE_CHECKING

from .. import money

if TYPE_CHECKING:
    from fpdf import FPDF


def _t(s) -> str:
    """Text for the core fonts (cp1252): other characters folded, else '?'."""
    if s is None:
        return ""
    s = str(s)
    try:
        s.encode("cp1252")
        return s
    except UnicodeEncodeError:
        out = []
        for ch in s:
            try:
                ch.encode("cp1252")
                out.append(ch)
            except UnicodeEncodeError:
                folded = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
                out.append(folded or "?")
        return "".join(out)


# ---------------------------------------------------------------------------------------------
# rendering


def _paragraph(pdf, text: str, height: float) -> None:
    """Word-wrapped text across the page width (fpdf's multi_cell is several times slower)."""
    width = pdf.w - pdf.l_margin - pdf.r_margin - 1
    line = ""
    for word in text.split():
        trial = f"{line} {word}" if line else word
        if pdf.get_string_width(trial) <= width or not line:
            line = trial
        else:
            pdf.cell(0, height, line, new_x="LMARGIN", new_y="NEXT")
            line = word
    if line:
        pdf.cell(0, height, line, new_x="LMARGIN", new_y="NEXT")


def _fit(pdf, text: str, width: float) -> str:
    """Cut text to the column width with an ellipsis (one line per item keeps statements short)."""
    if not text or pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "...") > width:
        text = text[:-1]
    return text.rstrip() + "..."


def _date(iso: str | None) -> str:
    if not iso:
        return ""
    d = _dt.date.fromisoformat(iso)
    return d.strftime("%m/%d/%Y")


def _addr(a: dict) -> list[str]:
    zip_ = a.get("zip") or ""
    if len(zip_) == 9 and zip_.isdigit():
        zip_ = zip_[:5] + "-" + zip_[5:]
    out = [
        a.get("address1"),
        a.get("address2"),
        f"{a.get('city') or ''}, {a.get('state') or ''} {zip_}".strip(", "),
    ]
    return [x for x in out if x]


def _phone(p: str | None) -> str:
    d = "".join(ch for ch in (p or "") if ch.isdigit())
    return f"({d[:3]}) {d[3:6]}-{d[6:]}" if len(d) == 10 else (p or "")


def render(c: dict) -> bytes:
    """PDF bytes for a patient invoice or credit note content."""
    pdf = _document(c)
    _header(pdf, c)
    _bill_to(pdf, c)
    _line_table(pdf, c)
    _diagnosis_legend(pdf, c)
    pdf.ln(4)
    _totals(pdf, c)
    if c.get("aging"):
        _aging_table(pdf, c)
    if c["kind"] == "patient":
        _how_to_pay(pdf, c)
    return bytes(pdf.output())


def _document(c: dict) -> FPDF:
    """A Letter page with the footer (practice, title, number, page n of N) and fixed metadata."""
    from fpdf import FPDF

    class Doc(FPDF):
        def footer(self):
            self.set_y(-12)
            self.set_font("Helvetica", size=8)
            self.set_text_color(90)
            self.cell(
                0,
                6,
                _t(
                    f"{c['practice']['name']}  -  {c['title']} {c['number']}"
                    f"  -  Page {self.page_no()} of {{nb}}"
                ),
                align="C",
            )

    issued = _dt.datetime.fromisoformat(c["issued_on"]).replace(tzinfo=_dt.UTC)
    pdf = Doc(format="Letter", unit="mm")
    pdf.set_creation_date(issued)
    pdf.set_title(_t(f"{c['title']} {c['number']}"))
    pdf.set_author(_t(c["practice"]["name"]))
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    return pdf


def _header(pdf: FPDF, c: dict) -> None:
    """The practice on the left, the invoice's facts on the right."""
    prac = c["practice"]
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(110, 7, _t(prac["name"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    for line in _addr(prac) + ([f"Phone {_phone(prac.get('phone'))}"] if prac.get("phone") else []):
        pdf.cell(110, 4.5, _t(line), new_x="LMARGIN", new_y="NEXT")
    top = 15
    pdf.set_xy(130, top)
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(70, 8, _t(c["title"].upper()), align="R", new_x="LEFT", new_y="NEXT")
    facts = [("Invoice number", c["number"]), ("Invoice date", _date(c["issued_on"]))]
    if c.get("due_on"):
        facts.append(("Due date", _date(c["due_on"])))
    if c.get("original"):
        facts.append(("Credits invoice", c["original"]))
    facts.append(("Account", c["account"]))
    pdf.set_font("Helvetica", size=9)
    for k, v in facts:
        pdf.set_x(130)
        pdf.cell(35, 5, _t(k + ":"), align="R")
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(35, 5, _t(v), align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=9)
    pdf.set_y(max(pdf.get_y(), 48) + 4)


def _bill_to(pdf: FPDF, c: dict) -> None:
    """The guarantor, the insurance on file and the reason (credit notes)."""
    g = c["guarantor"]
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(0, 5, "Bill to", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    for line in [g["name"]] + _addr(g):
        pdf.cell(0, 5, _t(line), new_x="LMARGIN", new_y="NEXT")
    if c.get("insurance"):
        pdf.ln(1)
        pdf.set_font("Helvetica", size=8)
        pdf.cell(
            0,
            4,
            _t(
                "Insurance on file: "
                + "; ".join(f"{i['payer']} (member {i['member']})" for i in c["insurance"])
            ),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    if c.get("reason"):
        pdf.set_font("Helvetica", size=9)
        _paragraph(pdf, _t(f"Reason: {c['reason']}"), 5)
    pdf.ln(4)


def _line_table(pdf: FPDF, c: dict) -> None:
    """One row per line (two with its diagnoses), the heading repeated on each page."""
    m = money.fmt
    pdf.set_font("Helvetica", size=8)
    head = ("Date", "Code", "Description", "Charges", "Insurance paid", "Adjusted", "Your share")
    widths = (18, 17, 69, 19, 21, 18, 20)
    aligns = ("L", "L", "L", "R", "R", "R", "R")

    def heading():
        pdf.set_font("Helvetica", "B", 8)
        pdf.set_fill_color(230, 230, 230)
        for w, h, a in zip(widths, head, aligns, strict=True):
            pdf.cell(w, 5.5, _t(h), align=a, fill=True)
        pdf.ln(5.5)
        pdf.set_font("Helvetica", size=8)

    heading()
    for ln in c["lines"]:
        code = ln.get("code") or ""
        if ln.get("modifiers"):
            code += "-" + ln["modifiers"].replace(",", "-")
        desc = _fit(pdf, _t(ln.get("description") or ""), widths[2] - 1)
        dx = "Dx " + ", ".join(d["code"] for d in ln["diagnoses"]) if ln.get("diagnoses") else ""
        height = 4.2 * (2 if (desc and dx) else 1)
        if pdf.get_y() + height > pdf.h - 20:
            pdf.add_page()
            heading()
        y = pdf.get_y()
        cells = [
            _t(_date(ln.get("date_of_service"))),
            _t(code),
            desc or _t(dx),
            m(ln["charge_cents"]) if ln["charge_cents"] else "",
            m(ln["insurance_paid_cents"]) if ln["insurance_paid_cents"] else "",
            m(ln["adjusted_cents"]) if ln["adjusted_cents"] else "",
            m(ln["amount_cents"]),
        ]
        for w, v, a in zip(widths, cells, aligns, strict=True):
            pdf.cell(w, 4.2, v, align=a)
        if desc and dx:
            pdf.set_xy(15 + widths[0] + widths[1], y + 4.2)
            pdf.set_font("Helvetica", size=7)
            pdf.cell(widths[2], 4.2, _t(dx))
            pdf.set_font("Helvetica", size=8)
        pdf.set_xy(15, y + height)
        pdf.set_draw_color(200)
        pdf.line(15, pdf.get_y(), 15 + sum(widths), pdf.get_y())
        pdf.set_draw_color(0)


def _diagnosis_legend(pdf: FPDF, c: dict) -> None:
    """The diagnosis codes the lines name, with their descriptions."""
    legend: dict[str, str] = {}
    for ln in c["lines"]:
        for d in ln.get("diagnoses") or []:
            if d.get("description"):
                legend.setdefault(d["code"], d["description"])
    if legend:
        pdf.ln(2)
        pdf.set_font("Helvetica", size=7.5)
        _paragraph(
            pdf,
            _t("Diagnosis codes: " + "; ".join(f"{k} {v}" for k, v in sorted(legend.items()))),
            3.6,
        )


def _totals_block(pdf: FPDF, rows: list[tuple[str, int]], label: str, balance_cents: int) -> None:
    """Right-aligned amount rows, then the balance in bold under a rule (invoice and statement)."""
    m = money.fmt
    pdf.set_font("Helvetica", size=9)
    for k, v in rows:
        pdf.set_x(120)
        pdf.cell(45, 5, _t(k), align="R")
        pdf.cell(35, 5, m(v, thousands=True), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(120)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(45, 7, _t(label), align="R", border="T")
    pdf.cell(
        35,
        7,
        m(balance_cents, symbol=True, thousands=True),
        align="R",
        border="T",
        new_x="LMARGIN",
        new_y="NEXT",
    )


def _totals(pdf: FPDF, c: dict) -> None:
    """Charges, insurance, this invoice, payments and the balance due (and by when)."""
    totals = [
        ("Total charges", c.get("charges_cents", 0)),
        ("Insurance paid", -c.get("insurance_paid_cents", 0)),
        ("Insurance adjustments", -c.get("adjusted_cents", 0)),
        ("This invoice", c["total_cents"]),
        ("Patient payments", -c.get("patient_paid_cents", 0)),
    ]
    _totals_block(pdf, totals, "Balance due", c["balance_due_cents"])
    if c.get("due_on") and c["balance_due_cents"] > 0:
        pdf.set_font("Helvetica", size=9)
        pdf.set_x(120)
        pdf.cell(
            80,
            5,
            _t(f"Please pay by {_date(c['due_on'])}"),
            align="R",
            new_x="LMARGIN",
            new_y="NEXT",
        )


def _aging_table(pdf: FPDF, c: dict) -> None:
    """The account's balance by age of invoice."""
    m = money.fmt
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(0, 5, "Account aging (days since invoice)", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    widths = (30, 30, 30, 30, 40)  # the four AGING buckets and the account balance
    labels = [a["bucket"] for a in c["aging"]] + ["Account balance"]
    values = [m(a["amount_cents"], thousands=True) for a in c["aging"]] + [
        m(sum(a["amount_cents"] for a in c["aging"]), thousands=True)
    ]
    pdf.set_font("Helvetica", "B", 9)
    for w, v in zip(widths, labels, strict=False):
        pdf.cell(w, 5, v, align="R", border="B")
    pdf.ln(5)
    pdf.set_font("Helvetica", size=9)
    for w, v in zip(widths, values, strict=False):
        pdf.cell(w, 5, v, align="R")
    pdf.ln(5)


def _how_to_pay(pdf: FPDF, c: dict) -> None:
    """Check, card and payment plan (patient invoices)."""
    prac = c["practice"]
    pdf.ln(5)
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(0, 5, "How to pay", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    how = (
        f"By check payable to {prac['name']}, mailed to {', '.join(_addr(prac))};"
        f" write account {c['account']} and invoice {c['number']} on it."
    )
    if prac.get("phone"):
        how += f" By card: call {_phone(prac['phone'])}."
    if c.get("pay_instructions"):
        how += " " + c["pay_instructions"]
    how += " Questions about this bill? Call us; we can set up a payment plan."
    _paragraph(pdf, _t(how), 4.5)
