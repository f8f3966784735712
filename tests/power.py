"""Running one check in a fresh in-process pytest session and reading its outcome from the JSON report.

For the calibration (:mod:`checks.calibration`) three environment variables change how the power tests run:

* ``SGD_CONFORMANCE_POWER_SEED``: :func:`run_check` runs the check at ``--seed`` this value (unless the caller
  passes ``--seed`` itself);
* ``SGD_CONFORMANCE_POWER_CLAIMS``: whitespace-separated claim globs; :func:`run_check` passes them as ``--claims``
  and skips the calling test when its check is not the check of a matching claim;
* ``SGD_CONFORMANCE_POWER_LOG``: a directory; :func:`assert_caught` appends one JSON line per call (whether the
  mutant was caught) to ``<dir>/<pid>.jsonl`` before it asserts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

# Imported once here so that in-process runs reuse them (and their cached symbolic derivations): pytester
# restores sys.modules after each run, dropping only what the run itself imported.
import checks.test_sde_schemes  # noqa: F401
import checks.test_sgd  # noqa: F401
import checks.test_sgld  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "tests" / "mutants.py"
SEED_VARIABLE = "SGD_CONFORMANCE_POWER_SEED"
CLAIMS_VARIABLE = "SGD_CONFORMANCE_POWER_CLAIMS"
LOG_VARIABLE = "SGD_CONFORMANCE_POWER_LOG"


def nodeid(module: str, test: str) -> str:
    return f"{ROOT / 'checks' / module}::{test}"


def run_check(pytester: pytest.Pytester, node: str, *options: str, subprocess: bool = False) -> dict[str, Any]:
    """Outcome record (schema-1 result) of the check ``node`` run with ``options``.

    ``subprocess=True`` for torch implementations: torch cannot be imported twice into one process.
    """
    report = pytester.path / "results.json"
    run = pytester.runpytest_subprocess if subprocess else pytester.runpytest_inprocess
    current = os.environ.get("PYTEST_CURRENT_TEST")  # the inner session clears it; the power log names the test by it
    run(node, "--report-json", str(report), "-p", "no:cacheprovider", *options, *_calibration_options(options))
    if current is not None:
        os.environ["PYTEST_CURRENT_TEST"] = current
    results = json.loads(report.read_text())["results"]
    if not results and os.environ.get(CLAIMS_VARIABLE):
        pytest.skip(f"{node} is not the check of a claim matching {CLAIMS_VARIABLE}")
    (result,) = results
    return result


def _calibration_options(options: tuple[str, ...]) -> list[str]:
    """``--seed`` and ``--claims`` from the calibration's environment variables (none when they are unset)."""
    extra = []
    seed = os.environ.get(SEED_VARIABLE)
    if seed is not None and not any(o == "--seed" or o.startswith("--seed=") for o in options):
        extra += ["--seed", seed]
    for glob in os.environ.get(CLAIMS_VARIABLE, "").split():
        extra += ["--claims", glob]
    return extra


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
