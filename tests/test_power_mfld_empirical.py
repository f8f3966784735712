"""Power of the sanity guards of the empirical MFLD checks (seed 004, family ``sgld``), at ``--profile quick``, seed 0.

The claims are report-only; their guards must still fail on an update that cannot learn. The mutants are the
implementations under test (``--impl sgld=<this file>:<name>``): an update that ignores the gradient (pure
diffusion: sparse parity stays at chance) and one that climbs it (the annealed objective rises).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import sgd_conformance.checks.mfld_empirical  # noqa: F401  (shared with the in-process runs)
from tests.power import assert_caught, claim_id, mutant, run_check

MODULE = "mfld_empirical.py"
PARITY = claim_id(MODULE, "test_mfld_learns_sparse_parity_where_the_fixed_kernel_lags")
ANNEALING = claim_id(MODULE, "test_annealed_temperature_reaches_a_lower_objective")


def sgld_ignores_gradient(theta: np.ndarray, grad: np.ndarray, lr: float, temperature: float,
                          rng: np.random.Generator) -> np.ndarray:
    """Bug: the drift is dropped (pure diffusion at temperature T)."""
    return theta + math.sqrt(2 * lr * temperature) * rng.standard_normal(theta.shape)


def sgld_gradient_ascent(theta: np.ndarray, grad: np.ndarray, lr: float, temperature: float,
                         rng: np.random.Generator) -> np.ndarray:
    """Bug: the gradient's sign flipped (theta + lr grad)."""
    return theta + lr * grad + math.sqrt(2 * lr * temperature) * rng.standard_normal(theta.shape)


def _local(name: str) -> str:
    return f"sgld={Path(__file__)}:{name}"


@pytest.mark.parametrize(("node", "bug"), [(PARITY, "sgld_ignores_gradient"), (PARITY, "sgld_gradient_ascent"),
                                           (ANNEALING, "sgld_gradient_ascent")],
                         ids=["parity-ignores-gradient", "parity-ascent", "annealing-ascent"])
def test_mfld_empirical_guard_catches_an_update_that_cannot_learn(node: str,
                                                                  bug: str) -> None:
    result = run_check(node, "--impl", _local(bug))
    assert_caught(result, bug)
    assert result["outcome"] == "failed", result["message"]


@pytest.mark.parametrize("node", [PARITY, ANNEALING], ids=["parity", "annealing"])
@pytest.mark.parametrize("variant", [None, "sgld_correct_variant"], ids=lambda v: v or "reference")
def test_mfld_empirical_check_passes_correct_sgld(node: str, variant: str | None) -> None:
    options = ("--impl", mutant("sgld", variant)) if variant else ()
    result = run_check(node, *options)
    assert result["outcome"] == "passed", result["message"]
