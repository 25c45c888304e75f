"""Running one import: read, validate every row, write in one transaction, all or nothing.

The flow (one pass, streaming): rows are read, each is validated against its kind's declared
columns, valid rows are written at once inside ONE ``db.write()`` transaction, and every problem
is collected. At the end, if any row was invalid and ``skip_invalid`` is off, InvalidRows is
raised inside the transaction, so it rolls back and nothing is written. ``dry_run`` runs the
same and rolls back on purpose. Memory holds only key maps (and, for charges, one small packed
state per encounter), never the rows.

Idempotency: each kind has a natural key (specs.NATURAL_KEYS). A row whose key exists with the
same values is "unchanged"; with different values it is a conflict, reported by field name
only (never the values) and not applied, unless ``update`` is on: then the row is updated and
an audit row records old and new values (the audit log lives inside the PHI database; stderr
never sees them). Columns absent from the file are neither compared nor changed; a column
present with an empty cell means "empty". Every run that writes records an ``import_batches``
row with the file's sha256; a file whose sha256 was imported before is reported.
"""

from __future__ import annotations

import csv
import datetime as _dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import audit, dates
from .. import db as dbmod
from ..errors import BadInput, InvalidRows, Problem
from ..fileutil import sha256_file
from . import specs
from .columns import CellError, Column, Mapping, parse_cell
from .readers import Table, normalise_header, open_table

if TYPE_CHECKING:
    from ..db import Database
    from ..outfile import PrivateFile


KINDS = tuple(specs.KINDS)
MAX_PROBLEMS_KEPT = 500
PROGRESS_EVERY = 2000


@dataclass
class ImportOptions:
    sheet: str | None = None
    encoding: str = "utf-8"
    map_file: Path | None = None
    profile: str | None = None
    date_format: str | None = None
    dry_run: bool = False
    skip_invalid: bool = False
    rejects: Path | None = None
    update: bool = False
    today: _dt.date | None = None
    line_diagnoses: bool = False  # charges: each line's Dx cells are its own (charges.py)


@dataclass
class Conflict:
    """A row whose key exists with different values (fields named, values never shown)."""

    row: int
    entity: str
    entity_id: int
    fields: list[str]
    note: str = ""

    def __str__(self) -> str:
        what = (
            self.note
            or f"exists with different {', '.join(self.fields)}; not applied (use --update)"
        )
        return f"row {self.row}: {self.entity} {self.entity_id} {what}"


@dataclass
class ImportResult:
    kind: str
    file: str
    sha256: str
    dry_run: bool = False
    update: bool = False
    rows_total: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    conflict_count: int = 0
    update_refused: int = 0  # conflicts --update would not apply either (they carry a note)
    conflicts: list[Conflict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    batch_id: int | None = None
    previous_batch: dict | None = None
    ignored_columns: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    rejects_path: str | None = None

    def summary(self) -> str:
        parts = [
            f"{self.inserted:,} inserted",
            f"{self.unchanged:,} unchanged",
            f"{self.updated:,} updated",
            f"{self.conflict_count:,} conflicts",
            f"{self.rejected:,} rejected",
        ]
        extra = "".join(f"; {v:,} {k.replace('_', ' ')}" for k, v in self.extra.items() if v)
        head = "Dry run, nothing written: " if self.dry_run else ""
        rows = f"{self.rows_total:,} row{'s' if self.rows_total != 1 else ''}"
        return f"{head}{self.file} ({self.kind}): {rows}: " + ", ".join(parts) + extra

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "file": self.file,
            "sha256": self.sha256,
            "dry_run": self.dry_run,
            "rows": self.rows_total,
            "inserted": self.inserted,
            "unchanged": self.unchanged,
            "updated": self.updated,
            "conflicts": self.conflict_count,
            "rejected": self.rejected,
            "batch_id": self.batch_id,
            **self.extra,
        }


class _DryRun(Exception):
    "Raised inside the write transaction to roll a dry run back."


# --- the map file -------------------------------------------------------------------------


@dataclass
class MapConfig:
    """``--map FILE.toml``::

    date_format = "MM/DD/YYYY"        # optional: every date column
    [columns]                         # field = "Header in the file"
    mrn = "Patient ID"
    dob = "Birth Date"
    [date_formats]                    # optional: per field
    dob = "DD/MM/YYYY"
    """

    columns: dict[str, str] = field(default_factory=dict)
    date_formats: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    name: str = ""


def load_map(path: Path) -> MapConfig:
    import tomllib

    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise BadInput(f"--map {path}: no such file") from None
    except tomllib.TOMLDecodeError as e:
        raise BadInput(f"--map {path.name}: not valid TOML ({e})") from None
    unknown = set(data) - {"columns", "date_formats", "date_format"}
    if unknown:
        raise BadInput(
            f"--map {path.name}: unknown key(s) {', '.join(sorted(unknown))} "
            "(expected [columns], [date_formats], date_format)"
        )
    cols, fmts = data.get("columns", {}), data.get("date_formats", {})
    for name, table in (("columns", cols), ("date_formats", fmts)):
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise BadInput(f'--map {path.name}: [{name}] must hold field = "text" lines')
    fmt = data.get("date_format")
    if fmt is not None and not isinstance(fmt, str):
        raise BadInput(f"--map {path.name}: date_format must be text")
    return MapConfig(dict(cols), dict(fmts), fmt, path.name)


def resolve_mapping(
    table,
    columns: list[Column],
    *,
    map_cfg: MapConfig | None = None,
    profile_map: dict[str, str | None] | None = None,
    date_format: str | None = None,
    kind: str | None = None,
) -> tuple[Mapping, set[str]]:
    """Match the file's headers to fields. Returns the mapping and the set of fields a profile
    synthesises (present though no header feeds them). With ``kind`` (and no profile, whose
    file shape is known), a column that looks like one of the kind's key fields but feeds none
    is BadInput (columns.KEY_WORDS)."""
    by_field = {c.field: c for c in columns}
    norm = [normalise_header(h) for h in table.headers]
    explicit: dict[str, str | None] = dict(profile_map or {})
    if map_cfg:
        explicit.update(map_cfg.columns)
    m = Mapping()
    synth: set[str] = set()
    used: dict[int, str] = {}
    src = f"--map {map_cfg.name}" if map_cfg else "the profile"
    for fld, header in explicit.items():
        if fld not in by_field:
            raise BadInput(f"{src}: unknown field {fld!r}; fields are: {', '.join(by_field)}")
        if header is None:
            synth.add(fld)
            continue
        hits = [i for i, n in enumerate(norm) if n == normalise_header(header)]
        if not hits:
            raise BadInput(
                f"{table.file}: {src} maps {fld} to column {header!r}, which the file does not have"
            )
        m.index[fld] = hits[0]
        used[hits[0]] = fld
    for col in columns:
        if col.field in m.index or col.field in synth:
            continue
        names = {normalise_header(n) for n in col.names()}
        hits = [i for i, n in enumerate(norm) if n in names and i not in used]
        if len(hits) > 1:
            raise BadInput(
                f"{table.file}: columns {', '.join(repr(table.headers[i]) for i in hits)} all match "
                f"{col.header!r}; keep one or say which with --map"
            )
        if hits:
            m.index[col.field] = hits[0]
            used[hits[0]] = col.field
    key_like = (
        _key_like(table, kind, by_field, used, set(m.index) | synth)
        if kind and profile_map is None
        else []
    )
    missing = [
        c.header for c in columns if c.required and c.field not in m.index and c.field not in synth
    ]
    if missing:
        if not looks_like_headers(table.headers):
            # the first row is data (no header row): never print it, it holds names and dates
            raise BadInput(
                f"{table.file}: missing required column(s): {', '.join(missing)}; the first row"
                f" ({len(table.headers)} cells) does not look like a header row: add the"
                " header row (`billadmin import template` shows it) or use --map FILE.toml"
            )
        raise BadInput(
            f"{table.file}: missing required column(s): {', '.join(missing)} "
            f"(found: {', '.join(repr(h) for h in table.headers)}); rename them or use --map FILE.toml",
            details=key_like,
        )
    if key_like:
        head = (
            key_like[0] if len(key_like) == 1 else f"{len(key_like)} columns look like key fields"
        )
        raise BadInput(
            f"{table.file}: {head}; nothing was imported: rename each to one of its field's names,"
            " or map it with --map FILE.toml",
            details=key_like if len(key_like) > 1 else None,
        )
    m.ignored = [h for i, h in enumerate(table.headers) if i not in used and h]
    for col in columns:
        if col.type != "date":
            continue
        fmt = (
            (map_cfg.date_formats.get(col.field) if map_cfg else None)
            or (map_cfg.date_format if map_cfg else None)
            or date_format
        )
        if fmt:
            try:
                m.formats[col.field] = dates.normalise_format(fmt)
            except dates.DateError as e:
                raise BadInput(f"date format for {col.field}: {e}") from None
    if map_cfg:
        for fld in map_cfg.date_formats:
            if fld not in by_field or by_field[fld].type != "date":
                raise BadInput(f"--map {map_cfg.name}: [date_formats] {fld!r} is not a date field")
    return m, synth


_DATA_LIKE = re.compile(r"\d{2}|@|^\s*[-+$(]?\d")


def looks_like_headers(headers: list[str]) -> bool:
    """A first row is shown in an error only when it looks like a header row: some cell is a
    column name billadmin knows (any import kind, aliases included) and no cell looks like data
    (two digits in a row, as dates, ids, ZIPs and amounts have; an e-mail address). A file
    without its header row would otherwise print a patient's name and birth date."""
    known = {normalise_header(n) for cols in specs.KINDS.values() for c in cols for n in c.names()}
    cells = [h for h in headers if h]
    if not any(normalise_header(h) in known for h in cells):
        return False
    return not any(_DATA_LIKE.search(h) for h in cells)


def _key_like(table, kind: str, by_field: dict, used: dict, read: set[str]) -> list[str]:
    """One line per column that looks like a key field of ``kind`` no column feeds
    (columns.KEY_WORDS): the import stops on them (importing on would drop the field)."""
    from .columns import unread_key_columns

    unused = [i for i in range(len(table.headers)) if i not in used]
    lines = []
    for i, fld in unread_key_columns(kind, table.headers, unused, read):
        col = by_field.get(fld)
        if col is not None:
            lines.append(
                f"column {table.headers[i]!r} looks like {col.header} ({fld}) but is not one of"
                f" its names: {', '.join(repr(n) for n in [col.header, *col.aliases])}"
            )
    return lines


# --- shared run context ------------------------------------------------------------------


class Run:
    """State of one import run: options, counters, problems, rejects file, progress."""

    def __init__(
        self,
        db: Database,
        kind: str,
        path: Path,
        opts: ImportOptions,
        result: ImportResult,
        progress: Callable[[int, int], None] | None,
    ):
        self.db, self.kind, self.path, self.opts, self.result = db, kind, path, opts, result
        self.today = opts.today or _dt.date.today()
        self.progress_cb = progress
        self.table: Table | None = None
        self.mapping: Mapping | None = None
        self.synth: set[str] = set()
        self.columns = specs.KINDS[kind]
        self.by_field = {c.field: c for c in self.columns}
        self._rejects_fh: PrivateFile | None = None
        self._rejects_writer: Any = None  # a csv writer (its type is private to _csv)
        self.now = audit.utcnow()

    # problems and rejects
    def header_of(self, fld: str) -> str:
        i = self.mapping.index.get(fld) if self.mapping else None
        if i is not None and self.table is not None:
            return self.table.headers[i]
        col = self.by_field.get(fld)
        return col.header if col else fld

    def add_problem(self, p: Problem) -> None:
        self.result.problem_count += 1
        if len(self.result.problems) < MAX_PROBLEMS_KEPT:
            self.result.problems.append(p)

    def reject(self, row: int, cells: list, problems: list[Problem]) -> None:
        self.result.rejected += 1
        for p in problems:
            self.add_problem(p)
        if self._rejects_writer is not None:
            from ..formats import safe_cell

            reason = "; ".join((f"{p.column}: " if p.column else "") + p.reason for p in problems)
            out = [row, reason]
            for c in cells:
                if isinstance(c, (_dt.date, _dt.datetime)):
                    c = c.isoformat()
                out.append(safe_cell("" if c is None else c))
            self._rejects_writer.writerow(out)

    def reader_bad_row(self, row: int, cells: list, problem: Problem) -> None:
        self.result.rows_total += 1
        self.reject(row, cells, [problem])

    def problem(self, row: int, fld: str | None, reason: str) -> Problem:
        return Problem(row, self.header_of(fld) if fld else None, reason, file=self.result.file)

    def open_rejects(self) -> None:
        if not (self.opts.skip_invalid and self.opts.rejects):
            return
        from ..fileutil import private_open

        assert self.table is not None  # opened by run_import before any row is read
        fh = private_open(Path(self.opts.rejects), "w", encoding="utf-8", newline="")
        self._rejects_fh = fh
        self._rejects_writer = csv.writer(fh, lineterminator="\n")
        self._rejects_writer.writerow(["row", "reason", *self.table.headers])
        self.result.rejects_path = str(self.opts.rejects)

    def close_rejects(self, *, discard: bool) -> None:
        """The rejects file is put in place when the import went through; discarded (its
        temporary file removed, an older file of that name left as it was) otherwise."""
        if self._rejects_fh is not None:
            fh, self._rejects_fh = self._rejects_fh, None
            if discard:
                fh.discard()
                self.result.rejects_path = None
            else:
                fh.commit()

    def tick(self) -> None:
        if self.progress_cb is not None and self.table is not None:
            self.progress_cb(*self.table.progress())

    def conflict(
        self, row: int, entity: str, entity_id: int, fields: list[str], note: str = ""
    ) -> None:
        self.result.conflict_count += 1
        self.result.update_refused += bool(note)
        if len(self.result.conflicts) < MAX_PROBLEMS_KEPT:
            self.result.conflicts.append(Conflict(row, entity, entity_id, fields, note))

    def audit_update(self, entity: str, entity_id: int, row: int, changes: dict) -> None:
        """--update: old and new values go to the audit log (inside the PHI database only)."""
        audit.record(
            self.db,
            "import update",
            entity=entity,
            ids=[entity_id],
            count=1,
            detail={
                "file": self.result.file,
                "row": row,
                "changes": {k: {"old": o, "new": n} for k, (o, n) in changes.items()},
            },
        )

    def parse_fields(self, row: int, raw: dict, present) -> tuple[dict, list[Problem]]:
        """Validate the present fields of one row: values by field, and every problem."""
        values, problems = {}, []
        assert self.mapping is not None  # resolved from the headers before any row is read
        fmts = self.mapping.formats
        for fld in present:
            col = self.by_field[fld]
            try:
                values[fld] = parse_cell(
                    raw.get(fld, ""), col, date_format=fmts.get(fld), today=self.today
                )
            except CellError as e:
                problems.append(self.problem(row, fld, str(e)))
        return values, problems


def run_import(
    db: Database,
    kind: str,
    path,
    opts: ImportOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import one file of one kind. Raises InvalidRows (nothing written) when any row is invalid
    and skip_invalid is off; BadInput for files that cannot be read at all."""
    opts = opts or ImportOptions()
    if kind not in KINDS:
        raise BadInput(f"unknown import kind {kind!r}; kinds: {', '.join(KINDS)}")
    if opts.line_diagnoses and kind != "charges":
        raise BadInput("--line-diagnoses applies to charges")
    if opts.skip_invalid and not opts.rejects:
        raise BadInput(
            "--skip-invalid needs --rejects FILE.csv, so rejected rows are kept for fixing"
        )
    if opts.rejects and Path(opts.rejects).suffix.lower() not in (".csv", ".txt"):
        raise BadInput("--rejects writes CSV: give a FILE.csv")
    path = Path(path)
    if opts.rejects and Path(opts.rejects).resolve() == path.resolve():
        raise BadInput("--rejects must not be the file being imported")
    profile = None
    if opts.profile:
        from . import profiles

        profile = profiles.get(opts.profile, kind)
    map_cfg = load_map(opts.map_file) if opts.map_file else None
    sha = sha256_file(path)
    result = ImportResult(
        kind=kind, file=path.name, sha256=sha, dry_run=opts.dry_run, update=opts.update
    )
    run = Run(db, kind, path, opts, result, progress)
    table = open_table(
        path, sheet=opts.sheet, encoding=opts.encoding, on_bad_row=run.reader_bad_row
    )
    run.table = table
    result.file = table.file
    with table:
        run.mapping, run.synth = resolve_mapping(
            table,
            run.columns,
            map_cfg=map_cfg,
            profile_map=profile.fields if profile else None,
            date_format=opts.date_format,
            kind=kind,
        )
        result.ignored_columns = list(run.mapping.ignored)
        prev = db.execute(
            "SELECT id, at, file_name FROM import_batches WHERE kind = ? AND sha256 = ? "
            "ORDER BY id DESC LIMIT 1",
            (kind, sha),
        ).fetchone()
        if prev:
            result.previous_batch = {"id": prev[0], "at": prev[1], "file": prev[2]}
        run.open_rejects()
        try:
            with dbmod.write(db):
                if kind == "charges":
                    from .charges import import_charges

                    import_charges(run)
                else:
                    from .kinds import import_rows

                    import_rows(run, profile)
                run.tick()
                if result.problem_count and not opts.skip_invalid:
                    err = InvalidRows(problems=list(result.problems), file=table.file)
                    if result.problem_count > len(result.problems):
                        err.details.append(
                            f"... and {result.problem_count - len(result.problems)} more problems"
                        )
                    raise err
                _record_batch(run)
                if opts.dry_run:
                    raise _DryRun()
        except _DryRun:
            result.batch_id = None  # rolled back with everything else
            run.close_rejects(discard=True)
        except BaseException:
            run.close_rejects(discard=True)
            raise
        else:
            run.close_rejects(discard=False)
    return result


def _record_batch(run: Run) -> None:
    r = run.result
    cur = run.db.execute(
        "INSERT INTO import_batches (kind, file_name, sha256, rows_total, inserted, updated, unchanged, conflicts,"
        " rejected, os_user, at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            r.kind,
            r.file,
            r.sha256,
            r.rows_total,
            r.inserted,
            r.updated,
            r.unchanged,
            r.conflict_count,
            r.rejected,
            audit.os_user(),
            run.now,
        ),
    )
    r.batch_id = cur.lastrowid
    detail = {
        "batch": r.batch_id,
        "file": r.file,
        "sha256": r.sha256,
        "rows": r.rows_total,
        "inserted": r.inserted,
        "updated": r.updated,
        "unchanged": r.unchanged,
        "conflicts": r.conflict_count,
        "rejected": r.rejected,
        **r.extra,
    }
    audit.record(
        run.db, f"import {r.kind}", entity=r.kind, count=r.inserted + r.updated, detail=detail
    )


def template_columns(kind: str) -> list[str]:
    if kind not in KINDS:
        raise BadInput(f"unknown import kind {kind!r}; kinds: {', '.join(KINDS)}")
    return [c.header for c in specs.KINDS[kind] if not c.extra]


def write_template(kind: str, out: Path | None, fh=None) -> None:
    """An empty file with the default headers: CSV, or XLSX whose ID, code and date columns are
    formatted as Text so Excel keeps leading zeros and never turns long numbers into 1.2E+15."""
    headers = template_columns(kind)
    if out is not None and Path(out).suffix.lower() == ".xlsx":
        from openpyxl import Workbook
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        from ..fileutil import save_workbook

        wb = Workbook()
        ws = wb.active
        ws.title = kind
        ws.append(headers)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for i, col in enumerate([c for c in specs.KINDS[kind] if not c.extra], start=1):
            letter = get_column_letter(i)
            ws.column_dimensions[letter].width = max(len(col.header) + 2, 12)
            if col.type in ("id", "npi", "code", "payer", "dx", "zip", "phone", "date", "text"):
                for r in range(2, 1002):
                    ws.cell(row=r, column=i).number_format = "@"
        ws.freeze_panes = "A2"
        save_workbook(wb, Path(out), phi=False)  # an empty template
        return
    if out is not None:
        from ..fileutil import private_open

        with private_open(
            Path(out), "w", encoding="utf-8", newline="", phi=False
        ) as f:  # an empty template
            csv.writer(f, lineterminator="\n").writerow(headers)
        return
    csv.writer(fh, lineterminator="\n").writerow(headers)
