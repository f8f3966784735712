"""The execution engine of ``sgd-conformance calibrate``: thousands of independent tasks, run here, on a local
cluster of worker processes, or on Dask workers spread over several machines, with a journal to resume from.

:func:`run` takes tasks (JSON-serialisable values, e.g. ``["lecture.sgf-mean-is-gf", {}, 7, 1]``) and a module-level
function ``fn(task) -> dict`` whose result is JSON-serialisable, and returns the results in the order of the tasks.

Keys. The key of a task is ``json.dumps(task, sort_keys=True)`` (:func:`task_key`); a tuple and a list with the same
items have the same key. Tasks with equal keys run once and share their result. On Dask a task runs under the key
``"<fn name>-<token of (fn, task key)>"``: deterministic, so Dask, not this module, resubmits a task whose worker died,
and two clients of one scheduler running the same task share it.

Journal (``Engine.journal``, optional). A JSONL file, one line ``{"key": <task key>, "result": <result>}`` per
finished task, appended by the client as each result arrives (``as_completed``), then flushed and fsynced: a run
killed at any moment has recorded every result it received. On start the journal is read and the tasks whose key is
there are not run again (resume); a key recorded twice counts once (its first line); lines of other tasks are kept and
ignored. A last line without its newline (a write cut short by a kill) is ignored, and cut off before the first
append. The file belongs to the caller: it is created when missing and never deleted. A journal serves one
calibration (the same code and settings); two runs must not share one at the same time. Every result, journaled or
not, is returned as its JSON text reads back, so a resumed run returns what a fresh run returns.

Where tasks run. ``Engine(workers=1)`` without a scheduler runs them here, one after the other, without Dask (tests
and tiny runs). Otherwise ``Engine(workers=N)`` starts a ``distributed.LocalCluster`` of ``N`` worker processes (0:
one per core; never more than the tasks to run) with one thread each, and ``Engine(scheduler="tcp://HOST:8786")``
connects to a running Dask scheduler and uses its workers. The cluster and the client are closed when the run ends,
however it ends.

When a worker dies. The scheduler reschedules the tasks it was running and recomputes the results it held that the
client had not yet received (their keys are known), so no task is lost, and each result reaches the client once
(each future leaves ``as_completed`` once, and the client ignores a key it already has). A worker's death counts
against the tasks it was running, not their ``retries``: a task on ``distributed.scheduler.allowed-failures + 1``
(default 4) workers that all died fails with ``KilledWorker`` (a task that kills every worker it touches). A task
that raises on a worker is retried ``RETRIES`` times (a transient failure of one host need not end a run of hours);
if it raises again, :func:`run` raises :class:`EngineError` naming the task, chained to the worker's exception.
Calibration's task function never raises for a check's outcome, so an error is a fault of the set-up (a worker
without the package, out of memory).

BLAS threads. Each worker runs one task at a time with one BLAS thread, so ``N`` workers use ``N`` cores and no more:
the nanny of each local worker process sets ``BLAS_ONE_THREAD`` (``OMP_NUM_THREADS=1``, ...) before spawning it
(``distributed.nanny.pre-spawn-environ``, whose defaults already hold them; the engine sets them whatever the
configuration says). ``dask worker`` with its default nanny does the same from the default configuration. Dask's
default also sets ``MALLOC_TRIM_THRESHOLD_=65536``, which a local worker does not get (:data:`NOT_SPAWNED`): an
explicit threshold turns off glibc's dynamic mmap threshold, and the checks' NumPy temporaries then cost a page fault
each (measured: 2.7 times slower, half the time in the kernel). For remote workers, give ``dask worker`` a
configuration whose ``distributed.nanny.pre-spawn-environ`` omits it.

On several machines. Every machine needs the same checkout of ``sgd_conformance`` installed in the same versions of
Python, NumPy and Dask (the workers import the task function by name). Then::

    dask scheduler                                          # on one host: listens on tcp://HOST:8786
    dask worker tcp://HOST:8786 --nthreads 1 --nworkers N   # on each host (N: its cores)
    sgd-conformance calibrate --scheduler tcp://HOST:8786   # anywhere that reaches HOST:8786

A worker without a nanny (``--no-nanny``) must be started with ``OMP_NUM_THREADS=1`` itself. Progress goes to
stderr, at most one line every ``PROGRESS_INTERVAL_S`` seconds and a last line::

    calibrate: 1200/4000 tasks (300 from the journal) · 2.1 tasks/s · ETA 22 min
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from distributed import Client

Task = Sequence[Any]  # JSON-serialisable
Result = dict[str, Any]  # JSON-serialisable
TaskFunction = Callable[[Task], Result]

#: the environment of every local worker process: one BLAS thread each
BLAS_ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
#: settings of Dask's default worker environment that a local worker does not get: an explicit glibc trim threshold
#: turns off glibc's dynamic mmap threshold, so every large NumPy temporary is mmapped and unmapped afresh (measured:
#: checks ran 2.7 times slower, half of it in the kernel)
NOT_SPAWNED = ("MALLOC_TRIM_THRESHOLD_",)
#: how many times Dask reruns a task that raised on a worker (a dead worker is counted apart, see the docstring)
RETRIES = 1
PROGRESS_INTERVAL_S = 2.0


class EngineError(RuntimeError):
    """A task raised, or its result is not JSON-serialisable (the message names the task); or the journal is not one."""


@dataclass(frozen=True)
class Engine:
    """Where and how :func:`run` runs its tasks."""

    scheduler: str | None = None  # "tcp://HOST:PORT" of a running `dask scheduler`; None: a LocalCluster here
    workers: int = 0  # LocalCluster worker processes (one thread each); 0: one per core; 1 without scheduler: here
    journal: Path | None = None  # JSONL file of finished tasks: append-only, resumable
    progress: bool = True  # progress lines on stderr

    def __post_init__(self) -> None:
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0, not {self.workers}")

    def in_process(self) -> bool:
        """Whether the tasks run here, without Dask."""
        return self.scheduler is None and self.worker_count() == 1

    def worker_count(self) -> int:
        """The local worker processes: ``workers``, or one per core."""
        return self.workers or os.cpu_count() or 1


def task_key(task: Task) -> str:
    """The key of a task: ``json.dumps(task, sort_keys=True)``."""
    return json.dumps(task, sort_keys=True)


def run(tasks: Sequence[Task], fn: TaskFunction, engine: Engine) -> list[Result]:
    """The results of ``fn`` on ``tasks``, in the order of the tasks (equal tasks share one result); the tasks of the
    journal are not run again. Raises :class:`EngineError` when a task raises."""
    keys = [task_key(task) for task in tasks]
    unique = dict(zip(keys, tasks, strict=True))
    journaled = read_journal(engine.journal) if engine.journal else {}
    results = {key: journaled[key] for key in unique if key in journaled}
    pending = {key: task for key, task in unique.items() if key not in results}
    progress = _Progress(len(unique), len(results), engine.progress)
    with _appender(engine.journal) as record:

        def finish(key: str, result: Result) -> None:
            results[key] = record(key, result)
            progress.advance()

        if pending and engine.in_process():
            progress.begin("in this process")
            for key, task in pending.items():
                finish(key, _call(fn, task, key))
        elif pending:
            _run_on_dask(pending, fn, engine, progress, finish)
    progress.end()
    return [results[key] for key in keys]


def _call(fn: TaskFunction, task: Task, key: str) -> Result:
    try:
        return fn(task)
    except Exception as exc:
        raise _failed(key, exc) from exc


def _failed(key: str, exc: BaseException) -> EngineError:
    return EngineError(f"task {key} failed: {type(exc).__name__}: {exc}")


def _run_on_dask(pending: dict[str, Task], fn: TaskFunction, engine: Engine, progress: _Progress,
                 finish: Callable[[str, Result], None]) -> None:
    from dask.base import tokenize  # Dask is imported only by runs that use it
    from dask.utils import funcname
    from distributed import as_completed

    with _client(engine, len(pending)) as client:
        workers = len(client.nthreads())  # type: ignore[no-untyped-call]
        progress.begin(f"on {workers} workers of {engine.scheduler or 'a local cluster'}")
        by_dask_key = {f"{funcname(fn)}-{tokenize(fn, key)}": key for key in pending}
        futures = {f.key: f for f in client.map(fn, list(pending.values()), key=list(by_dask_key), retries=RETRIES)}
        for future, result in as_completed(futures.values(), loop=client.loop,  # type: ignore[no-untyped-call]
                                           with_results=True, raise_errors=False):
            key = by_dask_key[future.key]
            if future.status != "finished":  # an error arrives as (type, exception, traceback)
                exc = result[1] if isinstance(result, tuple) else result
                raise _failed(key, exc) from exc
            finish(key, result)
            del futures[future.key]  # the client releases the result on the cluster


@contextmanager
def _client(engine: Engine, tasks: int) -> Iterator[Client]:
    """A client of ``engine.scheduler``, or of a local cluster of at most ``tasks`` workers; closed on exit."""
    import dask
    from distributed import Client, LocalCluster

    if engine.scheduler is not None:
        with Client(engine.scheduler) as client:  # type: ignore[no-untyped-call]
            yield client
        return
    environ = {**{name: value for name, value in dask.config.get("distributed.nanny.pre-spawn-environ").items()
                  if name not in NOT_SPAWNED}, **BLAS_ONE_THREAD}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}), \
            LocalCluster(n_workers=min(engine.worker_count(), tasks),  # type: ignore[no-untyped-call]
                         threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:  # type: ignore[no-untyped-call]
        yield client


# --- the journal -----------------------------------------------------------------------------------------------


def read_journal(path: Path) -> dict[str, Result]:
    """The results that the journal at ``path`` records, by task key (none when there is no file): the first line of
    each key; a last line without its newline is ignored."""
    if not path.exists():
        return {}
    results: dict[str, Result] = {}
    data = path.read_bytes()
    for number, line in enumerate(data[:data.rfind(b"\n") + 1].splitlines(), start=1):
        try:
            entry = json.loads(line)
            results.setdefault(entry["key"], entry["result"])
        except (ValueError, TypeError, KeyError) as exc:
            raise EngineError(f"{path}:{number} is not a journal line ({exc})") from exc
    return results


@contextmanager
def _appender(path: Path | None) -> Iterator[Callable[[str, Result], Result]]:
    """A function ``record(key, result)`` that appends the line of a finished task to the journal at ``path`` (when
    there is one) and returns the result as its JSON text reads back; a last line without its newline is cut off
    first."""
    if path is None:
        yield lambda key, result: _read_back(_line(key, result))
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as journal:
        journal.seek(0)
        data = journal.read()
        journal.truncate(data.rfind(b"\n") + 1)

        def record(key: str, result: Result) -> Result:
            line = _line(key, result)
            journal.write(line.encode())
            journal.flush()
            os.fsync(journal.fileno())
            return _read_back(line)

        yield record


def _read_back(line: str) -> Result:
    result: Result = json.loads(line)["result"]
    return result


def _line(key: str, result: Result) -> str:
    try:
        return json.dumps({"key": key, "result": result}) + "\n"
    except (TypeError, ValueError) as exc:
        raise EngineError(f"task {key}: its result is not JSON-serialisable ({exc})") from exc


# --- progress --------------------------------------------------------------------------------------------------


class _Progress:
    """Progress lines on stderr: one when the tasks start, at most one every ``PROGRESS_INTERVAL_S`` while they run,
    and a last one."""

    def __init__(self, total: int, journaled: int, enabled: bool) -> None:
        self.total, self.journaled, self.done, self.enabled = total, journaled, journaled, enabled
        self.start = self.shown = time.monotonic()

    def begin(self, where: str) -> None:
        self.start = self.shown = time.monotonic()
        self._show(f"{self._count()} · {self.total - self.done} to run {where}")

    def advance(self) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self.shown >= PROGRESS_INTERVAL_S:
            self.shown = now
            rate = self._rate(now)
            self._show(f"{self._count()} · {rate:.1f} tasks/s · ETA {_duration((self.total - self.done) / rate)}")

    def end(self) -> None:
        now = time.monotonic()
        ran = self.done > self.journaled
        self._show(self._count() + (f" · {self._rate(now):.1f} tasks/s · done in {_duration(now - self.start)}"
                                    if ran else ""))

    def _rate(self, now: float) -> float:
        return (self.done - self.journaled) / max(now - self.start, 1e-9)

    def _count(self) -> str:
        return f"{self.done}/{self.total} tasks ({self.journaled} from the journal)"

    def _show(self, text: str) -> None:
        if self.enabled:
            print(f"calibrate: {text}", file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
