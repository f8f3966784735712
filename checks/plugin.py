"""The pytest plugin: options, fixtures and report hooks only (registered as the ``pytest11`` entry point).

    python -m pytest checks [--impl FAMILY=SPEC ...] [--report-json PATH] [--report-html PATH]
                            [--profile quick|standard|thorough] [--backend numpy|cupy] [--seed N] [--seeds N]
                            [--claims GLOB ...] [--check-timeout SECONDS]

``--seeds N`` runs every check once per seed ``SEED, SEED+1, ..., SEED+N-1`` (node ids gain ``[seedS]`` when N > 1);
``--claims GLOB`` keeps only the checks whose claim id matches one of the globs (:func:`fnmatch.fnmatchcase`).
"""

from __future__ import annotations

import fnmatch
import platform
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import pytest

from checks import profiles
from checks.claims import REGISTRY, ClaimFailed, ClaimRun
from checks.impl import ContractError, Guard, Implementation, UsageError, parse_option, reference, resolve
from reports.model import ClaimResult, Report, read_calibration, results_from_text, results_to_text

_PROFILE_DEFAULT = "quick"


@dataclass
class SessionState:
    """Everything one pytest session of the suite needs, kept in ``config.stash``."""

    impls: dict[str, Implementation]
    profile: profiles.Profile
    backend: str
    seed: int
    started: float = field(default_factory=time.time)
    results: list[ClaimResult] = field(default_factory=list)


STATE = pytest.StashKey[SessionState]()
RUN = pytest.StashKey[ClaimRun]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sgd-conformance", "theorem-conformance checks (sgd-conformance)")
    group.addoption("--impl", action="append", default=[], metavar="FAMILY=SPEC",
                    help="implementation under test, once per family (sgd, sgld, sde). SPEC is MODULE:ATTR, "
                         "path/to/file.py:ATTR or torch:MODULE:ATTR. Default: the reference solvers.")
    group.addoption("--profile", choices=profiles.NAMES, default=_PROFILE_DEFAULT,
                    help=f"sample sizes and time budgets (default: {_PROFILE_DEFAULT}).")
    group.addoption("--backend", choices=("numpy", "cupy"), default="numpy",
                    help="array backend of the reference solvers (default: numpy).")
    group.addoption("--seed", type=_non_negative_int, default=0,
                    help="base seed; each check derives its own streams (default: 0).")
    group.addoption("--seeds", type=_positive_int, default=1, metavar="N",
                    help="run every check once per seed SEED, SEED+1, ..., SEED+N-1, as separate items "
                         "(default: 1; used by the calibration).")
    group.addoption("--claims", action="append", default=[], metavar="GLOB",
                    help="run only the checks whose claim id matches GLOB (fnmatch, e.g. 'sgld.*'); may be given "
                         "several times. Other tests are deselected.")
    group.addoption("--check-timeout", type=float, default=None, metavar="SECONDS",
                    help="time one check may spend inside the implementation (default: the profile's budget).")
    group.addoption("--report-json", metavar="PATH", default=None, help="write the JSON results (schema 1).")
    group.addoption("--report-html", metavar="PATH", default=None, help="write the self-contained HTML report.")


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(f"--seeds must be a positive integer, got {value}")
    return value


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "claim(id): the check of a claim of the catalog (set by @claim)")
    impls: dict[str, Implementation] = {}
    for option in config.getoption("--impl") or []:
        try:
            family, spec = parse_option(option)
            if family in impls:
                raise UsageError(f"--impl {option}: family {family!r} given twice")
            impls[family] = resolve(family, spec)
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None
    backend = config.getoption("--backend")
    if backend == "cupy":
        try:
            from solvers._xp import backend_namespace

            backend_namespace("cupy")
        except ImportError as exc:
            raise pytest.UsageError(f"--backend cupy: CuPy is not available ({exc})") from None
    config.stash[STATE] = SessionState(impls=impls, profile=profiles.get(config.getoption("--profile")),
                                       backend=backend, seed=config.getoption("--seed"))
    if config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(_WorkerResults(config.stash[STATE]), "sgd_conformance_worker_results")


_WORKER_KEY = "sgd_conformance_results"


class _WorkerResults:
    """Under pytest-xdist (``-n N``): collects each worker's claim results on the controller, which writes the one
    merged report. Verdicts do not depend on the worker: every stream is named by (seed, claim id, labels)."""

    def __init__(self, state: SessionState) -> None:
        self.state = state

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        payload = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
        if payload:
            self.state.results.extend(results_from_text(payload))


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = config.stash[STATE]
    impls = ", ".join(f"{f}={i.spec}" for f, i in state.impls.items()) or "reference solvers"
    count = config.getoption("--seeds")
    seeds = f"seeds {state.seed}..{state.seed + count - 1}" if count > 1 else f"seed {state.seed}"
    return [f"sgd-conformance: {impls} · backend {state.backend} · profile {state.profile.name} · {seeds}"]


def _claim_of(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("claim")
    return marker.args[0] if marker else None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """With ``--seeds N > 1``, one item per seed for every claim check (``run_seed``, indirect, ids ``seedS``)."""
    count = metafunc.config.getoption("--seeds")
    if count == 1 or "run_seed" not in metafunc.fixturenames or _claim_of(metafunc.definition) is None:
        return
    base = metafunc.config.stash[STATE].seed
    seeds = range(base, base + count)
    metafunc.parametrize("run_seed", seeds, indirect=True, ids=[f"seed{s}" for s in seeds])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--claims GLOB``: deselect every item that is not the check of a claim matching one of the globs."""
    globs = config.getoption("--claims")
    if not globs:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        claim_id = _claim_of(item)
        matched = claim_id is not None and any(fnmatch.fnmatchcase(claim_id, g) for g in globs)
        (keep if matched else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def run_seed(request: pytest.FixtureRequest) -> int:
    """The seed of this item: ``--seed``, or one of ``--seed``, ..., ``--seed + N - 1`` under ``--seeds N``."""
    return getattr(request, "param", request.config.stash[STATE].seed)


@pytest.fixture
def profile(request: pytest.FixtureRequest) -> profiles.Profile:
    """The active profile (``--profile``)."""
    return request.config.stash[STATE].profile


@pytest.fixture
def seed(run_seed: int) -> int:
    """This item's seed (``--seed``, or its share of ``--seeds``); streams are derived from it and the claim id by
    :func:`solvers.rng.generator`."""
    return run_seed


@pytest.fixture
def xp(request: pytest.FixtureRequest) -> Any:
    """Array-API namespace of the backend (``--backend``)."""
    from solvers._xp import backend_namespace

    return backend_namespace(request.config.stash[STATE].backend)


@pytest.fixture
def claim(request: pytest.FixtureRequest, run_seed: int) -> Iterator[ClaimRun]:
    """The :class:`ClaimRun` of this check: budget, decisions, figures."""
    claim_id = _claim_of(request.node)
    if claim_id is None:
        raise RuntimeError(f"{request.node.nodeid} uses the claim fixture but has no @claim decorator")
    state = request.config.stash[STATE]
    spec = REGISTRY[claim_id]
    impl = state.impls.get(spec.family)
    run = ClaimRun(claim=spec, implementation=impl.spec if impl else "reference", seed=run_seed,
                   profile=state.profile.name, backend=state.backend, nodeid=request.node.nodeid)
    request.node.stash[RUN] = run
    yield run


@pytest.fixture
def impl(request: pytest.FixtureRequest, claim: ClaimRun) -> Guard:
    """The implementation under test for this claim's family, behind the contract guard."""
    state = request.config.stash[STATE]
    family = claim.claim.family
    chosen = state.impls.get(family) or reference(family)
    budget = request.config.getoption("--check-timeout") or state.profile.time_budget_s
    return Guard(impl=chosen, budget_s=budget, profile=state.profile.name)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    run = item.stash.get(RUN, None)
    if run is None:
        return
    if report.when == "call" or (report.when == "setup" and (report.failed or report.skipped)):
        if report.passed and not run.concluded:
            report.outcome = "failed"
            report.longrepr = f"{run.claim.id}: the check ended without a verdict (a bug in the check)"
        item.config.stash[STATE].results.append(_result(run, report, call))


def _result(run: ClaimRun, report: pytest.TestReport, call: pytest.CallInfo[None]) -> ClaimResult:
    exc = _primary(call.excinfo.value) if call.excinfo is not None else None
    if report.skipped:
        outcome, message = "skipped", _skip_reason(report)
    elif report.passed:
        outcome, message = "passed", ""
    elif isinstance(exc, ClaimFailed):
        outcome, message = "failed", str(exc)
    elif isinstance(exc, ContractError):
        outcome, message = "error", f"ERROR {run.claim.id} — {exc}"
    elif exc is not None:
        outcome, message = "error", f"ERROR {run.claim.id} — the check raised {type(exc).__name__}: {exc}"
    else:
        outcome, message = "failed", str(report.longrepr)
    head = run.headline()
    return ClaimResult(
        claim=run.claim.id, family=run.claim.family, implementation=run.implementation, outcome=outcome,
        message=message, statistic=head.statistic if head else None, p_value=run.claim_p_value(),
        measured=head.measured if head else None, predicted=head.predicted if head else None,
        budget=run.budget, statement=run.claim.statement, hypotheses=run.claim.hypotheses,
        source=run.claim.source, seed_wording=run.claim.seed_wording,
        power=profiles.get(run.profile).power(run.claim.id), nodeid=run.nodeid, seed=run.seed,
        profile=run.profile, backend=run.backend, duration_s=round(report.duration, 3),
        decisions=[asdict(d) for d in run.decisions], figures=list(run.figures))


def _primary(exc: BaseException) -> BaseException:
    """The first contract error or claim failure inside an exception group (hypothesis may raise one)."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _primary(inner)
            if isinstance(found, ContractError | ClaimFailed):
                return found
        return _primary(exc.exceptions[0])
    return exc


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    return str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    state = config.stash.get(STATE, None)
    if state is None:
        return
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: hand the results to the controller
        config.workeroutput[_WORKER_KEY] = results_to_text(state.results)
        return
    json_path, html_path = config.getoption("--report-json"), config.getoption("--report-html")
    if not json_path and not html_path:
        return
    results = sorted(state.results, key=lambda r: r.nodeid)
    report = Report(results=results, seed=state.seed, profile=state.profile.name, backend=state.backend,
                    implementations={f: (state.impls[f].spec if f in state.impls else "reference")
                                     for f in ("sgd", "sgld", "sde")},
                    versions=_versions(), started=datetime.fromtimestamp(state.started, UTC).isoformat(),
                    duration_s=round(time.time() - state.started, 2),
                    command="python -m pytest " + " ".join(config.invocation_params.args),
                    trust=read_calibration())
    if json_path:
        from reports.model import write_json

        write_json(report, json_path)
    if html_path:
        from reports.render import write_html

        write_html(report, html_path)


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in ("sgd-conformance", "numpy", "scipy", "sympy", "mpmath", "hypothesis", "torch", "cupy-cuda12x",
                 "cupy-cuda13x"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions
