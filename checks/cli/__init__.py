"""sgd-conformance: a theorem-conformance suite, with reference solvers, for the theory of stochastic gradient methods.

The one installed import name. Its subpackages are :mod:`sgd_conformance.theory` (symbolic derivations),
:mod:`sgd_conformance.solvers` (the reference solvers and test problems), :mod:`sgd_conformance.checks` (one check per
claim, and the harness that runs them) and :mod:`sgd_conformance.reports` (the HTML report and its JSON twin).

    from sgd_conformance import run_claim
    result = run_claim("sgld.time-scale", {"sgld": "mylib.langevin:step"}, seed=3, profile="quick")
    result.outcome, result.message

This module stays light (the pytest plugin imports it): the suite loads when a name below is first used.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ClaimResult", "registry", "run_claim"]

_LAZY = {"run_claim": "sgd_conformance.checks.harness.run", "registry": "sgd_conformance.checks.harness.run",
         "ClaimResult": "sgd_conformance.reports.model"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sgd_conformance' has no attribute {name!r}")
