"""Golden ledger scenarios (tests/golden_ledger/*.toml): the format, and the runner's helpers.

A scenario is one TOML file: a title, the patients of a tiny practice with their coverages, and
a list of steps a billing office takes (charges imported, `invoice generate`, an 835 posted, a
clerk's action). Every step says what a clerk must see afterwards, with the arithmetic written
by hand in the file (money is a sum written out: "200.00 - 120.00 - 50.00"), never taken from
the code's output. Everything runs through the public CLI (typer's CliRunner over
billadmin.cli's app) and is read back from the commands' JSON output.

Dates are days relative to the day the suite runs ("D", "D+14", "D-3"): `invoice generate`
issues on the real today, so the scenario's day 0 is today and later steps (835s, payments,
aging as of) are dated after it.

Step kinds (`do`):
  charges        encounters = [{encounter, mrn, dos, lines = [[code, charge, mods?, units?]],
                 dx = [..]}]; --update with `update = true` (a corrected encounter)
  generate       invoice generate --through the step's day; `issued` lists the invoices
                 it must issue (claims and patient invoices), every 837 checked (pyx12, COB sums);
                 `x12` lists patterns (regular expressions) the run's 837s must carry
  remit          an 835 from a compact description: payer, trace, claims = [{claim, status,
                 charge, paid, pr, pcn, cas = [[group, carc, amount]], remarks, crossover,
                 lines = [{code, charge, paid, cas, remarks}]}], plb = [{reason, ref, amount}]
  pay / refund   payment post / payment refund for a patient (mrn, amount, invoice?)
  appeal         appeal create (claim, reason); appeal_update (id, status)
  void / replace invoice void (claim, reason, rebill) / invoice replace (claim)
  writeoff       a clerk's write-off of a claim's or patient invoice's open amount
  eob            a paper EOB posted by hand (claim, paid, cas, pr)
  payer_refund   the practice refunds a payer's overpayment (claim, amount)
  qmb / line     flags and line corrections that need commands still being built

A step may say `exit` (the exit code it must end with; 0 by default) and, for a refusal (exit 2),
`error`: text the one-line message must contain (the invoice it names), so that a command that
does not exist yet ("No such command") is not taken for a refusal.

After every step, `expect` holds:
  parties   {PAYER or PATIENT = amount}: `report aging --per payer` totals as of the step's day;
            a party not named must have no row (or 0.00); with `partial = true` only the parties
            named are checked
  buckets   {party = "0-30" | "31-60" | ...}: the bucket that holds that party's whole balance
  claims    {number = {status, balance, paid?, adjusted?, credited?}} from invoice list/show
  accounts  {mrn = {insurance, patient, credit, owes}} from `account show --format json`, and
            `checkin` = what `checkin --format json` tells the front desk the patient owes
and the runner also requires `billadmin check` to pass (exit 0) after every step.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "golden_ledger"
DAY0 = _dt.date.today()

# ---------------------------------------------------------------------------------------------
# the tiny practice: every value known to the scenarios

PRACTICE_ARGS = [
    "practice",
    "set",
    "--name",
    "Golden Family Practice",
    "--npi",
    "1245319599",
    "--tax-id",
    "812345678",
    "--taxonomy",
    "207Q00000X",
    "--address1",
    "1 Main St",
    "--city",
    "Columbus",
    "--state",
    "OH",
    "--zip",
    "43215-1234",
    "--phone",
    "6145550100",
    "--contact-name",
    "Billing Office",
    "--submitter-id",
    "GFP01",
    "--receiver-id",
    "CLEARHOUSE01",
    "--receiver-name",
    "TEST CLEARINGHOUSE",
]
# code, name, kind, x12 payer id, timely filing days, months
PAYERS = [
    ("MCR", "Medicare Part B", "medicare", "15202", "", "12"),
    ("MCD", "State Medicaid", "medicaid", "OHMCD", "365", ""),
    ("MGP", "Medigap Plan G", "commercial", "MGP01", "365", ""),
    ("KEY", "Keystone Commercial", "commercial", "KEY77", "180", ""),
    ("BVH", "Blue Valley HMO", "hmo", "BVH01", "90", ""),
    ("SELF", "Self-pay", "self", "", "", ""),
]
PAYER_X12 = {p[0]: p[3] for p in PAYERS}
PAYER_NAME = {p[0]: p[1].upper() for p in PAYERS}
PROVIDER_NPI = "1245319599"


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def base_practice_files(folder: Path) -> list[tuple[str, Path]]:
    """(import kind, file) for the practice every scenario starts from."""
    return [
        (
            "payers",
            write_csv(
                folder / "payers.csv",
                ["Code", "Name", "Kind", "Payer ID", "Timely Filing Days", "Timely Filing Months"],
                [list(p) for p in PAYERS],
            ),
        ),
        (
            "providers",
            write_csv(
                folder / "providers.csv",
                ["NPI", "First Name", "Last Name", "Taxonomy"],
                [[PROVIDER_NPI, "Ann", "Okafor", "207Q00000X"]],
            ),
        ),
    ]


def patient_files(folder: Path, patients: list[dict]) -> list[tuple[str, Path]]:
    """The scenario's patients and their coverages as the CSV a front desk would import."""
    pts = [
        [
            p["mrn"],
            p.get("first", "Ada"),
            p.get("last", "Golden"),
            p.get("dob", "1950-03-04"),
            p.get("sex", "F"),
            "5 Oak St",
            "Columbus",
            "OH",
            "43215",
        ]
        for p in patients
    ]
    cov = [
        [
            p["mrn"],
            c["payer"],
            c.get("member", ""),
            c.get("priority", "primary"),
            c.get("from", "2020-01-01"),
            c.get("copay", ""),
        ]
        for p in patients
        for c in p.get("coverages", [])
    ]
    out = [
        (
            "patients",
            write_csv(
                folder / "patients.csv",
                ["MRN", "First Name", "Last Name", "DOB", "Sex", "Address", "City", "State", "ZIP"],
                pts,
            ),
        )
    ]
    if cov:
        out.append(
            (
                "coverage",
                write_csv(
                    folder / "coverage.csv",
                    ["MRN", "Payer Code", "Member ID", "Priority", "Effective From", "Copay"],
                    cov,
                ),
            )
        )
    return out


def charges_file(path: Path, encounters: list[dict]) -> Path:
    header = ["Encounter", "MRN", "DOS", "Rendering NPI", "POS", "Line", "Code"]
    header += ["Mod1", "Mod2", "Dx1", "Dx2", "Pointers", "Units", "Charge"]
    # optional claim-field columns an encounter gives for every line (issue 20: CLIA, NDC...)
    extra = list(dict.fromkeys(k for e in encounters for k in e.get("columns", {})))
    header += extra
    rows = []
    for e in encounters:
        dx = list(e.get("dx", ["I10"])) + ["", ""]
        for n, ln in enumerate(e["lines"], start=1):
            mods = (ln[2].split(",") if len(ln) > 2 and ln[2] else []) + ["", ""]
            units = ln[3] if len(ln) > 3 else 1
            rows.append(
                [
                    e["encounter"],
                    e["mrn"],
                    day(e["dos"]).isoformat(),
                    PROVIDER_NPI,
                    e.get("pos", "11"),
                    n,
                    ln[0],
                    mods[0],
                    mods[1],
                    dx[0],
                    dx[1],
                    e.get("pointers", "1"),
                    units,
                    ln[1],
                    *[e.get("columns", {}).get(k, "") for k in extra],
                ]
            )
    return write_csv(path, header, rows)


# ---------------------------------------------------------------------------------------------
# days and money as the scenario writes them

_DAY = re.compile(r"^D(?:([+-])(\d+))?$")


def day(text: str) -> _dt.date:
    """ "D" is the day the suite runs, "D+14" two weeks later, "D-3" three days before."""
    m = _DAY.match(text.strip())
    if not m:
        raise ValueError(f"a scenario day is D, D+n or D-n: {text!r}")
    n = int(m.group(2) or 0)
    return DAY0 + _dt.timedelta(days=-n if m.group(1) == "-" else n)


_TERM = re.compile(r"\s*([+-]?)\s*(\d+\.\d{2})\s*")


def cents(expr: str) -> int:
    """A hand-written sum of amounts: "200.00 - 120.00 - 50.00" -> 3000 cents. Only decimal
    literals with two decimals and + or -, so the arithmetic in a scenario is plain to read."""
    text, pos, total, first = str(expr), 0, Decimal(0), True
    while pos < len(text):
        m = _TERM.match(text, pos)
        if not m or (not first and not m.group(1)):
            raise ValueError(f"not a sum of amounts: {expr!r}")
        v = Decimal(m.group(2))
        total += -v if m.group(1) == "-" else v
        pos, first = m.end(), False
    if first:
        raise ValueError(f"empty amount: {expr!r}")
    return int(total * 100)


def money_text(c: int) -> str:
    sign = "-" if c < 0 else ""
    return f"{sign}{abs(c) // 100}.{abs(c) % 100:02d}"


def x12_amount(expr: str) -> str:
    """An amount as an 835 writes it: no trailing zeros ("120", "120.5", "-30")."""
    c = cents(expr)
    s = money_text(c)
    s = s.rstrip("0").rstrip(".") if "." in s else s
    return s or "0"


# ---------------------------------------------------------------------------------------------
# the 835 from a compact description


def remit_text(step: dict) -> str:
    """An 835 (005010X221A1) as the payer would send it: BPR total = claims paid - PLB."""
    payer = step["payer"]
    x12_id = PAYER_X12[payer]
    on = day(step["on"]).strftime("%Y%m%d")
    body: list[list[str]] = []
    paid_total = 0
    for i, c in enumerate(step.get("claims", []), start=1):
        body.append(["LX", str(i)])
        clp = ["CLP", c["claim"], str(c["status"]), x12_amount(c["charge"])]
        clp += [x12_amount(c["paid"]), x12_amount(c["pr"]) if c.get("pr") else ""]
        clp += ["12", c.get("pcn", f"{payer}-{c['claim']}")]
        body.append(clp)
        paid_total += cents(c["paid"])
        for g, r, a in c.get("cas", []):
            body.append(["CAS", g, r, x12_amount(a)])
        body.append(["NM1", "QC", "1", "GOLDEN", "ADA", "", "", "", "MI", "X999"])
        if c.get("crossover"):
            body.append(["NM1", "TT", "2", c["crossover"], "", "", "", "", "PI", "XOVER1"])
        if c.get("remarks"):
            body.append(["MOA", "", "", *c["remarks"]])
        for ln in c.get("lines", []):
            body.append(
                ["SVC", "HC:" + ln["code"], x12_amount(ln["charge"])]
                + [x12_amount(ln["paid"]), "", str(ln.get("units", 1))]
            )
            body.append(
                ["DTM", "472", day(ln.get("dos", step.get("dos", "D-4"))).strftime("%Y%m%d")]
            )
            for g, r, a in ln.get("cas", []):
                body.append(["CAS", g, r, x12_amount(a)])
            for rk in ln.get("remarks", []):
                body.append(["LQ", "HE", rk])
    plb = []
    for p in step.get("plb", []):
        plb += [f"{p['reason']}:{p['ref']}" if p.get("ref") else p["reason"]]
        plb += [x12_amount(p["amount"])]
        paid_total -= cents(p["amount"])
    if plb:
        body.append(["PLB", "1245319599", f"{day(step['on']).year}1231", *plb])
    amount = money_text(abs(paid_total))
    head = [
        ["ST", "835", "0001"],
        [
            "BPR",
            "I" if paid_total else "H",
            amount,
            "D" if paid_total < 0 else "C",
            "ACH" if paid_total else "NON",
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
            on,
        ],
        ["TRN", "1", step["trace"], "1" + x12_id.rjust(9, "0")[-9:]],
        ["DTM", "405", on],
        ["N1", "PR", PAYER_NAME[payer], "XV", x12_id],
        ["N3", "PO BOX 100"],
        ["N4", "COLUMBUS", "OH", "43216"],
        ["N1", "PE", "GOLDEN FAMILY PRACTICE", "XX", "1245319599"],
    ]
    segs = head + body
    segs.append(["SE", str(len(segs) + 1), "0001"])
    isa = ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", x12_id.ljust(15), "ZZ"]
    isa += ["GFP01".ljust(15), on[2:], "1200", "^", "00501", "000000001", "0", "P", ":"]
    full = [
        isa,
        ["GS", "HP", x12_id, "GFP01", on, "1200", "1", "X", "005010X221A1"],
        *segs,
        ["GE", "1", "1"],
        ["IEA", "1", "000000001"],
    ]
    return "".join("*".join(s) + "~\n" for s in full)


# ---------------------------------------------------------------------------------------------
# 837P COB sums, checked apart from pyx12 (which does not add amounts)


def cob_findings(text: str) -> list[str]:
    """Every COB claim balances (005010X222A1, 2320 AMT*D and 2430 notes): for each prior payer
    (2320), AMT*D paid + its claim-level CAS + the CAS of the 2430 lines whose SVD01 names it
    (2330B NM109) = CLM02; and for every 2430, SVD02 + its CAS = the line's SV102. pyx12 does
    not add amounts, so this is checked apart. Returns the differences found."""
    segs = [s.strip().split("*") for s in text.replace("\n", "").split("~") if s.strip()]
    claims: list[dict] = []
    where = ""
    for s in segs:
        sid = s[0]
        if sid == "CLM":
            claims.append({"id": s[1], "charge": _c(s[2]), "others": [], "lines": []})
            where = "2300"
        elif not claims:
            continue
        elif sid == "SBR" and where in ("2300", "2320", "2330"):
            claims[-1]["others"].append({"paid": None, "cas": 0, "id": None})
            where = "2320"
        elif sid == "CAS" and where == "2320":
            claims[-1]["others"][-1]["cas"] += _cas_sum(s)
        elif sid == "AMT" and where == "2320" and s[1] == "D":
            claims[-1]["others"][-1]["paid"] = _c(s[2])
        elif sid == "NM1" and where in ("2320", "2330"):
            where = "2330"
            if s[1] == "PR":
                claims[-1]["others"][-1]["id"] = s[9]
        elif sid == "LX":
            where = "2400"
            claims[-1]["lines"].append({"charge": None, "svds": []})
        elif sid == "SV1" and claims[-1]["lines"]:
            claims[-1]["lines"][-1]["charge"] = _c(s[2])
        elif sid == "SVD" and claims[-1]["lines"]:
            where = "2430"
            claims[-1]["lines"][-1]["svds"].append({"payer": s[1], "paid": _c(s[2]), "cas": 0})
        elif sid == "CAS" and where == "2430":
            claims[-1]["lines"][-1]["svds"][-1]["cas"] += _cas_sum(s)
    out: list[str] = []
    for c in claims:
        for o in c["others"]:
            if o["paid"] is None:
                continue
            line_cas = sum(
                v["cas"] for ln in c["lines"] for v in ln["svds"] if v["payer"] == o["id"]
            )
            total = o["paid"] + o["cas"] + line_cas
            if total != c["charge"]:
                out.append(
                    f"{c['id']}: prior payer {o['id']}: AMT*D + CAS = {money_text(total)}"
                    f" != CLM02 {money_text(c['charge'])}"
                )
        for n, ln in enumerate(c["lines"], start=1):
            for v in ln["svds"]:
                if ln["charge"] is not None and v["paid"] + v["cas"] != ln["charge"]:
                    out.append(
                        f"{c['id']} line {n}: SVD*{v['payer']}: SVD02 + CAS ="
                        f" {money_text(v['paid'] + v['cas'])} != SV102 {money_text(ln['charge'])}"
                    )
    return out


def _c(amount: str) -> int:
    return int(Decimal(amount) * 100)


def _cas_sum(seg: list[str]) -> int:
    return sum(_c(seg[i]) for i in range(3, len(seg), 3) if seg[i])


# ---------------------------------------------------------------------------------------------
# scenarios


@dataclass
class Scenario:
    path: Path
    title: str
    needs: str | None
    patients: list[dict]
    steps: list[dict] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.stem


def load(path: Path) -> Scenario:
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    steps = data.get("steps", [])
    for i, s in enumerate(steps, start=1):
        if "expect" not in s:
            raise ValueError(f"{path.name}: step {i} ({s.get('do')}) has no expect")
    return Scenario(path, data["title"], data.get("needs"), data.get("patients", []), steps)


def all_scenarios() -> list[Scenario]:
    return [load(p) for p in sorted(HERE.glob("*.toml"))]


def loads_json(text: str) -> Any:
    return json.loads(text)
