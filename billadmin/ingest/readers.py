"""Streaming tabular reader for CSV and XLSX files from outside (EHR exports, front-desk sheets).

API::

    from billadmin.ingest.readers import open_table, normalise_header

    table = open_table(path, sheet=None, encoding="utf-8")
    table.headers      # list of the original header strings (stripped, BOM removed)
    table.file         # display name for messages (the file name, plus "[Sheet]" for XLSX)
    for row_number, cells in table:
        ...            # row_number: 1-based, as a spreadsheet shows it (header = row 1);
                       # cells: exactly len(table.headers) values
    table.problems     # row-level problems found while iterating (rows that were NOT yielded)
    table.close()      # also a context manager: ``with open_table(p) as t: ...``

Cells: CSV cells are the raw strings (not stripped: column specs decide). XLSX cells are the
values openpyxl reads (str, int, float, bool, datetime/date/time); an empty cell is ``""``.

Two kinds of trouble:

* Fatal (raise :class:`~billadmin.errors.BadInput`, message names the file and the row): file
  missing or unreadable, unknown extension, bytes that do not decode in the requested encoding
  (no silent fallback: pass ``encoding="cp1252"`` for Excel's Windows CSV), an unterminated
  quote or a field over 128 KB, an empty file, a header-only file (unless ``allow_empty=True``),
  an XLSX that is not a zip, whose declared uncompressed size is absurd (zip bomb, checked on
  the zip directory before openpyxl opens it), a sheet that does not exist, merged cells in the
  data range. These may surface during iteration (the reader streams), so callers iterate
  inside their write transaction and let the exception roll it back.
* Row-level (the row is skipped and reported through ``on_bad_row``, which by default appends a
  :class:`~billadmin.errors.Problem` to ``table.problems``): a ragged row (more non-empty cells
  than headers, or fewer cells than headers), a NUL byte, an XLSX formula without a cached value,
  an Excel error value (``#N/A``, ``#DIV/0!``...). Callers that collect problems (all or nothing)
  merge ``table.problems`` with their own after the loop. ``on_bad_row(row_number, cells,
  problem)`` lets a caller also keep the raw cells (e.g. for a rejects file).

Rows whose cells are all empty are skipped silently (trailing blank lines, spacer rows). Extra
trailing cells that are empty are dropped (Excel pads rows). Header matching is the caller's
job; :func:`normalise_header` gives the case- and space-insensitive form to compare.

Messages never quote cell values (they may be PHI): only file, row, column.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import BadInput, Problem
from .fields import normalise_header  # noqa: F401  (part of this module's API)

MAX_FIELD = 128 * 1024  # bytes/characters in one CSV field (also csv's default limit)
# Zip-bomb guard: the declared uncompressed size of the whole archive, and of any member whose
# compression ratio is far beyond what XML compresses to (real sheets: 5-20x).
MAX_XLSX_UNCOMPRESSED = 2 * 1024**3
MAX_RATIO = 200
RATIO_FLOOR = 50 * 1024**2  # the ratio rule applies to members larger than this

BadRowHook = Callable[[int, list, Problem], None]


def open_table(
    path,
    *,
    sheet: str | None = None,
    encoding: str = "utf-8",
    allow_empty: bool = False,
    on_bad_row: BadRowHook | None = None,
) -> Table:
    """Open a CSV (``.csv``, ``.txt``; ``.tsv`` is tab-separated) or XLSX file for streaming.

    The header is read (and the first data row looked at) before this returns, so an empty or
    header-only file fails here.
    """
    p = Path(path)
    if not p.exists():
        raise BadInput(f"{p}: no such file")
    if p.is_dir():
        raise BadInput(f"{p}: is a directory, not a file")
    suffix = p.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        t: Table = XlsxTable(p, sheet=sheet, on_bad_row=on_bad_row)
    elif suffix in (".xls", ".ods", ".numbers"):
        raise BadInput(f"{p.name}: {suffix} files are not read; save it as .xlsx or .csv")
    else:
        if sheet:
            raise BadInput(f"{p.name}: --sheet applies to .xlsx files only")
        t = CsvTable(
            p, encoding=encoding, delimiter="\t" if suffix == ".tsv" else ",", on_bad_row=on_bad_row
        )
    try:
        t._start(allow_empty)
    except BaseException:
        t.close()
        raise
    return t


class Table:
    """A header and a stream of (row_number, cells). See the module docstring."""

    headers: list[str]
    file: str
    _ragged_hint = ""

    def __init__(self, path: Path, on_bad_row: BadRowHook | None):
        self.path = path
        self.file = path.name
        self.headers = []
        self.problems: list[Problem] = []
        self._on_bad_row = on_bad_row or (lambda n, cells, p: self.problems.append(p))
        self._rows: Iterator[tuple[int, list]] | None = None
        self._peeked: tuple[int, list] | None = None
        self.header_row = 1

    # subclasses: _raw_rows() yields (row_number, cells) for every non-blank row, header first
    def _raw_rows(self) -> Iterator[tuple[int, list]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _start(self, allow_empty: bool) -> None:
        raw = self._raw_rows()
        first = next(raw, None)
        if first is None:
            raise BadInput(f"{self.file}: the file is empty (no header row)")
        self.header_row, header = first
        headers = ["" if h is None else str(h).replace("\ufeff", "").strip() for h in header]
        while headers and headers[-1] == "":
            headers.pop()
        if not headers:
            raise BadInput(f"{self.file}: row {self.header_row}: the header row is empty")
        self.headers = headers
        self._after_header()
        self._rows = self._shaped(raw)
        self._peeked = next(self._rows, None)
        if self._peeked is None and not self.problems and not allow_empty:
            raise BadInput(f"{self.file}: only a header row, no data rows")

    def _after_header(self) -> None:
        pass

    def bad_row(self, row_number: int, cells: list, reason: str, column: str | None = None) -> None:
        self._on_bad_row(row_number, cells, Problem(row_number, column, reason, file=self.file))

    def _shaped(self, raw) -> Iterator[tuple[int, list]]:
        n = len(self.headers)
        for row_number, cells in raw:
            if len(cells) != n:
                if len(cells) > n and all(c == "" or c is None for c in cells[n:]):
                    cells = cells[:n]
                elif len(cells) < n:
                    self.bad_row(
                        row_number, cells, f"ragged row: {len(cells)} cells, the header has {n}"
                    )
                    continue
                else:
                    self.bad_row(
                        row_number,
                        cells,
                        f"ragged row: {len(cells)} cells, the header has {n}" + self._ragged_hint,
                    )
                    continue
            yield row_number, cells

    def __iter__(self) -> Iterator[tuple[int, list]]:
        if self._rows is None:
            raise RuntimeError("table not started")
        if self._peeked is not None:
            first, self._peeked = self._peeked, None
            return itertools.chain((first,), self._rows)
        return self._rows

    def close(self) -> None:
        pass

    def progress(self) -> tuple[int, int]:
        """(done, total) in some unit (bytes for CSV, rows for XLSX); total 0 when unknown."""
        return 0, 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _blank(cells) -> bool:
    for c in cells:
        if c is not None and c != "" and not (isinstance(c, str) and not c.strip()):
            return False
    return True


class CsvTable(Table):
    _ragged_hint = " (an unquoted comma inside a value?)"

    def __init__(self, path: Path, *, encoding: str, delimiter: str, on_bad_row):
        super().__init__(path, on_bad_row)
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise BadInput(f"unknown encoding {encoding!r} (try utf-8 or cp1252)") from None
        self.encoding = encoding
        self.delimiter = delimiter
        try:
            self._fh = open(path, "rb")
        except OSError as e:
            raise BadInput(f"{path.name}: cannot read ({e.strerror})") from None
        self._record = 0  # records (spreadsheet rows) completed so far
        self._size = os.fstat(self._fh.fileno()).st_size

    def close(self) -> None:
        self._fh.close()

    def progress(self) -> tuple[int, int]:
        try:
            return self._fh.tell(), self._size
        except (OSError, ValueError):
            return 0, self._size

    def _lines(self) -> Iterator[str]:
        """Decoded physical lines; a line that does not decode is fatal, naming its row. Lines
        with a NUL byte or longer than MAX_FIELD flag their record for a closer look (checking
        every cell of every row would cost a third of the read time)."""
        enc = self.encoding
        fh = self._fh
        first = fh.readline()
        if first.startswith(codecs.BOM_UTF8) and enc.replace("_", "-").lower() in (
            "utf-8",
            "utf8",
            "utf-8-sig",
        ):
            first = first[3:]
        elif first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise BadInput(f"{self.file}: the file is UTF-16; save it as CSV UTF-8")
        raw = first
        try:
            if raw:
                if b"\0" in raw or len(raw) > MAX_FIELD:
                    self._suspect = True
                yield raw.decode(enc)
            for raw in fh:
                if b"\0" in raw or len(raw) > MAX_FIELD:
                    self._suspect = True
                yield raw.decode(enc)
        except UnicodeDecodeError as e:
            hint = (
                " (Excel's Windows CSV? pass --encoding cp1252)"
                if enc.lower().replace("_", "-") in ("utf-8", "utf8")
                else ""
            )
            raise BadInput(
                f"{self.file}: row {self._record + 1}: bytes that are not valid {enc} "
                f"at byte {e.start + 1} of the line{hint}; nothing was guessed"
            ) from None

    def _raw_rows(self) -> Iterator[tuple[int, list]]:
        csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD))
        reader = csv.reader(self._lines(), delimiter=self.delimiter, strict=True)
        self._suspect = False
        try:
            for cells in reader:
                self._record += 1
                if not cells or (not cells[0] and _blank(cells)):
                    self._suspect = False
                    continue
                if self._suspect:
                    self._suspect = False
                    if any(len(c) > MAX_FIELD for c in cells):
                        self.bad_row(self._record, cells, "a field is over 128 KB")
                        continue
                    if any("\x00" in c for c in cells):
                        self.bad_row(self._record, cells, "contains a NUL byte")
                        continue
                yield self._record, cells
        except csv.Error as e:
            row = self._record + 1
            msg = str(e)
            if "field larger than field limit" in msg:
                raise BadInput(
                    f"{self.file}: row {row}: a field is over 128 KB (or a quote opened in row {row}"
                    " is never closed)"
                ) from None
            if "unexpected end of data" in msg:
                raise BadInput(
                    f"{self.file}: row {row}: a quoted field is never closed (unterminated quote)"
                ) from None
            if "NUL" in msg:
                raise BadInput(
                    f"{self.file}: row {row}: contains a NUL byte (a binary file, or UTF-16?)"
                ) from None
            if "new-line character seen in unquoted field" in msg:
                raise BadInput(
                    f"{self.file}: row {row}: bare carriage returns as line ends; save the file with "
                    "Windows or Unix line ends"
                ) from None
            raise BadInput(
                f"{self.file}: row {row}: malformed CSV ({msg}); quote values that contain "
                "quotes or commas"
            ) from None


class _NoCache:
    "Marker for a formula cell saved without its computed value."

    def __repr__(self):
        return "<formula without cached value>"


NO_CACHED_VALUE = _NoCache()
_MERGE_RE = re.compile(
    rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Za-z]+)(\d+)(?::([A-Za-z]+)(\d+))?"'
)


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ch - 64)
    return n


def check_zip(path: Path, name: str) -> None:
    """Refuse an archive whose directory declares an absurd uncompressed size (zip bomb)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except zipfile.BadZipFile:
        raise BadInput(
            f"{name}: not an .xlsx file (not a zip archive); is it an old .xls or a CSV renamed?"
        ) from None
    except OSError as e:
        raise BadInput(f"{name}: cannot read ({e.strerror})") from None
    total = 0
    for i in infos:
        total += i.file_size
        if i.file_size > RATIO_FLOOR and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            raise BadInput(
                f"{name}: refused: member {i.filename!r} declares {i.file_size:,} bytes from "
                f"{i.compress_size:,} compressed (zip bomb?)"
            )
    if total > MAX_XLSX_UNCOMPRESSED:
        raise BadInput(
            f"{name}: refused: the archive declares {total:,} bytes uncompressed (zip bomb?)"
        )


class XlsxTable(Table):
    def __init__(self, path: Path, *, sheet: str | None, on_bad_row):
        super().__init__(path, on_bad_row)
        check_zip(path, path.name)
        import openpyxl

        try:
            self._wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as e:  # openpyxl raises many types for damaged files
            raise BadInput(f"{path.name}: cannot read as .xlsx ({type(e).__name__})") from None
        if sheet is None:
            visible = [
                ws
                for ws in self._wb.worksheets
                if getattr(ws, "sheet_state", "visible") == "visible"
            ]
            if not visible:
                self.close()
                raise BadInput(f"{path.name}: no visible sheet")
            self._ws = visible[0]
        else:
            if sheet not in self._wb.sheetnames:
                names = ", ".join(repr(s) for s in self._wb.sheetnames)
                self.close()
                raise BadInput(f"{path.name}: no sheet named {sheet!r} (sheets: {names})")
            self._ws = self._wb[sheet]
        if not hasattr(self._ws, "_worksheet_path"):
            self.close()
            raise BadInput(f"{path.name}: sheet {self._ws.title!r} is a chart sheet, not a table")
        self.file = f"{path.name}[{self._ws.title}]"
        self.sheet = self._ws.title
        self._row_at = 0
        self._merged = self._scan_merged()

    def progress(self) -> tuple[int, int]:
        return self._row_at, self._ws.max_row or 0

    def close(self) -> None:
        wb = getattr(self, "_wb", None)
        if wb is not None:
            wb.close()
            self._wb = None

    def _damaged(self, e: Exception) -> BadInput:
        # openpyxl and the XML parser raise many types (ParseError, ValueError, IndexError,
        # TypeError, zlib.error) on a damaged sheet; their messages may quote cells: not shown
        return BadInput(
            f"{self.file}: row {self._row_at + 1}: the sheet is damaged ({type(e).__name__}); "
            "open it in Excel and save it again"
        )

    def _parsed(self, parser):
        """parser.parse(), with a damaged sheet reported as BadInput naming the row reached."""
        rows = parser.parse()
        while True:
            try:
                item = next(rows)
            except StopIteration:
                return
            except Exception as e:
                raise self._damaged(e) from None
            yield item

    def _scan_merged(self) -> list[tuple[int, int, int, int, str]]:
        """Merged ranges (min_row, min_col, max_row, max_col, ref) from the sheet XML, found by a
        byte scan before the rows are parsed: read-only openpyxl does not expose them, and the
        <mergeCells> element comes after the data."""
        try:
            return self._scan_merged_ranges()
        except Exception as e:  # a damaged zip member (bad CRC, zlib.error)
            self.close()
            raise self._damaged(e) from None

    def _scan_merged_ranges(self) -> list[tuple[int, int, int, int, str]]:
        out = []
        tail = b""
        with self._wb._archive.open(self._ws._worksheet_path) as src:
            while True:
                chunk = src.read(1 << 20)
                if not chunk:
                    break
                buf = tail + chunk
                last_end = 0
                for m in _MERGE_RE.finditer(buf):
                    c1, r1, c2, r2 = m.groups()
                    c2, r2 = c2 or c1, r2 or r1
                    ref = (c1 + r1 + (b":" + c2 + r2 if m.group(3) else b"")).decode()
                    out.append((int(r1), _col_index(c1), int(r2), _col_index(c2), ref))
                    last_end = m.end()
                tail = buf[max(last_end, len(buf) - 512) :]
        return out

    def _after_header(self) -> None:
        ncols = len(self.headers)
        for _r1, c1, r2, _c2, ref in self._merged:
            if r2 >= self.header_row and c1 <= ncols:
                raise BadInput(
                    f"{self.file}: merged cells {ref} inside the data range; unmerge them "
                    "(every value must sit in its own cell)"
                )

    def _raw_rows(self) -> Iterator[tuple[int, list]]:
        from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

        class Parser(WorkSheetParser):
            def parse_cell(self, element):
                d = super().parse_cell(element)
                if d["value"] is None and element.find(FORMULA_TAG) is not None:
                    d["value"] = NO_CACHED_VALUE
                return d

        wb, ws = self._wb, self._ws
        with wb._archive.open(ws._worksheet_path) as src:
            parser = Parser(
                src,
                ws._shared_strings,
                data_only=True,
                epoch=wb.epoch,
                date_formats=wb._date_formats,
                timedelta_formats=wb._timedelta_formats,
            )
            width = None
            for row_number, cells in self._parsed(parser):
                self._row_at = row_number
                if not cells:
                    continue
                if width is None:
                    # the header row decides the width; cells beyond it count only if non-empty
                    width = (
                        max(c["column"] for c in cells if c["value"] not in (None, ""))
                        if any(c["value"] not in (None, "") for c in cells)
                        else None
                    )
                    if width is None:
                        continue
                maxcol = max(c["column"] for c in cells)
                values: list = [""] * max(width, maxcol)
                bad = None
                for c in cells:
                    v = c["value"]
                    if v is None:
                        continue
                    if v is NO_CACHED_VALUE:
                        bad = bad or (
                            "formula without a saved value: open the file in Excel and save it again, "
                            "or paste values",
                            c["column"],
                        )
                        v = ""
                    elif c["data_type"] == "e":
                        bad = bad or (f"Excel error value {v}", c["column"])
                    values[c["column"] - 1] = v
                while len(values) > width and values[-1] in ("", None):
                    values.pop()
                if _blank(values):
                    continue
                if bad and self.headers:
                    col = bad[1]
                    name = self.headers[col - 1] if col <= len(self.headers) else None
                    self.bad_row(row_number, values, bad[0], column=name)
                    continue
                yield row_number, values
