"""One way to run a claim: :func:`run_claim` runs the check of one claim on the given implementations and returns its
:class:`~sgd_conformance.reports.model.ClaimResult`. The pytest plugin, the power tests and the calibration all call
it; no pytest session is needed.

Outcomes: ``passed``; ``not-confirmed`` (a report-only measurement contradicts the claim while every enforced
decision held: not a failure, and never read as "passed"); ``failed`` (the claim does not hold: a rejected exact
decision, statistical rejections in both stages, or a check that ended without a verdict); ``error`` (the
implementation broke the contract, or the check itself raised).

Stages (:mod:`sgd_conformance.checks.harness.claims`): stage 1 runs; when it rejects only statistical decisions,
stage 2 runs on independent streams and decides. The result keeps both stages' evidence (``ClaimResult.stages``);
its ``decisions``, ``p_value`` and figures are those of the last stage run, so ``p_value`` is below the stage level
exactly when the claim failed on statistical evidence. Calibration runs one stage alone (``stage=1`` or ``2``).
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sgd_conformance.checks.harness import profiles
from sgd_conformance.checks.harness.claims import IMPL_FAMILIES, REGISTRY, STAGES, Claim, ClaimFailed, ClaimRun
from sgd_conformance.checks.harness.impl import ContractError, Guard, Implementation, reference, resolve
from sgd_conformance.reports.model import ClaimResult

#: the folders of ``sgd_conformance.checks`` that hold no claims
_NOT_CHECKS = {"harness", "cli", "oracles"}


def check_modules() -> list[str]:
    """The names of every module of ``sgd_conformance.checks`` that declares claims."""
    package = importlib.import_module("sgd_conformance.checks")
    return sorted(f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)
                  if m.name not in _NOT_CHECKS and not m.name.startswith("_"))


def registry() -> dict[str, Claim]:
    """Every claim of the suite, by id (importing the check modules registers them)."""
    for name in check_modules():
        importlib.import_module(name)
    return dict(REGISTRY)


def claims_of_module(module: str) -> list[Claim]:
    """The claims whose checks ``module`` holds, in the order of the file."""
    importlib.import_module(module)
    found = [c for c in REGISTRY.values() if c.module == module]
    return sorted(found, key=lambda c: c.check.__code__.co_firstlineno if c.check else 0)


def implementations(specs: Mapping[str, str | Implementation] | None) -> dict[str, Implementation]:
    """``{family: Implementation}`` from ``{family: SPEC or Implementation}`` (a SPEC is resolved; see
    :func:`sgd_conformance.checks.harness.impl.resolve`)."""
    resolved: dict[str, Implementation] = {}
    for family, spec in (specs or {}).items():
        if family not in IMPL_FAMILIES:
            raise ValueError(f"unknown family {family!r}; expected one of {', '.join(IMPL_FAMILIES)}")
        resolved[family] = spec if isinstance(spec, Implementation) else resolve(family, spec)
    return resolved


@dataclass
class Execution:
    """A finished run: its result, and the exception the check raised when that was not a verdict or a contract
    error (the pytest plugin shows its traceback)."""

    result: ClaimResult
    unexpected: BaseException | None = None


def run_claim(claim_id: str, impls: Mapping[str, str | Implementation] | None = None, *, seed: int = 0,
              profile: str = "quick", backend: str = "numpy", timeout_s: float | None = None,
              nodeid: str = "", stage: int | None = None) -> ClaimResult:
    """Run the check of ``claim_id`` on ``impls`` (``{family: SPEC}``; the reference solvers for the families not
    given) at ``seed``, ``profile`` and ``backend``; ``timeout_s`` bounds the time spent inside the implementation
    in each stage (default: the profile's budget); ``stage`` runs one stage alone (default: the two-stage
    procedure). Returns the result; raises only for a usage error (unknown claim or family, a SPEC that cannot be
    imported)."""
    return execute(claim_id, implementations(impls), seed=seed, profile=profile, backend=backend,
                   timeout_s=timeout_s, nodeid=nodeid, stage=stage).result


@dataclass
class _Stage:
    """One stage run: its record, outcome and message, and an unexpected exception of the check."""

    run: ClaimRun
    outcome: str
    message: str
    unexpected: BaseException | None
    duration_s: float

    @property
    def retest(self) -> bool:
        """Whether stage 1 rejected on statistical evidence alone (every rejected decision of level > 0), so that
        stage 2 decides."""
        rejected = [d for d in self.run.decisions if d.enforced and not d.passed]
        return self.outcome == "failed" and bool(rejected) and all(d.level > 0 for d in rejected)

    def summary(self) -> dict[str, Any]:
        return {"stage": self.run.stage, "outcome": self.outcome, "p_value": self.run.claim_p_value(),
                "level": self.run.level, "duration_s": round(self.duration_s, 3),
                "decisions": [asdict(d) for d in self.run.decisions]}


def execute(claim_id: str, impls: Mapping[str, Implementation], *, seed: int, profile: str, backend: str,
            timeout_s: float | None = None, nodeid: str = "", stage: int | None = None) -> Execution:
    """:func:`run_claim` on resolved implementations, keeping an unexpected exception of the check."""
    spec = REGISTRY.get(claim_id) or registry().get(claim_id)
    if spec is None:
        raise KeyError(f"no claim {claim_id!r} is registered")
    if stage is not None and stage not in STAGES:
        raise ValueError(f"stage {stage} is not one of {STAGES}")

    def one(number: int) -> _Stage:
        return _run_stage(spec, impls, number, seed=seed, profile=profile, backend=backend, timeout_s=timeout_s,
                          nodeid=nodeid)

    first = one(stage or 1)
    stages = [first]
    if stage is None and first.retest:
        stages.append(one(2))
    last = stages[-1]
    message = last.message
    if len(stages) == 2:
        p1 = first.run.claim_p_value()
        if last.outcome == "failed":
            message = (f"{message}\n  stage 1 rejected too (p = {p1:.3g} < {first.run.level:.3g}); a correct "
                       f"implementation fails both independent stages with probability <= {spec.budget:.3g}")
        elif last.outcome in ("passed", "not-confirmed"):
            message = "\n".join(filter(None, [message, f"passed on re-test: stage 1 rejected (p = {p1:.3g} < "
                                                         f"{first.run.level:.3g}), stage 2 on independent streams "
                                                         f"did not (p = {last.run.claim_p_value():.3g})"]))
    duration = sum(s.duration_s for s in stages)
    return Execution(_result(last.run, last.outcome, message, duration, [s.summary() for s in stages]),
                     last.unexpected)


def _run_stage(spec: Claim, impls: Mapping[str, Implementation], stage: int, *, seed: int, profile: str,
               backend: str, timeout_s: float | None, nodeid: str) -> _Stage:
    """Run one stage of the check of ``spec`` (fresh guards, so each stage has the whole time budget)."""
    active = profiles.get(profile)
    from sgd_conformance.solvers._xp import backend_namespace

    xp = backend_namespace(backend)
    guards = {family: Guard(impl=impls.get(family) or reference(family), budget_s=timeout_s or active.time_budget_s,
                            profile=profile) for family in spec.families}
    run = ClaimRun(claim=spec, implementation=implementation_label(spec, impls), seed=seed, profile=profile,
                   backend=backend, nodeid=nodeid, guard=guards.get(spec.family), xp=xp,
                   components={f: g for f, g in guards.items() if f != spec.family}, stage=stage)
    start = time.perf_counter()
    unexpected: BaseException | None = None
    try:
        _call(spec, run)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - every other outcome of a check is a result
        found = _primary(exc)
        if isinstance(found, ClaimFailed):
            outcome, message = "failed", str(found)
        elif isinstance(found, ContractError):
            outcome, message = "error", f"ERROR {spec.id} — {found}"
        else:
            outcome, message = "error", f"ERROR {spec.id} — the check raised {type(found).__name__}: {found}"
            unexpected = exc
    else:
        if run.concluded and run.contradicted():
            from sgd_conformance.checks.harness.assertions import not_confirmed_message

            outcome, message = "not-confirmed", not_confirmed_message(run)
        elif run.concluded:
            outcome, message = "passed", ""
        else:
            outcome, message = "failed", f"{spec.id}: the check ended without a verdict (a bug in the check)"
    return _Stage(run, outcome, message, unexpected, time.perf_counter() - start)


def implementation_label(spec: Claim, impls: Mapping[str, Implementation]) -> str:
    """What ran: ``reference``; the SPEC alone when only the claim's own family is the user's; else
    ``FAMILY=SPEC; ...`` for each of the user's implementations the check runs."""
    given = [(family, impls[family]) for family in spec.families if family in impls]
    if not given:
        return "reference"
    if [family for family, _ in given] == [spec.family]:
        return given[0][1].spec
    return "; ".join(f"{family}={impl.spec}" for family, impl in given)


def _call(spec: Claim, run: ClaimRun) -> None:
    """Call the check with its run (sizes, streams, the implementation, the namespace)."""
    if spec.check is None:
        raise RuntimeError(f"{spec.id} has no check")
    spec.check(run)


def _primary(exc: BaseException) -> BaseException:
    """The first contract error or claim failure inside an exception group (hypothesis may raise one)."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _primary(inner)
            if isinstance(found, ContractError | ClaimFailed):
                return found
        return _primary(exc.exceptions[0])
    return exc


def catches(spec: Claim) -> list[str]:
    """What the check of ``spec`` can catch in a user's code: the bug class of each mutant its record names."""
    from sgd_conformance.mutants import bug

    return [bug(family, name) for family, name in spec.mutant_families()]


def _result(run: ClaimRun, outcome: str, message: str, duration_s: float, stages: list[dict[str, Any]]) \
        -> ClaimResult:
    head = run.headline()
    spec = run.claim
    return ClaimResult(
        claim=spec.id, family=spec.family, implementation=run.implementation, outcome=outcome, message=message,
        statistic=head.statistic if head else None, p_value=run.claim_p_value(),
        measured=head.measured if head else None, predicted=head.predicted if head else None,
        budget=run.budget, scope=spec.scope, decides_on=spec.scope_label, report_only=spec.report_only or
        spec.reported_part, statement=spec.statement, hypotheses=spec.hypotheses, source=spec.source,
        seed_wording=spec.seed_wording, power=spec.power, mutants=list(spec.mutants),
        catches=catches(spec),
        oracle_mutants=list(spec.oracle_mutants), nodeid=run.nodeid, seed=run.seed, profile=run.profile,
        backend=run.backend, duration_s=round(duration_s, 3), decisions=[asdict(d) for d in run.decisions],
        figures=list(run.figures), stages=stages)
