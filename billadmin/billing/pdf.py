"""Patient invoices (and credit notes) as PDF, with fpdf2.

What a statement shows (and why): the practice (who is asking), invoice number, date and due
date, the account number (MRN: what the patient quotes on the phone), the guarantor's name and
address (a minor's statement goes to the subscriber of the child's coverage when recorded), the
services itemised (date, code, description: HCPCS and ICD-10-CM descriptions from the loaded
code sets, CPT descriptions only when a licensed CPT file is loaded, else the code alone), what
insurance paid and adjusted, the patient's payments, the balance due, an aging summary of the
account, how to pay, and page numbers. Never an SSN, and member ids only as their last 4 digits.

The content is computed once, when the invoice is issued, and stored (invoice_snapshots);
rendering is a pure function of it with a fixed creation date, so an export re-renders the
same bytes.
"""

from __future__ import annotations

import datetime as _dt
import unicodedata

from .. import money, pointers

AGING = (("0-30", 0, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("over 90", 91, None))


def mask(member_id: str | None) -> str:
    s = "".join(ch for ch in (member_id or "") if ch.isalnum())
    return ("****" + s[-4:]) if len(s) > 4 else "****"


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
# content


def _guarantor(conn, pat: dict, today: _dt.date) -> dict:
    from ..dates import age_on

    name = f"{pat['first_name']} {pat['last_name']}"
    try:
        minor = age_on(_dt.date.fromisoformat(pat["dob"]), today) < 18
    except ValueError:
        minor = False
    if minor:
        row = conn.execute(
            "SELECT subscriber_first, subscriber_last FROM coverages WHERE patient_id = ? AND relationship != 'self'"
            " AND subscriber_last IS NOT NULL ORDER BY priority, effective_from DESC LIMIT 1",
            (pat["id"],),
        ).fetchone()
        if row:
            name = (
                f"{row[0] or ''} {row[1]}".strip()
                + f" (for {pat['first_name']} {pat['last_name']})"
            )
    return {
        "name": name,
        "address1": pat.get("address1"),
        "address2": pat.get("address2"),
        "city": pat.get("city"),
        "state": pat.get("state"),
        "zip": pat.get("zip"),
    }


def _diagnoses_for(conn, charge_line_id: int | None, describer, dos: str | None) -> list[dict]:
    if not charge_line_id:
        return []
    row = conn.execute(
        "SELECT encounter_id, dx_pointers FROM charge_lines WHERE id = ?", (charge_line_id,)
    ).fetchone()
    if not row:
        return []
    try:
        ptrs: tuple[int, ...] = pointers.parse(row[1])
    except pointers.PointerError:
        ptrs = ()
    dx = [
        r[0]
        for r in conn.execute(
            "SELECT code FROM encounter_diagnoses WHERE encounter_id = ? ORDER BY seq", (row[0],)
        )
    ]
    out = []
    for p in ptrs:
        if 1 <= p <= len(dx):
            out.append({"code": dx[p - 1], "description": describer.diagnosis(dx[p - 1], dos)})
    return out


def _aging(conn, patient_id: int, invoice_id: int, balance_due: int, today: _dt.date) -> list[dict]:
    buckets = {name: 0 for name, _, _ in AGING}
    buckets["0-30"] += balance_due
    for iid, issued, bal in conn.execute(
        "SELECT b.invoice_id, i.issued_on, b.total_cents + b.credited_cents - b.paid_cents - b.adjusted_cents"
        " FROM invoice_balances b JOIN invoices i ON i.id = b.invoice_id"
        " WHERE b.patient_id = ? AND b.kind = 'patient' AND b.invoice_id != ?",
        (patient_id, invoice_id),
    ):
        if bal <= 0:
            continue
        days = (today - _dt.date.fromisoformat(issued)).days
        for name, lo, hi in AGING:
            if days >= lo and (hi is None or days <= hi):
                buckets[name] += bal
                break
    return [{"bucket": name, "amount_cents": buckets[name]} for name, _, _ in AGING]


def patient_content(conn, invoice_id: int, practice: dict, describer, *, today: _dt.date) -> dict:
    """The content of an issued patient invoice, computed at issue (after co-pays are applied)."""
    from .content import PATIENT_COLS
    from .practice import SETTINGS

    number, patient_id, issued_on, due_on, total = conn.execute(
        "SELECT number, patient_id, issued_on, due_on, total_cents FROM invoices WHERE id = ?",
        (invoice_id,),
    ).fetchone()
    pat = dict(
        zip(
            PATIENT_COLS,
            conn.execute(
                f"SELECT {', '.join(PATIENT_COLS)} FROM patients WHERE id = ?", (patient_id,)
            ).fetchone(),
        )
    )
    lines = []
    seen_claim_lines: set = set()
    for lid, line_no, cl_id, dos, code, mods, units, desc, amount in conn.execute(
        "SELECT id, line_no, charge_line_id, date_of_service, code, modifiers, units, description, amount_cents"
        " FROM invoice_lines WHERE invoice_id = ? ORDER BY line_no",
        (invoice_id,),
    ).fetchall():
        item = {
            "line_no": line_no,
            "date_of_service": dos,
            "code": code,
            "modifiers": mods,
            "units": units,
            "description": desc,
            "diagnoses": [],
            "charge_cents": 0,
            "insurance_paid_cents": 0,
            "adjusted_cents": 0,
            "amount_cents": amount,
            "claim": None,
        }
        tr = conn.execute(
            "SELECT a.invoice_id, a.invoice_line_id, i.number, l.charge_line_id FROM patient_invoice_adjustments x"
            " JOIN adjustments a ON a.id = x.adjustment_id JOIN invoices i ON i.id = a.invoice_id"
            " LEFT JOIN invoice_lines l ON l.id = a.invoice_line_id WHERE x.invoice_line_id = ?",
            (lid,),
        ).fetchone()
        if tr is None:
            item["charge_cents"] = amount
            item["diagnoses"] = _diagnoses_for(conn, cl_id, describer, dos)
            if not item["description"]:
                item["description"] = describer.procedure(code, dos)
        else:
            claim_id, claim_line_id, claim_no, claim_cl = tr
            item["claim"] = claim_no
            item["diagnoses"] = _diagnoses_for(conn, claim_cl, describer, dos)
            key = (claim_id, claim_line_id)
            if key not in seen_claim_lines:
                seen_claim_lines.add(key)
                if claim_line_id:
                    where, arg = "invoice_line_id = ?", claim_line_id
                    charge = conn.execute(
                        "SELECT amount_cents FROM invoice_lines WHERE id = ?", (claim_line_id,)
                    ).fetchone()[0]
                else:
                    where, arg = "invoice_id = ? AND invoice_line_id IS NULL", claim_id
                    charge = conn.execute(
                        "SELECT total_cents FROM invoices WHERE id = ?", (claim_id,)
                    ).fetchone()[0]
                item["charge_cents"] = charge
                item["insurance_paid_cents"] = conn.execute(
                    f"SELECT COALESCE(SUM(a.amount_cents), 0) FROM payment_allocations a JOIN payments p ON p.id = a.payment_id"
                    f" WHERE p.kind = 'insurance' AND a.{where}",
                    (arg,),
                ).fetchone()[0]
                item["adjusted_cents"] = conn.execute(
                    f"SELECT COALESCE(SUM(amount_cents), 0) FROM adjustments WHERE source != 'transfer' AND {where}",
                    (arg,),
                ).fetchone()[0]
            proc = describer.procedure(code, dos)
            item["description"] = f"{proc} - {desc}" if proc else desc
        lines.append(item)
    paid = conn.execute(
        "SELECT COALESCE(SUM(amount_cents), 0) FROM payment_allocations WHERE invoice_id = ?",
        (invoice_id,),
    ).fetchone()[0]
    balance = total - paid
    insurance = [
        {"payer": r[0], "member": mask(r[1])}
        for r in conn.execute(
            "SELECT py.name, c.member_id FROM coverages c JOIN payers py ON py.id = c.payer_id WHERE c.patient_id = ?"
            " AND py.kind != 'self' AND c.effective_from <= ? AND (c.effective_to IS NULL OR c.effective_to >= ?)"
            " ORDER BY c.priority",
            (patient_id, today.isoformat(), today.isoformat()),
        )
    ]
    p = practice
    return {
        "kind": "patient",
        "title": "Statement",
        "number": number,
        "issued_on": issued_on,
        "due_on": due_on,
        "practice": {
            k: p.get(k)
            for k in ("name", "address1", "address2", "city", "state", "zip", "phone", "tax_id")
        },
        "pay_instructions": p.get("pay_instructions") or SETTINGS["pay_instructions"][1],
        "account": pat["mrn"],
        "guarantor": _guarantor(conn, pat, today),
        "insurance": insurance,
        "lines": lines,
        "total_cents": total,
        "charges_cents": sum(ln["charge_cents"] for ln in lines),
        "insurance_paid_cents": sum(ln["insurance_paid_cents"] for ln in lines),
        "adjusted_cents": sum(ln["adjusted_cents"] for ln in lines),
        "patient_paid_cents": paid,
        "balance_due_cents": balance,
        "aging": _aging(conn, patient_id, invoice_id, balance, today),
    }


def credit_content(original: dict, *, number: str, issued_on: str, reason: str) -> dict:
    """A credit note for a patient invoice: the original's lines, negated."""
    c = dict(original)
    c.update(
        {
            "kind": "credit",
            "title": "Credit note",
            "number": number,
            "issued_on": issued_on,
            "due_on": None,
            "original": original["number"],
            "reason": reason,
        }
    )
    c["lines"] = [{**ln, "amount_cents": -ln["amount_cents"]} for ln in original["lines"]]
    c["total_cents"] = -original["total_cents"]
    c["balance_due_cents"] = 0
    c["aging"] = []
    return c


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
                    f"{c['practice']['name']}  -  {c['title']} {c['number']}  -  Page {self.page_no()} of {{nb}}"
                ),
                align="C",
            )

    m = money.fmt
    issued = _dt.datetime.fromisoformat(c["issued_on"]).replace(tzinfo=_dt.UTC)
    pdf = Doc(format="Letter", unit="mm")
    pdf.set_creation_date(issued)
    pdf.set_title(_t(f"{c['title']} {c['number']}"))
    pdf.set_author(_t(c["practice"]["name"]))
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    prac = c["practice"]
    # header: practice left, invoice facts right
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
    # guarantor
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
    # lines
    pdf.set_font("Helvetica", size=8)
    head = ("Date", "Code", "Description", "Charges", "Insurance paid", "Adjusted", "Your share")
    widths = (18, 17, 69, 19, 21, 18, 20)
    aligns = ("L", "L", "L", "R", "R", "R", "R")

    def heading():
        pdf.set_font("Helvetica", "B", 8)
        pdf.set_fill_color(230, 230, 230)
        for w, h, a in zip(widths, head, aligns):
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
        for w, v, a in zip(widths, cells, aligns):
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
    legend = {}
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
    pdf.ln(4)
    # totals
    totals = [
        ("Total charges", c.get("charges_cents", 0)),
        ("Insurance paid", -c.get("insurance_paid_cents", 0)),
        ("Insurance adjustments", -c.get("adjusted_cents", 0)),
        ("This invoice", c["total_cents"]),
        ("Patient payments", -c.get("patient_paid_cents", 0)),
    ]
    pdf.set_font("Helvetica", size=9)
    for k, v in totals:
        pdf.set_x(120)
        pdf.cell(45, 5, _t(k), align="R")
        pdf.cell(35, 5, m(v, thousands=True), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(120)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(45, 7, "Balance due", align="R", border="T")
    pdf.cell(
        35,
        7,
        m(c["balance_due_cents"], symbol=True, thousands=True),
        align="R",
        border="T",
        new_x="LMARGIN",
        new_y="NEXT",
    )
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
    # aging
    if c.get("aging"):
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(0, 5, "Account aging (days since invoice)", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=9)
        widths = (30, 30, 30, 30, 40)
        labels = [a["bucket"] for a in c["aging"]] + ["Account balance"]
        values = [m(a["amount_cents"], thousands=True) for a in c["aging"]] + [
            m(sum(a["amount_cents"] for a in c["aging"]), thousands=True)
        ]
        pdf.set_font("Helvetica", "B", 9)
        for w, v in zip(widths, labels):
            pdf.cell(w, 5, v, align="R", border="B")
        pdf.ln(5)
        pdf.set_font("Helvetica", size=9)
        for w, v in zip(widths, values):
            pdf.cell(w, 5, v, align="R")
        pdf.ln(5)
    # how to pay
    if c["kind"] == "patient":
        pdf.ln(5)
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(0, 5, "How to pay", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=9)
        how = (
            f"By check payable to {prac['name']}, mailed to {', '.join(_addr(prac))}; write account {c['account']} "
            f"and invoice {c['number']} on it."
        )
        if prac.get("phone"):
            how += f" By card: call {_phone(prac['phone'])}."
        if c.get("pay_instructions"):
            how += " " + c["pay_instructions"]
        how += " Questions about this bill? Call us; we can set up a payment plan."
        _paragraph(pdf, _t(how), 4.5)
    return bytes(pdf.output())
