"""The run's 837P files: rendered one payer at a time, validated by the gate (the validator
compiled from pyx12's maps; with --pyx12 pyx12 as well; all or nothing),
then recorded as interchanges (x12_interchanges, invoice_files, a 'sent' event per claim)."""

from __future__ import annotations

import datetime as _dt
import json
import time
from typing import TYPE_CHECKING

from ..errors import BadInput
from ..outfile import absolute, inside
from . import content, numbering
from .files import Staged
from .result import Progress, RunResult, silent

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from ..db import Database


class X12Invalid(BadInput):
    "An 837 we built failed validation (the compiled validator or pyx12): nothing was issued."


class Gate:
    """The validation gate before any 837 is written (issue 15): the validator compiled from
    pyx12's 005010 maps (x12/compiled.py: pyx12's verdicts, proved by the differential test in
    tests/test_x12_compiled.py, many times faster; on a large run in one worker process that
    checks each payer's staged file while the next payer is built); with `pyx12`, pyx12 itself
    as well (validate.Checker, in worker processes on a large run), and a file fails when either
    rejects it. validate.Checker's interface: add_file, add_segments, files, segments, verdicts,
    close (which stops every worker)."""

    def __init__(self, *, workers: int | None, say: Progress, pyx12: bool = False):
        from ..x12 import compiled, validate

        def progress(done: int, total: int) -> None:
            say("837 segments checked", done, total)

        self.label = "compiled validator and pyx12" if pyx12 else "compiled validator"
        self.checkers: list = [
            compiled.Checker(workers=workers, on_progress=None if pyx12 else progress)
        ]
        if pyx12:
            self.checkers.append(validate.Checker(workers=workers, on_progress=progress))

    @property
    def files(self) -> list:
        return self.checkers[0].files

    @property
    def segments(self) -> int:
        return self.checkers[0].segments

    def add_file(self, path, st_sets, name: str, count: int, **kw) -> None:
        for c in self.checkers:
            c.add_file(path, st_sets, name, count, **kw)

    def add_segments(self, segments: list[str], st_sets, name: str) -> None:
        for c in self.checkers:
            c.add_segments(segments, st_sets, name)

    def verdicts(self) -> list:
        """One verdict a file: the first checker's, failed (with the other's problems) when
        pyx12 rejects what the compiled validator accepted."""
        out = self.checkers[0].verdicts()
        for other in self.checkers[1:]:
            for v, o in zip(out, other.verdicts(), strict=True):
                if not o.valid:
                    v.valid = False
                    v.problems = list(v.problems) + [p for p in o.problems if p not in v.problems]
        return out

    def close(self) -> None:
        for c in self.checkers:
            c.close()


class X12Run:
    """The run's 837P files: `add` renders one payer's file, writes it beside its final name and
    hands it to pyx12 (validate.Checker: on a large run worker processes check it while the next
    payer's claims are built); `finish` waits for every verdict and records the interchanges.
    Any invalid file raises X12Invalid and the caller rolls everything back.

    Outside the write lock (`live=False`, generate.py's phase (a)) the ISA13/GS06 control numbers
    are the ones the counters would give next (numbering.peek_controls, read in the run's
    snapshot); `take_controls`, under the lock, takes them and says whether they are still the
    same, so the files validated are byte for byte the files recorded (otherwise the run is
    prepared again). Inside the lock (`live=True`) they are taken as each file is rendered.

    A payer that takes paper (payers.claim_media = 'paper', `payer set CODE --paper`) gets each
    claim as a CMS-1500 PDF instead, values only, for printing on the red form
    (CMS1500-<payer>-<claim>.pdf; recorded as the claim's pdf file, sent when printed)."""

    def __init__(
        self,
        conn: Database,
        result: RunResult,
        staged: Staged,
        prac: dict,
        payers: dict[int, dict],
        *,
        run_id: int | None = None,
        at: str,
        workers: int | None,
        say: Progress = silent,
        live: bool = True,
        pyx12: bool = False,
        issued_on: str | None = None,
    ):
        from .practice import SETTINGS

        self.conn, self.result, self.staged, self.payers = conn, result, staged, payers
        self.run_id, self.at, self.workers, self.say = run_id, at, workers, say
        self.live = live
        # the run's issue date: its claims are planned (not in the ledger yet) when paper forms
        # that print it are rendered (ub04.add_paper)
        self.issued_on = issued_on
        self.peeked: dict[str, int] = (
            {} if live else {k: numbering.peek_controls(conn, k, 1)[0] for k in ("isa", "gs")}
        )
        self.block = content.practice_block(prac)
        self.prac = prac
        self.usage = prac.get("usage") or SETTINGS["usage"][1]
        self.created = _dt.datetime.now().replace(second=0, microsecond=0)
        self.built: list[
            tuple
        ] = []  # (payer_id, invoice ids, env, name, final path, sha256, ST sets, claim ST list)
        self.paper: list[tuple[int, str, Path]] = []  # (invoice id, file name, final path)
        self.checker = Gate(workers=workers, say=say, pyx12=pyx12)

    def add(self, payer_id: int, items: list[tuple[int, dict]]) -> None:
        if self.payers[payer_id].get("claim_media") == "paper":
            self._add_paper(payer_id, items)
            return

        from ..x12 import x837

        env = self.envelope()
        rendered = x837.render(env, self.block, [c for _, c in items])
        self.stage(payer_id, items, env, rendered, "837P")

    def envelope(self, **kw):
        """The next file's ISA/GS envelope (control numbers taken, or peeked outside the lock)."""
        from ..x12 import envelope

        prac = self.prac
        return envelope.Envelope(
            sender_id=prac["submitter_id"],
            receiver_id=prac["receiver_id"],
            isa_control=self._control("isa"),
            gs_control=self._control("gs"),
            created=self.created,
            usage=self.usage,
            **kw,
        )

    def stage(self, payer_id: int, items: list[tuple[int, dict]], env, rendered, kind: str) -> None:
        """Stage one rendered 837 (`kind` 837P or 837I: its file name <kind>-<payer>-<ISA13>.edi)
        and hand it to the gate; recorded in `built` for check/record."""
        import hashlib

        from ..x12 import validate

        name = f"{kind}-{self.payers[payer_id]['code']}-{env.isa_control:09d}.edi"
        final = inside(self.result.out_dir, name)  # the payer code comes from data
        text = rendered.text
        sha = hashlib.sha256(text.encode()).hexdigest()
        if self.staged.enabled:
            self.staged.write_text(final, text)
            self.checker.add_file(
                self.staged.pending(final),
                rendered.st_sets,
                name,
                len(rendered.segments),
                split_problems=validate.envelope_problems(rendered.segments, rendered.st_sets),
            )
        else:
            self.checker.add_segments(rendered.segments, rendered.st_sets, name)
        self.built.append(
            (
                payer_id,
                [iid for iid, _ in items],
                env,
                name,
                final,
                sha,
                rendered.st_sets,
                rendered.claim_st,
            )
        )

    def _control(self, name: str) -> int:
        if self.live:
            return numbering.next_control(self.conn, name)
        value = self.peeked[name]
        self.peeked[name] = 1 if value >= 999999999 else value + 1
        return value

    def take_controls(self) -> bool:
        """Under the write lock: take the control numbers of every file rendered outside it, in
        the same order; False when another command took some meanwhile (the files name others)."""
        same = True
        for _payer, _ids, env, *_rest in self.built:
            isa = numbering.next_control(self.conn, "isa")
            gs = numbering.next_control(self.conn, "gs")
            same = same and (isa, gs) == (env.isa_control, env.gs_control)
        return same

    def _add_paper(self, payer_id: int, items: list[tuple[int, dict]]) -> None:
        from . import cms1500

        payer = self.payers[payer_id]
        address = {k: payer.get(k) for k in ("address1", "city", "state", "zip")}
        for iid, c in items:
            name = f"CMS1500-{payer['code']}-{c['number']}.pdf"
            final = inside(self.result.out_dir, name)  # the payer code comes from data
            if self.staged.enabled:
                self.staged.write_bytes(final, cms1500.render(c, self.block, address, form=False))
            self.paper.append((iid, name, final))

    def close(self) -> None:
        """Stop pyx12 workers still running (a run that failed before it needed them)."""
        self.checker.close()

    def finish(self) -> dict[int, str]:
        """Every verdict (X12Invalid on any failure), then the files recorded."""
        self.check()
        return self.record()

    def check(self) -> None:
        """Wait for the gate's verdict on every file (Gate); any failure raises X12Invalid."""
        result = self.result
        t = time.perf_counter()
        self.say(
            f"validating {len(self.checker.files)} 837 file(s), {self.checker.segments:,}"
            f" segments ({self.checker.label})"
        )
        verdicts = self.checker.verdicts()
        # the wait after the last file was rendered
        result.timings["validate"] = time.perf_counter() - t
        failures = [v for v in verdicts if not v.valid]
        if failures:
            details = []
            for v in failures:
                details += [f"{v.name}: {p}" for p in v.problems[:25]]
            raise X12Invalid(
                f"{len(failures)} 837 file(s) failed validation ({self.checker.label});"
                " nothing was issued",
                details=details,
            )

    def _rows(
        self, run_id: int | None, first_interchange: int, *, files: bool = True
    ) -> tuple[list[tuple], list[tuple], dict[int, str]]:
        """(x12_interchanges rows with their ids from `first_interchange`, invoice_files rows
        without their ids, invoice id -> file name), as `record` inserts them; without `files`
        the last two are left empty (a row per claim: not built under the lock for nothing)."""
        prac = self.prac
        env_json = json.dumps(
            {
                "practice": self.block,
                "usage": self.usage,
                "created": self.created.isoformat(),
                "sender_id": prac["submitter_id"],
                "receiver_id": prac["receiver_id"],
            },
            sort_keys=True,
        )
        interchanges: list[tuple] = []
        file_rows: list[tuple] = []
        files_by_invoice: dict[int, str] = {}
        for n, (payer_id, inv_ids, env, name, final, sha, st_sets, claim_st) in enumerate(
            self.built
        ):
            ix, where = first_interchange + n, str(absolute(final))
            interchanges.append(
                (
                    ix,
                    run_id,
                    payer_id,
                    f"{env.isa_control:09d}",
                    str(env.gs_control),
                    self.usage,
                    env_json,
                    where,
                    sha,
                    len(st_sets),
                    len(inv_ids),
                    self.at,
                )
            )
            for inv_id, st in zip(inv_ids, claim_st, strict=True) if files else ():
                file_rows.append((inv_id, "x12", where, run_id, ix, st, self.at))
                files_by_invoice[inv_id] = name
        for inv_id, name, final in self.paper if files else ():
            file_rows.append((inv_id, "pdf", str(absolute(final)), run_id, None, None, self.at))
            files_by_invoice[inv_id] = name
        return interchanges, file_rows, files_by_invoice

    def planned_rows(
        self, run_id: int, first_interchange: int
    ) -> tuple[list[tuple], list[tuple[int, str]]]:
        """Outside the lock (generate.py plans them with their seal digests): the invoice_files
        rows (without ids) and the 'sent' events' (invoice id, note) that `record` would insert
        with this run id and these interchange ids."""
        _, file_rows, files_by_invoice = self._rows(run_id, first_interchange)
        return file_rows, list(files_by_invoice.items())

    def record(
        self, copy_planned: Callable[[int], dict[int, str] | None] | None = None
    ) -> dict[int, str]:
        """The run's interchanges, invoice files and 'sent' events (under the write lock, with
        `run_id` set); returns invoice id -> file name. `copy_planned(first interchange id)`
        inserts the files and events planned by `planned_rows` instead and returns their names
        by invoice id (planned_rows' order), or None when it could not (the ids they were
        planned with are not the ones given now)."""
        conn, result = self.conn, self.result
        first = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM x12_interchanges").fetchone()[0]
        interchanges, _, _ = self._rows(self.run_id, first, files=False)
        result.files += [final for *_, final, _sha, _st, _cst in self.built]
        result.files += [final for _, _, final in self.paper]
        conn.conn.executemany(
            "INSERT INTO x12_interchanges (id, run_id, payer_id, isa_control, gs_control, usage,"
            " envelope, path, sha256, transaction_sets, claims, created_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            interchanges,
        )
        if copy_planned is not None and (planned := copy_planned(first)) is not None:
            return planned
        _, file_rows, files_by_invoice = self._rows(self.run_id, first)
        conn.conn.executemany(
            "INSERT INTO invoice_files (invoice_id, kind, path, run_id, interchange_id, st_control, created_at)"
            " VALUES (?,?,?,?,?,?,?)",
            file_rows,
        )
        conn.conn.executemany(
            "INSERT INTO invoice_events (invoice_id, status, at, note) VALUES (?, 'sent', ?, ?)",
            ((inv_id, self.at, name) for inv_id, name in files_by_invoice.items()),
        )
        return files_by_invoice
