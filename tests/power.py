"""Running one check through :func:`sgd_conformance.run_claim`, in this process, and reading its outcome as the
schema-1 result record.

For the calibration (:mod:`sgd_conformance.checks.harness.calibration`) three environment variables change how the
power tests run:

* ``SGD_CONFORMANCE_POWER_SEED``: :func:`run_check` runs the check at this seed (unless the caller passes ``--seed``);
* ``SGD_CONFORMANCE_POWER_CLAIMS``: whitespace-separated claim globs; :func:`run_check` skips the calling test when
  its check is not the check of a matching claim;
* ``SGD_CONFORMANCE_POWER_LOG``: a directory; :func:`assert_caught` appends one JSON line per call (whether the
  mutant was caught) to ``<dir>/<pid>.jsonl`` before it asserts.
"""

from __future__ import annotations

import fnmatch
import json
import os
from pathlib import Path
from typing import Any

import pytest

from sgd_conformance.checks.harness.run import claims_of_module, run_claim
from sgd_conformance.reports.model import results_to_text

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "tests" / "mutants.py"
SEED_VARIABLE = "SGD_CONFORMANCE_POWER_SEED"
CLAIMS_VARIABLE = "SGD_CONFORMANCE_POWER_CLAIMS"
LOG_VARIABLE = "SGD_CONFORMANCE_POWER_LOG"


def claim_id(module: str, check: str) -> str:
    """The id of the claim whose check is the function ``check`` of the check module ``module`` (a file name of
    ``checks/``)."""
    name = "sgd_conformance.checks." + Path(module).stem
    found = [c.id for c in claims_of_module(name) if c.check is not None and c.check.__name__ == check]
    if not found:
        raise LookupError(f"{name} has no check called {check}")
    return found[0]


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
    globs = os.environ.get(CLAIMS_VARIABLE, "").split()
    if globs and not any(fnmatch.fnmatchcase(claim, g) for g in globs):
        pytest.skip(f"{claim} is not a claim matching {CLAIMS_VARIABLE}")
    if "seed" not in settings and os.environ.get(SEED_VARIABLE) is not None:
        settings["seed"] = int(os.environ[SEED_VARIABLE])
    (record,) = json.loads(results_to_text([run_claim(claim, impls, **settings)]))
    return record


def mutant(family: str, name: str) -> str:
    """``--impl`` value for a function of tests/mutants.py (the file form of SPEC)."""
    return f"{family}={MUTANTS}:{name}"


def integrator_cases(cases: list[tuple[str, list[str], list[str], list[str]]], own: Path) -> tuple[list, list]:
    """Parameters of the must-fail and must-pass tests of ``sde`` checks from ``(check, mutants of
    tests/mutants.py, mutants of the file ``own``, correct variants of tests/mutants.py)``: ``(check, spec, bug)``
    for each mutant and ``(check, variant or None)`` for the reference and each variant."""
    must_fail = ([pytest.param(check, mutant("sde", bug), bug, id=f"{check}-{bug}")
                  for check, bugs, _, _ in cases for bug in bugs]
                 + [pytest.param(check, f"sde={own}:{bug}", bug, id=f"{check}-{bug}")
                    for check, _, bugs, _ in cases for bug in bugs])
    must_pass = [pytest.param(check, ok, id=f"{check}-{ok or 'reference'}")
                 for check, _, _, oks in cases for ok in [None, *oks]]
    return must_fail, must_pass


def assert_caught(result: dict[str, Any], bug: str, *, named: bool = True) -> None:
    """A wrong implementation is caught: ``failed`` (the claim does not hold) or ``error`` (e.g. NaN where theory says
    the chain is stable), with a message that names the implementation.

    ``named=False`` for a mutant that is not an ``--impl`` (a wrong theory, oracle or solver monkeypatched into the
    modules the in-process run shares): the message cannot name it, so ``bug`` is only its label in the power log.
    """
    __tracebackhide__ = True
    reported = result["message"].startswith(("FAILED ", "ERROR ")) and (not named or bug in result["message"])
    caught = result["outcome"] in ("failed", "error") and reported
    _log_power(result, bug, caught)
    assert result["outcome"] in ("failed", "error"), result["message"]
    assert reported, result["message"]


def _log_power(result: dict[str, Any], bug: str, caught: bool) -> None:
    """Append one JSON line to ``$SGD_CONFORMANCE_POWER_LOG/<pid>.jsonl`` (nothing when the variable is unset)."""
    folder = os.environ.get(LOG_VARIABLE)
    if not folder:
        return
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
    line = {"test": test, "claim": result["claim"], "bug": bug, "seed": result["seed"],
            "outcome": result["outcome"], "caught": caught}
    with open(Path(folder) / f"{os.getpid()}.jsonl", "a", encoding="utf-8") as log:
        log.write(json.dumps(line) + "\n")
