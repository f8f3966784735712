"""The execution engine of the calibration, on real processes: a local Dask cluster returns the results of a run
here (its workers on one BLAS thread), a journal resumes a run, a task that raises is named, and a real
``dask scheduler`` with two ``dask worker`` processes loses a worker mid-run without losing or repeating a task.

The test of the killed worker starts its own scheduler and workers and is part of the default run (it takes seconds):
CI must run it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sgd_conformance.checks.harness import engine
from sgd_conformance.checks.harness.calibration import run_task
from sgd_conformance.checks.harness.engine import (
    BLAS_ONE_THREAD,
    NOT_SPAWNED,
    Engine,
    EngineError,
    read_journal,
    task_key,
)

ROOT = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")
HERE = Engine(workers=1, progress=False)
CHEAP = ("contract.sgd", "mfld.lsi-constant", "lecture.sgf-mean-is-gf")  # under 0.3 s a run
LONGER = (("lecture.gd-stability", 8), ("sgld.exact-quadratic-law", 22))  # about 0.4 s and 0.1 s a run
STARTUP_S = 60  # the longest wait for a process to start, or for a run to end


def _tasks(claims: tuple[str, ...], seeds: range) -> list[list[Any]]:
    return [[claim, {}, seed, 1] for claim in claims for seed in seeds]


def _verdicts(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The results without their run time (the one field that differs between two runs of a task)."""
    return [{k: v for k, v in r.items() if k != "duration_s"} for r in results]


def _journal_keys(journal: Path) -> list[str]:
    return [json.loads(line)["key"] for line in journal.read_text().splitlines()]


def _with_blas_environment(task: list[Any]) -> dict[str, Any]:
    """``run_task`` and the BLAS (and glibc trim) variables of the process that ran it."""
    return {**run_task(task), "blas": {name: os.environ.get(name) for name in (*BLAS_ONE_THREAD, *NOT_SPAWNED)}}


def _fails_on_seed_2(task: list[Any]) -> dict[str, Any]:
    if task[2] == 2:
        raise ValueError("seed 2 breaks")
    return {"seed": task[2]}


# --- here and on a local cluster -------------------------------------------------------------------------------


def test_the_key_of_a_task_is_its_json_with_sorted_keys() -> None:
    assert task_key(("c", {"b": 1, "a": 2}, 3)) == task_key(["c", {"a": 2, "b": 1}, 3]) == '["c", {"a": 2, "b": 1}, 3]'


def test_a_local_cluster_returns_the_results_of_a_run_here_on_one_blas_thread_a_worker(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*BLAS_ONE_THREAD, *NOT_SPAWNED):  # the workers get them from the engine, not from this process
        monkeypatch.delenv(name, raising=False)
    tasks = _tasks(CHEAP, range(1, 5))
    here = engine.run(tasks, run_task, HERE)
    on_cluster = engine.run([*tasks, *tasks[:2]], _with_blas_environment, Engine(workers=2, progress=False))
    assert on_cluster[len(tasks):] == on_cluster[:2]  # a repeated task ran once: the same result
    expected = {**BLAS_ONE_THREAD, **dict.fromkeys(NOT_SPAWNED)}  # no explicit trim threshold: see engine.NOT_SPAWNED
    assert [r.pop("blas") for r in on_cluster[:len(tasks)]] == [expected] * len(tasks)
    assert _verdicts(on_cluster) == _verdicts(here + here[:2])
    assert [(r["claim"], r["seed"]) for r in here] == [(t[0], t[2]) for t in tasks]


def test_a_journal_resumes_a_run_and_a_truncated_last_line_is_ignored(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "PROGRESS_INTERVAL_S", 0.0)  # a progress line at every task
    tasks = _tasks(("contract.sgd", "mfld.lsi-constant"), range(1, 6))
    journal = tmp_path / "runs" / "journal.jsonl"
    executed: list[str] = []

    def counted(task: list[Any]) -> dict[str, Any]:
        executed.append(task_key(task))
        return run_task(task)

    first = engine.run(tasks[::2], counted, Engine(workers=1, journal=journal))
    assert executed == [task_key(t) for t in tasks[::2]] == _journal_keys(journal)
    with journal.open("a") as f:  # a repeated line and a line cut short by a kill
        f.write(journal.read_text().splitlines()[0] + "\n" + '{"key": "[\\"contract.sgd\\", {}, 2')
    executed.clear()
    capsys.readouterr()

    resumed = engine.run(tasks, counted, Engine(workers=1, journal=journal))
    assert executed == [task_key(t) for t in tasks[1::2]]
    assert sorted(set(_journal_keys(journal))) == sorted(task_key(t) for t in tasks)
    assert len(_journal_keys(journal)) == len(tasks) + 1  # the repeated line stays, the cut one is gone
    assert _verdicts(resumed) == _verdicts(engine.run(tasks, run_task, HERE))
    assert resumed[::2] == first
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "calibrate: 5/10 tasks (5 from the journal) · 5 to run in this process"
    assert all(re.fullmatch(r"calibrate: \d+/10 tasks \(5 from the journal\) · \d+\.\d tasks/s · ETA \d+ s", line)
               for line in lines[1:-1]) and len(lines) == 7
    assert re.fullmatch(r"calibrate: 10/10 tasks \(5 from the journal\) · \d+\.\d tasks/s · done in \d+ s", lines[-1])

    executed.clear()
    assert engine.run(tasks, counted, Engine(workers=1, journal=journal, progress=False)) == resumed
    assert not executed and len(read_journal(journal)) == len(tasks)


def test_a_broken_line_before_the_last_is_an_error_naming_it(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    journal.write_text('{"key": "[1]", "result": {}}\nnot json\n{"key": "[2]", "result": {}}\n')
    with pytest.raises(EngineError, match=re.escape(f"{journal}:2 is not a journal line")):
        engine.run([[1]], run_task, Engine(workers=1, journal=journal, progress=False))


def test_a_result_that_is_not_json_is_an_error_naming_its_task() -> None:
    with pytest.raises(EngineError, match=re.escape(f"task {task_key([1])}: its result is not JSON-serialisable")):
        engine.run([[1]], lambda task: {"x": object()}, HERE)


# --- a real scheduler and workers ------------------------------------------------------------------------------


@dataclass
class DaskCluster:
    address: str
    workers: list[subprocess.Popen[bytes]]


def _wait_for_file(path: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_S
    while not path.exists() or not path.read_text().strip():
        assert process.poll() is None and time.monotonic() < deadline, "the dask scheduler did not start"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    """A ``dask scheduler`` on a free port of localhost and two ``dask worker`` processes without a nanny (the process
    a test kills is the worker itself), one thread and one BLAS thread each, importing this checkout; each process
    also stops by itself a minute after it loses its peer, should this fixture never end."""
    from distributed import Client

    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    env = {**os.environ, **BLAS_ONE_THREAD, "PYTHONPATH": os.pathsep.join(filter(None, [
        str(ROOT), os.environ.get("PYTHONPATH")]))}
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> subprocess.Popen[bytes]:
        with (folder / f"{name}.log").open("wb") as log:
            processes.append(subprocess.Popen([str(DASK), *args], cwd=ROOT, env=env, stdout=log,
                                              stderr=subprocess.STDOUT))
        return processes[-1]

    try:
        scheduler = start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                          "--scheduler-file", str(scheduler_file), "--idle-timeout", "60s")
        _wait_for_file(scheduler_file, scheduler)
        address = json.loads(scheduler_file.read_text())["address"]
        workers = [start(f"w{i}", "worker", address, "--name", f"w{i}", "--nthreads", "1", "--no-nanny",
                         "--no-dashboard", "--death-timeout", "60s") for i in range(2)]
        with Client(address, timeout=STARTUP_S) as client:
            client.wait_for_workers(2, timeout=STARTUP_S)
        yield DaskCluster(address, workers)
    finally:
        for process in reversed(processes):
            process.kill()
            process.wait(timeout=STARTUP_S)


def _journal_lines_once(journal: Path, count: int, running: Future[list[dict[str, Any]]]) -> int:
    """The number of lines of ``journal`` once it has at least ``count`` (fails if the run ends first)."""
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline and not running.done():
        lines = journal.read_bytes().count(b"\n") if journal.exists() else 0
        if lines >= count:
            return lines
        time.sleep(0.02)
    running.result(timeout=0)  # raises the run's error, if any
    pytest.fail(f"the journal did not reach {count} lines while the run was going")


def _processing(address: str) -> dict[str, list[str]]:
    """The keys that the scheduler at ``address`` has given each worker, by worker name."""
    from distributed import Client

    with Client(address, timeout=STARTUP_S, set_as_default=False) as client:
        names = {address: worker["name"] for address, worker in client.scheduler_info()["workers"].items()}
        return {names[address]: list(keys) for address, keys in client.processing().items()}


def test_a_worker_killed_mid_run_loses_no_task_and_repeats_none(dask_cluster: DaskCluster, tmp_path: Path) -> None:
    tasks = [task for claim, seeds in LONGER for task in _tasks((claim,), range(1, seeds + 1))]
    journal = tmp_path / "journal.jsonl"
    pool = ThreadPoolExecutor(1)
    try:
        running = pool.submit(engine.run, tasks, run_task,
                              Engine(scheduler=dask_cluster.address, journal=journal, progress=False))
        finished_at_kill = _journal_lines_once(journal, 4, running)
        assert _processing(dask_cluster.address)["w0"], "the worker to kill runs no task"
        dask_cluster.workers[0].send_signal(signal.SIGKILL)
        results = running.result(timeout=STARTUP_S)
    finally:
        pool.shutdown(wait=False)
    assert dask_cluster.workers[0].wait(timeout=STARTUP_S) == -signal.SIGKILL
    assert finished_at_kill < len(tasks)
    keys = [task_key(t) for t in tasks]
    assert sorted(_journal_keys(journal)) == sorted(keys) and len(set(keys)) == len(tasks)
    assert _verdicts(results) == _verdicts(engine.run(tasks, run_task, HERE))


@pytest.mark.parametrize("where", ["here", "dask"])
def test_a_task_that_raises_is_an_error_naming_the_task(where: str, request: pytest.FixtureRequest,
                                                        tmp_path: Path) -> None:
    scheduler = request.getfixturevalue("dask_cluster").address if where == "dask" else None
    tasks = _tasks(("c",), range(1, 4))
    journal = tmp_path / "journal.jsonl"
    with pytest.raises(EngineError, match=re.escape(f"task {task_key(tasks[1])} failed: ValueError: seed 2 breaks")) \
            as raised:
        engine.run(tasks, _fails_on_seed_2, Engine(scheduler, workers=1, journal=journal, progress=False))
    assert isinstance(raised.value.__cause__, ValueError)
    assert task_key(tasks[1]) not in read_journal(journal)
