"""Power and design of the least-squares SDE convergence and coupling checks (``checks/lsq_sde_convergence.py``,
``checks/lsq_sde_coupling.py``).

Power: each check fails on the mutants its record names (:mod:`sgd_conformance.mutants`, tests/test_power.py) and
passes on the reference and a correct variant, at ``--profile quick``, seed 0. Design: the step sizes and times of
the checks meet their stated hypotheses, computed exactly: the Euler–Maruyama bias of every compared quantity is below
0.25 standard error at the thorough size (standard errors from the exact fourth moments), the fourth moment decays at
the Monte Carlo step (so the second-moment CLT applies), and the start is forgotten by T in
``lsq-sde.invariant-unique``.
"""

from __future__ import annotations

import itertools
import math
from functools import reduce

import numpy as np
import pytest
from scipy.linalg import expm

import sgd_conformance.checks.lsq_sde_convergence as convergence  # (shared with the in-process runs)
import sgd_conformance.checks.lsq_sde_coupling as coupling
from sgd_conformance.checks.harness import profiles
from sgd_conformance.checks.oracles import lsq_sde as lsq_oracles
from sgd_conformance.checks.oracles import lsq_sde_gbm
from tests.power import mutant, run_check


def test_uniqueness_check_does_not_flag_an_integrator_of_another_sde_with_a_unique_law() -> None:
    """Documented blind spot: Stratonovich integration changes the invariant law, not its uniqueness."""
    result = run_check("lsq-sde.invariant-unique", "--impl", mutant("sde", "stochastic_heun"))
    assert result["outcome"] == "passed", result["message"]


# --- design: exact moments of |delta|^2 up to order four ----------------------------------------------------------


def noise_matrices(problem: lsq_oracles.Problem, gamma: float) -> list[np.ndarray]:
    """C_j on range X' (basis U): the noiseless model is d z = -U'HU z dt + sum_j C_j z dB_j."""
    x, u = problem.features, problem.basis
    n = x.shape[0]
    return [u.T @ (math.sqrt(gamma / n) * (np.outer(row, row) - problem.curvature)) @ u for row in x]


def tensor_generator(drift: np.ndarray, noise: list[np.ndarray], order: int) -> np.ndarray:
    r"""Generator of :math:`E z^{\otimes p}` for :math:`dz = -Bz\,dt + \sum_jC_jz\,dB_j` (Itô: one drift term per
    slot, one noise pair per two slots)."""
    r = drift.shape[0]

    def slot(a: np.ndarray, index: int) -> np.ndarray:
        return reduce(np.kron, [a if i == index else np.eye(r) for i in range(order)])

    out = np.zeros((r**order, r**order))
    for i in range(order):
        out = out + slot(-drift, i)
    for c in noise:
        for i, j in itertools.combinations(range(order), 2):
            out = out + slot(c, i) @ slot(c, j)
    return out


def norm_mean_and_variance(problem: lsq_oracles.Problem, gamma: float, times: np.ndarray, second0: np.ndarray,
                           fourth0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact E|delta_t|^2 and Var|delta_t|^2 from E z0 z0' and E z0^(x4) (z = U'delta)."""
    drift = problem.basis.T @ problem.curvature @ problem.basis
    noise = noise_matrices(problem, gamma)
    g2, g4 = tensor_generator(drift, noise, 2), tensor_generator(drift, noise, 4)
    r = drift.shape[0]
    means, variances = [], []
    for t in times:
        second = (expm(g2 * t) @ second0.reshape(-1)).reshape(r, r)
        fourth = (expm(g4 * t) @ fourth0.reshape(-1)).reshape(r, r, r, r)
        means.append(np.trace(second))
        variances.append(np.einsum("iijj->", fourth) - np.trace(second) ** 2)
    return np.array(means), np.array(variances)


def point_start(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.einsum("i,j->ij", z, z), np.einsum("i,j,k,l->ijkl", z, z, z, z)


def gaussian_start(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return p, (np.einsum("ij,kl->ijkl", p, p) + np.einsum("ik,jl->ijkl", p, p) + np.einsum("il,jk->ijkl", p, p))


def thorough(claim_id: str) -> int:
    return profiles.get("thorough").sizes(claim_id)["chains"]


def em_bias_in_standard_errors(problem: lsq_oracles.Problem, gamma: float, times: np.ndarray, dt: float,
                               start: tuple[np.ndarray, np.ndarray], chains: int) -> np.ndarray:
    mean, variance = norm_mean_and_variance(problem, gamma, times, *start)
    moments = problem.moments(gamma, noiseless=True)
    second0 = problem.basis @ start[0] @ problem.basis.T
    em = np.array([np.trace(moments.euler_maruyama_moments(int(round(t / dt)), dt, np.zeros(problem.basis.shape[0]),
                                                           second0)[1]) for t in times])
    return (em - mean) / np.sqrt(variance / chains)


def test_tensor_generator_reproduces_the_second_moment_operator() -> None:
    problem = lsq_oracles.interpolation_problem()
    gamma = 0.5 / problem.k_sharp
    drift = problem.basis.T @ problem.curvature @ problem.basis
    ours = tensor_generator(drift, noise_matrices(problem, gamma), 2)
    theirs = problem.moments(gamma, noiseless=True).second_moment_operator(problem.basis)
    symmetric = np.random.default_rng(0).standard_normal((4, 4))
    symmetric = (symmetric + symmetric.T).reshape(-1)  # the operators agree on symmetric M (the moments' space)
    np.testing.assert_allclose(ours @ symmetric, theirs @ symmetric, atol=1e-12)


def test_sharp_k_of_independent_rows_is_the_largest_squared_row_norm() -> None:
    problem = lsq_oracles.interpolation_problem()
    assert problem.k_sharp == pytest.approx(problem.k_max, rel=1e-10)
    noisy = lsq_oracles.noisy_problem()
    assert noisy.k_sharp < noisy.k_max


@pytest.mark.parametrize("problem", [lsq_oracles.interpolation_problem, lsq_oracles.noisy_problem])
def test_fourth_moment_decays_at_the_monte_carlo_step(problem: object) -> None:
    """p_crit > 4 in the multivariate sense: the spectral abscissa of the order-4 moment generator is negative."""
    chosen = problem()  # type: ignore[operator]
    gamma = convergence.EXP_GAMMA_K / chosen.k_sharp
    drift = chosen.basis.T @ chosen.curvature @ chosen.basis
    assert np.linalg.eigvals(tensor_generator(drift, noise_matrices(chosen, gamma), 4)).real.max() < 0


def test_leading_eigenmatrix_is_a_covariance_with_a_pure_exponential_second_moment() -> None:
    problem = lsq_oracles.interpolation_problem()
    gamma = convergence.EXP_GAMMA_K / problem.k_sharp
    eigen = lsq_oracles.leading_eigenmatrix(problem.moments(gamma), problem.basis)
    assert np.linalg.eigvalsh(eigen).min() > 0
    mean, _ = norm_mean_and_variance(problem, gamma, convergence.EXP_SLOPE_TIMES, *gaussian_start(eigen))
    np.testing.assert_allclose(mean, np.exp(-problem.rate(gamma) * convergence.EXP_SLOPE_TIMES), rtol=1e-9)


def test_noiseless_exponential_em_bias_is_below_a_quarter_standard_error_at_thorough() -> None:
    problem = lsq_oracles.interpolation_problem()
    gamma = convergence.EXP_GAMMA_K / problem.k_sharp
    chains = thorough(convergence.EXPONENTIAL)
    start_a = point_start(problem.basis.T @ np.ones(6))  # theta_0 - theta*_0 = projection of (1, ..., 1)
    eigen = lsq_oracles.leading_eigenmatrix(problem.moments(gamma), problem.basis)
    for times, start in ((convergence.EXP_TIMES, start_a), (convergence.EXP_SLOPE_TIMES, gaussian_start(eigen))):
        bias = em_bias_in_standard_errors(problem, gamma, times, convergence.EXP_DT, start, chains)
        assert np.abs(bias).max() < 0.25, bias


def test_wasserstein_em_bias_is_below_a_quarter_standard_error_at_thorough() -> None:
    problem = lsq_oracles.noisy_problem()
    gamma = coupling.COUPLED_GAMMA_K / problem.k_sharp
    delta0 = 2 * np.linalg.eigh(problem.curvature)[1][:, 0]
    bias = em_bias_in_standard_errors(problem, gamma, coupling.W2_TIMES, coupling.W2_DT, point_start(delta0),
                                      thorough(coupling.WASSERSTEIN))
    assert np.abs(bias).max() < 0.25, bias


def test_compared_squared_norms_are_not_heavy_tailed() -> None:
    """Relative sd of |delta_t|^2 <= 0.7 at every compared time (from exact fourth moments): the CLT intervals hold
    at the decisions' small levels (a start along v_max(H) gives relative sd up to 4: not so)."""
    problem = lsq_oracles.interpolation_problem()
    gamma = convergence.EXP_GAMMA_K / problem.k_sharp
    mean, variance = norm_mean_and_variance(problem, gamma, convergence.EXP_TIMES,
                                            *point_start(problem.basis.T @ np.ones(6)))
    assert np.max(np.sqrt(variance) / mean) < 0.7
    noisy = lsq_oracles.noisy_problem()
    gamma = coupling.COUPLED_GAMMA_K / noisy.k_sharp
    mean, variance = norm_mean_and_variance(noisy, gamma, coupling.W2_TIMES,
                                            *point_start(2 * np.linalg.eigh(noisy.curvature)[1][:, 0]))
    assert np.max(np.sqrt(variance) / mean) < 0.7


def test_geometric_bm_em_law_and_first_moment_are_within_a_quarter_standard_error_at_thorough() -> None:
    rates = lsq_sde_gbm.gbm_rates(convergence.GBM_FEATURES, convergence.GBM_GAMMA)
    h, v, gamma = float(rates["h"]), float(rates["v"]), float(convergence.GBM_GAMMA)
    horizon, dt = convergence.GBM_HORIZON, convergence.GBM_DT
    steps = int(round(horizon / dt))
    chains = thorough(convergence.GBM)
    mean, variance = lsq_sde_gbm.em_log_moments(h, gamma * v, dt, steps)
    exact_mean, exact_variance = -float(rates["as_rate"]) * horizon, gamma * v * horizon
    assert abs(mean - exact_mean) / math.sqrt(exact_variance / chains) < 0.25
    assert abs(variance - exact_variance) / (exact_variance * math.sqrt(2 / chains)) < 0.25
    exact_first = math.exp(-h * horizon)  # E|eta_T| / |eta_0|
    z, w = np.polynomial.hermite_e.hermegauss(80)
    em_first = float(w @ np.abs(1 - h * dt + math.sqrt(gamma * v * dt) * z) / w.sum()) ** steps
    se = exact_first * math.sqrt(math.exp(gamma * v * horizon) - 1) / math.sqrt(chains)
    assert abs(em_first - exact_first) / se < 0.25


def test_uniqueness_horizon_makes_the_start_negligible() -> None:
    problem = lsq_oracles.noisy_problem()
    gamma = coupling.COUPLED_GAMMA_K / problem.k_sharp
    unit = coupling.UNIQUE_OFFSET * np.linalg.eigh(problem.curvature)[1][:, 0]
    steps = int(round(coupling.UNIQUE_HORIZON / coupling.UNIQUE_DT))
    _, second = problem.moments(gamma, noiseless=True).euler_maruyama_moments(steps, coupling.UNIQUE_DT,
                                                                             np.zeros(2), 4 * np.outer(unit, unit))
    assert np.trace(second) < coupling.forgetting_threshold(problem, gamma, thorough(coupling.UNIQUE))
