"""The golden ledger suite (issue 12): scenarios from real billing, each a list of steps run
through the CLI, and after every step the balances a clerk sees, as written by hand in
tests/golden_ledger/*.toml. Format and helpers: tests/ledger_scenarios.py.

A scenario whose behaviour is not built yet carries `needs = "..."` and runs as a strict xfail:
the moment it passes, the marker must go."""

from __future__ import annotations

import json
import re
from pathlib import Path

import ledger_scenarios as ls
import pytest
from typer.testing import CliRunner

SCENARIOS = ls.all_scenarios()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> Path:
    """The tiny practice (practice settings, payers, one provider), built once through the CLI;
    every scenario starts from its own copy."""
    from billadmin.cli import app
    from billadmin.commands import state

    folder = tmp_path_factory.mktemp("golden-template")
    path = folder / "template.db"
    runner = CliRunner()

    def run(*args):
        res = runner.invoke(app, ["--db", str(path), *map(str, args)])
        assert res.exit_code == 0, (args, res.stdout, res.stderr)

    run("init")
    run(*ls.PRACTICE_ARGS)
    for kind, f in ls.base_practice_files(folder):
        run("import", kind, f)
    state.db_path, state.quiet = None, False
    return path


def _params():
    out = []
    for sc in SCENARIOS:
        marks = [pytest.mark.xfail(strict=True, reason=f"needs: {sc.needs}")] if sc.needs else []
        out.append(pytest.param(sc, id=sc.name, marks=marks))
    return out


class Clerk:
    """Runs billadmin commands on one scenario's database and reads what they show."""

    def __init__(self, db: Path, folder: Path):
        from billadmin.cli import app

        self.app, self.db, self.folder = app, db, folder
        self.runner = CliRunner()
        self.files_seen: set[Path] = set()
        self.n = 0

    def run(self, *args, expect: int | tuple[int, ...] = 0):
        res = self.runner.invoke(self.app, ["--db", str(self.db), *map(str, args)])
        self.last = res
        ok = expect if isinstance(expect, tuple) else (expect,)
        assert res.exit_code in ok, (
            f"billadmin {' '.join(map(str, args))} -> exit {res.exit_code}, expected {expect}\n"
            f"stdout: {res.stdout[-2000:]}\nstderr: {res.stderr[-2000:]}\n"
            f"{res.exception!r}"
        )
        return res

    def json(self, *args):
        return json.loads(self.run(*args, "--format", "json").stdout)

    def file(self, name: str) -> Path:
        self.n += 1
        return self.folder / f"{self.n:02d}-{name}"


# ---------------------------------------------------------------------------------------------
# steps: what the clerk does


def do_charges(clerk: Clerk, step: dict) -> None:
    f = ls.charges_file(clerk.file("charges.csv"), step["encounters"])
    args = ["import", "charges", f] + (["--update"] if step.get("update") else [])
    clerk.run(*args, expect=step.get("exit", 0))


def do_generate(clerk: Clerk, step: dict) -> None:
    out = clerk.folder / "out"
    res = clerk.run(
        "invoice",
        "generate",
        "--through",  # generate issues on the real today; it bills nothing dated after it
        min(ls.day(step["on"]), ls.DAY0),
        "--out",
        out,
        "--no-pdf",
        "--no-xlsx",
        "--format",
        "json",
        expect=step.get("exit", 0),
    )
    issued = [r["number"] for r in json.loads(res.stdout or "[]")]
    if "issued" in step:
        assert issued == step["issued"], f"issued {issued}, expected {step['issued']}"
    text = check_837s(clerk, out)
    for pattern in step.get("x12", []):  # what the X12 guide says the 837 must carry
        assert re.search(pattern, text), f"no {pattern!r} in the 837s of this run:\n{text}"


def check_837s(clerk: Clerk, out: Path) -> str:
    """Every 837 written since the last look passes pyx12 (invoice validate) and its COB amounts
    balance; returns their text, one segment a line."""
    new = sorted(p for p in out.rglob("*.edi") if p not in clerk.files_seen) if out.exists() else []
    texts = []
    for p in new:
        clerk.files_seen.add(p)
        clerk.run("invoice", "validate", p)
        text = p.read_text()
        assert ls.cob_findings(text) == [], p.name
        texts.append(text.replace("~", "~\n"))
    return "".join(texts)


def do_remit(clerk: Clerk, step: dict) -> None:
    f = clerk.file(f"{step['trace']}.835")
    f.write_text(ls.remit_text(step))
    clerk.run("remit", "import", f, expect=step.get("exit", 0))


def do_pay(clerk: Clerk, step: dict) -> None:
    args = ["payment", "post", step["mrn"], ls.money_text(ls.cents(step["amount"]))]
    args += ["--method", step.get("method", "card"), "--date", ls.day(step["on"])]
    if step.get("invoice"):
        args += ["--invoice", step["invoice"]]
    if step.get("credit"):
        args += ["--credit"]
    clerk.run(*args, expect=step.get("exit", 0))


def do_refund(clerk: Clerk, step: dict) -> None:
    args = ["payment", "refund", step["mrn"], ls.money_text(ls.cents(step["amount"]))]
    args += ["--method", step.get("method", "check"), "--date", ls.day(step["on"])]
    clerk.run(*args, expect=step.get("exit", 0))


def do_appeal(clerk: Clerk, step: dict) -> None:
    pdf = clerk.file("appeal.pdf")
    clerk.run(
        "appeal",
        "create",
        step["claim"],
        "--reason",
        step["reason"],
        "-o",
        pdf,
        "--date",
        ls.day(step["on"]),
        expect=step.get("exit", 0),
    )


def do_appeal_update(clerk: Clerk, step: dict) -> None:
    clerk.run(
        "appeal",
        "update",
        step["id"],
        "--status",
        step["status"],
        "--date",
        ls.day(step["on"]),
        expect=step.get("exit", 0),
    )


def do_void(clerk: Clerk, step: dict) -> None:
    args = ["invoice", "void", step["claim"], "--reason", step.get("reason", "billed in error")]
    if step.get("rebill"):
        args.append("--rebill")
    if step.get("payer_claim_number"):
        args += ["--payer-claim-number", step["payer_claim_number"]]
    clerk.run(*args, expect=step.get("exit", 0))


def do_replace(clerk: Clerk, step: dict) -> None:
    args = ["invoice", "replace", step["claim"]]
    if step.get("payer_claim_number"):
        args += ["--payer-claim-number", step["payer_claim_number"]]
    clerk.run(*args, expect=step.get("exit", 0))


def do_cli(clerk: Clerk, step: dict) -> None:
    """A clerk's command written out in the scenario (for commands still being built): "{on}"
    in an argument is the step's day."""
    args = [str(a).replace("{on}", ls.day(step["on"]).isoformat()) for a in step["args"]]
    clerk.run(*args, expect=step.get("exit", 0))


STEPS = {
    "charges": do_charges,
    "generate": do_generate,
    "remit": do_remit,
    "pay": do_pay,
    "refund": do_refund,
    "appeal": do_appeal,
    "appeal_update": do_appeal_update,
    "void": do_void,
    "replace": do_replace,
    "cli": do_cli,
}


# ---------------------------------------------------------------------------------------------
# what the clerk sees afterwards

BUCKETS = ("0-30", "31-60", "61-90", "91-120", "120+")


def check_expect(clerk: Clerk, step: dict, where: str) -> None:
    exp = step["expect"]
    on = ls.day(step["on"]).isoformat()
    aging = [r for r in clerk.json("report", "aging", "--as-of", on) if r["payer"] != "TOTAL"]
    by_party = {r["payer"]: r for r in aging}
    if "parties" in exp:
        want = {k: ls.cents(v) for k, v in exp["parties"].items()}
        got = {k: ls.cents(r["total"]) for k, r in by_party.items() if ls.cents(r["total"])}
        if exp.get("partial"):  # only the parties named (where the scenario cannot know more)
            got = {k: v for k, v in got.items() if k in want}
        want = {k: v for k, v in want.items() if v}
        assert got == want, f"{where}: balances per party {_m(got)} != expected {_m(want)}"
    for party, bucket in exp.get("buckets", {}).items():
        r = by_party.get(party)
        assert r is not None, f"{where}: no aging row for {party}"
        spread = {b: r[b] for b in BUCKETS if ls.cents(r[b])}
        assert list(spread) == [bucket] and r[bucket] == r["total"], (
            f"{where}: {party} aging {spread}, expected all in {bucket}"
        )
    if "claims" in exp:
        listed = {r["number"]: r for r in clerk.json("invoice", "list")}
        for number, want in exp["claims"].items():
            assert number in listed, f"{where}: {number} not in invoice list"
            row = listed[number]
            if any(k in want for k in ("paid", "adjusted", "credited")):
                row = {**row, **clerk.json("invoice", "show", number)}
            for key, value in want.items():
                got_v = row[key]
                if key in ("status",):
                    assert got_v == value, f"{where}: {number} {key} {got_v!r} != {value!r}"
                else:
                    assert ls.cents(got_v) == ls.cents(value), (
                        f"{where}: {number} {key} {got_v} != {value} = "
                        f"{ls.money_text(ls.cents(value))}"
                    )
    for mrn, acct in exp.get("accounts", {}).items():
        s = clerk.json("account", "show", mrn, "--as-of", on)["summary"]
        if "checkin" in acct:  # what the front desk is told at check-in
            desk = clerk.json("checkin", mrn, "--date", on)
            assert ls.cents(desk["patient_balance"]) == ls.cents(acct["checkin"]), (
                f"{where}: check-in says {mrn} owes {desk['patient_balance']} != {acct['checkin']}"
            )
            acct = {k: v for k, v in acct.items() if k != "checkin"}
        keys = {
            "insurance": "insurance_balance",
            "patient": "patient_balance",
            "credit": "credit",
            "owes": "patient_owes",
        }
        for key, value in acct.items():
            got_v = s[keys[key]]
            assert ls.cents(got_v) == ls.cents(value), (
                f"{where}: account {mrn} {key} {got_v} != {value} = "
                f"{ls.money_text(ls.cents(value))}"
            )
    res = clerk.run("check", expect=(0, 1))
    assert res.exit_code == 0, f"{where}: billadmin check failed:\n{res.stdout[-3000:]}"


def _m(d: dict) -> dict:
    return {k: ls.money_text(v) for k, v in sorted(d.items())}


@pytest.mark.parametrize("scenario", _params())
def test_golden_ledger(scenario: ls.Scenario, template_db: Path, tmp_path: Path) -> None:
    from billadmin import db as dbmod

    db = tmp_path / "golden.db"
    src = dbmod.connect(template_db)
    src.conn.backup(dbmod.connect(db, create=True, migrate=False).conn)
    src.close()
    clerk = Clerk(db, tmp_path)
    for kind, f in ls.patient_files(tmp_path, scenario.patients):
        clerk.run("import", kind, f)
    for i, step in enumerate(scenario.steps, start=1):
        where = (
            f"{scenario.name} step {i} ({step['do']}{': ' + step['say'] if 'say' in step else ''})"
        )
        STEPS[step["do"]](clerk, step)
        if "error" in step:  # a refusal names what it refuses (not "No such command")
            assert step["error"] in clerk.last.stderr, f"{where}: {clerk.last.stderr}"
        check_expect(clerk, step, where)


def test_scenarios_are_well_formed() -> None:
    """Every scenario has a title, steps that the runner knows, days and sums it can read, the
    state of every invoice and a bucket for every balance after every step, and the issue's list
    is covered: at least 25."""
    assert len(SCENARIOS) >= 25, [s.name for s in SCENARIOS]
    for sc in SCENARIOS:
        assert sc.title and sc.steps, sc.name
        known: list[str] = []  # every invoice issued so far has its state after every step
        for step in sc.steps:
            assert step.get("exit", 0) != 2 or "error" in step, (sc.name, step["on"], "error")
            claims = step["expect"].get("claims", {})
            known += [n for n in [*step.get("issued", []), *claims] if n not in known]
            for n in known:
                if not n.startswith("CN"):
                    assert "status" in claims.get(n, {}), (sc.name, step["on"], n, "no state")
            assert step["do"] in STEPS, (sc.name, step["do"])
            ls.day(step["on"])
            exp = step["expect"]
            assert "parties" in exp, (sc.name, step["on"], "no parties")
            for party, v in exp["parties"].items():
                if ls.cents(v):  # every balance says which aging bucket holds it
                    assert party in exp.get("buckets", {}), (sc.name, step["on"], party)


def test_money_sums_and_days() -> None:
    assert ls.cents("200.00 - 120.00 - 50.00") == 3000
    assert ls.cents("-30.00") == -3000 and ls.cents("0.00") == 0
    with pytest.raises(ValueError):
        ls.cents("200 - 120")
    with pytest.raises(ValueError):
        ls.cents("200.00 120.00")
    assert ls.day("D+14") - ls.day("D-3") == ls.day("D+17") - ls.day("D")
    assert ls.x12_amount("120.50") == "120.5" and ls.x12_amount("- 30.00") == "-30"


def test_cob_sums_are_checked() -> None:
    """The COB balance check finds an 837 whose 2320 amounts do not add up to the charge."""
    good = (
        "CLM*C1*200***11:B:1*Y*A*Y*Y~SBR*P*18*******CI~CAS*PR*2*30~AMT*D*120~"
        "NM1*PR*2*KEY*****PI*KEY77~LX*1~SV1*HC:99213*200*UN*1***1~"
        "SVD*KEY77*120*HC:99213**1~CAS*CO*45*50~CAS*PR*2*30~"
    )
    assert ls.cob_findings(good.replace("CAS*PR*2*30~AMT", "AMT")) == []
    bad = good.replace("AMT*D*120", "AMT*D*125")
    assert ls.cob_findings(bad.replace("CAS*PR*2*30~AMT", "AMT")) != []
    assert any(
        "SVD02" in f for f in ls.cob_findings(good.replace("SVD*KEY77*120", "SVD*KEY77*121"))
    )
