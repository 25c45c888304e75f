"""The generated docs are current: docs/cli-reference.md (every command's --help) and the
transcripts in cog blocks (run on the demo practice), regenerated and compared. Built once per
session (the demo, about 20 s, plus the page commands); refresh with `make docs`."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def _docgen():
    spec = importlib.util.spec_from_file_location("docgen_main", ROOT / "scripts" / "docgen.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def stale(tmp_path_factory):
    pytest.importorskip("cogapp", reason="cogapp (the test extra) regenerates the docs")
    docgen = _docgen()
    return docgen, docgen.generate(tmp_path_factory.mktemp("docgen"), check=True)


@pytest.mark.slow
def test_generated_docs_are_current(stale):
    docgen, files = stale
    assert not files, f"generated docs are stale: {', '.join(files)}; run: {docgen.REFRESH}"


def test_reference_covers_every_command():
    """Every group and command of the CLI has its section in the reference."""
    docgen = _docgen()
    text = (ROOT / "docs" / "cli-reference.md").read_text()
    headings = set(re.findall(r"^#+ (billadmin(?: [\w-]+)*)$", text, re.M))
    paths = {" ".join(("billadmin",) + p) for p in docgen._tree()}
    assert paths - headings == set(), f"missing from docs/cli-reference.md; run: {docgen.REFRESH}"
    assert headings - paths == set(), f"no longer commands; run: {docgen.REFRESH}"


def test_readme_is_short_and_keeps_the_quick_start():
    lines = README.read_text().splitlines()
    assert len(lines) <= 200, (
        f"README.md has {len(lines)} lines (at most 200: move detail to docs/)"
    )
    assert "    make demo    #" in lines[lines.index("## Quick start") + 4]
    assert "    make test    #" in lines[lines.index("## Quick start") + 5]


def test_doc_links_resolve():
    """Every relative link in README.md and docs/ names a file that exists."""
    broken = []
    for page in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" not in target and not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, broken
