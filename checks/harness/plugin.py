"""The pytest plugin (the ``pytest11`` entry point): options, the collector of claim items, the report hooks.

    python -m pytest --pyargs sgd_conformance.checks [--sgdc-impl FAMILY=SPEC ...] [--sgdc-profile NAME]
        [--sgdc-backend numpy|cupy] [--sgdc-seed N] [--sgdc-seeds N] [--sgdc-claims GLOB ...]
        [--sgdc-timeout SECONDS] [--sgdc-report-json PATH] [--sgdc-report-html PATH]

Every option has a short alias without the ``sgdc-`` prefix (``--impl``, ``--profile``, ``--backend``, ``--seed``,
``--seeds``, ``--claims``, ``--check-timeout``, ``--report-json``, ``--report-html``), added once every other plugin
has registered its options and only where no plugin has taken that name (pytest-profiling has ``--profile``): the
prefixed names always work.

Each module of ``sgd_conformance.checks`` is collected as one file whose items are its claims (one per seed under
``--sgdc-seeds N``); an item runs :func:`sgd_conformance.checks.harness.run.execute`. This module imports only the
standard library and pytest: the suite is imported when claim items are collected.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import platform
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from sgd_conformance.checks.harness.claims import Claim
    from sgd_conformance.checks.harness.impl import Implementation
    from sgd_conformance.reports.model import ClaimResult

PREFIX = "--sgdc-"
PROFILES = ("quick", "standard", "thorough")
_OPTIONS: list[tuple[str, str, dict[str, Any]]] = []  # (canonical, alias, addoption keywords)


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(f"expected a non-negative integer, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(f"expected a positive integer, got {value}")
    return value


def _option(name: str, alias: str, **keywords: Any) -> None:
    _OPTIONS.append((PREFIX + name, alias, {"dest": "sgdc_" + name.replace("-", "_"), **keywords}))


_option("impl", "--impl", action="append", default=[], metavar="FAMILY=SPEC",
        help="implementation under test, once per family (sgd, sgld, sde; the training loop's sampler, reduction, "
             "schedule, averaging). SPEC is MODULE:ATTR, path/to/file.py:ATTR or torch:MODULE:ATTR, optionally "
             "with literal keyword arguments ATTR(name=value, ...). Default: the reference solvers.")
_option("profile", "--profile", choices=PROFILES, default="quick",
        help="sample sizes and time budgets (default: quick).")
_option("backend", "--backend", choices=("numpy", "cupy"), default="numpy",
        help="array backend of the reference solvers (default: numpy).")
_option("seed", "--seed", type=_non_negative_int, default=0, metavar="N",
        help="base seed; each check derives its own streams (default: 0).")
_option("seeds", "--seeds", type=_positive_int, default=1, metavar="N",
        help="run every check once per seed SEED, SEED+1, ..., SEED+N-1, as separate items (default: 1).")
_option("claims", "--claims", action="append", default=[], metavar="GLOB",
        help="run only the checks whose claim id matches GLOB (fnmatch, e.g. 'sgld.*'); may be given several "
             "times. Other claim items are deselected.")
_option("timeout", "--check-timeout", type=float, default=None, metavar="SECONDS",
        help="time one check may spend inside the implementation (default: the profile's budget).")
_option("report-json", "--report-json", metavar="PATH", default=None, help="write the JSON results (schema 1).")
_option("report-html", "--report-html", metavar="PATH", default=None, help="write the self-contained HTML report.")

_GROUP = ("sgd-conformance", "theorem-conformance checks (sgd-conformance)")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(*_GROUP)
    for canonical, _, keywords in _OPTIONS:
        group.addoption(canonical, **keywords)


def _taken(parser: pytest.Parser) -> set[str]:
    """Every option string registered so far by any plugin."""
    groups = [*parser._groups, parser._anonymous]  # noqa: SLF001 - pytest has no public listing
    return {name for group in groups for option in group.options for name in option.names()}


@pytest.hookimpl(trylast=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Add the short aliases that no plugin (nor an initial conftest) has taken, after all have registered."""
    taken = _taken(parser)
    group = parser.getgroup(*_GROUP)
    for _, alias, keywords in _OPTIONS:
        if alias not in taken:
            group.addoption(alias, **{**keywords, "help": "alias of " + PREFIX + keywords["dest"][5:].replace(
                "_", "-")})


@dataclass
class SessionState:
    """What one pytest session of the suite needs, kept in ``config.stash``; the implementations are resolved when
    the first claim item is collected or when ``--sgdc-impl`` is given."""

    specs: list[str]
    profile: str
    backend: str
    seed: int
    seeds: int
    claims: list[str]
    timeout_s: float | None
    started: float = field(default_factory=time.time)
    impls: dict[str, Implementation] | None = None
    results: list[ClaimResult] = field(default_factory=list)

    def implementations(self) -> dict[str, Implementation]:
        if self.impls is None:
            self.impls = _resolve(self.specs)
        return self.impls


STATE = pytest.StashKey[SessionState]()


def _resolve(options: list[str]) -> dict[str, Implementation]:
    from sgd_conformance.checks.harness.impl import UsageError, parse_option, resolve

    impls: dict[str, Implementation] = {}
    for option in options:
        try:
            family, spec = parse_option(option)
            if family in impls:
                raise UsageError(f"--impl {option}: family {family!r} given twice")
            impls[family] = resolve(family, spec)
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None
    return impls


def pytest_configure(config: pytest.Config) -> None:
    state = SessionState(
        specs=config.getoption("sgdc_impl"), profile=config.getoption("sgdc_profile"),
        backend=config.getoption("sgdc_backend"), seed=config.getoption("sgdc_seed"),
        seeds=config.getoption("sgdc_seeds"), claims=config.getoption("sgdc_claims"),
        timeout_s=config.getoption("sgdc_timeout"))
    config.stash[STATE] = state
    if state.specs:  # a bad SPEC is a usage error before any test runs
        state.implementations()
    if state.backend != "numpy":
        try:
            from sgd_conformance.solvers._xp import backend_namespace

            backend_namespace(state.backend)
        except ImportError as exc:
            raise pytest.UsageError(f"--sgdc-backend {state.backend}: CuPy is not available ({exc})") from None
    if config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(_WorkerResults(state), "sgd_conformance_worker_results")


_WORKER_KEY = "sgd_conformance_results"


class _WorkerResults:
    """Under pytest-xdist (``-n N``): collects each worker's claim results on the controller, which writes the one
    merged report. Verdicts do not depend on the worker: every stream is named by (seed, claim id, labels)."""

    def __init__(self, state: SessionState) -> None:
        self.state = state

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        payload = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
        if payload:
            from sgd_conformance.reports.model import results_from_text

            self.state.results.extend(results_from_text(payload))


# --- collection ------------------------------------------------------------------------------------------------

_CHECKS_DIRS: list[Path] = []


def _checks_dirs() -> list[Path]:
    """The folders of the installed package ``sgd_conformance.checks`` (found without importing it)."""
    if not _CHECKS_DIRS:
        spec = importlib.util.find_spec("sgd_conformance.checks")
        locations = (spec.submodule_search_locations or []) if spec else []
        _CHECKS_DIRS.extend(Path(p).resolve() for p in locations)
    return _CHECKS_DIRS


def _is_check_module(file_path: Path) -> bool:
    return (file_path.suffix == ".py" and not file_path.name.startswith("_")
            and file_path.resolve().parent in _checks_dirs())


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """A module of ``sgd_conformance.checks`` is collected as a :class:`ClaimModule` (one named on the command line
    by :func:`pytest_pycollect_makemodule`, which pytest's Python collector calls for it)."""
    if parent.session.isinitpath(file_path) or not _is_check_module(file_path):
        return None
    return ClaimModule.from_parent(parent, path=file_path)


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """A check module named on the command line is a :class:`ClaimModule`, not a module of test functions."""
    return ClaimModule.from_parent(parent, path=module_path) if _is_check_module(module_path) else None


class ClaimModule(pytest.File):
    """The claims of one check module, as items."""

    def collect(self) -> list[pytest.Item]:
        from sgd_conformance.checks.harness.run import claims_of_module

        state = self.config.stash[STATE]
        state.implementations()
        items: list[pytest.Item] = []
        for claim in claims_of_module(f"sgd_conformance.checks.{self.path.stem}"):
            seeds = range(state.seed, state.seed + state.seeds)
            for seed in seeds:
                name = claim.check.__name__ if claim.check else claim.id
                if state.seeds > 1:
                    name += f"[seed{seed}]"
                items.append(ClaimItem.from_parent(self, name=name, claim=claim, seed=seed))
        return items


class ClaimFailure(Exception):
    """A claim item's failed or error outcome; its message is the whole report (no traceback)."""


class ClaimItem(pytest.Item):
    """One check of one claim at one seed."""

    def __init__(self, *, claim: Claim, seed: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.claim = claim
        self.seed = seed

    def runtest(self) -> None:
        from sgd_conformance.checks.harness.run import execute

        state = self.config.stash[STATE]
        done = execute(self.claim.id, state.implementations(), seed=self.seed, profile=state.profile,
                       backend=state.backend, timeout_s=state.timeout_s, nodeid=self.nodeid)
        state.results.append(done.result)
        if done.result.outcome in ("passed", "not-confirmed"):  # not confirmed: listed in the terminal summary
            return
        if done.unexpected is not None:
            raise done.unexpected
        raise ClaimFailure(done.result.message)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ClaimFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int, str]:
        line = self.claim.check.__code__.co_firstlineno - 1 if self.claim.check else 0
        return self.path, line, f"claim {self.claim.id} (seed {self.seed})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--sgdc-claims GLOB``: deselect every claim item whose claim id matches none of the globs."""
    globs = config.stash[STATE].claims
    if not globs:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        matched = isinstance(item, ClaimItem) and any(fnmatch.fnmatchcase(item.claim.id, g) for g in globs)
        (keep if matched or not isinstance(item, ClaimItem) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_collectionfinish(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    """The suite's header line, shown only when claim items were collected."""
    if not any(isinstance(item, ClaimItem) for item in items):
        return []
    state = config.stash[STATE]
    impls = ", ".join(f"{f}={i.spec}" for f, i in state.implementations().items()) or "reference solvers"
    seeds = f"seeds {state.seed}..{state.seed + state.seeds - 1}" if state.seeds > 1 else f"seed {state.seed}"
    return [f"sgd-conformance: {impls} · backend {state.backend} · profile {state.profile} · {seeds}"]


# --- the report ------------------------------------------------------------------------------------------------


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    state = config.stash.get(STATE, None)
    if state is None:
        return
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: hand the results to the controller
        if state.results:
            from sgd_conformance.reports.model import results_to_text

            config.workeroutput[_WORKER_KEY] = results_to_text(state.results)  # type: ignore[attr-defined]
        return
    json_path, html_path = config.getoption("sgdc_report_json"), config.getoption("sgdc_report_html")
    if not json_path and not html_path:
        return
    from sgd_conformance.checks.harness.claims import IMPL_FAMILIES
    from sgd_conformance.reports.model import Report, read_calibration, write_json
    from sgd_conformance.reports.render import write_html

    impls = state.implementations()
    report = Report(results=sorted(state.results, key=lambda r: r.nodeid), seed=state.seed, profile=state.profile,
                    backend=state.backend,
                    implementations={f: (impls[f].spec if f in impls else "reference") for f in IMPL_FAMILIES},
                    versions=_versions(), started=datetime.fromtimestamp(state.started, UTC).isoformat(),
                    duration_s=round(time.time() - state.started, 2),
                    command="python -m pytest " + " ".join(config.invocation_params.args),
                    trust=read_calibration())
    if json_path:
        write_json(report, json_path)
    if html_path:
        write_html(report, html_path)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """What the verdicts decided on (the user's implementation, the theory and reference solvers only, or a reported
    measurement), and each report-only claim whose measurement contradicts it ("not confirmed": not a failure)."""
    state = config.stash.get(STATE, None)
    if state is None or not state.results or hasattr(config, "workerinput"):
        return
    from sgd_conformance.reports.model import scope_summary

    terminalreporter.section("sgd-conformance")
    for line in scope_summary(state.results):
        terminalreporter.write_line(line)


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in ("sgd-conformance", "numpy", "scipy", "sympy", "mpmath", "hypothesis", "torch", "cupy-cuda12x",
                 "cupy-cuda13x"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions
