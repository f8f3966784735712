"""Running one check through :func:`sgd_conformance.run_claim`, in this process, and reading its outcome as the
schema-1 result record; what "caught" means for a mutant."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from sgd_conformance import mutants
from sgd_conformance.checks.harness.run import run_claim
from sgd_conformance.reports.model import results_to_text

ROOT = Path(__file__).resolve().parents[1]


def pytest_args(claim: str) -> list[str]:
    """Arguments of a pytest session that collects the check of ``claim`` alone, from any directory."""
    module = claim_module(claim)
    return ["--pyargs", module, "--sgdc-claims", claim]


def claim_module(claim: str) -> str:
    """The check module that declares ``claim``."""
    from sgd_conformance.checks.harness.run import registry

    return registry()[claim].module


def run_check(claim: str, *options: str) -> dict[str, Any]:
    """Outcome record (schema-1 result) of the check of ``claim`` run with the plugin's ``options``
    (``--impl FAMILY=SPEC``, ``--seed N``, ``--profile NAME``, ``--check-timeout S``)."""
    impls: dict[str, str] = {}
    settings: dict[str, Any] = {}
    pairs = iter(options)
    for option in pairs:
        value = next(pairs)
        if option == "--impl":
            family, _, spec = value.partition("=")
            impls[family] = spec
        elif option == "--seed":
            settings["seed"] = int(value)
        elif option == "--profile":
            settings["profile"] = value
        elif option == "--check-timeout":
            settings["timeout_s"] = float(value)
        else:
            raise ValueError(f"run_check does not take {option}")
    (record,) = json.loads(results_to_text([run_claim(claim, impls, **settings)]))
    return record


def mutant(family: str, name: str) -> str:
    """``--impl`` value of the mutant ``name`` of ``family`` (:func:`sgd_conformance.mutants.spec`)."""
    return f"{family}={mutants.spec(family, name)}"


def assert_caught(result: dict[str, Any], bug: str, *, named: bool = True) -> None:
    """A wrong implementation is caught: ``failed`` (the claim does not hold) or ``error`` (e.g. NaN where theory says
    the chain is stable), with a message that names the implementation.

    ``named=False`` for a mutant that is not an ``--impl`` (a wrong theory, oracle or solver monkeypatched into the
    modules this process shares with the run): the message cannot name it, so ``bug`` is only its label.
    """
    __tracebackhide__ = True
    reported = result["message"].startswith(("FAILED ", "ERROR ")) and (not named or bug in result["message"])
    assert result["outcome"] in ("failed", "error"), result["message"]
    assert reported, result["message"]


def require_torch() -> None:
    """Skip without torch (its import is left to the adapter, as in a user's run)."""
    if importlib.util.find_spec("torch") is None:
        pytest.skip("PyTorch is not installed (pip install 'sgd-conformance[torch]')")
