"""Claims: the one record per claim, its registry, the ``@claim`` decorator, and the run a check records into.

A claim is one published statement made executable. Everything the project knows about it is declared once, in the
``@claim(...)`` decorator above its check: a stable id, the family of implementations it constrains (``sgd`` |
``sgld`` | ``sde``, a training-loop component ``sampler`` | ``reduction`` | ``schedule`` | ``averaging``, or
``reference`` for claims about the theory alone) and the loop components its check runs besides (``components``),
the exact statement, its hypotheses, its
source, a false-alarm budget, the sample sizes of each profile and what they buy (``power``), whether the verdict is
report-only (and why), and the mutants its check must catch. Profiles, calibration, the power tests, README and the
report read this record; :func:`sgd_conformance.run_claim` runs its check.

Two stages. A check's enforced decisions share the *stage level* ``a = sqrt(budget)`` (Bonferroni within the stage).
When stage 1 rejects only statistical decisions (each of level > 0), the check runs again as stage 2 on random
streams independent of stage 1's (:meth:`ClaimRun.stream`), with the same sizes, and the claim fails only if stage 2
rejects too. Under a correct implementation the stages' rejections are independent events of probability at most
``a`` each, so the claim fails with probability at most ``a * a = budget``; a rejected exact decision (level 0, which
no correct implementation fails) fails the claim at once. The stage level is large enough (0.01 at the default budget
1e-4) for calibration to measure each stage's rate over a few hundred seeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from sgd_conformance.checks.harness.stats import Decision
from sgd_conformance.reports.model import Figure

if TYPE_CHECKING:
    from sgd_conformance.checks.harness.impl import Guard

#: the components of a minibatch training loop (:mod:`sgd_conformance.solvers.training_loop`)
LOOP_FAMILIES = ("sampler", "reduction", "schedule", "averaging")
#: families whose implementation a user can put under test (``--impl FAMILY=SPEC``)
IMPL_FAMILIES = ("sgd", "sgld", "sde", *LOOP_FAMILIES)
FAMILIES = (*IMPL_FAMILIES, "reference")
PROFILES = ("quick", "standard", "thorough")
#: a claim's false-alarm budget: the probability that a correct implementation fails it (both stages reject)
DEFAULT_BUDGET = 1e-4
#: the stages of a check: stage 2 re-tests a statistical rejection of stage 1 on independent random streams
STAGES = (1, 2)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Claim:
    """One checkable claim: the whole record (see the module docstring).

    ``seed_wording`` quotes the source document where it is wrong or only approximate; ``sizes`` maps each profile
    to the check's sample sizes; ``power`` says what the profiles buy against the mutants; ``report_only`` is empty
    when the check decides the claim, else why its verdict is only a guard around a reported measurement;
    ``reported_part`` names the part of a deciding claim that is report-only (and why);
    ``components`` names the training-loop families (:data:`LOOP_FAMILIES`) whose implementations the check runs
    besides :attr:`family`'s; ``mutants`` names the implementation mutants (:mod:`sgd_conformance.mutants`),
    ``NAME`` for one of :attr:`family` and ``FAMILY:NAME`` for one of a component, and ``oracle_mutants`` the
    mistakes of the suite's own theory or solvers that the check must catch; ``no_mutant_reason`` says why there
    are none, where there are none.
    """

    id: str
    family: str
    statement: str
    hypotheses: str
    source: str
    budget: float = DEFAULT_BUDGET
    seed_wording: str = ""
    sizes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    power: str = ""
    report_only: str = ""
    reported_part: str = ""
    mutants: tuple[str, ...] = ()
    oracle_mutants: tuple[str, ...] = ()
    no_mutant_reason: str = ""
    components: tuple[str, ...] = ()
    check: Callable[..., None] | None = field(default=None, compare=False, repr=False)

    @property
    def families(self) -> tuple[str, ...]:
        """Every implementation family the check runs: :attr:`family` first, then :attr:`components`."""
        return () if self.family == "reference" else (self.family, *self.components)

    @property
    def family_label(self) -> str:
        """The family and the loop components the check runs, as messages and README show them
        (``sgd + sampler, reduction``)."""
        return self.family + (" + " + ", ".join(self.components) if self.components else "")

    def mutant_families(self) -> list[tuple[str, str]]:
        """``(family, name)`` of each mutant the record names (an unqualified name is one of :attr:`family`)."""
        pairs = []
        for mutant in self.mutants:
            family, sep, name = mutant.partition(":")
            pairs.append((family, name) if sep else (self.family, mutant))
        return pairs

    @property
    def module(self) -> str:
        """The module that holds the check (and this record)."""
        return self.check.__module__ if self.check is not None else ""

    @property
    def scope(self) -> str:
        """What a verdict decides on: ``implementation`` (the user's implementation of :attr:`family`),
        ``reference`` (the theory and the suite's own solvers only) or ``report-only`` (a reported measurement;
        only its guards decide)."""
        if self.report_only:
            return "report-only"
        return "reference" if self.family == "reference" else "implementation"

    @property
    def scope_label(self) -> str:
        """:attr:`scope` in words, as README's claims table, the report and the terminal summary show it."""
        if self.scope == "reference":
            return "theory and reference solvers only"
        if self.scope == "report-only":
            return "report-only" + (f"; its guards run your {self.family}" if self.family != "reference" else "")
        used = list(self.families)
        names = used[0] if len(used) == 1 else ", ".join(used[:-1]) + " and " + used[-1]
        return f"decides on your {names}" + ("; part report-only" if self.reported_part else "")

    @property
    def stage_level(self) -> float:
        """The level ``a = sqrt(budget)`` of each of the two stages: a correct implementation fails the claim only
        when both independent stages reject, with probability at most ``a * a = budget``."""
        return math.sqrt(self.budget)

    def sizes_for(self, profile: str) -> Mapping[str, Any]:
        """The check's sample sizes at ``profile``."""
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; expected one of {PROFILES}")
        try:
            return self.sizes[profile]
        except KeyError:
            raise KeyError(f"claim {self.id!r} declares no sizes for profile {profile!r}") from None


REGISTRY: dict[str, Claim] = {}


def _text(value: str) -> str:
    return " ".join(value.split())


def claim(id: str, *, family: str, statement: str, hypotheses: str, source: str,
          budget: float = DEFAULT_BUDGET, seed_wording: str = "",
          sizes: Mapping[str, Mapping[str, Any]] | None = None, power: str = "", report_only: str = "",
          reported_part: str = "", mutants: tuple[str, ...] = (), oracle_mutants: tuple[str, ...] = (),
          no_mutant_reason: str = "", components: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Declare claim ``id`` and register the decorated function as its check (one check per claim)."""
    if family not in FAMILIES:
        raise ValueError(f"claim {id}: family {family!r} is not one of {FAMILIES}")
    if not 0 < budget < 1:
        raise ValueError(f"claim {id}: budget {budget} is not a probability")
    if any(c not in LOOP_FAMILIES or c == family for c in components) or (components and family == "reference"):
        raise ValueError(f"claim {id}: components {components} must be training-loop families {LOOP_FAMILIES} "
                         "other than the claim's family, of a claim that runs an implementation")
    for mutant in mutants:
        if mutant.partition(":")[1] and mutant.partition(":")[0] not in components:
            raise ValueError(f"claim {id}: mutant {mutant!r} is of a family the check does not run")
    sizes = dict(sizes or {})
    if sizes and set(sizes) != set(PROFILES):
        raise ValueError(f"claim {id}: sizes must be given for every profile {PROFILES}, got {sorted(sizes)}")

    def decorate(fn: F) -> F:
        registered = Claim(
            id, family, _text(statement), _text(hypotheses), _text(source), budget, _text(seed_wording),
            MappingProxyType({p: MappingProxyType(dict(s)) for p, s in sizes.items()}), _text(power),
            _text(report_only), _text(reported_part), tuple(mutants), tuple(oracle_mutants), _text(no_mutant_reason),
            tuple(components), fn)
        known = REGISTRY.get(id)
        if known is not None and (known != registered or known.module != registered.module):
            raise ValueError(f"claim id {id} is registered twice")
        REGISTRY[id] = registered
        return fn

    return decorate


class ClaimFailed(AssertionError):
    """The claim does not hold for the implementation (a *failure*, not a contract error)."""


@dataclass
class ClaimRun:
    """One run of a check: what it is handed (sizes, named random streams, the implementation under its guard, the
    array namespace) and what it records (decisions, figures).

    A check ends with :meth:`verdict`, which records every decision and raises :class:`ClaimFailed` naming each
    rejected one.
    """

    claim: Claim
    implementation: str
    seed: int
    profile: str
    backend: str
    nodeid: str
    guard: Guard | None = None
    #: 1, or 2 for the re-test of a statistical rejection (independent random streams, the same sizes)
    stage: int = 1
    xp: Any = None
    #: the guards of the training-loop components the check runs (``{family: Guard}``), the user's or the reference
    components: dict[str, Guard] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    concluded: bool = False

    @property
    def id(self) -> str:
        return self.claim.id

    @property
    def budget(self) -> float:
        """The claim's false-alarm budget (both stages)."""
        return self.claim.budget

    @property
    def level(self) -> float:
        """The level this stage's enforced decisions share (:attr:`Claim.stage_level`); a check splits it over its
        decisions (:func:`stats.split`)."""
        return self.claim.stage_level

    @property
    def sizes(self) -> Mapping[str, Any]:
        """The check's sample sizes at this run's profile."""
        return self.claim.sizes_for(self.profile)

    @property
    def impl(self) -> Guard:
        """The implementation under test, behind the contract guard (reference claims have none)."""
        if self.guard is None:
            raise RuntimeError(f"{self.id} is a claim about the theory alone: it runs no implementation")
        return self.guard

    def component(self, family: str) -> Guard:
        """The implementation of the training-loop component ``family`` (one of the claim's ``components``, or its
        own family), behind its contract guard."""
        if family == self.claim.family:
            return self.impl
        if family not in self.components:
            raise RuntimeError(f"{self.id} does not declare the component {family!r} (@claim(components=...))")
        return self.components[family]

    def user_specs(self) -> dict[str, str]:
        """``{family: SPEC}`` of the user's implementations this run calls (the reference ones left out)."""
        guards = {**({self.claim.family: self.guard} if self.guard is not None else {}), **self.components}
        return {family: guard.impl.spec for family, guard in guards.items() if guard.impl.spec != "reference"}

    def stream(self, *labels: object, on_backend: bool = True) -> Any:
        """The random stream named ``(seed, claim id, *labels)`` (``(seed, claim id, "stage 2", *labels)`` in the
        re-test): a generator on the run's backend (NumPy's when ``on_backend`` is False); every name gives an
        independent, reproducible stream, so the two stages of a check are independent."""
        from sgd_conformance.solvers.rng import generator

        names = labels if self.stage == 1 else (f"stage {self.stage}", *labels)
        return generator(self.seed, self.id, *names, xp=self.xp if on_backend else None)

    def noise(self, *labels: object) -> Any:
        """The stream handed to an ``sgld`` implementation: on the backend for the reference solver, a NumPy
        ``Generator`` for user code (the contract's NumPy form)."""
        return self.stream(*labels, on_backend=self.impl.impl.form.on_backend)

    def figure(self, figure: Figure) -> None:
        """Attach evidence to the report; call before :meth:`verdict` so failures show it too."""
        self.figures.append(figure)

    def verdict(self, *decisions: Decision) -> None:
        """Record ``decisions``; raise :class:`ClaimFailed` if any enforced one rejects. The enforced levels must sum
        to <= the stage's :attr:`level`; a report-only claim's measurements (:func:`stats.reported`) spend none of
        it."""
        __tracebackhide__ = True
        total = sum(d.level for d in decisions if d.enforced)
        if total > self.level * (1 + 1e-9):
            raise ValueError(f"{self.id}: decision levels sum to {total:.3g} > the stage level {self.level:.3g}")
        if any(not d.enforced for d in decisions) and not (self.claim.report_only or self.claim.reported_part):
            raise ValueError(f"{self.id}: a reported (not enforced) decision in a claim with no report-only part")
        self.decisions.extend(decisions)
        self.concluded = True
        rejected = [d for d in decisions if not d.passed and d.enforced]
        if rejected:
            from sgd_conformance.checks.harness.assertions import failure_message

            raise ClaimFailed(failure_message(self, rejected))

    def claim_p_value(self) -> float | None:
        """This stage's p-value: the smallest p-value over the decisions, rescaled to the stage level (p * a / level,
        capped at 1); the stage rejects iff this is below :attr:`level`. None when every decision is exact."""
        scaled = [min(1.0, d.p_value * self.level / d.level) for d in self.decisions
                  if d.p_value is not None and d.level > 0 and d.enforced]
        return min(scaled) if scaled else None

    def contradicted(self) -> list[Decision]:
        """The report-only measurements that contradict the claim (the claim reads "not confirmed")."""
        return [d for d in self.decisions if not d.enforced and not d.passed]

    def headline(self) -> Decision | None:
        """The most significant decision: the first rejected enforced one, else the first contradicting
        measurement, else the one with the smallest p/level."""
        if not self.decisions:
            return None
        rejected = [d for d in self.decisions if not d.passed and d.enforced] or self.contradicted()
        if rejected:
            return rejected[0]
        scored = [d for d in self.decisions if d.p_value is not None and d.level > 0]
        return min(scored, key=lambda d: (d.p_value or 0.0) / d.level) if scored else self.decisions[0]
