"""Regenerate, or check, the generated parts of README.md and docs/*.md.

Run `make docs` (or `.venv/bin/python scripts/docgen.py`) after a change to a command's help or
output; `--check` exits 1 and names the stale files instead (tests/test_docs.py does this).

The generated parts are cog blocks (cogapp, as simonw/llm and sqlite-utils use it):

    <!-- [[[cog d.run("billadmin report aging --as-of 2026-11-30") ]]] -->
    ...output, never edited by hand...
    <!-- [[[end]]] -->

`d` is this module. It builds the demo practice once (`billadmin demo --as-of 2026-11-26`,
about 20 s) in a work folder; each page that shows output calls `d.page(NAME)` first and gets a
fresh copy of that demo (or an empty folder), so a page's commands run in the page's order
whatever ran before them, and a page that writes (a payment, an appeal) changes only its copy.
Width, colour, time zone and the database path are fixed, so the output is the same on every
machine; what still varies (times of day, durations) is normalised in `_normalise`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_AS_OF = "2026-11-26"
# Click wraps --help at min(terminal width, 80) - 2: a fixed width makes the reference stable.
HELP_WIDTH = 100
# rich tables take the terminal width from COLUMNS when stdout is not a terminal.
COLUMNS = "120"
# every file with cog blocks, in the order they are generated
FILES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
WORKDIR_ENV = "BILLADMIN_DOCGEN_DIR"
REFRESH = "make docs   (or: .venv/bin/python scripts/docgen.py)"

_page: Path | None = None
_db = "billadmin-demo.db"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLADMIN_")}
    bindir = str(Path(sys.executable).parent)
    env.update(
        PATH=bindir + os.pathsep + env.get("PATH", ""),
        COLUMNS=COLUMNS,
        LINES="50",
        NO_COLOR="1",
        TERM="dumb",
        TZ="UTC",
        LC_ALL="C.UTF-8",
        PYTHONUNBUFFERED="1",  # stdout and stderr merge in the order they were written
        _TYPER_FORCE_DISABLE_TERMINAL="1",
    )
    return env


def build(workdir: Path) -> Path:
    """Build the demo practice in workdir/demo and keep its output (what `make demo` prints)."""
    demo = workdir / "demo"
    if (workdir / "demo.out").exists():
        return demo
    demo.mkdir(parents=True, exist_ok=True)
    p = subprocess.run(
        ["billadmin", "demo", "--as-of", DEMO_AS_OF],
        cwd=demo,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if p.returncode != 0:
        raise SystemExit(f"billadmin demo failed (exit {p.returncode}):\n{p.stdout}")
    (workdir / "demo.out").write_text(p.stdout)
    return demo


def _workdir() -> Path:
    path = os.environ.get(WORKDIR_ENV)
    if not path:
        raise RuntimeError(f"${WORKDIR_ENV} is not set: run `{REFRESH}`")
    return Path(path)


def page(name: str, *, demo: bool = True, db: str = "billadmin-demo.db") -> None:
    """Start a page: a fresh copy of the demo (or, demo=False, an empty folder holding the
    demo's export files in exports/) that the page's commands run in, in the page's order,
    with $BILLADMIN_DB set to db."""
    global _page, _db
    _db = db
    work = _workdir()
    _page = work / "pages" / name
    if _page.exists():
        shutil.rmtree(_page)
    if demo:
        shutil.copytree(work / "demo", _page)
    else:
        _page.mkdir(parents=True)
        shutil.copytree(work / "demo" / "billadmin-demo-files" / "imports", _page / "exports")


def setup(command: str) -> None:
    """Run a command that prepares a page (makes an input file) without showing it."""
    out, code = _exec(command)
    if code != 0:
        raise RuntimeError(f"setup command failed (exit {code}): {command}\n{out}")


def _exec(command: str) -> tuple[str, int]:
    if _page is None:
        raise RuntimeError("call d.page(NAME) at the top of the file before d.run(...)")
    env = _env()
    env["BILLADMIN_DB"] = _db
    p = subprocess.run(
        ["bash", "-c", command],
        cwd=_page,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return p.stdout, p.returncode


_NORMALISE = [
    # a moment (when a batch was imported, a run was made): the day the docs were generated
    (re.compile(r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\b"), "YYYY-MM-DD hh:mm:ss"),
    # a duration: "(1.5 s)"
    (re.compile(r"\(\d+(?:\.\d+)? s\)"), "(n.n s)"),
]


def _normalise(text: str) -> str:
    for pattern, repl in _NORMALISE:
        text = pattern.sub(repl, text)
    return "\n".join(line.rstrip() for line in text.splitlines())


def run(command: str, *, head: int | None = None, tail: int = 0, expect: int | None = None) -> None:
    """Show `$ command` and its output (stdout and stderr, as a terminal shows them), and the
    exit code when it is not 0. head/tail keep that many lines of a long output around `...`."""
    import cog

    out, code = _exec(command)
    if "Error: internal error" in out:  # a crash is never a transcript
        raise RuntimeError(f"{command}: crashed (exit {code})\n{out}")
    if expect is not None and code != expect:
        raise RuntimeError(f"{command}: exit {code}, expected {expect}\n{out}")
    lines = _normalise(out).splitlines()
    if head is not None and len(lines) > head + tail:
        lines = lines[:head] + ["..."] + (lines[-tail:] if tail else [])
    cog.outl("```console")
    cog.outl("$ " + command.replace(" \\\n", " \\\n      "))
    for line in lines:
        cog.outl(line)
    if code:
        cog.outl(f"(exit {code})")
    cog.outl("```")


def demo_output() -> None:
    """What `billadmin demo --as-of 2026-11-26` printed when the work folder was built."""
    import cog

    cog.outl("```console")
    cog.outl(f"$ billadmin demo --as-of {DEMO_AS_OF}")
    cog.outl(_normalise((_workdir() / "demo.out").read_text()))
    cog.outl("```")


def help_text(*path: str) -> None:
    """One command's --help, e.g. help_text() for the root, help_text("codes", "check")."""
    import cog

    cog.outl("```")
    cog.outl(_help(*path))
    cog.outl("```")


def _context(cmd, name: str, parent=None):
    """The context a real run builds (the command's context_settings: -h as well as --help),
    at a fixed terminal width."""
    settings = {**getattr(cmd, "context_settings", {}), "terminal_width": HELP_WIDTH}
    return cmd.context_class(cmd, info_name=name, parent=parent, **settings)


def _root():
    import typer

    from billadmin.cli import app

    return typer.main.get_command(app)


def _help(*path: str) -> str:
    cmd = _root()
    ctx = _context(cmd, "billadmin")
    for name in path:
        cmd = cmd.get_command(ctx, name)
        ctx = _context(cmd, name, ctx)
    return cmd.get_help(ctx).rstrip()


def _tree() -> list[tuple[str, ...]]:
    """Every command path, root first, in the order `--help` lists them. Typer vendors Click,
    so a group is told by its list_commands, not by isinstance(click.Group)."""
    paths: list[tuple[str, ...]] = []

    def walk(cmd, ctx, path: tuple[str, ...]) -> None:
        paths.append(path)
        if hasattr(cmd, "list_commands"):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                if sub is None or sub.hidden:
                    continue
                walk(sub, _context(sub, name, ctx), path + (name,))

    root = _root()
    walk(root, _context(root, "billadmin"), ())
    return paths


def cli_reference() -> None:
    """The whole reference: a contents list, then every command's --help."""
    import cog

    paths = _tree()
    cog.outl("## Contents\n")
    for path in paths:
        name = " ".join(("billadmin",) + path)
        indent = "  " * max(len(path) - 1, 0)
        cog.outl(f"{indent}- [{name}](#{name.replace(' ', '-')})")
    for path in paths:
        name = " ".join(("billadmin",) + path)
        cog.outl(f"\n{'#' * min(len(path) + 2, 4)} {name}\n")
        cog.outl("```")
        cog.outl(_help(*path))
        cog.outl("```")


def generate(workdir: Path, *, check: bool = False, files: list[str] | None = None) -> list[str]:
    """Regenerate the files (or, check=True, only compare): returns the stale files."""
    from cogapp.cogapp import Cog, CogCheckFailed

    build(workdir)
    os.environ[WORKDIR_ENV] = str(workdir)
    stale = []
    for f in files or FILES:
        path = ROOT / f
        if "[[[cog" not in path.read_text():
            continue
        args = ["cog", "-I", str(ROOT / "scripts"), "-p", "import docgen as d"]
        args += ["--check"] if check else ["-r"]
        cog = Cog()
        with open(os.devnull, "w") as quiet:
            cog.set_output(stdout=quiet)
            try:
                cog.callable_main([*args, str(path)])
            except CogCheckFailed:
                stale.append(f)
    return stale


def main(argv: list[str]) -> int:
    check = "--check" in argv
    files = [a for a in argv if not a.startswith("-")] or None
    with tempfile.TemporaryDirectory(prefix="billadmin-docgen-") as tmp:
        stale = generate(Path(tmp), check=check, files=files)
    if check and stale:
        print(f"stale: {', '.join(stale)}; run: {REFRESH}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
