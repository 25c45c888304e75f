"""Test fixture (not production code): issued claims inserted directly, and an 835 writer.

Until tests can issue claims through billadmin.billing, `issue_claim` inserts an invoice, its
lines and an 'issued' event the way the ledger conventions describe (content hash included, so
`billadmin check` accepts them). `Remit` builds 835 text the way payers write it.
"""

from __future__ import annotations

from billadmin import audit, ledger, money
from billadmin import db as dbmod


def ensure_party(conn, *, payer_code="KEY", payer_x12="KEY77", kind="commercial"):
    row = conn.execute("SELECT id FROM payers WHERE code = ?", (payer_code,)).fetchone()
    if row:
        payer_id = row[0]
    else:
        payer_id = conn.execute(
            "INSERT INTO payers (code, name, kind, x12_payer_id) VALUES (?,?,?,?)",
            (payer_code, f"{payer_code} Insurance", kind, payer_x12),
        ).lastrowid
    row = conn.execute("SELECT id FROM patients WHERE mrn = 'T0001'").fetchone()
    if row:
        patient_id = row[0]
    else:
        now = audit.utcnow()
        patient_id = conn.execute(
            "INSERT INTO patients (mrn, first_name, last_name, dob, sex, created_at, updated_at)"
            " VALUES ('T0001','Test','Patient','1970-01-01','F',?,?)",
            (now, now),
        ).lastrowid
    return payer_id, patient_id


def issue_claim(
    conn,
    number: str,
    lines: list[tuple[str, str, str]],
    *,
    payer_code="KEY",
    payer_x12="KEY77",
    dos="2026-03-02",
    issued_on="2026-03-05",
) -> int:
    """lines: (code, modifiers, amount) -> invoice id. Fixture: direct inserts."""
    with dbmod.write(conn):
        payer_id, patient_id = ensure_party(conn, payer_code=payer_code, payer_x12=payer_x12)
        cents = [money.parse_cents(a) for _, _, a in lines]
        inv = {
            "number": number,
            "kind": "claim",
            "patient_id": patient_id,
            "payer_id": payer_id,
            "coverage_id": None,
            "encounter_id": None,
            "original_invoice_id": None,
            "frequency_code": "1",
            "issued_on": issued_on,
            "due_on": None,
            "filing_deadline": None,
            "total_cents": sum(cents),
            "copay_cents": 0,
        }
        lns = [
            {
                "line_no": i,
                "charge_line_id": None,
                "date_of_service": dos,
                "code": code,
                "modifiers": mods,
                "units": 1,
                "description": None,
                "amount_cents": c,
            }
            for i, ((code, mods, _), c) in enumerate(zip(lines, cents, strict=True), start=1)
        ]
        inv_id = conn.execute(
            "INSERT INTO invoices (number, kind, patient_id, payer_id, frequency_code, issued_on,"
            " total_cents, copay_cents, content_hash, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                number,
                "claim",
                patient_id,
                payer_id,
                "1",
                issued_on,
                inv["total_cents"],
                0,
                ledger.content_hash(inv, lns),
                audit.utcnow(),
            ),
        ).lastrowid
        for ln in lns:
            conn.execute(
                "INSERT INTO invoice_lines (invoice_id, line_no, date_of_service, code, modifiers, units, amount_cents)"
                " VALUES (?,?,?,?,?,?,?)",
                (inv_id, ln["line_no"], dos, ln["code"], ln["modifiers"], 1, ln["amount_cents"]),
            )
        conn.execute(
            "INSERT INTO invoice_events (invoice_id, status, at) VALUES (?, 'issued', ?)",
            (inv_id, audit.utcnow()),
        )
        digits = int("".join(ch for ch in number if ch.isdigit()) or 0)
        conn.execute(
            "UPDATE series SET next_number = MAX(next_number, ?) WHERE kind = 'claim'",
            (digits + 1,),
        )
    return inv_id


def balance_of(conn, invoice_id: int) -> dict:
    r = conn.execute(
        "SELECT total_cents, credited_cents, paid_cents, adjusted_cents FROM invoice_balances"
        " WHERE invoice_id = ?",
        (invoice_id,),
    ).fetchone()
    return {"total": r[0], "paid": r[2], "adjusted": r[3], "balance": r[0] + r[1] - r[2] - r[3]}


def status_of(conn, invoice_id: int) -> str:
    return conn.execute(
        "SELECT status FROM invoice_status WHERE invoice_id = ?", (invoice_id,)
    ).fetchone()[0]


class Remit:
    """An 835 writer for tests: claims and lines with CAS, PLB, and a BPR that balances unless told."""

    def __init__(
        self,
        trace="EFT1001",
        payer_tin="1812345678",
        payer="KEYSTONE COMMERCIAL",
        method="ACH",
        date="20260314",
        sep="*",
        comp=":",
        term="~",
        newline="",
    ):
        self.trace, self.payer_tin, self.payer, self.method, self.date = (
            trace,
            payer_tin,
            payer,
            method,
            date,
        )
        self.sep, self.comp, self.term, self.newline = sep, comp, term, newline
        self.claims: list[list[list[str]]] = []
        self.plb: list[list[str]] = []
        self.paid_total = 0
        self.bpr_override: str | None = None
        self.credit_debit = "C"

    def claim(self, number, status, charge, paid, pr=None, pcn="PCN1", cas=(), lines=()):
        """cas: [(group, reason, amount)]; lines: [(code_composite, charge, paid, [(g, r, a)], remarks)]"""
        segs = [["CLP", number, status, charge, paid, pr or "", "12", pcn]]
        for g, r, a in cas:
            segs.append(["CAS", g, r, a])
        segs.append(["NM1", "QC", "1", "DOE", "JANE", "", "", "", "MI", "X999"])
        for ln in lines:
            code, lcharge, lpaid, lcas = ln[:4]
            remarks = ln[4] if len(ln) > 4 else ()
            segs.append(["SVC", code.replace(":", self.comp), lcharge, lpaid, "", "1"])
            segs.append(["DTM", "472", "20260302"])
            for g, r, a in lcas:
                segs.append(["CAS", g, r, a])
            for rk in remarks:
                segs.append(["LQ", "HE", rk])
        self.claims.append(segs)
        try:
            self.paid_total += money.parse_x12_amount(paid)
        except money.MoneyError:  # a test writing a bad amount on purpose
            pass
        return self

    def provider_adjustment(self, reason, ref, amount):
        self.plb.append([f"{reason}{self.comp}{ref}" if ref else reason, amount])
        self.paid_total -= money.parse_x12_amount(amount)
        return self

    def segments(self) -> list[list[str]]:
        amt = (
            self.bpr_override
            if self.bpr_override is not None
            else money.x12_amount(abs(self.paid_total))
        )
        cd = "D" if self.paid_total < 0 else self.credit_debit
        body = [
            ["ST", "835", "0001"],
            [
                "BPR",
                "I",
                amt,
                cd,
                self.method,
                "CCP",
                "01",
                "999999992",
                "DA",
                "123456",
                "1512345678",
                "",
                "01",
                "999988880",
                "DA",
                "98765",
                self.date,
            ],
            ["TRN", "1", self.trace, self.payer_tin],
            ["DTM", "405", self.date],
            ["N1", "PR", self.payer],
            ["N3", "1 MAIN ST"],
            ["N4", "COLUMBUS", "OH", "43215"],
            ["N1", "PE", "RIVERBEND FAMILY MEDICINE", "XX", "1234567893"],
        ]
        for i, c in enumerate(self.claims, start=1):
            body.append(["LX", str(i)])
            body.extend(c)
        if self.plb:
            seg = ["PLB", "1234567893", "20261231"]
            for ident, amt2 in self.plb:
                seg += [ident, amt2]
            body.append(seg)
        body.append(["SE", str(len(body) + 1), "0001"])
        isa = [
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            "ZZ",
            "KEY77".ljust(15),
            "ZZ",
            "RBFM01".ljust(15),
            "260314",
            "1200",
            "^",
            "00501",
            "000000001",
            "0",
            "P",
            self.comp,
        ]
        return [
            isa,
            ["GS", "HP", "KEY77", "RBFM01", "20260314", "1200", "1", "X", "005010X221A1"],
            *body,
            ["GE", "1", "1"],
            ["IEA", "1", "000000001"],
        ]

    def text(self) -> str:
        return "".join(self.sep.join(s) + self.term + self.newline for s in self.segments())

    def write(self, path) -> str:
        with open(path, "w", newline="") as fh:
            fh.write(self.text())
        return str(path)
