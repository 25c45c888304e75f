"""Shared fixtures: every test gets its own database in a temp folder; commands run through
typer's CliRunner; corpus tests skip with a reason when ../shared/data is absent."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """billadmin needs no network: any connection off this machine fails the test."""
    import socket

    real = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (
            host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")
        ):
            raise AssertionError(f"test tried to reach the network: {host}")
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def pytest_addoption(parser):
    parser.addoption(
        "--encrypted",
        action="store_true",
        help="run every test on SQLCipher-encrypted databases (BILLADMIN_KEY set)",
    )


@pytest.fixture(scope="session", autouse=True)
def _private_config(tmp_path_factory):
    """billadmin keeps each database's audit secret and anchor in the user's config folder: the
    session gets its own ($XDG_CONFIG_HOME), shared by its tests as copies of a database share
    its secret. Session-scoped and autouse, so it is in place before the demo is built."""
    import os

    old = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("config"))
    yield
    if old is None:
        os.environ.pop("XDG_CONFIG_HOME", None)
    else:
        os.environ["XDG_CONFIG_HOME"] = old


@pytest.fixture(autouse=True)
def _isolated(tmp_path, tmp_path_factory, monkeypatch, request):
    """No test touches ./billadmin.db or the user's $BILLADMIN_DB, nor the user's cache folder
    (the compiled X12 maps: one cache for the session). With --encrypted, every database a test
    creates is encrypted (a key is configured), so the suite runs both ways."""
    monkeypatch.setenv("BILLADMIN_DB", str(tmp_path / "test.db"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.delenv("BILLADMIN_DEBUG", raising=False)
    # pytest-xdist's workers inherit COLUMNS=80 from the controller; a test sees the width its
    # output would have in a pipe (render.py: 200) unless it sets $COLUMNS itself
    monkeypatch.delenv("COLUMNS", raising=False)
    for var in (
        "BILLADMIN_KEY",
        "BILLADMIN_KEY_FILE",
        "BILLADMIN_NEW_KEY",
        "BILLADMIN_NEW_KEY_FILE",
    ):
        monkeypatch.delenv(var, raising=False)
    if request.config.getoption("--encrypted"):
        monkeypatch.setenv("BILLADMIN_KEY", "test-suite key with 'quotes'")
    monkeypatch.chdir(tmp_path)
    from billadmin.commands import state

    state.db_path, state.quiet = None, False
    yield


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "test.db"


@pytest.fixture
def cli(db_path):
    """Run billadmin with --db pointing at the test database: cli("init") -> Result."""
    from billadmin.cli import app

    runner = CliRunner()

    def invoke(*args, input=None, db=True, env=None):
        argv = (["--db", str(db_path)] if db else []) + [str(a) for a in args]
        return runner.invoke(app, argv, input=input, env=env, catch_exceptions=True)

    return invoke


@pytest.fixture
def db(db_path):
    """An initialised database (migrations applied), as a sqlite_utils.Database."""
    from billadmin import db as dbmod

    conn = dbmod.connect(db_path, create=True)
    yield conn
    conn.close()


DEMO_AS_OF = "2026-11-26"


@pytest.fixture(scope="session")
def demo_practice(tmp_path_factory):
    """`billadmin demo` run once per session through the CLI: (database path, stderr text).
    Tests that change the database work on a copy (demo_copy)."""
    from billadmin.cli import app
    from billadmin.commands import state

    path = tmp_path_factory.mktemp("demo") / "billadmin-demo.db"
    result = CliRunner().invoke(app, ["--db", str(path), "demo", "--as-of", DEMO_AS_OF])
    state.db_path, state.quiet = None, False
    assert result.exit_code == 0, result.stderr
    return path, result.stderr


@pytest.fixture
def demo_copy(demo_practice, tmp_path):
    """A private copy of the demo database (SQLite backup API), beside a copy of its files."""
    import shutil

    from billadmin import db as dbmod

    src, _ = demo_practice
    dest = tmp_path / src.name
    conn = dbmod.connect(src)
    conn.conn.backup(dbmod.connect(dest, create=True, migrate=False).conn)
    conn.close()
    shutil.copytree(src.parent / f"{src.stem}-files", tmp_path / f"{src.stem}-files")
    return dest


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not present at {CORPUS} (../shared/data)")
    return CORPUS


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the group marks
def pytest_collection_modifyitems(config, items):
    # under pytest-xdist (`--dist loadgroup`, make test) the tests that use the demo run on one
    # worker, so the demo is built once while the other workers run everything else
    for item in items:
        if {"demo_practice", "demo_copy"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group("demo"))
    if CORPUS.is_dir():
        return
    skip = pytest.mark.skip(reason=f"corpus not present at {CORPUS}")
    for item in items:
        if "corpus" in item.keywords:
            item.add_marker(skip)
