"""Validating X12 files with pyx12 (the outside oracle) through its Python API.

pyx12's `x12valid` script always exits 1 and crashes on a UTF-8 byte-order mark, so we call
`pyx12.x12n_document.x12n_document` ourselves: the text (BOM removed) goes in as a stream, its
JSON error report comes back in memory, and its verdict is the function's return value. pyx12
picks the map from GS08 (005010X222A1 for 837P, 005010X221A1 for 835) and checks segment
order, loop repeats, required elements, code values (including external lists such as state
and place-of-service codes), HL parentage, and the envelope counts.

A large interchange (several ST transaction sets) can be checked in parallel processes: each
transaction set is validated by pyx12 inside the file's own ISA/GS header and a GE/IEA trailer
counting one set, and the file's real GE01/IEA01 counts are checked here. Every segment of
the file passes through pyx12 either way.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

BOM = "\ufeff"


@dataclass(frozen=True)
class X12Problem:
    """One finding of pyx12 (or of our envelope checks) about an X12 file: where, and which rule;
    never the data."""

    line: int | None  # 1-based segment number in the file (we write one segment a line)
    segment: str | None  # segment id (e.g. "CLM"); never the segment's data
    element: str | None  # e.g. "CLM05-3"
    message: str

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"segment {self.line}")
        if self.segment:
            where.append(self.segment + (f" {self.element}" if self.element else ""))
        return (", ".join(where) + ": " if where else "") + self.message


@dataclass
class Verdict:
    name: str
    valid: bool
    version: str | None = None  # GS08, e.g. 005010X222A1
    transaction: str | None = None  # ST01, e.g. 837
    segments: int = 0
    problems: list[X12Problem] = field(default_factory=list)

    def as_row(self) -> dict:
        return {
            "file": self.name,
            "transaction": self.transaction,
            "version": self.version,
            "segments": self.segments,
            "valid": self.valid,
            "problems": len(self.problems),
        }

    def as_dict(self) -> dict:
        d = self.as_row()
        d["problems"] = [asdict(p) for p in self.problems]
        return d


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record):
        self.records.append(record.getMessage())


# X12 999 IK403 (data element) and IK304 (segment) error codes, as pyx12 reports them. Messages are
# rebuilt from these and the map's element names: pyx12's own texts quote the data (a name that
# is too long, a date, an address in a misplaced N3), and problems are printed, so never the data.
ELEMENT_ERRORS = {
    "1": "required data element missing",
    "2": "conditional required data element missing",
    "3": "too many data elements",
    "4": "data element too short",
    "5": "data element too long",
    "6": "invalid character in data element",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "10": "exclusion condition violated",
    "12": "too many repetitions",
    "13": "too many components",
    "I6": "code value not used in this implementation",
    "I9": "implementation dependent data element missing",
    "I10": "implementation not used data element present",
    "I11": "implementation too few repetitions",
    "I12": "implementation pattern match failure",
    "I13": "implementation dependent not used data element present",
}
SEGMENT_ERRORS = {
    "1": "unrecognized segment, or a segment where it is not expected",
    "2": "unexpected segment",
    "3": "required segment missing",
    "4": "loop occurs over maximum times",
    "5": "segment exceeds maximum use",
    "6": "segment not in defined transaction set",
    "7": "segment not in proper sequence",
    "8": "segment has data element errors",
    "I4": "implementation not used segment present",
    "I6": "implementation dependent segment missing",
    "I7": "implementation loop occurs under minimum times",
    "I8": "implementation segment below minimum use",
    "I9": "implementation dependent not used segment present",
}
_LENGTHS = re.compile(r"=\s*(\d+)\s*([<>])\s*(\d+)")
# pyx12 texts that carry only map names, counts and control numbers (no data): kept as they are
_SAFE = re.compile(
    r'^(Mandatory (segment|loop|data element|composite) "[^"]*" \([^)]*\) missing'
    r"|(Segment|Loop) [A-Z0-9]{2,3} (found but marked as not used|exceeded max count\.  Found \d+, should have \d+)"
    r'|Too many (sub-)?elements in (segment|composite) "[^"]*" \([^)]*\)(\. Has \d+, should have \d+)?'
    r'|(ISA|GS|ST|IEA|GE|SE) [^"]*(id|count|Control Number)[^"]*'
    r"|My HL count \d+ does not match your HL count \d+"
    r"|Unterminated (Loop|segment) \w+"
    r"|Segment contains (a leading space|trailing element terminators))$"
)


def _element_message(code: str | None, err_str: str, name: str | None, element: str | None) -> str:
    msg = ELEMENT_ERRORS.get(str(code), f"data element error {code}")
    m = _LENGTHS.search(err_str or "") if str(code) in ("4", "5") else None
    if m:
        msg += (
            f" (length {m.group(1)}, {'at least' if m.group(2) == '<' else 'at most'} {m.group(3)})"
        )
    what = ", ".join(x for x in (name, element) if x)
    return f"{msg}: {what}" if what else msg


def _segment_message(code: str | None, err_str: str, segment: str | None) -> str:
    text = (err_str or "").strip()
    if text and _SAFE.match(text):
        return text
    msg = SEGMENT_ERRORS.get(str(code), f"error {code}" if code else "error")
    return f"{msg} ({segment})" if segment else msg


def _walk_errors(node, ctx: dict, out: list[X12Problem]) -> None:
    if isinstance(node, list):
        for n in node:
            _walk_errors(n, ctx, out)
        return
    if not isinstance(node, dict):
        return
    here = dict(ctx)
    is_element = False
    if "seg_id" in node:
        here["segment"] = node.get("seg_id")
        here.pop("element", None)
    if "cur_line" in node:
        here["line"] = node.get("cur_line")
    if node.get("ele_pos") is not None and here.get("segment"):
        el = f"{here['segment']}{int(node['ele_pos']):02d}"
        if node.get("subele_pos"):
            el += f"-{node['subele_pos']}"
        here["element"] = el
        here["element_name"] = node.get("name")
        is_element = True
    for e in node.get("errors") or []:
        code = e.get("err_cde")
        raw = e.get("err_str") or e.get("msg") or ""
        if is_element:
            msg = _element_message(code, raw, here.get("element_name"), here.get("element"))
        else:
            msg = _segment_message(code, raw, here.get("segment"))
        out.append(
            X12Problem(
                here.get("line"),
                here.get("segment"),
                here.get("element") if is_element else None,
                f"{msg} (pyx12 error {code})" if code else msg,
            )
        )
    for k, v in node.items():
        if k != "errors" and isinstance(v, (list, dict)):
            _walk_errors(v, here, out)


def _sniff(text: str) -> tuple[str | None, str | None, int]:
    """GS08, ST01 and the segment count, read from the text without interpreting it."""
    if len(text) < 106 or not text.startswith("ISA"):
        return None, None, 0
    el, term = text[3], text[105]
    version = tx = None
    n = 0
    for raw in text.split(term):
        s = raw.strip()
        if not s:
            continue
        n += 1
        if version is None and s.startswith("GS" + el):
            parts = s.split(el)
            version = parts[8] if len(parts) > 8 else None
        elif tx is None and s.startswith("ST" + el):
            tx = s.split(el)[1]
    return version, tx, n


_MAPS: dict[tuple[Any, Any], Any] = {}
_cached_loader: Callable[..., Any] | None = None  # pyx12.map_if.load_map_file, once patched


def _cache_pyx12_maps() -> None:
    """pyx12 loads and parses its XML maps again for every document (about 0.2 s each, twice
    per file). The maps are not changed by validation (the walker keeps its own counters), so
    one process loads each map once; verdicts on the published 837P/835 examples and on our
    own files are identical with and without the cache (tests/test_x12_837.py)."""
    import pyx12.map_if

    global _cached_loader
    if _cached_loader is not None and pyx12.map_if.load_map_file is _cached_loader:
        return
    original = pyx12.map_if.load_map_file

    def load_map_file(map_file, param, map_path=None):
        key = (map_file, map_path)
        if key not in _MAPS:
            _MAPS[key] = original(map_file, param, map_path)
        return _MAPS[key]

    _cached_loader = pyx12.map_if.load_map_file = load_map_file


def validate_text(text: str, name: str = "<memory>") -> Verdict:
    """Run pyx12 on X12 text; the verdict lists every problem pyx12 reported."""
    import pyx12.errors
    import pyx12.params
    import pyx12.x12n_document

    _cache_pyx12_maps()

    if text.startswith(BOM):
        text = text[1:]
    version, tx, n = _sniff(text)
    verdict = Verdict(name, False, version, tx, n)
    if not text.startswith("ISA"):
        verdict.problems.append(
            X12Problem(1, None, None, "not an X12 interchange: the file does not begin with ISA")
        )
        return verdict
    logger = logging.getLogger("pyx12")
    handler = _Collect()
    old_prop, old_level = logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.ERROR)
    report = io.StringIO()
    try:
        ok = pyx12.x12n_document.x12n_document(
            param=pyx12.params.ParamsBase(),
            src_file=io.StringIO(text),
            fd_997=None,
            fd_html=None,
            fd_json=report,
        )
    except (pyx12.errors.X12Error, pyx12.errors.EngineError) as e:
        ok = False
        verdict.problems.append(
            X12Problem(
                None,
                None,
                None,
                f"pyx12 could not read the interchange ({type(e).__name__}): "
                "check the ISA header (106 characters, version 00501)",
            )
        )
    except Exception as e:  # pyx12 raises assorted errors on broken envelopes
        ok = False
        verdict.problems.append(
            X12Problem(
                None,
                None,
                None,
                f"pyx12 failed ({type(e).__name__}) on a broken envelope or segment",
            )
        )
    finally:
        logger.removeHandler(handler)
        logger.propagate, logger.level = old_prop, old_level
    try:
        tree = json.loads(report.getvalue()) if report.getvalue().strip() else {}
    except ValueError:
        tree = {}
    found: list[X12Problem] = []
    _walk_errors(tree, {}, found)
    verdict.problems.extend(found)
    if not ok and not verdict.problems:
        # pyx12's log lines quote data; say only how many it logged
        n_logged = sum(1 for m in handler.records if m)
        verdict.problems.append(
            X12Problem(
                None,
                None,
                None,
                "pyx12 rejected the file"
                + (f" ({n_logged} error(s) in its log)" if n_logged else ""),
            )
        )
    verdict.valid = bool(ok) and not verdict.problems
    return verdict


def read_x12(path: Path) -> tuple[str, list[X12Problem]]:
    """The file's text with a byte-order mark removed; bytes outside ASCII are problems
    (X12 text is ASCII) and are replaced so pyx12 still checks the rest."""
    data = Path(path).read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    problems: list[X12Problem] = []
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        bad = [i for i, ch in enumerate(text) if ord(ch) > 127]
        problems.append(
            X12Problem(
                None,
                None,
                None,
                f"{len(bad)} byte(s) outside ASCII (first at byte {bad[0] + 1}); X12 text must be ASCII",
            )
        )
        text = "".join(ch if ord(ch) < 128 else "?" for ch in text)
    return text, problems


def validate_file(path) -> Verdict:
    text, problems = read_x12(Path(path))
    v = validate_text(text, str(path))
    if problems:
        v.problems = problems + v.problems
        v.valid = False
    return v


_FILE_CACHE: dict[str, list[str]] = {}


def split_segments(text: str) -> list[str]:
    """Segments of an interchange whose terminator is "~" (the text as read_x12 returns it)."""
    return [s.strip() for s in text.split("~") if s.strip()]


def _job_text(job) -> str:
    """A job is (text, offset) or (path, first, last, offset): the ST set at segments
    first..last of a file (terminator "~"), wrapped in the file's ISA/GS and a GE/IEA counting
    one set; first < 0 means the whole file as it is."""
    if len(job) == 2:
        return job[0]
    path, first, last, _ = job
    if first < 0:
        return read_x12(Path(path))[0]
    segs = _FILE_CACHE.get(path)
    if segs is None:
        _FILE_CACHE.clear()
        segs = _FILE_CACHE[path] = split_segments(read_x12(Path(path))[0])
    return _wrap_set(segs, first, last)


def _wrap_set(segs: list[str], first: int, last: int) -> str:
    from .envelope import to_text

    el = segs[0][3]
    gs06 = segs[1].split(el)[6]
    isa13 = segs[0].split(el)[13]
    return to_text(
        segs[:2] + segs[first : last + 1] + [f"GE{el}1{el}{gs06}", f"IEA{el}1{el}{isa13}"]
    )


def transaction_sets(segments: list[str]) -> list[tuple[str, int, int]] | None:
    """(ST02, first, last) of each transaction set when the interchange is exactly one ISA, one
    GS, ST..SE sets and GE, IEA; None for any other shape (such a file is checked whole)."""
    if len(segments) < 6 or len(segments[0]) < 4:
        return None
    el = segments[0][3]
    ids = [s.split(el, 1)[0] for s in segments]
    if ids[:2] != ["ISA", "GS"] or ids[-2:] != ["GE", "IEA"]:
        return None
    sets, start = [], None
    for i in range(2, len(segments) - 2):
        sid = ids[i]
        if sid in ("ISA", "GS", "GE", "IEA"):
            return None
        if sid == "ST":
            if start is not None:
                return None
            start = i
        elif start is None:
            return None
        elif sid == "SE":
            parts = segments[start].split(el)
            sets.append((parts[2] if len(parts) > 2 else "", start, i))
            start = None
    return sets if start is None and sets else None


def _worker(job):
    offset = job[-1]
    v = validate_text(_job_text(job))
    return v.valid, [
        (p.line + offset if p.line and p.line > 2 else p.line, p.segment, p.element, p.message)
        for p in v.problems
    ]


def serve() -> None:
    """Worker process: one JSON job a line on stdin ([id, job]), one answer a line on stdout
    ([id, valid, problems]) as soon as it is checked. stdin is read ahead by a thread, so a
    parent handing out jobs never waits for the job in hand to finish."""
    import queue
    import sys
    import threading

    lines: queue.Queue = queue.Queue()

    def feed():
        for line in sys.stdin:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=feed, daemon=True).start()
    while (line := lines.get()) is not None:
        jid, job = json.loads(line)
        valid, problems = _worker(tuple(job))
        sys.stdout.write(json.dumps([jid, valid, problems]) + "\n")
        sys.stdout.flush()


def worker_command(code: str) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of a validator worker process running `code`: this
    process's interpreter and module path, in order ('' is the current directory: named), with
    -P (Python 3.11) so that the current directory is not put first on the worker's path: a
    folder holding another `billadmin` (an old checkout) or a module named like one the
    validator imports cannot answer for it (a validator that accepts everything: fail open)."""
    import sys

    path = os.pathsep.join(p or os.getcwd() for p in sys.path)
    return [sys.executable, "-P", "-c", code], {**os.environ, "PYTHONPATH": path}


class Pool:
    """pyx12 in worker processes, fed jobs while the caller goes on (a billing run renders its
    next payer's file while the last one is checked). Separate Python processes, not
    multiprocessing: its spawn mode re-runs the caller's __main__, and fork would copy an open
    SQLite write transaction. A job goes to the worker with the fewest segments outstanding;
    `on_progress(done, submitted)` hears segments as they are checked (from a reader thread)."""

    def __init__(self, workers: int, on_progress=None):
        import subprocess
        import threading

        argv, env = worker_command("from billadmin.x12.validate import serve; serve()")
        self.procs = [
            subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(workers)
        ]
        self.on_progress = on_progress
        self.sizes: list[int] = []
        self.answers: dict[int, tuple[bool, list]] = {}
        self.outstanding = [0] * workers
        self.done = 0
        self.lock = threading.Lock()
        self.stderr = [""] * workers
        self.threads = []
        for i in range(workers):
            for target in (self._read, self._drain):
                t = threading.Thread(target=target, args=(i,), daemon=True)
                t.start()
                self.threads.append(t)

    def _read(self, i: int) -> None:
        for line in _pipe(self.procs[i].stdout):
            jid, valid, problems = json.loads(line)
            with self.lock:
                self.answers[jid] = (valid, [tuple(p) for p in problems])
                self.outstanding[i] -= self.sizes[jid]
                self.done += self.sizes[jid]
                done, submitted = self.done, sum(self.sizes)
            if self.on_progress:
                self.on_progress(done, submitted)

    def _drain(self, i: int) -> None:
        for line in _pipe(
            self.procs[i].stderr
        ):  # a worker that logs must never block on a full pipe
            self.stderr[i] = (self.stderr[i] + line)[-2000:]

    def submit(self, job, size: int) -> int:
        with self.lock:
            jid = len(self.sizes)
            self.sizes.append(size)
            i = self.outstanding.index(min(self.outstanding))
            self.outstanding[i] += size
        stdin = _pipe(self.procs[i].stdin)
        stdin.write(json.dumps([jid, list(job)]) + "\n")
        stdin.flush()
        return jid

    def results(self) -> list[tuple[bool, list]]:
        """Every answer in submission order, once the workers have finished."""
        for p in self.procs:
            _pipe(p.stdin).close()
        for p in self.procs:
            p.wait()
        for t in self.threads:
            t.join()
        failed = [i for i, p in enumerate(self.procs) if p.returncode != 0]
        if failed or len(self.answers) != len(self.sizes):
            tail = self.stderr[failed[0]] if failed else ""
            raise RuntimeError(f"pyx12 worker failed: {tail[-500:]}")
        return [self.answers[j] for j in range(len(self.sizes))]

    def close(self) -> None:
        """Stop the workers (a run that fails before it needs their answers)."""
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            p.wait()


def _pipe(stream: IO[str] | None) -> IO[str]:
    """A worker's stdin, stdout or stderr: always a pipe (Popen with PIPE for all three)."""
    assert stream is not None
    return stream


def _job_size(job) -> int:
    """text jobs by length, set jobs by segments, whole files by bytes (about 40 a segment)"""
    if len(job) == 2:
        return len(job[0]) // 40
    return job[2] - job[1] + 1 if job[1] >= 0 else os.path.getsize(job[0]) // 40


PARALLEL_MIN_SEGMENTS = 20_000


def envelope_problems(segments: list[str], st_sets) -> list[X12Problem]:
    """What pyx12 checks across transaction sets, for an interchange it sees in pieces: the
    GE/IEA counts and control numbers, and ST02 unique within the group."""
    el = segments[0][3]
    gs06 = segments[1].split(el)[6]
    isa13 = segments[0].split(el)[13]
    out = []
    seen: set[str] = set()
    for st, first, _last in st_sets:
        if st in seen:
            out.append(
                X12Problem(
                    first + 1,
                    "ST",
                    "ST02",
                    f"ST Interchange Control Number {st} not unique within file",
                )
            )
        seen.add(st)
    ge = segments[-2].split(el)
    iea = segments[-1].split(el)
    if ge[0] != "GE" or len(ge) < 3 or ge[1] != str(len(st_sets)) or ge[2] != gs06:
        out.append(
            X12Problem(
                len(segments) - 1,
                "GE",
                "GE01",
                f"GE01 must count {len(st_sets)} transaction sets and GE02 repeat GS06",
            )
        )
    if iea[0] != "IEA" or len(iea) < 3 or iea[1] != "1" or iea[2] != isa13:
        out.append(
            X12Problem(len(segments), "IEA", "IEA01", "IEA must count 1 group and repeat ISA13")
        )
    return out


@dataclass
class CheckedFile:
    """One interchange of a Checker run: on disk (`path`) or in memory (`segments`, handed to
    the pool's jobs and dropped once submitted, `head` kept for its GS08 and ST01)."""

    name: str
    count: int  # segments
    st_sets: list[tuple[str, int, int]] | None  # None: checked whole
    problems: list[X12Problem]  # always count
    split: list[X12Problem] | None  # count only when checked set by set (envelope_problems)
    path: str | None = None
    segments: list[str] | None = None
    head: list[str] | None = None
    jobs: list[int] = field(default_factory=list)  # the pool's job ids


class Checker:
    """Validates the interchanges of a run as they are added. Small runs are checked here, whole
    file at a time, when `verdicts` is asked. Once a run reaches `parallel_min_segments` (and
    there is more than one CPU) a Pool starts and every file, then each new one, goes to it: a
    file with transaction-set positions set by set (each inside the file's own ISA/GS header and
    a GE/IEA counting one set, with `split_problems`, what pyx12 would have found across the
    sets, added: envelope_problems), any other file whole. Every segment passes through pyx12
    either way. Files are either on disk (`add_file`: the workers read them, so a large run is
    not held in memory twice) or segments in memory (`add_segments`, e.g. a dry run)."""

    def __init__(
        self,
        *,
        workers: int | None = None,
        parallel_min_segments: int | None = None,
        on_progress=None,
    ):
        self.workers = workers or os.cpu_count() or 1
        self.min_segments = (
            PARALLEL_MIN_SEGMENTS if parallel_min_segments is None else parallel_min_segments
        )
        self.on_progress = on_progress
        self.files: list[CheckedFile] = []
        self.segments = 0
        self.pool: Pool | None = None

    def add_file(
        self, path, st_sets, name: str, count: int, *, problems=(), split_problems=()
    ) -> None:
        """A file on disk; st_sets None = check it whole. `problems` always count (e.g. bytes
        outside ASCII found while reading); `split_problems` only when it is checked in pieces."""
        self._add(
            CheckedFile(name, count, st_sets, list(problems), list(split_problems), path=str(path))
        )

    def add_segments(
        self, segments: list[str], st_sets: list[tuple[str, int, int]], name: str
    ) -> None:
        self._add(CheckedFile(name, len(segments), st_sets, [], None, segments=segments))

    def _add(self, f: CheckedFile) -> None:
        self.files.append(f)
        self.segments += f.count
        if self.pool is None and self.workers >= 2 and self.segments >= self.min_segments:
            self.pool = Pool(self.workers, self.on_progress)
            for g in self.files:
                self._submit(g)
        elif self.pool is not None:
            self._submit(f)

    def _submit(self, f: CheckedFile) -> None:
        pool, sets = self.pool, f.st_sets
        assert pool is not None  # called once the pool has started
        jobs: list[tuple]
        if f.path is not None:
            jobs = (
                [(f.path, first, last, first - 2) for _st, first, last in sets]
                if sets
                else [(f.path, -1, -1, 0)]
            )
        else:
            segs, f.segments = f.segments, None
            assert segs is not None and sets is not None  # add_segments gives both
            f.head = segs[:3]
            f.split = envelope_problems(segs, sets)
            jobs = [(_wrap_set(segs, first, last), first - 2) for _st, first, last in sets]
        f.jobs = [pool.submit(j, _job_size(j)) for j in jobs]

    def verdicts(self) -> list[Verdict]:
        """One verdict per file, in the order added (waits for the workers)."""
        from .envelope import to_text

        out = []
        if self.pool is None:
            for f in self.files:
                if f.path is not None:
                    text = read_x12(Path(f.path))[0]
                else:
                    assert f.segments is not None  # not submitted: there is no pool
                    text = to_text(f.segments)
                v = validate_text(text, f.name)
                if f.problems:
                    v.problems = f.problems + v.problems
                    v.valid = False
                out.append(v)
            return out
        answers = self.pool.results()
        for f in self.files:
            ok = all(answers[j][0] for j in f.jobs)
            found = [X12Problem(*p) for j in f.jobs for p in answers[j][1]]
            problems = f.problems + found + (f.split if f.st_sets and f.split else [])
            if f.path is not None:
                head = _head(f.path)
            else:
                assert f.head is not None  # set when submitted
                head = to_text(f.head)
            version, tx, _ = _sniff(head)
            out.append(Verdict(f.name, ok and not problems, version, tx, f.count, problems))
        return out

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


def _head(path: str) -> str:
    """The first 4 KB of a file as read_x12 reads it (for its GS08 and ST01)."""
    with open(path, "rb") as fh:
        data = fh.read(4096)
    return (data[3:] if data.startswith(b"\xef\xbb\xbf") else data).decode("latin-1")


def validate_many(
    files: list[tuple[list[str], list[tuple[str, int, int]], str]],
    *,
    workers: int | None = None,
    parallel_min_segments: int | None = None,
) -> list[Verdict]:
    """Validate interchanges we built: (segments, ST set positions, name) each (see Checker)."""
    checker = Checker(workers=workers, parallel_min_segments=parallel_min_segments)
    try:
        for segs, sets, name in files:
            checker.add_segments(segs, sets, name)
        return checker.verdicts()
    finally:
        checker.close()


def validate_segments(
    segments: list[str],
    st_sets: list[tuple[str, int, int]],
    name: str,
    *,
    workers: int | None = None,
    parallel_min_segments: int = 0,
) -> Verdict:
    """One interchange we built; split over processes when it has several transaction sets."""
    return validate_many(
        [(segments, st_sets, name)], workers=workers, parallel_min_segments=parallel_min_segments
    )[0]


def validate_paths(
    paths, *, workers: int | None = None, parallel_min_segments: int | None = None
) -> list[Verdict]:
    """Validate X12 files from anywhere (`billadmin invoice validate`), in file order (see
    Checker). A file of one ISA/GS with several transaction sets and "~" as terminator can be
    checked set by set; any other file is checked whole."""
    checker = Checker(workers=workers, parallel_min_segments=parallel_min_segments)
    try:
        for path in paths:
            text, problems = read_x12(Path(path))
            _version, _tx, n = _sniff(text)
            sets, split = None, []
            if len(text) >= 106 and text.startswith("ISA") and text[105] == "~":
                segs = split_segments(text)
                sets = transaction_sets(segs)
                if sets is not None and len(sets) < 2:
                    sets = None
                split = envelope_problems(segs, sets) if sets else []
                del segs
            del text
            checker.add_file(path, sets, str(path), n, problems=problems, split_problems=split)
        return checker.verdicts()
    finally:
        checker.close()
