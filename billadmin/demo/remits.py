"""The demo's remittance step: the payers answer the demo's claims with 835 files, the night job
imports them, and the claims are reconciled against the 835s and a bank deposit file.

Deterministic (seeded). Of the claims the invoice step issued: about 80% are paid at the fee
schedule (with co-insurance, co-pays and deductibles as patient responsibility), 7% are paid
short (allowed 80-90% of the fee schedule), 8% are denied (authorization, missing information,
medical necessity, timely filing, duplicate; with remark codes), 5% get no answer yet. One paid
claim is later reversed and paid again corrected, one 835 also pays a claim another practice
issued (unmatched), and the bank file misses one deposit and shows another short by a fee.

Coordination of benefits: Medicare's answer for a patient with a secondary coverage forwards the
claim to it about 60% of the time (CLP02 19, MA18 to a Medigap insurer, MA07 to Medicaid, NM1*TT)
and otherwise not (MA19, or no remark); a QMB's answer carries N781. The crossover payer answers
10-30 days later on the same claim; a next-payer COB claim (`invoice generate`) is answered like
any claim, but as secondary (CLP02 2, OA-23 the prior payer's impact, AMT*B6 its allowed). A
replacement claim (frequency 7) is always answered, paid.

Medicare returns a claim it cannot process as unprocessable: CO-16 with the claim-level remark
MA130 (MOA), nothing paid (CMS Pub. 100-04 ch. 1 s. 80.3.2); in the demo, a Medicare CO-16 on a
visit whose E/M line (99202-99215, first line) was billed with other services and without
modifier 25 (M51 on the lines: the procedure code or its modifier). The clerk adds the modifier
and resubmits it as a new claim (demo/clerk.py), which, like a replacement, is always answered,
paid; it takes no original's seeded fate.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import random
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from .. import money

if TYPE_CHECKING:
    from ..db import Database


SEED = 835
DENIALS = [
    ("CO", "197", "N54"),
    ("CO", "16", "M51"),
    ("CO", "50", "N115"),
    ("CO", "29", None),
    ("CO", "18", None),
    ("CO", "96", "N130"),
]
COINSURANCE = {"medicare": 20, "commercial": 20, "hmo": 0, "medicaid": 0}


def _amt(cents: int) -> str:
    return money.x12_amount(cents)


class _File:
    """One payer's 835 (one ST) being written."""

    def __init__(self, payer: dict, trace: str, pay_date: _dt.date, practice: dict):
        self.payer, self.trace, self.pay_date, self.practice = payer, trace, pay_date, practice
        self.claims: list[list[list[str]]] = []
        self.total = 0

    def add(self, segs: list[list[str]], paid: int) -> None:
        self.claims.append(segs)
        self.total += paid

    def text(self, isa_control: int) -> str:
        d = self.pay_date.strftime("%Y%m%d")
        body = [
            ["ST", "835", "0001"],
            [
                "BPR",
                "I",
                _amt(abs(self.total)),
                "C" if self.total >= 0 else "D",
                "ACH",
                "CCP",
                "01",
                "999999992",
                "DA",
                "123456",
                self.payer["tin"],
                "",
                "01",
                "999988880",
                "DA",
                "98765",
                d,
            ],
            ["TRN", "1", self.trace, self.payer["tin"]],
            ["DTM", "405", d],
            ["N1", "PR", self.payer["name"].upper()[:60]],
            ["N3", self.payer.get("address1") or "PO BOX 1"],
            [
                "N4",
                self.payer.get("city") or "COLUMBUS",
                self.payer.get("state") or "OH",
                self.payer.get("zip") or "43215",
            ],
            ["REF", "2U", self.payer["x12"] or self.payer["code"]],
            ["N1", "PE", self.practice["name"].upper()[:60], "XX", self.practice["npi"]],
        ]
        for i, c in enumerate(self.claims, start=1):
            body.append(["LX", str(i)])
            body.extend(c)
        body.append(["SE", str(len(body) + 1), "0001"])
        sender = (self.payer["x12"] or self.payer["code"])[:15].ljust(15)
        recv = (self.practice.get("submitter_id") or "PRACTICE")[:15].ljust(15)
        segs = [
            [
                "ISA",
                "00",
                " " * 10,
                "00",
                " " * 10,
                "ZZ",
                sender,
                "ZZ",
                recv,
                self.pay_date.strftime("%y%m%d"),
                "0800",
                "^",
                "00501",
                f"{isa_control:09d}",
                "0",
                "P",
                ":",
            ],
            [
                "GS",
                "HP",
                sender.strip(),
                recv.strip(),
                d,
                "0800",
                str(isa_control),
                "X",
                "005010X221A1",
            ],
            *body,
            ["GE", "1", str(isa_control)],
            ["IEA", "1", f"{isa_control:09d}"],
        ]
        return "".join("*".join(s) + "~\n" for s in segs)


def _fee(conn: Database, payer_id, code, mods, dos, charge):
    from ..reconcile.remits import _fee as fee_lookup

    try:
        fee = fee_lookup(conn, payer_id, code, mods, dos)
    except Exception:  # no fee schedule table
        fee = None
    return charge if fee is None else min(fee, charge)


def _claim_segments(
    inv: dict,
    lines: list[dict],
    kind: str,
    outcome: str,
    rnd: random.Random,
    conn: Database,
    status: str = "1",
    sign: int = 1,
    pcn: str | None = None,
) -> tuple[list[list[str]], int]:
    """CLP loop for one claim: returns (segments, paid cents)."""
    svc, total_paid, total_pr, charge_total = [], 0, 0, 0
    denial = DENIALS[rnd.randrange(len(DENIALS))] if outcome == "denied" else None
    deductible = kind in ("commercial", "medicare") and rnd.random() < 0.08
    for i, ln in enumerate(lines):
        charge = ln["amount_cents"]
        charge_total += charge
        code = ln["code"] + "".join(
            ":" + m for m in (ln["modifiers"] or "").replace(",", " ").split()
        )
        cas: list[tuple[str, str, int]] = []
        remark = None
        if denial:
            cas.append((denial[0], denial[1], charge))
            remark = denial[2]
            paid = 0
        else:
            allowed = _fee(
                conn, inv["payer_id"], ln["code"], ln["modifiers"], ln["date_of_service"], charge
            )
            if outcome == "short":
                allowed = allowed * rnd.choice((80, 85, 90)) // 100
            pr = []
            if deductible and i == 0:
                pr.append(("PR", "1", min(allowed, 5000)))
            elif kind == "hmo" and i == 0 and inv["copay_cents"] == 0:
                pr.append(("PR", "3", min(allowed, 2000)))
            rest = allowed - sum(p[2] for p in pr)
            co = money.percent_of(rest, COINSURANCE.get(kind, 0))
            if co:
                pr.append(("PR", "2", co))
            if charge - allowed:
                cas.append(("CO", "45", charge - allowed))
            cas += pr
            paid = allowed - sum(p[2] for p in pr)
            total_pr += sum(p[2] for p in pr)
        total_paid += paid
        seg = [
            [
                "SVC",
                f"HC:{code}",
                _amt(sign * charge),
                _amt(sign * paid),
                "",
                str(ln["units"] or 1),
            ],
            ["DTM", "472", (ln["date_of_service"] or inv["issued_on"]).replace("-", "")],
        ]
        for g, r, a in cas:
            seg.append(["CAS", g, r, _amt(sign * a)])
        if not denial:
            seg.append(["AMT", "B6", _amt(sign * (paid + sum(a for g, _, a in cas if g == "PR")))])
        if remark:
            seg.append(["LQ", "HE", remark])
        svc.extend(seg)
    clp = [
        "CLP",
        inv["number"],
        "4" if denial and rnd.random() < 0.5 else status,
        _amt(sign * charge_total),
        _amt(sign * total_paid),
        _amt(sign * total_pr) if total_pr else "",
        {"medicare": "MB", "medicaid": "MC", "hmo": "HM"}.get(kind, "CI"),
        pcn or f"{inv['payer_code']}{inv['id']:08d}",
    ]
    head = [
        clp,
        ["NM1", "QC", "1", "PATIENT", "DEMO", "", "", "", "MI", f"M{inv['patient_id']:08d}"],
    ]
    if denial and _unprocessable(kind, denial, lines):
        head.append(["MOA", "", "", "MA130"])  # 2100 MOA03: claim-level remark
    return head + svc, sign * total_paid


EM_VISITS = {f"992{n:02d}" for n in (*range(2, 6), *range(11, 16))}


def _unprocessable(kind: str, denial: tuple, lines: list[dict]) -> bool:
    """Medicare's CO-16 on a visit whose first line is an office E/M billed beside other services
    without modifier 25 comes back unprocessable (MA130; module docstring)."""
    if kind != "medicare" or denial[:2] != ("CO", "16") or len(lines) < 2:
        return False
    first = lines[0]
    mods = (first["modifiers"] or "").replace(",", " ").split()
    return first["code"] in EM_VISITS and "25" not in mods and len(mods) < 4


def _negated(segs: list[list[str]]) -> list[list[str]]:
    """A reversal of a claim payment: CLP02 22, every amount negated (835 TR3, 1.10.2.8)."""
    neg = {"CLP": (3, 4, 5), "SVC": (2, 3), "CAS": (3, 6, 9, 12, 15, 18), "AMT": (2,)}
    out = []
    for seg in segs:
        seg = list(seg)
        for i in neg.get(seg[0], ()):
            if i < len(seg) and seg[i]:
                seg[i] = _amt(-money.parse_x12_amount(seg[i]))
        if seg[0] == "CLP":
            seg[2] = "22"
        out.append(seg)
    return out


def _payers(conn: Database) -> dict[int, dict]:
    """Every payer by id, with a made-up but stable tax id (the 835's payer TIN)."""
    payers = {}
    for pid, code, name, kind, x12, a1, city, st, zp in conn.execute(
        "SELECT id, code, name, kind, x12_payer_id, address1, city, state, zip FROM payers"
    ):
        tin = "1" + str(int(hashlib.sha256(code.encode()).hexdigest(), 16))[:9]
        payers[pid] = {
            "id": pid,
            "code": code,
            "name": name,
            "kind": kind,
            "x12": x12,
            "tin": tin,
            "address1": a1,
            "city": city,
            "state": st,
            "zip": zp,
        }
    return payers


def _claims_until(conn: Database, until: _dt.date) -> tuple[list[dict], dict[int, list[dict]]]:
    """Claims issued before until (originals, replacements and next-payer COB claims), and their
    lines by claim id. Each original claim carries its ordinal among the originals (`seq`, from
    1), which seeds its fate: a COB claim or a replacement issued in between moves no other
    claim's answer."""
    cob = (
        "LEFT JOIN cob_claims x ON x.invoice_id = i.id"
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'cob_claims'").fetchone()
        else "LEFT JOIN (SELECT NULL AS invoice_id, NULL AS remit_claim_id,"
        " NULL AS prior_invoice_id) x ON 0"
    )
    cols = (
        "id",
        "number",
        "payer_id",
        "patient_id",
        "issued_on",
        "copay_cents",
        "total_cents",
        "frequency_code",
        "prior_answer",
        "prior_id",
        "original_id",
    )
    invs = [
        dict(zip(cols, r, strict=True))
        for r in conn.execute(
            "SELECT i.id, i.number, i.payer_id, i.patient_id, i.issued_on, i.copay_cents,"
            f" i.total_cents, i.frequency_code, x.remit_claim_id, x.prior_invoice_id,"
            f" i.original_invoice_id FROM invoices i {cob}"
            " WHERE i.kind = 'claim' AND i.frequency_code IN ('1', '7') AND i.issued_on < ?"
            " ORDER BY i.id",
            (until.isoformat(),),
        )
    ]
    seq, seqs = 0, {}
    for inv in invs:
        if inv["frequency_code"] == "1" and inv["prior_answer"] is None and not inv["original_id"]:
            seq += 1
            inv["seq"] = seqs[inv["id"]] = seq
        elif inv["prior_id"] in seqs:  # a COB claim: seeded by the claim it follows
            inv["prior_seq"] = seqs[inv["prior_id"]]
        elif inv["original_id"] in seqs and inv["frequency_code"] == "1":
            # a claim resubmitted after MA130: seeded by the claim it corrects
            inv["prior_seq"] = seqs[inv["original_id"]]
            inv["resubmitted"] = True
    lines = defaultdict(list)
    for r in conn.execute(
        "SELECT l.invoice_id, l.line_no, l.code, l.modifiers, l.units, l.date_of_service,"
        " l.amount_cents FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id"
        " WHERE i.kind = 'claim' AND i.issued_on < ? ORDER BY l.invoice_id, l.line_no",
        (until.isoformat(),),
    ):
        lines[r[0]].append(
            dict(
                zip(
                    ("line_no", "code", "modifiers", "units", "date_of_service", "amount_cents"),
                    r[1:],
                    strict=True,
                )
            )
        )
    return invs, lines


def qmb(mrn: str) -> bool:
    """Whether a dual eligible is a Qualified Medicare Beneficiary (about 40% of them), by the
    patient's own seeded draw. The coverage import has no QMB column, so the demo's Medicare
    835s say it (remark N781)."""
    return random.Random(f"{SEED}-qmb-{mrn}").random() < 0.4


def _secondaries(conn: Database) -> dict[int, list[tuple]]:
    """Each patient's secondary coverages: patient id -> [(payer id, payer kind, from, to, qmb)]
    (qmb: the demo's QMB draw for a dual eligible)."""
    out: dict[int, list[tuple]] = defaultdict(list)
    for pid, payer_id, kind, start, end, mrn in conn.execute(
        "SELECT c.patient_id, c.payer_id, p.kind, c.effective_from, c.effective_to, t.mrn"
        " FROM coverages c JOIN payers p ON p.id = c.payer_id JOIN patients t"
        " ON t.id = c.patient_id WHERE c.priority = 2"
    ):
        out[pid].append((payer_id, kind, start, end, kind == "medicaid" and qmb(mrn)))
    return out


def _secondary_on(secondaries: dict, inv: dict, lines: list[dict]) -> tuple | None:
    dos = min((ln["date_of_service"] or inv["issued_on"]) for ln in lines)
    for cov in secondaries.get(inv["patient_id"], ()):
        if cov[2] <= dos and (not cov[3] or dos <= cov[3]):
            return cov
    return None


def _crossover(
    segs: list[list[str]], inv: dict, sec: tuple, payers: dict[int, dict]
) -> tuple[list[list[str]], str]:
    """Medicare's answer for a patient with a secondary coverage: forwarded to it (CLP02 19,
    MA18 to a Medigap insurer, MA07 to Medicaid, the payer named in NM1*TT; about 60%), or
    not (MA19, or no remark: the office bills the secondary). A QMB's answer carries N781 on
    each line (LQ*HE; CMS's QMB indicator remarks, N781-N784): not in MOA, because the COB
    claim copies MOA's remarks into its 2320 MOA and pyx12's code list does not know N781
    (the whole run would fail validation). -> (segments, kind)."""
    rnd = random.Random(SEED * 7_000_003 + inv["seq"])
    payer_id, kind, _start, _end, is_qmb = sec
    remarks: list[str] = []
    if rnd.random() < 0.6:
        segs[0][2] = "19"
        remarks.append("MA07" if kind == "medicaid" else "MA18")
        what = "crossover"
    else:
        what = "not_forwarded"
        if rnd.random() < 0.5:
            remarks.append("MA19")
    head, body = segs[:2], segs[2:]
    if is_qmb:
        body = [seg for line in _service_loops(body) for seg in line + [["LQ", "HE", "N781"]]]
    if what == "crossover":
        head.append(
            [
                "NM1",
                "TT",
                "2",
                payers[payer_id]["name"].upper()[:60],
                "",
                "",
                "",
                "",
                "PI",
                payers[payer_id]["x12"] or payers[payer_id]["code"],
            ]
        )
    if remarks:
        head.append(["MOA", "", "", *remarks])
    return head + body, what


def _service_loops(segs: list[list[str]]) -> list[list[list[str]]]:
    """Service payment loops (2110): each SVC with the segments after it."""
    out: list[list[list[str]]] = []
    for seg in segs:
        if seg[0] == "SVC" or not out:
            out.append([])
        out[-1].append(seg)
    return out


def _secondary_segments(
    inv: dict, lines: list[dict], ans, kind: str, rnd: random.Random, pcn: str
) -> tuple[list[list[str]], int]:
    """The secondary payer's CLP loop (CLP02 2) for a claim the primary answered (`ans`, its
    posted answer, billing.cob.Answer): per line OA-23 the prior payer's impact (its payment
    and reductions), then what the secondary does with the patient responsibility the primary
    left. A Medigap plan (Plan G) pays the coinsurance and co-pay, the Part B deductible stays
    the patient's (PR-1); Medicaid pays at most its own rate ("lesser of": all, part or none of
    the coinsurance, the rest CO-45, never billed to the patient, 42 CFR 447.15). Returns
    (segments, paid cents)."""
    share = rnd.choice((100, 100, 60, 0)) if kind == "medicaid" else 100
    svc, total_paid, total_pr, charge_total = [], 0, 0, 0
    for ln in lines:
        charge = ln["amount_cents"]
        charge_total += charge
        la = ans.lines.get(ln["line_no"]) or {"cas": []}
        pr: dict[str, int] = defaultdict(int)
        for g, r, a in la["cas"]:
            if g == "PR":
                pr[r] += a
        left = sum(pr.values())
        cas: list[tuple[str, str, int]] = [("OA", "23", charge - left)]
        if kind == "medicaid":
            paid = money.percent_of(left, share)
            cas.append(("CO", "45", left - paid))
        else:
            ded = pr.get("1", 0)
            paid = left - ded
            cas.append(("PR", "1", ded))
            total_pr += ded
        total_paid += paid
        code = ln["code"] + "".join(
            ":" + m for m in (ln["modifiers"] or "").replace(",", " ").split()
        )
        svc.append(["SVC", f"HC:{code}", _amt(charge), _amt(paid), "", str(ln["units"] or 1)])
        svc.append(["DTM", "472", (ln["date_of_service"] or inv["issued_on"]).replace("-", "")])
        svc += [["CAS", g, r, _amt(a)] for g, r, a in cas if a]
        # the allowed amount the secondary recognises: the prior payer's (its payment and the
        # patient responsibility it left)
        svc.append(["AMT", "B6", _amt(la.get("paid_cents", 0) + left)])
    clp = [
        "CLP",
        inv["number"],
        "2",
        _amt(charge_total),
        _amt(total_paid),
        _amt(total_pr) if total_pr else "",
        {"medicare": "MB", "medicaid": "MC", "hmo": "HM"}.get(kind, "CI"),
        pcn,
    ]
    head = [
        clp,
        ["NM1", "QC", "1", "PATIENT", "DEMO", "", "", "", "MI", f"M{inv['patient_id']:08d}"],
    ]
    return head + svc, total_paid


def _pay_date(rnd: random.Random, issued_on: str) -> _dt.date:
    return _dt.date.fromisoformat(issued_on) + _dt.timedelta(days=rnd.randint(12, 40))


def _on_friday(pay_date: _dt.date, until: _dt.date) -> _dt.date:
    """Payers send their 835s on Fridays (not after the window's end)."""
    return min(pay_date + _dt.timedelta(days=(4 - pay_date.weekday()) % 7), until)


class _Files(dict[tuple[int, _dt.date], _File]):
    """The window's 835s: one per payer and pay date."""

    def __init__(self, practice: dict):
        super().__init__()
        self.practice = practice

    def add(self, payer: dict, pay_date: _dt.date, segs: list[list[str]], paid: int) -> None:
        f = self.get((payer["id"], pay_date))
        if f is None:
            f = self[(payer["id"], pay_date)] = _File(
                payer, f"{payer['code']}{pay_date:%y%m%d}", pay_date, self.practice
            )
        f.add(segs, paid)


def _answer_claims(
    conn: Database,
    invs: list[dict],
    lines: dict[int, list[dict]],
    payers: dict[int, dict],
    since: _dt.date,
    until: _dt.date,
    practice: dict,
    counts: dict[str, int],
):
    """Each claim's seeded fate; those answered in the window go into one 835 per payer and
    pay date. -> (files, a paid claim that could be reversed, or None)."""
    from ..billing import cob

    files = _Files(practice)
    reversible = None
    secondaries = _secondaries(conn)
    for inv in invs:
        payer = payers.get(inv["payer_id"])
        if payer is None or payer["kind"] == "self":
            continue
        inv["payer_code"] = payer["code"]
        if "seq" not in inv:  # a next-payer COB claim or a replacement: always answered
            rnd = random.Random(SEED * 3_000_017 + inv.get("prior_seq", -inv["id"]))
            pay_date = _pay_date(rnd, inv["issued_on"])
            if not (since < pay_date <= until):
                continue
            pay_date = _on_friday(pay_date, until)
            if inv["prior_answer"] is not None:
                counts["secondary"] += 1
                segs, paid = _secondary_segments(
                    inv,
                    lines[inv["id"]],
                    cob.answer(conn, inv["prior_answer"]),
                    payer["kind"],
                    rnd,
                    f"{payer['code']}{inv['id']:08d}",
                )
            else:
                counts["resubmission" if inv.get("resubmitted") else "replacement"] += 1
                segs, paid = _claim_segments(
                    inv, lines[inv["id"]], payer["kind"], "paid", rnd, conn
                )
            files.add(payer, pay_date, segs, paid)
            continue
        rnd = random.Random(SEED * 1_000_003 + inv["seq"])
        roll = rnd.random()
        outcome = (
            "paid"
            if roll < 0.80
            else "short"
            if roll < 0.87
            else "denied"
            if roll < 0.95
            else "none"
        )
        pay_date = _pay_date(rnd, inv["issued_on"])
        if outcome == "none" or not (since < pay_date <= until):
            continue
        pay_date = _on_friday(pay_date, until)
        counts[outcome] += 1
        segs, paid = _claim_segments(inv, lines[inv["id"]], payer["kind"], outcome, rnd, conn)
        sec = None
        if payer["kind"] == "medicare" and outcome != "denied":
            sec = _secondary_on(secondaries, inv, lines[inv["id"]])
        if sec is not None:
            segs, what = _crossover(segs, inv, sec, payers)
            counts[what] += 1
        files.add(payer, pay_date, segs, paid)
        if reversible is None and outcome == "paid" and paid > 0 and sec is None:
            reversible = (inv, payer, segs, paid)
    return files, reversible


def _answer_crossovers(
    conn: Database,
    payers: dict[int, dict],
    since: _dt.date,
    until: _dt.date,
    files: _Files,
    counts: dict[str, int],
) -> None:
    """The crossover payers' 835s (CLP02 2) for claims Medicare forwarded, 10-30 days after
    Medicare's answer was posted (in a later window), on the same claim."""
    from ..billing import cob

    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'cob_crossovers'").fetchone():
        return
    invs, lines = _claims_until(conn, until)
    by_id = {inv["id"]: inv for inv in invs}
    for invoice_id, remit_claim_id, next_payer_id, answered_on in conn.execute(
        "SELECT x.invoice_id, x.remit_claim_id, x.next_payer_id,"
        " COALESCE(t.payment_date, t.production_date) FROM cob_crossovers x"
        " JOIN remit_claims c ON c.id = x.remit_claim_id"
        " JOIN remit_transactions t ON t.id = c.transaction_id"
        " WHERE x.next_payer_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM remit_claims c2"
        " JOIN remit_transactions t2 ON t2.id = c2.transaction_id"
        " WHERE c2.invoice_id = x.invoice_id AND t2.payer_id = x.next_payer_id)"
        " ORDER BY x.invoice_id"
    ):
        inv, payer = by_id.get(invoice_id), payers.get(next_payer_id)
        if inv is None or payer is None:
            continue
        rnd = random.Random(SEED * 5_000_011 + inv.get("seq", -invoice_id))
        due = _dt.date.fromisoformat(answered_on) + _dt.timedelta(days=rnd.randint(10, 30))
        if due > until:
            continue
        pay_date = _on_friday(max(due, since + _dt.timedelta(days=1)), until)
        segs, paid = _secondary_segments(
            inv,
            lines[invoice_id],
            cob.answer(conn, remit_claim_id),
            payer["kind"],
            rnd,
            f"{payer['code']}{invoice_id:08d}X",
        )
        files.add(payer, pay_date, segs, paid)
        counts["crossover_answered"] += 1


def _write_files(conn: Database, out_dir: Path, files: dict, paths: list, payments: list) -> int:
    """The window's 835s, by pay date then payer, with ISA numbers after those already
    imported; -> the next ISA number."""
    isa = (
        int(conn.execute("SELECT COUNT(*) FROM remit_files").fetchone()[0]) + 1
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'remit_files'").fetchone()
        else 1
    )
    for _key, f in sorted(files.items(), key=lambda kv: (kv[0][1], kv[1].payer["code"])):
        p = out_dir / f"{f.payer['code']}-{f.pay_date.isoformat()}-{f.trace}.835"
        p.write_text(f.text(isa))
        isa += 1
        paths.append(p)
        payments.append((f.pay_date, f.payer["code"], f.trace, f.total))
    return isa


def _extras(
    conn: Database,
    out_dir: Path,
    reversible: tuple,
    lines: dict[int, list[dict]],
    until: _dt.date,
    practice: dict,
    isa: int,
    paths: list,
    payments: list,
    counts: dict[str, int],
) -> None:
    """One reversal (a paid claim taken back and paid again, corrected) and a payment for a
    claim another practice issued, in one extra 835."""
    inv, payer, orig, paid = reversible
    f = _File(payer, f"{payer['code']}{until:%y%m%d}RV", until, practice)
    f.add(_negated(orig), -paid)
    segs, paid2 = _claim_segments(
        inv,
        lines[inv["id"]],
        payer["kind"],
        "short",
        random.Random(SEED + inv["id"]),
        conn,
        pcn=f"{payer['code']}{inv['id']:08d}R",
    )
    f.add(segs, paid2)
    f.add(
        [
            ["CLP", "ZZ-OTHER-7781", "1", "95", "60", "", "CI", "OTHER1"],
            ["CAS", "CO", "45", "35"],
        ],
        6000,
    )
    p = out_dir / f"{payer['code']}-{until.isoformat()}-{f.trace}.835"
    p.write_text(f.text(isa))
    paths.append(p)
    payments.append((until, payer["code"], f.trace, f.total))
    counts["reversed"] += 1
    counts["unmatched"] += 1


def answer_window(
    conn: Database,
    out_dir: Path,
    since: _dt.date,
    until: _dt.date,
    practice: dict,
    *,
    extras: bool = False,
) -> dict:
    """The demo's timeline: the payers' 835s that arrive in (since, until].

    Each claim's fate is fixed by its own seeded draw (80% paid, 7% paid short, 8% denied, 5% never
    answered; a delay of 12-40 days after the claim was issued), so calling this window by window
    answers every claim exactly once, on a date after it was sent. Claims whose answer falls after the last window
    stay unanswered, as the newest claims of a real practice do. With extras=True the window also
    carries one reversal (a paid claim taken back and paid again, corrected) and a payment for a
    claim another practice issued. Returns the files and, per 835, (pay date, payer code, trace,
    amount) for the bank file.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    payers = _payers(conn)
    invs, lines = _claims_until(conn, until)
    counts: dict[str, int] = defaultdict(int)
    files, reversible = _answer_claims(conn, invs, lines, payers, since, until, practice, counts)
    _answer_crossovers(conn, payers, since, until, files, counts)
    paths: list[Path] = []
    payments: list[tuple] = []
    isa = _write_files(conn, out_dir, files, paths, payments)
    if extras and reversible:
        _extras(conn, out_dir, reversible, lines, until, practice, isa, paths, payments, counts)
    return {"files": paths, "payments": payments, "counts": dict(counts)}


def write_deposits(path: Path, payments: list[tuple], card_days: dict | None = None) -> Path:
    """The bank's deposit file for the 835 payments: one not deposited yet (the newest), one
    short by a 2.50 bank fee, one deposited in two parts on two days without its trace (a split
    deposit), the rest as paid; and, from card_days (day -> (count, cents) of the ledger's card
    payments), each day's card batch the next day, without a trace (MERCHANT DEPOSIT)."""
    payments = sorted(payments)
    rows = []
    for i, (day, code, trace, total) in enumerate(payments):
        if i == len(payments) - 1:
            continue
        if i == 2 and total > 1:
            part = total // 3
            rows.append((day, f"DEPOSIT HCCLAIMPMT {code}", "", part))
            rows.append(
                (day + _dt.timedelta(days=1), f"DEPOSIT HCCLAIMPMT {code}", "", total - part)
            )
            continue
        rows.append((day, f"HCCLAIMPMT {code}", trace, total - (250 if i == 1 else 0)))
    for day, (_, cents) in sorted((card_days or {}).items()):
        if cents > 0:
            rows.append((day + _dt.timedelta(days=1), "MERCHANT DEPOSIT VISA/MC", "", cents))
    with open(path, "w", newline="") as fh:
        fh.write("Date,Description,EFT Trace,Credit\n")
        for day, text, trace, amount in sorted(rows, key=lambda r: (r[0], r[2], r[1], r[3])):
            fh.write(f"{day.isoformat()},{text},{trace},{money.fmt(amount)}\n")
    return path
