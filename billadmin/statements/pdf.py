"""A patient statement as PDF, with the invoice PDFs' machinery (billing/pdf.py: the page,
footer, fonts, address and bill-to blocks): a pure function of the stored content, dated by the
statement date, so a rerun writes the same bytes.

Order on the page: who asks and the statement's facts, bill to, the dunning message, the open
items, the activity since the last statement, the balance and its aging, the plan (when on one),
and a tear-off payment coupon at the foot of the last page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import money
from ..billing.pdf import (
    _addr,
    _bill_to,
    _date,
    _document,
    _paragraph,
    _phone,
    _t,
    _totals_block,
)

if TYPE_CHECKING:
    from fpdf import FPDF

COUPON_MM = 62  # the coupon's height: it moves to a new page when less room is left


def render(c: dict) -> bytes:
    pdf = _document(c)
    _header(pdf, c)
    _bill_to(pdf, c)
    _message(pdf, c)
    _items(pdf, c)
    _activity(pdf, c)
    _totals(pdf, c)
    _aging(pdf, c)
    if c.get("plan"):
        _plan(pdf, c)
    _coupon(pdf, c)
    return bytes(pdf.output())


def _facts(c: dict) -> list[tuple[str, str]]:
    return [
        ("Statement", c["number"]),
        ("Statement date", _date(c["issued_on"])),
        ("Account", c["account"]),
        ("Amount due", money.fmt(c["amount_due_cents"], symbol=True, thousands=True)),
        ("Please pay by", _date(c["pay_by"])),
    ]


def _header(pdf: FPDF, c: dict) -> None:
    prac = c["practice"]
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(110, 7, _t(prac["name"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    for line in _addr(prac) + ([f"Phone {_phone(prac.get('phone'))}"] if prac.get("phone") else []):
        pdf.cell(110, 4.5, _t(line), new_x="LMARGIN", new_y="NEXT")
    pdf.set_xy(130, 15)
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(70, 8, _t(c["title"].upper()), align="R", new_x="LEFT", new_y="NEXT")
    for k, v in _facts(c):
        pdf.set_x(130)
        pdf.set_font("Helvetica", size=9)
        pdf.cell(35, 5, _t(k + ":"), align="R")
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(35, 5, _t(v), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), 48) + 4)


def _message(pdf: FPDF, c: dict) -> None:
    pdf.set_font("Helvetica", "B", 10)
    _paragraph(pdf, _t(c["message"]), 5)
    pdf.ln(3)


def _table(pdf: FPDF, head, widths, aligns, rows) -> None:
    pdf.set_font("Helvetica", "B", 8)
    pdf.set_fill_color(230, 230, 230)
    for w, h, a in zip(widths, head, aligns, strict=True):
        pdf.cell(w, 5.5, _t(h), align=a, fill=True)
    pdf.ln(5.5)
    pdf.set_font("Helvetica", size=8)
    for row in rows:
        if pdf.get_y() + 4.5 > pdf.h - 20:
            pdf.add_page()
        for w, v, a in zip(widths, row, aligns, strict=True):
            pdf.cell(w, 4.5, _t(v), align=a)
        pdf.ln(4.5)


def _items(pdf: FPDF, c: dict) -> None:
    m = money.fmt
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(0, 5, "Open items", new_x="LMARGIN", new_y="NEXT")
    _table(
        pdf,
        ("Date", "Description", "Days", "Amount", "Open"),
        (22, 98, 16, 22, 22),
        ("L", "L", "R", "R", "R"),
        [
            (
                _date(i["date"]),
                i["description"],
                str(i["days"]),
                m(i["amount_cents"]),
                m(i["open_cents"]),
            )
            for i in c["items"]
        ],
    )
    pdf.ln(2)


def _activity(pdf: FPDF, c: dict) -> None:
    since = c.get("since_on")
    pdf.set_font("Helvetica", "B", 9)
    title = f"Since your last statement ({_date(since)})" if since else "Payments and adjustments"
    pdf.cell(0, 5, _t(title), new_x="LMARGIN", new_y="NEXT")
    if not c["activity"]:
        pdf.set_font("Helvetica", size=8)
        pdf.cell(0, 4.5, "No payments or adjustments.", new_x="LMARGIN", new_y="NEXT")
    else:
        _table(
            pdf,
            ("Date", "Payment or adjustment", "Amount"),
            (22, 136, 22),
            ("L", "L", "R"),
            [(_date(a["date"]), a["what"], money.fmt(a["amount_cents"])) for a in c["activity"]],
        )
    pdf.ln(2)


def _totals(pdf: FPDF, c: dict) -> None:
    rows = [("Open items", sum(i["amount_cents"] for i in c["items"]))]
    if c["credit_cents"]:
        rows.append(("Credit on account", -c["credit_cents"]))
    _totals_block(pdf, rows, "Balance", c["balance_cents"])


def _aging(pdf: FPDF, c: dict) -> None:
    m = money.fmt
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(0, 5, "Your balance by age (days)", new_x="LMARGIN", new_y="NEXT")
    labels = [a["bucket"] for a in c["aging"]]
    values = [m(a["amount_cents"], thousands=True) for a in c["aging"]]
    for font, cells in ((("Helvetica", "B", 9), labels), (("Helvetica", "", 9), values)):
        pdf.set_font(*font)
        for v in cells:
            pdf.cell(30, 5, _t(v), align="R", border="B" if cells is labels else 0)
        pdf.ln(5)


def _plan(pdf: FPDF, c: dict) -> None:
    p, m = c["plan"], money.fmt
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(0, 5, _t(f"Payment plan {p['plan']}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    # what the payer, a write-off or a void took off (statements/plans.py); older contents
    # recorded before it was stated have no such key
    credited = p.get("credited_cents") or 0
    text = (
        f"{m(p['monthly_cents'])} a month on day {p['day']}; plan total {m(p['total_cents'])},"
        f" paid {m(p['paid_cents'])},"
        + (f" credited {m(credited)} (insurance, write-off or void)," if credited else "")
        + f" left {m(p['left_cents'])}."
    )
    if p["missed_cents"]:
        text += f" Missed installments: {m(p['missed_cents'])}, included in the amount due."
    _paragraph(pdf, _t(text), 4.5)


def _coupon(pdf: FPDF, c: dict) -> None:
    """The tear-off part the patient sends back with the payment."""
    if pdf.get_y() > pdf.h - 18 - COUPON_MM:
        pdf.add_page()
    top = pdf.h - 18 - COUPON_MM
    pdf.set_y(top)
    pdf.set_font("Helvetica", size=7)
    pdf.set_dash_pattern(dash=1.5, gap=1.5)
    pdf.line(15, top, pdf.w - 15, top)
    pdf.set_dash_pattern()
    pdf.cell(
        0,
        4,
        "Please detach and return this part with your payment.",
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    y = pdf.get_y() + 2
    prac, g = c["practice"], c["guarantor"]
    pdf.set_xy(15, y)
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(90, 5, "Make checks payable and mail to:", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    for line in [prac["name"]] + _addr(prac):
        pdf.cell(90, 4.5, _t(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(90, 5, "From:", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    for line in [g["name"]] + _addr(g):
        pdf.cell(90, 4.5, _t(line), new_x="LMARGIN", new_y="NEXT")
    pdf.set_xy(110, y)
    for k, v in _facts(c):
        pdf.set_x(110)
        pdf.set_font("Helvetica", size=9)
        pdf.cell(40, 6, _t(k + ":"), align="R")
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(40, 6, _t(v), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(110)
    pdf.set_font("Helvetica", size=9)
    pdf.cell(40, 8, "Amount enclosed:", align="R")
    pdf.cell(40, 8, "$ ______________", align="R", new_x="LMARGIN", new_y="NEXT")
