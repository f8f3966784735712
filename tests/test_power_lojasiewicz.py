"""Power of the local-Łojasiewicz checks (An & Lu, family ``sgd``), at ``--profile quick``, seed 0.

Update-rule bugs are implementations under test (``--impl sgd=...``: sgd_conformance.mutants and
sgd_conformance.mutants, each bug stated in its docstring); each check must fail on its list and pass on the
reference and a correct variant. Mistakes of the noisy-gradient oracle or of the theory (Z ~ N(0, I_d), noise
sigma F Z, bounded noise in place of machine-learning noise, a wrong moment map) are not update rules: they are
monkeypatched into the modules the in-process runs share, as tests/test_power_reference.py does. A wrong
Robbins–Monro schedule is the user's (``--impl schedule=...``), a mutant of the claim's record (tests/test_power.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sympy as sp

import sgd_conformance.checks.lojasiewicz  # noqa: F401  (shared with the in-process runs)
import sgd_conformance.checks.lojasiewicz_robbins_monro  # noqa: F401
from sgd_conformance.checks.oracles.lojasiewicz import line_exit_probability, line_setting
from sgd_conformance.solvers import ml_noise
from sgd_conformance.theory import lojasiewicz
from sgd_conformance.theory.symbols import eta, sigma
from tests.power import assert_caught, run_check

CHECKS = {
    "contraction": "lojasiewicz.contraction",
    "stay-in-ball": "lojasiewicz.stay-in-ball",
    "global-min": "lojasiewicz.global-min",
    "bounded-noise": "lojasiewicz.bounded-noise-negative",
}
def _gaussian_directions(rng: Any, steps: int, chains: int, d: int) -> Any:
    """Mutant oracle: Z ~ N(0, I_d) (E|Z|^2 = d instead of <= 1)."""
    return rng.standard_normal(size=(steps, chains, d))


def _noise_sigma_f(grad: Any, loss: Any, sigma_value: float, z: Any) -> Any:
    """Mutant oracle: noise sigma F Z (not sqrt(sigma F) Z)."""
    return grad + (sigma_value * loss)[:, None] * z


def _bounded_noise(grad: Any, loss: Any, sigma_value: float, z: Any) -> Any:
    """Mutant oracle: bounded additive noise sqrt(sigma) Z in place of machine-learning noise (does not vanish)."""
    return grad + sigma_value**0.5 * z


ORACLE_MUTANTS = [
    ("contraction", "unit_sphere", _gaussian_directions),
    ("contraction", "machine_learning_gradient", _noise_sigma_f),
    ("contraction", "machine_learning_gradient", _bounded_noise),
    ("global-min", "machine_learning_gradient", _bounded_noise),
]


@pytest.mark.parametrize(("check", "attribute", "wrong"), ORACLE_MUTANTS,
                         ids=[f"{c}-{w.__name__.strip('_')}" for c, _, w in ORACLE_MUTANTS])
def test_lojasiewicz_check_catches_oracle_mutant(monkeypatch: pytest.MonkeyPatch,
                                                 check: str, attribute: str, wrong: Any) -> None:
    monkeypatch.setattr(ml_noise, attribute, wrong)
    result = run_check(CHECKS[check])
    assert_caught(result, wrong.__name__.strip("_"), named=False)
    assert result["outcome"] == "failed", result["message"]


def test_bounded_noise_check_catches_a_moment_map_with_noise_variance_eta(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant theory: m' = (1 - eta h)^2 m + eta sigma^2 (the noise variance scaled by eta instead of eta^2)."""
    original = lojasiewicz.bounded_noise_moment_map()
    monkeypatch.setattr(lojasiewicz, "bounded_noise_moment_map",
                        lambda: original.subs(eta**2 * sigma**2, eta * sigma**2))
    assert sp.simplify(lojasiewicz.bounded_noise_moment_map() - original) != 0
    result = run_check(CHECKS["bounded-noise"])
    assert_caught(result, "moment_map_noise_variance_eta", named=False)
    assert result["outcome"] == "failed" and "per-chain average" in result["message"]


def test_the_line_is_the_tightest_exit_regime_within_a_factor_two() -> None:
    """Design of lojasiewicz.stay-in-ball (iii): over step sizes and noise levels on the line with both multipliers
    positive, at the radius that makes the bound 0.7, the exact probability of leaving within 50 steps never exceeds
    5.4e-4 (the check's 4.9e-4 at a bound of 0.72): no regime tests the exit bound with less slack."""
    largest = 0.0
    for step in np.arange(0.1, 0.9, 0.02):
        for noise in np.arange(2.2, 16.0, 0.2):
            down, up = 1 - step - step * np.sqrt(noise / 2), 1 - step + step * np.sqrt(noise / 2)
            rho = (down**2 + up**2) / 2
            if down <= 0 or up <= 1 or rho >= 1:
                continue
            radius = (step + step * np.sqrt(noise / 2)) / (1 - np.sqrt(rho)) / 0.7
            largest = max(largest, line_exit_probability(down, up, 1 + radius, 50))
    assert line_setting()["exit_probability"] <= largest < 5.4e-4
