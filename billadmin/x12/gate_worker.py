"""The gate's worker process (issue 15): the compiled validator checks a run's staged 837 files
in another process while the run builds its next payer's claims (compiled.Checker starts it
once a run is large enough; the machine and CI have 2 cores).

One worker, a fresh interpreter (`python -c`, as validate.Pool's pyx12 workers): not
multiprocessing, whose spawn mode re-runs the caller's __main__ and whose fork would count the
parent's memory (~330 MB at 100,000 encounters) again and copy an open SQLite transaction. It
is fed file paths, one JSON line each ([job id, path]) on stdin, and answers each with
the verdict's fields as plain data on stdout, in the order fed. It reads nothing else and
writes nothing: the files stay where the run staged them.

The parent never trusts silence: a job the worker did not answer (it died, was killed, or
failed on the file) is a rejected file whose problem names why, never an accepted one."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import astuple

from .validate import Verdict, X12Problem, _head, _sniff, worker_command

WORKER = (
    "from billadmin.x12.compiled import validate_file\n"
    "from billadmin.x12.gate_worker import serve\n"
    "serve(validate_file)\n"
)


def serve(validate_file: Callable[[str], Verdict]) -> None:
    """The worker: one job a line on stdin, one answer a line on stdout as soon as it is
    checked: [id, valid, version, transaction, segments, problems], each problem as [line,
    segment, element, message], or [id, None, error type] when the check itself failed (an
    unreadable file; only the exception's type, which never carries the data).
    `validate_file` is compiled.validate_file, handed in by WORKER (compiled imports this
    module; importing it back would make a cycle)."""
    for line in sys.stdin:
        jid, path = json.loads(line)
        try:
            v = validate_file(path)
            problems = [astuple(p) for p in v.problems]
            answer = [jid, v.valid, v.version, v.transaction, v.segments, problems]
        except Exception as e:  # the parent rejects the file, naming the error's type
            answer = [jid, None, type(e).__name__]
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


class Worker:
    """The parent's side: `submit` a staged file and go on; `verdict` waits for its answer. A
    reader thread takes every answer as it comes, so the worker never waits on a full pipe
    (a file with many problems answers with a long line) while the parent builds."""

    def __init__(self) -> None:
        import subprocess

        argv, env = worker_command(WORKER)  # -P: not the current directory's modules
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # a traceback could quote a file's data: the parent reports the exit code instead
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self.sent = 0
        self.answers: dict[int, list] = {}
        self.ended = False  # the worker's stdout closed: no answer comes any more
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        try:
            for line in self.proc.stdout:
                answer = json.loads(line)
                with self.cond:
                    self.answers[answer[0]] = answer
                    self.cond.notify_all()
        except (ValueError, OSError):  # a torn line from a dying worker: its job is unanswered
            pass
        finally:
            with self.cond:
                self.ended = True
                self.cond.notify_all()

    def submit(self, path: str) -> int:
        """Hand a file to the worker; its job id. A worker already gone leaves it unanswered."""
        jid, self.sent = self.sent, self.sent + 1
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps([jid, path]) + "\n")
            self.proc.stdin.flush()
        except OSError:  # BrokenPipeError: verdict() rejects the file
            pass
        return jid

    def verdict(self, jid: int, path: str, name: str, count: int) -> Verdict:
        """The worker's verdict on job `jid` (waits for it), as compiled.validate_file gives it
        with the file's name; a rejection naming the reason when the worker did not answer."""
        with self.cond:
            while jid not in self.answers and not self.ended:
                self.cond.wait()
            answer = self.answers.get(jid)
        if answer is not None and answer[1] is not None:
            _jid, valid, version, tx, segments, problems = answer
            return Verdict(name, valid, version, tx, segments, [X12Problem(*p) for p in problems])
        if answer is not None:
            why = f"the check failed ({answer[2]})"
        else:
            why = f"the gate's worker process stopped (exit code {self._exit_code()})"
        version, tx, _ = _sniff(_head(path)) if os.path.exists(path) else (None, None, 0)
        problem = X12Problem(None, None, None, f"not checked: {why}; the file is not accepted")
        return Verdict(name, False, version, tx, count, [problem])

    def _exit_code(self) -> int | None:
        try:
            return self.proc.wait(timeout=5)
        except Exception:  # subprocess.TimeoutExpired: still running, its output closed
            return None

    def close(self) -> None:
        """Stop the worker and wait for it: ended at once when every job is answered (stdin
        closed), killed when some are not (a run that fails and rolls back does not wait for
        checks it no longer needs)."""
        proc = self.proc
        if proc.poll() is None:
            with self.cond:
                answered = len(self.answers) >= self.sent
            try:
                assert proc.stdin is not None
                proc.stdin.close()
            except OSError:
                pass
            if not answered:
                proc.kill()
            try:
                proc.wait(timeout=10)
            except Exception:  # subprocess.TimeoutExpired: never left behind
                proc.kill()
                proc.wait()
        elif proc.stdin is not None and not proc.stdin.closed:
            try:
                proc.stdin.close()
            except OSError:
                pass
        self.reader.join(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
