"""Deliberately wrong implementations, one bug each, that a user could write: the proof that each check has power.

Installed as ``sgd_conformance.mutants`` (they live in ``tests/`` beside the tests that use them). One module per
family (``sgd``, ``sgld``, ``sde``; ``contract`` holds implementations that break the contract rather than a claim),
each with a correct variant that every check must pass. A claim's record names the mutants its check must catch
(``@claim(mutants=...)``); the power tests and the calibration run them through :func:`spec`.
"""

from __future__ import annotations

import importlib
from pathlib import Path

FAMILIES = ("sgd", "sgld", "sde")
#: the correct variant of each family: the same algorithm written differently
CORRECT = {"sgd": "gd_correct_variant", "sgld": "sgld_correct_variant", "sde": "em_correct_variant"}


def module_of(family: str, name: str) -> str:
    """The module of this package that defines the mutant ``name`` of ``family`` (its family's, else
    ``contract``)."""
    for module in (family, "contract"):
        if hasattr(importlib.import_module(f"{__name__}.{module}"), name):
            return module
    raise LookupError(f"no {family} mutant called {name!r} in {__name__}")


def spec(family: str, name: str) -> str:
    """The SPEC that runs the mutant ``name`` of ``family`` (``--impl FAMILY=SPEC``): the file form, so that each run
    imports the module afresh and a mutant that keeps state (momentum, a delayed gradient) starts clean."""
    return f"{Path(__file__).with_name(f'{module_of(family, name)}.py')}:{name}"
