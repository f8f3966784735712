"""Deliberately wrong implementations, one bug each, that a user could write: the proof that each check has power.

Installed as ``sgd_conformance.mutants`` (they live in ``tests/`` beside the tests that use them). One module per
family (``sgd``, ``sgld``, ``sde`` and the training loop's ``sampler``, ``reduction``, ``schedule``,
``averaging``; ``contract`` holds implementations that break the contract rather than a claim),
each with a correct variant that every check must pass. A claim's record names the mutants its check must catch
(``@claim(mutants=...)``); the power tests and the calibration run them through :func:`spec`. The first line of a
mutant's docstring, ``Bug: <what the user wrote>.`` (``Breach:`` for a contract breach), is what a check that catches
it can catch in a user's code (:func:`bug`): README's claims table and the report show it.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

FAMILIES = ("sgd", "sgld", "sde", "sampler", "reduction", "schedule", "averaging")
#: the correct variant of each family: the same algorithm written differently
CORRECT = {"sgd": "gd_correct_variant", "sgld": "sgld_correct_variant", "sde": "em_correct_variant",
           "sampler": "sampler_correct_variant", "reduction": "reduction_correct_variant",
           "schedule": "schedule_correct_variant", "averaging": "averaging_correct_variant"}


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


def bug(family: str, name: str) -> str:
    """The bug class of the mutant ``name`` of ``family``: its docstring's first line without ``Bug:``/``Breach:``
    and the final full stop, e.g. "noise sqrt(lr T) instead of sqrt(2 lr T)"."""
    target = getattr(importlib.import_module(f"{__name__}.{module_of(family, name)}"), name)
    doc = inspect.getdoc(target) or inspect.getdoc(type(target)) or ""
    first = doc.splitlines()[0] if doc else ""
    for prefix in ("Bug:", "Breach:"):
        if first.startswith(prefix):
            return first[len(prefix):].strip().rstrip(".")
    raise LookupError(f"mutant {family}:{name} has no 'Bug:' or 'Breach:' first docstring line")
