"""Review of issue 15's gate worker: it is a fresh interpreter (`python -c`), which puts the
current directory first on its sys.path. A clerk running `invoice generate` from a folder that
holds another `billadmin` package (an old checkout) or a module named like one the validator
imports must not get that code's verdicts: the worker imports what the parent imported."""

from __future__ import annotations

import os

from test_gate_worker import _files, seed  # noqa: F401  (fixture)

from billadmin.x12 import compiled


def test_the_worker_ignores_a_billadmin_package_in_the_current_directory(
    seed,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    fake = tmp_path / "cwd" / "billadmin"
    (fake / "x12").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "x12" / "__init__.py").write_text("")
    # an accepting validator: every file valid
    (fake / "x12" / "compiled.py").write_text(
        "from billadmin.x12.gate_worker import Verdict\n"
        "def validate_file(path):\n"
        "    return Verdict(str(path), True, '005010X222A1', '837', 1, [])\n"
    )
    (fake / "x12" / "gate_worker.py").write_text(
        "import json, sys\n"
        "from dataclasses import dataclass, field\n"
        "@dataclass\n"
        "class Verdict:\n"
        "    name: str\n"
        "    valid: bool\n"
        "    version: str = None\n"
        "    transaction: str = None\n"
        "    segments: int = 0\n"
        "    problems: list = field(default_factory=list)\n"
        "def serve(validate_file):\n"
        "    for line in sys.stdin:\n"
        "        jid, path = json.loads(line)\n"
        "        v = validate_file(path)\n"
        "        print(json.dumps([jid, True, v.version, v.transaction, 1, []]), flush=True)\n"
    )
    folder = tmp_path / "files"
    folder.mkdir()
    files = [(f, p) for f, p in _files(seed, folder) if f.name in ("clm02.edi", "not-x12.edi")]
    monkeypatch.chdir(fake.parent)
    c = compiled.Checker(workers=2, parallel_min_segments=0)
    try:
        for f, problems in files:
            c.add_file(f, None, f.name, 40, problems=problems)
        got = c.verdicts()
    finally:
        c.close()
    assert [v.valid for v in got] == [False, False]
    assert got[0] == _in_process(files[0][0])


def _in_process(path):
    v = compiled.validate_file(path)
    v.name = path.name
    return v


def test_the_worker_path_is_the_parents_in_order(monkeypatch, tmp_path):
    """With -P the worker adds no directory of its own: it gets this process's path, the current
    directory named where this process has it ('': a parent started as `python -c` from a
    checkout imports billadmin from there, and so does its worker)."""
    import os
    import subprocess
    import sys

    from billadmin.x12 import gate_worker

    seen = {}

    class Stop(Exception):
        pass

    def popen(args, **kw):
        seen["args"], seen["path"] = args, kw["env"]["PYTHONPATH"]
        raise Stop

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", ["", "/opt/a", "/opt/b"])
    monkeypatch.setattr(subprocess, "Popen", popen)
    try:
        gate_worker.Worker()
    except Stop:
        pass
    assert seen["args"][1:3] == ["-P", "-c"]
    assert seen["path"].split(os.pathsep) == [str(tmp_path), "/opt/a", "/opt/b"]


def test_the_pyx12_workers_start_the_same_way(monkeypatch):
    """validate.Pool's pyx12 workers (`--pyx12` on a large run) are started like the gate's:
    -P, this process's path in order."""
    import subprocess

    from billadmin.x12 import validate

    started = []

    class Stop(Exception):
        pass

    def popen(argv, **kw):
        started.append((argv, kw["env"]["PYTHONPATH"]))
        raise Stop

    monkeypatch.setattr(subprocess, "Popen", popen)
    try:
        validate.Pool(1)
    except Stop:
        pass
    argv, path = started[0]
    assert argv[1:3] == ["-P", "-c"]
    assert "serve()" in argv[3]
    assert "" not in path.split(os.pathsep)
