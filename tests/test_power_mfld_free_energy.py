"""Power of the mean-field free-energy checks (family ``reference``): each must fail when the theory or the solver
it relies on is replaced by a wrong derivation (monkeypatched into the modules the in-process runs share), and pass
on the derived one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import sgd_conformance.checks.mfld_free_energy  # noqa: F401  (shared with the in-process runs)
from sgd_conformance.checks.oracles import free_energy as free_energy_oracle
from sgd_conformance.solvers import mean_field_classifier
from tests.power import assert_caught, run_check

FIXED_POINT = "mfld.proximal-gibbs-fixed-point"
SANDWICH = "mfld.sandwich"
LSI = "mfld.lsi-constant"
FIRST_VARIATION = "mfld.first-variation-formula"
CHECKS = (FIXED_POINT, SANDWICH, LSI, FIRST_VARIATION)


def gibbs_with_plus_sign(problem: free_energy_oracle.GridProblem, q: np.ndarray) -> np.ndarray:
    """Mutant: p_q ∝ exp(+dF/dq / lambda)."""
    potential = -problem.first_variation(q) / problem.lam
    return problem.normalise(np.exp(-(potential - potential.min())))


_KL = free_energy_oracle.kl
_NEGENTROPY = free_energy_oracle.negentropy
_COEFFICIENTS = mean_field_classifier.sample_coefficients


def kl_swapped(q: np.ndarray, p: np.ndarray, weights: np.ndarray) -> float:
    """Mutant: KL(p||q) where KL(q||p) is meant."""
    return _KL(p, q, weights)


def entropy_sign(q: np.ndarray, weights: np.ndarray) -> Any:
    """Mutant: L(q) = F(q) - lambda int q log q."""
    return -_NEGENTROPY(q, weights)


def coefficients_missing_y(f: Any, y: Any) -> Any:
    """Mutant: dL/dmu(x) = (1/n) sum l'(y_i f(z_i)) h_x(z_i) (the label factor y_i dropped)."""
    return mean_field_classifier.logistic_derivative(y * f) / y.shape[-1]


def coefficients_loss_for_derivative(f: Any, y: Any) -> Any:
    """Mutant: l(y_i f(z_i)) in place of l'(y_i f(z_i))."""
    return mean_field_classifier.logistic_loss(y * f) * y / y.shape[-1]


MUTANTS: list[tuple[str, object, str, Callable[..., Any], str]] = [
    (FIXED_POINT, free_energy_oracle, "proximal_gibbs", gibbs_with_plus_sign, "log(q/p_q)"),
    (SANDWICH, free_energy_oracle, "kl", kl_swapped, "KL"),
    (SANDWICH, free_energy_oracle, "negentropy", entropy_sign, "L(q*)"),
    (LSI, free_energy_oracle, "holley_stroock_bound", free_energy_oracle.seed_lsi_form, "exp(-2B/lambda)"),
    (FIRST_VARIATION, mean_field_classifier, "sample_coefficients", coefficients_missing_y, "dL/dmu"),
    (FIRST_VARIATION, mean_field_classifier, "sample_coefficients", coefficients_loss_for_derivative, "dL/dmu"),
]


@pytest.mark.parametrize("check", CHECKS, ids=str)
def test_check_passes_on_the_derived_theory(check: str) -> None:
    assert run_check(check)["outcome"] == "passed"


@pytest.mark.parametrize(("check", "module", "name", "wrong", "expected"), MUTANTS,
                         ids=[f"{m[2]}-{m[3].__name__}" for m in MUTANTS])
def test_check_catches_the_mutant(monkeypatch: pytest.MonkeyPatch, check: str,
                                  module: object, name: str, wrong: Callable[..., Any], expected: str) -> None:
    monkeypatch.setattr(module, name, wrong)
    result = run_check(check)
    assert_caught(result, wrong.__name__, named=False)
    assert result["outcome"] == "failed", result
    assert expected in result["message"]
