"""Power of the least-squares SDE model checks (``checks/lsq_sde_model.py``): each fails on its mutants and passes on
the reference and a correct variant. The ``reference`` claim ``lsq-sde.model-moments`` is run with the theory, or the
solver's factor, replaced by the uncentred covariance (the known mistake: no -grad L grad L'); the ``sde`` claims of
``checks/lsq_sde_model.py`` and ``checks/lsq_sde_moments.py`` run the mutants of :mod:`sgd_conformance.mutants`
through ``--impl`` (tests/test_power.py). Runs at ``--profile quick``, seed 0.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

import sgd_conformance.checks.lsq_sde_model  # noqa: F401  (shared with the in-process runs)
from sgd_conformance.solvers.lsq_sde import PopulationSDE, TrainingSDE
from sgd_conformance.theory import lsq_sde
from tests.power import assert_caught, run_check

MODEL = "lsq-sde.model-moments"


def test_model_moments_passes_on_the_derived_theory() -> None:
    assert run_check(MODEL)["outcome"] == "passed"


def test_model_moments_catches_an_uncentred_covariance_in_the_theory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant: the training model's Sigma is the uncentred second moment (1/n) sum g_i g_i' (no -grad L grad L')."""
    original = lsq_sde.training_model

    def uncentred(n: int, d: int) -> lsq_sde.TrainingModel:
        model = original(n, d)
        return dataclasses.replace(model, covariance=model.covariance + model.gradient * model.gradient.T)

    monkeypatch.setattr(lsq_sde, "training_model", uncentred)
    result = run_check(MODEL)
    assert_caught(result, "uncentred_covariance", named=False)
    assert result["outcome"] == "failed" and "sigma sigma' - Sigma" in result["message"], result["message"]


def _uncentred_training_diffusion(self: TrainingSDE, theta: Any, t: float = 0.0) -> Any:
    """Mutant factor: n^-1/2 [r_i x_i] (the uncentred square root, sigma sigma' = (1/n) sum g_i g_i')."""
    r = self.residuals(theta)
    return (self.gamma / self.n) ** 0.5 * np.transpose(r[:, :, None] * self.features[None, :, :], (0, 2, 1))


def _uncentred_population_diffusion(self: PopulationSDE, delta: Any, t: float = 0.0) -> Any:
    """Mutant factor: first column sqrt(2) H delta (covariance E g g' = Sigma + H delta delta' H, uncentred)."""
    h_delta = delta @ self.curvature
    scale = np.sqrt(np.sum(delta * h_delta, axis=1, keepdims=True) + self.label_noise**2)
    root = np.linalg.cholesky(self.curvature)
    return self.gamma**0.5 * np.concatenate([np.sqrt(2.0) * h_delta[:, :, None], scale[:, :, None] * root[None]],
                                            axis=2)


@pytest.mark.parametrize(("model", "factor", "where"), [
    (TrainingSDE, _uncentred_training_diffusion, "training"),
    (PopulationSDE, _uncentred_population_diffusion, "population"),
])
def test_model_moments_catches_an_uncentred_factor_in_the_solver(monkeypatch: pytest.MonkeyPatch, model: type,
                                                                  factor: Any, where: str) -> None:
    """The SGD increments' covariance (and the symbolic covariance) reject a solver whose factor is uncentred."""
    monkeypatch.setattr(model, "diffusion", factor)
    result = run_check(MODEL)
    assert_caught(result, factor.__name__.strip("_"), named=False)
    assert result["outcome"] == "failed", result["message"]
    assert f"Cov(increment) vs gamma x diffusion diffusion' ({where}" in result["message"], result["message"]
