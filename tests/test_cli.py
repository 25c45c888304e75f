import json
import os
import stat
import subprocess
import sys

import typer

from billadmin.cli import app


def _walk(cmd, path=(), ctx=None):
    yield path, cmd
    if hasattr(cmd, "list_commands"):
        ctx = click_ctx = cmd.context_class(
            cmd, info_name=path[-1] if path else "billadmin", parent=ctx
        )
        for name in cmd.list_commands(click_ctx):
            yield from _walk(cmd.get_command(click_ctx, name), path + (name,), ctx)


def test_every_command_has_help_and_an_example():
    root = typer.main.get_command(app)
    seen = 0
    for path, cmd in _walk(root):
        if not path:
            continue
        assert cmd.help and cmd.help.strip(), f"{' '.join(path)} has no help"
        first = cmd.help.strip().splitlines()[0]
        assert len(first) < 100, f"{' '.join(path)}: first help line too long"
        if not hasattr(cmd, "commands"):
            assert "Example" in cmd.help, f"billadmin {' '.join(path)} has no Example in its help"
            seen += 1
    assert seen >= 40


def test_root_help_lists_commands(cli):
    r = cli("--help", db=False)
    assert r.exit_code == 0
    assert "init" in r.stdout and "demo" in r.stdout


def test_version(cli):
    r = cli("--version", db=False)
    assert r.exit_code == 0 and r.stdout.startswith("billadmin ")


def test_init_is_idempotent_and_private(cli, db_path):
    old = os.umask(0o022)
    try:
        r1 = cli("init")
        r2 = cli("init")
    finally:
        os.umask(old)
    assert r1.exit_code == 0, r1.stderr
    assert "Created" in r1.stderr and "Applied" in r1.stderr
    assert r2.exit_code == 0 and "up to date" in r2.stderr
    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600


def test_missing_database_exit_3_no_traceback(cli, tmp_path):
    r = cli("--db", str(tmp_path / "absent.db"), "check", db=False)
    assert r.exit_code == 3
    assert r.stderr.startswith("Error: no database at") and "billadmin init" in r.stderr
    assert "Traceback" not in r.stderr


def test_bad_option_value_exit_2_one_line(cli):
    r = cli("demo", "--as-of", "02/30/2026")
    assert r.exit_code == 2
    assert r.stderr.startswith("Error: --as-of")
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout


def test_debug_shows_the_exception(cli):
    r = cli("demo", "--as-of", "nope", env={"BILLADMIN_DEBUG": "1"})
    assert r.exit_code != 0 and r.exception is not None


def _run(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "billadmin", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_real_process_exit_codes_and_no_traceback(tmp_path):
    bad = tmp_path / "junk.db"
    bad.write_bytes(b"not a database at all" * 200)
    os.chmod(bad, 0o600)
    r = _run("--db", str(bad), "init")
    assert r.returncode == 3, r.stderr
    assert r.stderr.startswith("Error: cannot open database") and "Traceback" not in r.stderr
    r = _run("--db", str(tmp_path / "d.db"), "demo", "--as-of", "2026-13-01")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = _run("--no-such-option")
    assert r.returncode == 2


def test_help_does_not_import_slow_modules():
    code = (
        "import sys, runpy; sys.argv=['billadmin','--help']\n"
        "try:\n  runpy.run_module('billadmin', run_name='__main__')\nexcept SystemExit: pass\n"
        "slow=[m for m in ('openpyxl','fpdf','simple_icd_10_cm','pyx12','sqlite_utils','dateutil') "
        "if m in sys.modules]\n"
        "print('SLOW', slow, file=sys.stderr)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "SLOW []" in r.stderr, r.stderr


def test_json_money_is_a_string(tmp_path, capsys):
    from billadmin import render

    render.emit([{"number": "C1", "total_cents": 12345}], fmt="json")
    out = json.loads(capsys.readouterr().out)
    assert out == [{"number": "C1", "total": "123.45"}]


def test_csv_escapes_formulas(tmp_path):
    from billadmin import render

    p = tmp_path / "o.csv"
    render.emit([{"name": '=HYPERLINK("x")', "amount_cents": -500}], fmt="csv", output=p)
    text = p.read_text()
    assert "'=HYPERLINK" in text and ",-5.00" in text
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600


def test_xlsx_money_numeric(tmp_path):
    from decimal import Decimal

    from openpyxl import load_workbook

    from billadmin import render

    p = tmp_path / "o.xlsx"
    render.emit([{"name": "@SUM(A1)", "amount_cents": 12345}], fmt="xlsx", output=p, title="t")
    ws = load_workbook(p).active
    assert ws["A2"].value == "'@SUM(A1)"
    assert Decimal(str(ws["B2"].value)) == Decimal("123.45")
    assert ws.freeze_panes == "A2"


def test_group_summaries_match_their_groups():
    from billadmin.cli import GROUPS, _group_app

    for name, (_, summary) in GROUPS.items():
        assert _group_app(name).info.help.splitlines()[0] == summary, name
        assert len(summary) <= 62, f"{name}: keep the summary on one line of the root help"


def test_single_command_groups_stay_groups(cli):
    r = cli("denial", "--help")
    assert r.exit_code == 0 and "list" in r.stdout


def test_files_that_may_hold_phi_say_so(tmp_path, capsys):
    from billadmin import render

    p = tmp_path / "patients.csv"
    render.emit([{"mrn": "0001"}], fmt="csv", output=p)
    assert "may contain PHI" in capsys.readouterr().err
    render.emit([{"year": "2026"}], fmt="csv", output=tmp_path / "deid.csv", phi=False)
    assert "PHI" not in capsys.readouterr().err
