"""Claims: the registry, the ``@claim`` decorator, and the per-run context a check records into.

A claim is one published statement made executable: a stable id (as in ``shared/CLAIMS.md``), the family of
implementations it constrains (``sgd`` | ``sgld`` | ``sde``, or ``reference`` for claims about the theory
alone), the exact statement, its hypotheses, its source, and a false-alarm budget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from checks.stats import Decision
from reports.model import Figure

FAMILIES = ("sgd", "sgld", "sde", "reference")
DEFAULT_BUDGET = 1e-3

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Claim:
    """One checkable claim. ``seed_wording`` quotes the seed where it is wrong or only approximate."""

    id: str
    family: str
    statement: str
    hypotheses: str
    source: str
    budget: float = DEFAULT_BUDGET
    seed_wording: str = ""


REGISTRY: dict[str, Claim] = {}


def claim(id: str, *, family: str, statement: str, hypotheses: str, source: str,
          budget: float = DEFAULT_BUDGET, seed_wording: str = "") -> Callable[[F], F]:
    """Register the decorated check as the check of claim ``id`` (one check per claim)."""
    if family not in FAMILIES:
        raise ValueError(f"claim {id}: family {family!r} is not one of {FAMILIES}")
    if not 0 < budget < 1:
        raise ValueError(f"claim {id}: budget {budget} is not a probability")
    registered = Claim(id, family, " ".join(statement.split()), " ".join(hypotheses.split()),
                       " ".join(source.split()), budget, " ".join(seed_wording.split()))
    if id in REGISTRY and REGISTRY[id] != registered:
        raise ValueError(f"claim id {id} is registered twice")
    REGISTRY[id] = registered

    def decorate(fn: F) -> F:
        return pytest.mark.claim(id)(fn)

    return decorate


class ClaimFailed(AssertionError):
    """The claim does not hold for the implementation (a *failure*, not a contract error)."""


@dataclass
class ClaimRun:
    """What one check records while it runs: decisions, figures, and the headline numbers.

    A check ends with :meth:`verdict`, which records every decision and raises :class:`ClaimFailed`
    naming each rejected one.
    """

    claim: Claim
    implementation: str
    seed: int
    profile: str
    backend: str
    nodeid: str
    decisions: list[Decision] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    concluded: bool = False

    @property
    def budget(self) -> float:
        return self.claim.budget

    def figure(self, figure: Figure) -> None:
        """Attach evidence to the report; call before :meth:`verdict` so failures show it too."""
        self.figures.append(figure)

    def verdict(self, *decisions: Decision) -> None:
        """Record ``decisions``; raise :class:`ClaimFailed` if any rejects. Levels must sum to <= budget."""
        __tracebackhide__ = True
        total = sum(d.level for d in decisions)
        if total > self.budget * (1 + 1e-9):
            raise ValueError(f"{self.claim.id}: decision levels sum to {total:.3g} > budget {self.budget:.3g}")
        self.decisions.extend(decisions)
        self.concluded = True
        rejected = [d for d in decisions if not d.passed]
        if rejected:
            from checks.assertions import failure_message

            raise ClaimFailed(failure_message(self, rejected))

    def claim_p_value(self) -> float | None:
        """Smallest p-value over the decisions, rescaled to the claim's budget (p * budget / level, capped at 1):
        the claim is rejected iff this is below the budget. None when every decision is exact."""
        scaled = [min(1.0, d.p_value * self.budget / d.level) for d in self.decisions
                  if d.p_value is not None and d.level > 0]
        return min(scaled) if scaled else None

    def headline(self) -> Decision | None:
        """The most significant decision: the first rejected one, else the one with the smallest p/level."""
        if not self.decisions:
            return None
        rejected = [d for d in self.decisions if not d.passed]
        if rejected:
            return rejected[0]
        scored = [d for d in self.decisions if d.p_value is not None and d.level > 0]
        return min(scored, key=lambda d: d.p_value / d.level) if scored else self.decisions[0]
