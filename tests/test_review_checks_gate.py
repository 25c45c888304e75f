"""Review of issue 15's gate worker (x12/gate_worker.py, compiled.Checker) in cases its own tests
do not build: staged files under a folder whose name has spaces and letters outside ASCII (the
worker is fed JSON lines: its verdicts must still be the in-process ones), and a Ctrl-C
(KeyboardInterrupt, not an Exception) while the run seals its plan or waits for the verdicts:
the worker is stopped, nothing is issued, and no message carries what the files hold."""

from __future__ import annotations

import invoice_fixtures as fx
import pytest
from test_gate_worker import _files, _run, practice, seed, workers  # noqa: F401  (fixtures)

from billadmin.billing import generate as gen
from billadmin.x12 import compiled, gate_worker


def test_files_in_a_folder_named_with_spaces_and_accents_get_the_in_process_verdicts(
    seed,  # noqa: F811
    tmp_path,
):
    folder = tmp_path / "Dr. Zoë Ñandú's 837s" / "run 1 — été"
    folder.mkdir(parents=True)
    files = _files(seed, folder)
    c = compiled.Checker(workers=2, parallel_min_segments=0)
    try:
        for f, problems in files:
            c.add_file(f, None, f.name, 40, problems=problems)
        assert c.worker is not None and len(c.jobs) == len(files)
        got = c.verdicts()
    finally:
        c.close()
    want = []
    for f, problems in files:
        v = compiled.validate_file(f)
        v.name = f.name
        if problems:
            v.problems, v.valid = problems + v.problems, False
        want.append(v)
    assert got == want
    assert got[0].valid and not got[1].valid and not got[-1].valid  # valid.edi; clm02; found
    assert c.worker.proc.returncode == 0


def test_a_run_into_a_folder_named_with_spaces_and_accents_is_checked_by_the_worker(
    practice,  # noqa: F811
    tmp_path,
    workers,  # noqa: F811
):
    out = tmp_path / "sortie Zoë" / "claims of June"
    res = gen.generate(
        practice, today=fx.TODAY, scrub=fx.no_scrub, out_dir=out, pdf=False, workers=2
    )
    [w] = workers
    assert len(w.answers) == 2 and all(a[1] is True for a in w.answers.values())
    assert sorted(f.name[:8] for f in res.files if f.suffix == ".edi") == ["837P-KEY", "837P-MCD"]
    assert practice.execute("SELECT COUNT(*) FROM invoices").fetchone()[0] == 3


@pytest.mark.parametrize("where", ["sealing the plan", "waiting for the verdicts"])
def test_ctrl_c_leaves_no_worker_and_issues_nothing(
    practice,  # noqa: F811
    tmp_path,
    workers,  # noqa: F811
    monkeypatch,
    where,
):
    """KeyboardInterrupt is a BaseException: every stop of the worker must still run."""

    def interrupted(*_a, **_kw):
        raise KeyboardInterrupt

    if where == "sealing the plan":
        monkeypatch.setattr(gen, "_plan_seals", interrupted)
    else:
        monkeypatch.setattr(gate_worker.Worker, "verdict", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _run(practice, tmp_path, workers=2)
    [w] = workers
    assert w.proc.poll() is not None and not w.reader.is_alive()
    assert w.proc.stdout.closed
    assert practice.execute("SELECT COUNT(*) FROM invoices").fetchone()[0] == 0
    assert (
        practice.execute("SELECT COUNT(*) FROM charge_lines WHERE status = 'billed'").fetchone()[0]
        == 0
    )
    out = tmp_path / "out"
    assert not out.exists() or not any(p.suffix == ".edi" for p in out.iterdir())


def test_a_file_the_worker_fails_on_is_rejected_naming_the_error_type_only(seed, tmp_path):  # noqa: F811
    """The worker's answer to a failed check carries the exception's type, never its text
    (which could quote the file); the file is rejected and the next one still checked."""
    bad = tmp_path / "Zoë Ñandú 1980-05-01.edi"
    bad.write_bytes(b"\xff\xfeISA*not*utf8 SMITH 1980-05-01~")
    good = tmp_path / "good one.edi"
    good.write_text(seed)
    c = compiled.Checker(workers=2, parallel_min_segments=0)
    try:
        c.add_file(bad, None, "bad.edi", 40)
        c.add_file(good, None, "good.edi", 40)
        v_bad, v_good = c.verdicts()
    finally:
        c.close()
    assert not v_bad.valid and v_good.valid
    text = " ".join(p.message for p in v_bad.problems)
    for phi in ("SMITH", "1980-05-01", "Zoë", "Ñandú"):
        assert phi not in text
