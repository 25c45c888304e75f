"""Golden files (tests/golden/): outputs compared byte for byte with files reviewed by a person.

`make golden` (BILLADMIN_REGEN_GOLDEN=1) rewrites the expected files on purpose; without it a
difference fails with the command to run, and the review is the git diff.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tomllib
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("BILLADMIN_REGEN_GOLDEN") == "1"


def _compare(expected: Path, actual: str) -> None:
    if REGEN:
        expected.write_text(actual, encoding="utf-8")
        return
    assert expected.exists(), f"{expected} is missing: run `make golden` and review the diff"
    want = expected.read_text(encoding="utf-8")
    if want != actual:
        import difflib

        diff = "".join(
            difflib.unified_diff(
                want.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                str(expected),
                "actual",
                n=2,
            )
        )
        pytest.fail(
            f"{expected.name} differs (if the change is intended: `make golden`, then review "
            f"the git diff):\n{diff[:4000]}"
        )


def _cases(folder: str, suffix: str) -> list[Path]:
    return sorted(p for p in (GOLDEN / folder).glob(f"*{suffix}") if ".expected" not in p.name)


# -- 837P ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("837p", ".json"), ids=lambda p: p.stem)
def test_837p(case: Path, tmp_path):
    from billadmin.x12 import envelope, validate, x837

    spec = json.loads(case.read_text(encoding="utf-8"))
    env = envelope.Envelope(
        sender_id=spec["envelope"]["sender_id"],
        receiver_id=spec["envelope"]["receiver_id"],
        isa_control=spec["envelope"]["isa_control"],
        gs_control=spec["envelope"]["gs_control"],
        created=dt.datetime.fromisoformat(spec["envelope"]["created"]),
    )
    rendered = x837.render(env, spec["practice"], spec["claims"])
    text = "\n".join(rendered.segments) + "\n"
    _compare(case.with_name(f"{case.stem}.expected.edi"), text)
    written = tmp_path / "claims.edi"
    written.write_text(envelope.to_text(rendered.segments))
    verdict = validate.validate_file(written)
    assert verdict.valid, [str(p) for p in verdict.problems]


# -- 835 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("835", ".edi"), ids=lambda p: p.stem)
def test_835_summary(case: Path, cli):
    assert cli("init").exit_code == 0
    r = cli("remit", "show", case, "--format", "json")
    assert r.exit_code == 0, r.stderr
    text = json.dumps(json.loads(r.stdout), indent=2, sort_keys=True) + "\n"
    _compare(
        case.with_name(f"{case.stem}.expected.json"), text.replace(str(case.parent), "<golden>")
    )
    # the inputs are valid 835s too (a golden file must not teach the reader a broken format)
    from billadmin.x12 import validate

    assert validate.validate_file(case).valid


# -- reports -------------------------------------------------------------------------------


def _build_ledger(case: Path, db, cli, spec: dict) -> None:
    """Claims issued through the ledger test fixtures (fixed dates), then the case's 835s
    posted as a clerk posts them (`billadmin remit import`)."""
    import ledger_fixtures as lf

    from billadmin import db as dbmod

    with dbmod.write(db):
        lf.practice(db)
        for p in spec["patients"]:
            pid = lf.patient(db, p["mrn"])
            for cov in p.get("coverages", []):
                lf.coverage(db, pid, cov["payer"], member=cov["member"])
            for c in p.get("claims", []):
                enc, _ = lf.encounter(db, pid, c["dos"], [tuple(x) for x in c["lines"]])
                inv = lf.claim(db, enc, c["payer"], issued_on=c["issued_on"])
                number = db.execute("SELECT number FROM invoices WHERE id = ?", (inv,)).fetchone()
                assert number[0] == c["name"], (
                    "claims are numbered in the order the case lists them"
                )
                lf.event(db, inv, "sent", c["issued_on"])
    for remit in spec.get("remits", []):
        r = cli("remit", "import", (case.parent / remit).resolve())
        assert r.exit_code == 0, r.stderr


@pytest.mark.parametrize("case", _cases("reports", ".toml"), ids=lambda p: p.stem)
def test_reports(case: Path, cli, db):
    spec = tomllib.loads(case.read_text(encoding="utf-8"))
    _build_ledger(case, db, cli, spec)
    for report in spec["reports"]:
        args = report["args"]
        r = cli("report", *args, "--format", "json")
        assert r.exit_code == 0, r.stderr
        text = json.dumps(json.loads(r.stdout), indent=2, sort_keys=True) + "\n"
        _compare(case.with_name(f"{case.stem}.{report['name']}.expected.json"), text)
