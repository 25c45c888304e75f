"""benchmarks/harness.py and run.py: what the performance rows are computed from."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def harness(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import harness

    return harness


def test_env_is_the_subjects_only(harness, tmp_path):
    """A timer such as BILLADMIN_LOCK_LOG logs the subject's transactions, never the anchor's
    (the anchor import's were counted as runs of `invoice generate` in 'write lock held')."""
    log = tmp_path / "seen.log"
    script = (
        "import os, sys; open(sys.argv[1], 'a').write(sys.argv[2] + ':' +"
        " os.environ.get('BENCH_TEST_MARK', '-') + '\\n')"
    )
    w = harness.Workload(
        name="env",
        subject=[sys.executable, "-c", script, str(log), "subject"],
        anchor=[sys.executable, "-c", script, str(log), "anchor"],
        anchor_name="anchor",
        target=1.0,
        env={"BENCH_TEST_MARK": "on"},
    )
    subj, anch = harness.measure(w, 2)
    assert log.read_text().split() == ["anchor:-", "subject:on", "anchor:-", "subject:on"]
    assert len(subj.seconds) == len(anch.seconds) == 2


def test_cpu_seconds_counted_with_the_children_waited_for(harness):
    """A subject that burns CPU in a child process it waits for (as pyx12's workers are) is
    charged that CPU; an anchor that sleeps is charged almost none."""
    burn = (
        "import subprocess, sys; subprocess.run([sys.executable, '-c',"
        " 'import time\\nt = time.process_time()\\nwhile time.process_time() - t < 0.4: pass'])"
    )
    w = harness.Workload(
        name="cpu",
        subject=[sys.executable, "-c", burn],
        anchor=[sys.executable, "-c", "import time; time.sleep(0.4)"],
        anchor_name="sleep",
        target=1.0,
    )
    subj, anch = harness.measure(w, 1)
    assert subj.cpu_median >= 0.4
    assert anch.cpu_median < 0.3
    assert anch.median >= 0.4  # wall: the sleep


def test_failed_subject_names_its_exit_code(harness):
    w = harness.Workload(
        name="fails",
        subject=[sys.executable, "-c", "import sys; sys.exit(3)"],
        anchor=[sys.executable, "-c", "pass"],
        anchor_name="nothing",
        target=1.0,
    )
    with pytest.raises(RuntimeError, match="exited 3"):
        harness.measure(w, 1)


def test_only_picks_modules_by_name_or_prefix(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import run

    mod = types.ModuleType("bench_invoice")
    mod.NAMES = ("invoice generate", "pyx12 alone")  # type: ignore[attr-defined]
    assert run._wanted(mod, ["invoice generate ("])  # one row's name, longer than NAMES
    assert run._wanted(mod, ["pyx12"])
    assert run._wanted(mod, ["invoice"])  # the module's own name
    assert not run._wanted(mod, ["validator"])
    plain = types.ModuleType("bench_cli")
    assert run._wanted(plain, ["anything"])  # no NAMES: always loaded
