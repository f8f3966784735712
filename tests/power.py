"""Running one check in a fresh in-process pytest session and reading its outcome from the JSON report."""

from __future__ import annotations

import json
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


def nodeid(module: str, test: str) -> str:
    return f"{ROOT / 'checks' / module}::{test}"


def run_check(pytester: pytest.Pytester, node: str, *options: str, subprocess: bool = False) -> dict[str, Any]:
    """Outcome record (schema-1 result) of the check ``node`` run with ``options``.

    ``subprocess=True`` for torch implementations: torch cannot be imported twice into one process.
    """
    report = pytester.path / "results.json"
    run = pytester.runpytest_subprocess if subprocess else pytester.runpytest_inprocess
    run(node, "--report-json", str(report), "-p", "no:cacheprovider", *options)
    (result,) = json.loads(report.read_text())["results"]
    return result


def mutant(family: str, name: str) -> str:
    """``--impl`` value for a function of tests/mutants.py (the file form of SPEC)."""
    return f"{family}={MUTANTS}:{name}"


def assert_caught(result: dict[str, Any], bug: str) -> None:
    """A wrong implementation is caught: ``failed`` (the claim does not hold) or ``error`` (e.g. NaN where theory says
    the chain is stable), with a message that names the implementation."""
    __tracebackhide__ = True
    assert result["outcome"] in ("failed", "error"), result["message"]
    assert result["message"].startswith(("FAILED ", "ERROR ")) and bug in result["message"]
