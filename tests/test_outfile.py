"""Output files (issue 13, "Files"): every file through outfile.PrivateFile, names from data kept
inside the chosen folder, and `invoice generate` crash-consistent after its COMMIT."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import invoice_fixtures as fx
import pytest

from billadmin import db as dbmod
from billadmin import integrity, outfile
from billadmin.billing import files as files_mod
from billadmin.billing import generate as gen
from billadmin.errors import BadInput


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ---- the writer --------------------------------------------------------------------------------


def test_existing_0644_file_is_replaced_not_written_through(tmp_path):
    target = tmp_path / "list.csv"
    target.write_text("old\n")
    os.chmod(target, 0o644)
    inode = target.stat().st_ino
    with outfile.private_output(target) as fh:
        fh.write("new\n")
    assert target.read_text() == "new\n"
    assert _mode(target) == 0o600
    assert target.stat().st_ino != inode, "written through the existing file"
    assert _hidden(tmp_path) == []


def test_symlink_at_target_is_replaced_never_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    link = tmp_path / "out.csv"
    link.symlink_to(victim)
    with outfile.private_output(link) as fh:
        fh.write("rows\n")
    assert victim.read_text() == "keep me\n"
    assert not link.is_symlink() and link.read_text() == "rows\n" and _mode(link) == 0o600


def test_failure_leaves_no_temp_file_and_the_old_file(tmp_path):
    target = tmp_path / "r.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), outfile.private_output(target) as fh:
        fh.write("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old\n"
    assert _hidden(tmp_path) == []


def test_close_during_an_exception_discards(tmp_path):
    """The `fh = private_open(); try: ... finally: fh.close()` shape never commits a half file."""
    from billadmin.fileutil import private_open

    target = tmp_path / "x.csv"
    with pytest.raises(ValueError):
        fh = private_open(target)
        try:
            fh.write("half")
            raise ValueError
        finally:
            fh.close()
    assert not target.exists() and _hidden(tmp_path) == []


def test_render_emit_failure_leaves_nothing(tmp_path, monkeypatch):
    from billadmin import render

    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(render, "write_csv", broken)
    with pytest.raises(RuntimeError):
        render.emit([{"a": 1}], fmt="csv", output=tmp_path / "x.csv")
    assert list(tmp_path.iterdir()) == []


def test_shared_folder_warns(tmp_path, capsys):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    outfile.write_bytes(shared / "a.txt", b"x", phi=False)
    assert "writable by other accounts" in capsys.readouterr().err
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    outfile.write_bytes(private / "a.txt", b"x", phi=False)
    assert "writable by other accounts" not in capsys.readouterr().err


@pytest.mark.parametrize("where", ["folder", "missing"])
def test_output_a_folder_or_missing_folder_is_usage(cli, tmp_path, where):
    assert cli("init").exit_code == 0
    target = tmp_path if where == "folder" else tmp_path / "nope" / "x.csv"
    r = cli("patient", "list", "-f", "csv", "-o", target)
    assert r.exit_code == 2, r.output
    assert "internal error" not in r.stderr.lower()
    assert ("is a folder" if where == "folder" else "does not exist") in r.stderr


@pytest.mark.parametrize("fail", [False, True])
def test_openpyxl_temp_files_stay_private_and_are_removed(tmp_path, monkeypatch, fail):
    """openpyxl writes each sheet to a temp file before zipping: they go to a 0700 folder beside
    the target (not /tmp) and are gone afterwards, also when the save fails."""
    import openpyxl.worksheet._writer as w

    from billadmin import formats

    made: list[Path] = []
    real = w.create_temporary_file

    def spy(suffix=""):
        p = Path(real(suffix))
        made.append(p)
        assert p.parent.parent == tmp_path and _mode(p.parent) == 0o700
        return str(p)

    monkeypatch.setattr(w, "create_temporary_file", spy)
    if fail:
        monkeypatch.setattr("openpyxl.workbook.workbook.Workbook.save", _boom)
    rows = [{"mrn": "M1", "amount_cents": 100}]
    if fail:
        with pytest.raises(RuntimeError):
            formats.write_xlsx(tmp_path / "r.xlsx", {"data": rows})
    else:
        formats.write_xlsx(tmp_path / "r.xlsx", {"data": rows})
        assert made, "openpyxl wrote no temp file: the test proves nothing"
    assert all(not p.exists() for p in made)
    assert _hidden(tmp_path) == []
    assert (tmp_path / "r.xlsx").exists() is (not fail)


def _boom(*a, **k):
    raise RuntimeError("disk gone")


def test_write_only_workbook_temp_files_private(tmp_path, monkeypatch):
    import openpyxl.worksheet._writer as w

    from billadmin.reconcile.output import write_workbook

    made: list[Path] = []
    real = w.create_temporary_file

    def spy(suffix=""):
        p = Path(real(suffix))
        made.append(p)
        return str(p)

    monkeypatch.setattr(w, "create_temporary_file", spy)
    write_workbook(
        tmp_path / "rec.xlsx",
        [("run", 1)],
        [{"category": "matched", "n": 1}],
        ["category", "n"],
        [("matched", ["key"], [{"key": "A1"}])],
    )
    assert made and all(p.parent.parent == tmp_path and not p.exists() for p in made)
    assert _hidden(tmp_path) == [] and _mode(tmp_path / "rec.xlsx") == 0o600


def test_inside_refuses_names_that_leave_the_folder(tmp_path):
    for bad in ("../x", "..", "a/b", "", "x\x00"):
        with pytest.raises(BadInput):
            outfile.inside(tmp_path, bad)
    assert outfile.inside(tmp_path, "837P-KEY-000000001.edi") == tmp_path / "837P-KEY-000000001.edi"


# ---- payer codes -------------------------------------------------------------------------------


def test_payer_code_with_a_path_is_refused_at_import(cli, tmp_path):
    assert cli("init").exit_code == 0
    f = tmp_path / "payers.csv"
    f.write_text("Code,Name,Kind\nGOOD_1,Good,commercial\n../../x,Evil,commercial\n")
    r = cli("import", "payers", f)
    assert r.exit_code == 2, r.output
    assert "row 3" in r.stderr and "'Code'" in r.stderr and "payer code" in r.stderr
    assert "../../x" not in r.stderr


def test_a_payer_code_path_never_writes_outside_out(db, tmp_path):
    """A code that got into the database another way still cannot leave --out."""
    with dbmod.write(db):
        fx.practice(db)
        db.execute("UPDATE payers SET code = '../../x' WHERE code = 'KEY'")
        p = fx.patient(db, "2001")
        fx.coverage(db, p, "../../x")
        fx.encounter(db, p, "2026-06-01", [("99213", 14000)])
    out = tmp_path / "a" / "b" / "out"
    with pytest.raises(BadInput):
        gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=out, patients=False)
    assert not (tmp_path / "a" / "x").exists() and not list(tmp_path.glob("**/*.edi"))
    assert db.execute("SELECT COUNT(*) FROM invoices").fetchone()[0] == 0


# ---- invoice generate: files ----------------------------------------------------------------


@pytest.fixture
def billable(db):
    with dbmod.write(db):
        fx.practice(db)
        a = fx.patient(db, "1001", "Ann", "Able")
        fx.coverage(db, a, "KEY")
        c = fx.patient(db, "1003", "Cat", "Cole")
        fx.encounter(db, a, "2026-06-01", [("99213", 14000)], number="E1")
        fx.encounter(db, c, "2026-06-03", [("99203", 17500)], number="E4")
    return db


def _gen(db, out, **kw):
    return gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=out, **kw)


def test_generate_files_private_no_lock_or_temp_left(billable, tmp_path):
    out = tmp_path / "out"
    res = _gen(billable, out)
    assert res.files and all(_mode(p) == 0o600 for p in res.files)
    assert _hidden(out) == [], "a lock file or temporary file was left in the output folder"
    assert _mode(out) == 0o700
    states = billable.execute("SELECT DISTINCT state FROM billing_run_files").fetchall()
    assert states == [("placed",)]
    assert files_mod.check_run_files(billable) == []


def test_generate_staged_names_are_unpredictable(billable, tmp_path, monkeypatch):
    """The old `.NAME.partial` names let another account plant a symlink: now a planted one is
    ignored (O_EXCL on a random name) and the link's target is untouched."""
    out = tmp_path / "out"
    out.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    (out / ".invoices.csv.partial").symlink_to(victim)
    (out / "invoices.csv").symlink_to(victim)
    _gen(billable, out)
    assert victim.read_text() == "keep\n"
    assert not (out / "invoices.csv").is_symlink()


def _rename_fails_for(monkeypatch, suffix: str):
    real = os.replace

    def replace(src, dst, *a, **k):
        if str(dst).endswith(suffix):
            raise PermissionError(13, "Permission denied", str(dst))
        return real(src, dst, *a, **k)

    monkeypatch.setattr(files_mod.os, "replace", replace)
    return real


def test_rename_failing_after_commit(billable, tmp_path, monkeypatch, cli, db_path):
    """The claims are committed 'sent', the 837 cannot be renamed: exit 3, nothing deleted,
    check reports the run, the next run puts the file in place and check passes."""
    out = tmp_path / "out"
    real = _rename_fails_for(monkeypatch, ".edi")
    with pytest.raises(files_mod.FilesNotPlaced) as ei:
        _gen(billable, out)
    assert ei.value.exit_code == 3
    assert "generate" in ei.value.message
    sent = billable.execute("SELECT COUNT(*) FROM invoice_events WHERE status = 'sent'").fetchone()
    assert sent[0] == 1
    assert not list(out.glob("*.edi"))
    staged = [p for p in out.iterdir() if p.name.startswith(".837P-")]
    assert len(staged) == 1, "the written 837 was deleted after COMMIT"
    rules = {f.rule for f in integrity.run_checks(billable)}
    assert "RUN-FILES" in rules

    monkeypatch.setattr(files_mod.os, "replace", real)
    res = _gen(billable, out)
    assert any("put 1 file(s)" in n for n in res.notes)
    edi = list(out.glob("*.edi"))
    assert len(edi) == 1 and edi[0].read_text().startswith("ISA*")
    assert _hidden(out) == []
    findings = [f for f in integrity.run_checks(billable) if f.severity == "error"]
    assert findings == [], findings


def test_rename_failing_exits_3_on_the_cli(cli, db_path, tmp_path, monkeypatch):
    from billadmin import db as d

    conn = d.connect(db_path, create=True)
    with d.write(conn):
        fx.practice(conn)
        a = fx.patient(conn, "1001")
        fx.coverage(conn, a, "KEY")
        fx.encounter(conn, a, "2026-06-01", [("99213", 14000)])
    conn.close()
    _rename_fails_for(monkeypatch, ".edi")
    monkeypatch.setattr("billadmin.scrub.check", fx.no_scrub)
    r = cli("invoice", "generate", "--through", "2026-06-30", "--out", tmp_path / "out")
    assert r.exit_code == 3, r.output
    assert "could not be put in place" in r.stderr


def test_a_lost_staged_file_is_reported_to_the_clerk(billable, tmp_path, monkeypatch):
    out = tmp_path / "out"
    real = _rename_fails_for(monkeypatch, ".edi")
    with pytest.raises(files_mod.FilesNotPlaced):
        _gen(billable, out)
    monkeypatch.setattr(files_mod.os, "replace", real)
    for p in out.iterdir():
        if p.name.startswith(".837P-"):
            p.unlink()
    res = _gen(billable, out)
    assert any("invoice export" in n for n in res.notes)
    assert files_mod.check_run_files(billable) == []  # told once, marked lost
    assert "INVOICE-FILE" in {f.rule for f in integrity.run_checks(billable)}


def test_stale_temp_files_of_a_killed_run_are_removed(billable, tmp_path):
    out = tmp_path / "out"
    out.mkdir(mode=0o700)
    stale = out / ".837P-KEY-000000001.edi.0123456789abcdef.tmp"
    stale.write_text("ISA*...")
    (out / ".billadmin-xlsx-abc").mkdir()
    other = out / ".notes.txt"
    other.write_text("the clerk's own")
    _gen(billable, out)
    assert not stale.exists() and not (out / ".billadmin-xlsx-abc").exists()
    assert other.exists()


def test_out_is_a_file(billable, tmp_path):
    f = tmp_path / "out"
    f.write_text("")
    with pytest.raises(BadInput):
        _gen(billable, f)


def test_json_dump_of_result_still_works(billable, tmp_path):
    res = _gen(billable, tmp_path / "out", dry_run=True)
    json.dumps(res.issued, default=str)
    assert not (tmp_path / "out").exists() or _hidden(tmp_path / "out") == []
