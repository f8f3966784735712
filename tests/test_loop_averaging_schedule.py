"""The claims that run the user's averaging and step-size schedule (``lsq-sde.variance-reduction``,
``lojasiewicz.bounded-noise-negative``): the correct variants and the real torch components pass, an EMA
``AveragedModel`` fails (the mutants of their records: tests/test_power.py), and the design numbers their docstrings
state hold exactly: where a start counted twice and a schedule off by one step move the compared expectations, and
where they do not. Power runs at ``--profile quick``, seed 0.
"""

from __future__ import annotations

import numpy as np
import pytest

import sgd_conformance.checks.lojasiewicz_robbins_monro as robbins_monro  # (shared with the in-process runs)
import sgd_conformance.checks.lsq_sde_sgd as lsq
from sgd_conformance.checks.oracles.lojasiewicz import ROBBINS_MONRO, robbins_monro_exact
from sgd_conformance.checks.oracles.lsq_sde_sgd import SgdMoments, polyak_exact
from tests.power import ROOT, assert_caught, mutant, require_torch, run_check

CLAIMS = {"averaging": ("lsq-sde.variance-reduction",),
          "schedule": ("lsq-sde.variance-reduction", "lojasiewicz.bounded-noise-negative")}
TORCH = f"torch:{ROOT / 'tests' / 'torch_impls.py'}"


@pytest.mark.parametrize(("family", "claim"), [(f, c) for f, claims in CLAIMS.items() for c in claims])
def test_correct_variant_of_the_component_passes(family: str, claim: str) -> None:
    result = run_check(claim, "--impl", mutant(family, f"{family}_correct_variant"))
    assert result["outcome"] == "passed", result["message"]


def test_torch_averaged_model_and_lambda_lr_pass_and_an_ema_fails() -> None:
    require_torch()
    averaged = "averaging=torch:torch.optim.swa_utils:AveragedModel"
    schedule = f"schedule={TORCH}:inverse_power_lambda_lr"
    for claim, impls in (("lsq-sde.variance-reduction", (averaged, schedule)),
                         ("lojasiewicz.bounded-noise-negative", (schedule,))):
        options = [o for impl in impls for o in ("--impl", impl)]
        result = run_check(claim, *options)
        assert result["outcome"] == "passed", result["message"]
    result = run_check("lsq-sde.variance-reduction", "--impl", f"averaging={TORCH}:ema_averaged_model")
    assert_caught(result, "ema_averaged_model")
    assert "running average" in result["message"]


# --- design: exact effects of the mutants on the compared expectations ---------------------------------------------


def weighted_mean_square(seconds: np.ndarray, a_matrix: np.ndarray, weights: np.ndarray) -> float:
    r""":math:`E|\sum_j w_j\delta_j|^2 = \sum_j w_j^2\mathrm{tr}M_j + 2\sum_j w_j\mathrm{tr}U_j`,
    :math:`U_j = \sum_{i<j}w_iA^{j-i}M_i = A(U_{j-1} + w_{j-1}M_{j-1})`."""
    u, total = np.zeros_like(seconds[0]), 0.0
    for j, w in enumerate(weights):
        if j:
            u = a_matrix @ (u + weights[j - 1] * seconds[j - 1])
        total += w * w * float(np.trace(seconds[j])) + 2.0 * w * float(np.trace(u))
    return total


def start_twice(k: int) -> np.ndarray:
    """Weights of an average of k iterates that counts the first twice: (2, 1, ..., 1)/(k + 1)."""
    weights = np.ones(k)
    weights[0] = 2.0
    return weights / (k + 1)


def start_twice_shift(seconds: np.ndarray, a_matrix: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """Relative change of E|bar delta_k|^2 when the first of the k iterates averaged counts twice."""
    uniform = polyak_exact(seconds[:ks[-1]], a_matrix, ks)
    np.testing.assert_allclose([weighted_mean_square(seconds, a_matrix, np.full(k, 1.0 / k)) for k in ks], uniform,
                               rtol=1e-12)
    return np.array([weighted_mean_square(seconds, a_matrix, start_twice(k)) for k in ks]) / uniform - 1


def test_a_start_counted_twice_is_invisible_after_burn_in_and_visible_from_theta_0() -> None:
    """After burn-in E|bar delta_k|^2 moves by at most 1.8% (k = 16), from theta_0 = 0 by 3.3% to 6.5%."""
    moments = SgdMoments.of_problem()
    a_matrix = np.eye(moments.d) - lsq.POLYAK_GAMMA * moments.curvature
    burn, path = moments.burn_in(lsq.POLYAK_GAMMA, lsq.BURN_IN_TOLERANCE)
    after = start_twice_shift(moments.second(path[burn + 1:]), a_matrix, lsq.POLYAK_KS)
    assert np.abs(after).max() < 0.018 and after[0] == 0.0, after
    start = start_twice_shift(moments.second(path), a_matrix, lsq.START_KS)
    assert 0.033 < start.min() and start.max() < 0.066, start


def test_an_off_by_one_schedule_moves_the_transient_not_the_late_windows() -> None:
    """lsq: the exact mean of E|delta_k|^2 over k in [1, 16) falls by 3.8%, every window k >= 64 by under 1%;
    Robbins–Monro: the transient's E F_k rises by 4.4%, the window k in [64, 128) by 3.2% (under two standard errors
    at quick, where the transient has a smaller spread: 7.6)."""
    moments = SgdMoments.of_problem()
    decay = lsq.DECAY
    law = moments.decaying(decay["gamma0"], decay["k0"], decay["q"], lsq.DECAY_WINDOWS)
    shifted = moments.decaying(decay["gamma0"], decay["k0"] + 1, decay["q"], lsq.DECAY_WINDOWS)
    early = slice(*lsq.TRANSIENT)
    assert shifted[1][early].mean() / law[1][early].mean() - 1 == pytest.approx(-0.038, abs=5e-4)
    assert np.abs(shifted[2] / law[2] - 1).max() < 0.0075

    rm = ROBBINS_MONRO
    q = float(rm["q"])
    steps = rm["gamma"] / (np.arange(128) + rm["n0"]) ** q

    def loss(eta: np.ndarray) -> np.ndarray:
        second = [rm["theta0"] ** 2]
        for e in eta[:-1]:
            second.append((1 - e * rm["h"]) ** 2 * second[-1] + e * e * rm["sigma"] ** 2)
        return rm["h"] * np.array(second) / 2

    exact, off = loss(steps), loss(np.append(steps[1:], rm["gamma"] / (128 + rm["n0"]) ** q))
    np.testing.assert_allclose(exact, robbins_monro_exact(128)[1], rtol=1e-12)
    early = slice(*robbins_monro.TRANSIENT)
    assert off[early].mean() / exact[early].mean() - 1 == pytest.approx(0.044, abs=5e-4)
    assert off[64:128].mean() / exact[64:128].mean() - 1 == pytest.approx(0.032, abs=5e-4)
