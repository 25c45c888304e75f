"""Balancing rules the implementation guides state and pyx12 does not check (it never adds
amounts), kept apart from the pyx12-equivalent verdict of billadmin/x12/compiled.py and
labelled with their own ids. They read the segments where the compiled validator placed them
in the map (loop 2300, 2320, 2330B, 2400, 2430 of an 837; 2100, 2110 of an 835), so a CAS is
counted at the level the guide gives it, not guessed from its neighbours.

Amounts are X12 decimals turned into integer cents (half-up); a value that is not a number is
left to the validator (a data type problem) and its rule is not applied. Messages show both
sides ("expected 155.00 != found 150.00") and name the claim number, never patient data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .validate import Verdict, X12Problem

RULES = {
    "837-CLM02": "CLM02, the total claim charge, equals the sum of the claim's service line "
    "charges (SV102 / SV203): 005010X222A1 and 005010X223A2, loop 2300 CLM02.",
    "837-COB-CLAIM": "For each other payer (loop 2320) that reports AMT*D: AMT*D paid + the "
    "2320 CAS amounts + the CAS amounts of the 2430 lines that name that payer (SVD01 = 2330B "
    "NM109) = CLM02: 005010X222A1, loop 2320 AMT*D and loop 2430 notes.",
    "837-COB-LINE": "Each line adjudication (loop 2430): SVD02 paid + its CAS amounts = the "
    "line's charge (SV102 / SV203): 005010X222A1, loop 2430 SVD02.",
    "835-CLP": "CLP03 charge - CLP04 paid = the claim's CAS amounts, claim and service level: "
    "005010X221A1 section 1.10.2.1 (balancing).",
    "835-SVC": "SVC02 charge - SVC03 paid = the service's CAS amounts: 005010X221A1 1.10.2.1.",
    "835-BPR": "BPR02, the payment, = the sum of CLP04 - the sum of the PLB adjustments: "
    "005010X221A1 1.10.2.1.",
}


def _cents(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        d = Decimal(value)
    except InvalidOperation:
        return None
    if not d.is_finite():
        return None
    return int((d * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _el(els: list[str], i: int) -> str | None:
    return els[i - 1] if len(els) >= i else None


def _cas_total(els: list[str]) -> int:
    """CAS03, 06, 09, 12, 15, 18: the amounts of up to six adjustments."""
    total = 0
    for i in range(3, 19, 3):
        c = _cents(_el(els, i))
        if c is not None:
            total += c
    return total


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


@dataclass
class _Claim:
    number: str
    line: int
    charge: int | None
    others: list[dict] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    cas: int = 0  # 835 claim-level CAS
    paid: int | None = None


class _Collect:
    """The visitor: segments in map order, amounts gathered per claim."""

    def __init__(self):
        self.claims: list[_Claim] = []
        self.bpr: tuple[int, int | None] | None = None
        self.plb = 0
        self.kind = None

    def __call__(self, seg_id: str, els: list[str], node, line: int, sub: str) -> None:
        loop = node.parent.id if node.parent is not None else None
        if seg_id == "CLM" and loop == "2300":
            self.kind = "837"
            self.claims.append(_Claim(_el(els, 1) or "", line, _cents(_el(els, 2))))
        elif seg_id == "CLP" and loop == "2100":
            self.kind = "835"
            c = _Claim(_el(els, 1) or "", line, _cents(_el(els, 3)))
            c.paid = _cents(_el(els, 4))
            self.claims.append(c)
        elif seg_id == "BPR":
            self.bpr = (line, _cents(_el(els, 2)))
        elif seg_id == "PLB":
            for i in range(4, 15, 2):
                self.plb += _cents(_el(els, i)) or 0
        elif not self.claims:
            return
        claim = self.claims[-1] if self.claims else None
        if claim is None:
            return
        if loop == "2320" and seg_id == "SBR":
            claim.others.append({"paid": None, "cas": 0, "id": None, "line": line})
        elif loop == "2320" and seg_id == "CAS" and claim.others:
            claim.others[-1]["cas"] += _cas_total(els)
        elif loop == "2320" and seg_id == "AMT" and _el(els, 1) == "D" and claim.others:
            claim.others[-1]["paid"] = _cents(_el(els, 2))
        elif loop == "2330B" and seg_id == "NM1" and claim.others:
            claim.others[-1]["id"] = _el(els, 9)
        elif loop == "2400" and seg_id in ("SV1", "SV2"):
            charge = _cents(_el(els, 2 if seg_id == "SV1" else 3))
            claim.lines.append({"charge": charge, "svds": [], "line": line, "seg": seg_id})
        elif loop == "2430" and seg_id == "SVD" and claim.lines:
            svd = {"payer": _el(els, 1), "paid": _cents(_el(els, 2)), "cas": 0, "line": line}
            claim.lines[-1]["svds"].append(svd)
        elif loop == "2430" and seg_id == "CAS" and claim.lines and claim.lines[-1]["svds"]:
            claim.lines[-1]["svds"][-1]["cas"] += _cas_total(els)
        elif loop == "2100" and seg_id == "CAS":
            claim.cas += _cas_total(els)
        elif loop == "2110" and seg_id == "SVC":
            line_item = {"charge": _cents(_el(els, 2)), "paid": _cents(_el(els, 3)), "cas": 0}
            line_item["line"] = line
            claim.lines.append(line_item)
        elif loop == "2110" and seg_id == "CAS" and claim.lines:
            claim.lines[-1]["cas"] += _cas_total(els)


def _p(rule: str, line: int, seg: str, element: str, what: str, want: int, got: int) -> X12Problem:
    diff = got - want
    more = "too much" if diff > 0 else "too little"
    return X12Problem(
        line,
        seg,
        element,
        f"rule {rule} (a balancing rule pyx12 does not check): {what}: expected "
        f"{_money(want)} != found {_money(got)} ({_money(abs(diff))} {more})",
    )


def balance_problems(c: _Collect) -> list[X12Problem]:
    out: list[X12Problem] = []
    if c.kind == "837":
        for cl in c.claims:
            charges = [ln["charge"] for ln in cl.lines]
            if cl.charge is not None and charges and None not in charges:
                total = sum(charges)
                if total != cl.charge:
                    out.append(
                        _p(
                            "837-CLM02",
                            cl.line,
                            "CLM",
                            "CLM02",
                            f"claim {cl.number}: CLM02 against its lines' charges",
                            total,
                            cl.charge,
                        )
                    )
            for o in cl.others:
                if o["paid"] is None or cl.charge is None:
                    continue
                line_cas = sum(
                    v["cas"] for ln in cl.lines for v in ln["svds"] if v["payer"] == o["id"]
                )
                got = o["paid"] + o["cas"] + line_cas
                if got != cl.charge:
                    out.append(
                        _p(
                            "837-COB-CLAIM",
                            o["line"],
                            "AMT",
                            "AMT02",
                            f"claim {cl.number}: other payer's paid + adjustments against CLM02",
                            cl.charge,
                            got,
                        )
                    )
            for n, ln in enumerate(cl.lines, start=1):
                for v in ln["svds"]:
                    if ln["charge"] is None or v["paid"] is None:
                        continue
                    got = v["paid"] + v["cas"]
                    if got != ln["charge"]:
                        out.append(
                            _p(
                                "837-COB-LINE",
                                v["line"],
                                "SVD",
                                "SVD02",
                                f"claim {cl.number} line {n}: SVD02 + CAS against the line's charge",
                                ln["charge"],
                                got,
                            )
                        )
    elif c.kind == "835":
        paid_total = 0
        for cl in c.claims:
            if cl.charge is not None and cl.paid is not None:
                want = cl.charge - cl.paid
                got = cl.cas + sum(ln["cas"] for ln in cl.lines)
                if got != want:
                    out.append(
                        _p(
                            "835-CLP",
                            cl.line,
                            "CLP",
                            "CLP04",
                            f"claim {cl.number}: CLP03 - CLP04 against its CAS amounts",
                            want,
                            got,
                        )
                    )
            paid_total += cl.paid or 0
            for ln in cl.lines:
                if ln["charge"] is None or ln["paid"] is None:
                    continue
                if ln["charge"] - ln["paid"] != ln["cas"]:
                    out.append(
                        _p(
                            "835-SVC",
                            ln["line"],
                            "SVC",
                            "SVC03",
                            f"claim {cl.number}: SVC02 - SVC03 against the service's CAS amounts",
                            ln["charge"] - ln["paid"],
                            ln["cas"],
                        )
                    )
        if c.bpr is not None and c.bpr[1] is not None and c.claims:
            want = paid_total - c.plb
            if c.bpr[1] != want:
                out.append(
                    _p(
                        "835-BPR",
                        c.bpr[0],
                        "BPR",
                        "BPR02",
                        "BPR02 against the claims paid less PLB",
                        want,
                        c.bpr[1],
                    )
                )
    return out


def check(text: str, name: str = "<memory>") -> tuple[Verdict, list[X12Problem]]:
    """The compiled validator's verdict (pyx12's) and, apart, the balancing rules' findings."""
    from .compiled import validate_compiled

    collect = _Collect()
    verdict = validate_compiled(text, name, visit=collect)
    return verdict, balance_problems(collect)


def check_paths(paths) -> list[tuple[Verdict, list[X12Problem]]]:
    """`billadmin invoice validate`: each file's verdict and its balancing findings."""
    from pathlib import Path

    from .validate import read_x12

    out = []
    for path in paths:
        text, problems = read_x12(Path(path))
        v, found = check(text, str(path))
        if problems:
            v.problems = problems + v.problems
            v.valid = False
        out.append((v, found))
    return out
