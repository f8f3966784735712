"""Profiles: how many samples each check buys. ``quick`` is for CI, ``standard`` for ``make verify``, ``thorough`` for
more power.

Sizes follow from power, not habit: each claim declares its sizes per profile in its record (``@claim(sizes=...)``,
:mod:`sgd_conformance.checks.harness.claims`), where the ``quick`` sizes are the ones at which the power tests show the
check catching each of its mutants, and ``standard`` and ``thorough`` buy narrower intervals. A profile itself only
names them and bounds the time one check may spend inside the implementation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sgd_conformance.checks.harness.claims import PROFILES, REGISTRY

NAMES = PROFILES
_BUDGETS_S = {"quick": 120.0, "standard": 600.0, "thorough": 1800.0}


@dataclass(frozen=True)
class Profile:
    """A named set of sizes. ``time_budget_s`` bounds the time one check may spend inside the implementation."""

    name: str
    time_budget_s: float

    def power(self, claim_id: str) -> str:
        """What the profiles buy for ``claim_id`` (empty where not stated)."""
        return REGISTRY[claim_id].power

    def sizes(self, claim_id: str) -> Mapping[str, Any]:
        """The sizes that ``claim_id`` declares for this profile."""
        return REGISTRY[claim_id].sizes_for(self.name)


def get(name: str) -> Profile:
    """The profile called ``name``."""
    if name not in NAMES:
        raise ValueError(f"unknown profile {name!r}; expected one of {NAMES}")
    return Profile(name=name, time_budget_s=_BUDGETS_S[name])
