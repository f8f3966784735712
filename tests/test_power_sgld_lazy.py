"""Power and design of the lazy SGLD checks (``checks/sgld_lazy.py``, ``checks/sgld_lazy_near_init.py``,
``checks/sgld_lazy_loss.py``).

Power: each ``sde`` check fails on its integrator mutants (:mod:`sgd_conformance.mutants`) and
passes on the reference and a correct variant, at ``--profile quick``, seed 0; the model-side mutants (noise from the
unscaled loss, an uncentred factor, a loss without 1/alpha^2, a kernel of alpha h, arccos in degrees, the sign of
pi - theta) are monkeypatched into the modules the in-process runs share. Design: the step sizes and alphas of the
checks meet their stated hypotheses, computed exactly where possible: the Euler–Maruyama bias of every quantity
compared with an exact moment is below 0.25 standard error at every profile's size (standard errors from exact fourth
moments), and alpha E sup|omega_t - omega_0| decreases along the thorough alpha grid (so the one-sided order test
has its H0).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import array_api_compat.numpy as xnp
import numpy as np
import pytest
import sympy as sp

import sgd_conformance.checks.sgld_lazy as positive
import sgd_conformance.checks.sgld_lazy_loss as loss
import sgd_conformance.checks.sgld_lazy_near_init as near_init
from sgd_conformance.checks.harness import profiles, stats
from sgd_conformance.checks.harness.impl import Guard, Runner, reference
from sgd_conformance.checks.oracles import lazy, linearised_training
from sgd_conformance.solvers import lazy_sgld, two_layer
from sgd_conformance.solvers.rng import generator
from sgd_conformance.theory import lazy_training
from tests.power import assert_caught, run_check

MODEL = "sgld-lazy.model"
NEAR = "sgld-lazy.stay-near-init"
EIGEN = "sgld-lazy.ntk-eigenvalue"
LOSS = "sgld-lazy.exponential-loss"
POSITIVE = "sgld-lazy.ntk-init-positive"


@pytest.mark.parametrize("check", [MODEL, POSITIVE])
def test_reference_checks_pass_on_the_derived_theory(check: str) -> None:
    result = run_check(check)
    assert result["outcome"] == "passed", result["message"]


# --- model-side mutants (monkeypatched) ------------------------------------------------------------------------------


def _alpha(model: lazy_sgld.LazySGLD, x: Any) -> Any:
    return np.broadcast_to(np.asarray(model.alpha_scale, dtype=float), (x.shape[0],))[:, None, None]


def _unscaled_noise(monkeypatch: pytest.MonkeyPatch) -> None:
    """Noise from the per-sample gradients of the loss without its 1/alpha (O(1) noise): diffusion x alpha."""
    original = lazy_sgld.LazySGLD.diffusion
    monkeypatch.setattr(lazy_sgld.LazySGLD, "diffusion",
                        lambda self, x, t=0.0: original(self, x, t) * _alpha(self, x))


def _uncentred_factor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Noise columns grad l_i instead of grad l_i - grad L (the uncentred second moment)."""
    monkeypatch.setattr(lazy_sgld.LazySGLD, "diffusion", lambda self, x, t=0.0: (self.eta / self.n) ** 0.5
                        * np.swapaxes(self.sample_gradients(x), 1, 2))


def _loss_without_inverse_square(monkeypatch: pytest.MonkeyPatch) -> None:
    """L = R(alpha(h - h_0)) without 1/alpha^2 while claiming the lazy scaling: drift and noise x alpha^2."""
    drift, diffusion = lazy_sgld.LazySGLD.drift, lazy_sgld.LazySGLD.diffusion
    monkeypatch.setattr(lazy_sgld.LazySGLD, "drift",
                        lambda self, x, t=0.0: drift(self, x, t) * _alpha(self, x)[:, :, 0] ** 2)
    monkeypatch.setattr(lazy_sgld.LazySGLD, "diffusion",
                        lambda self, x, t=0.0: diffusion(self, x, t) * _alpha(self, x) ** 2)


def _kernel_of_scaled_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel computed from the Jacobian of alpha h (alpha^2 K): the ratio to lambda_0 of h means nothing."""
    kernel = lazy_sgld.LazySGLD.kernel
    monkeypatch.setattr(lazy_sgld.LazySGLD, "kernel", lambda self, x: kernel(self, x) * _alpha(self, x) ** 2)


def _du_entry(expr: sp.Expr) -> Callable[[], sp.Expr]:
    return lambda: expr


c = lazy_training.cosine
def _arccos_in_degrees(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Gram entry with arccos read in degrees: c (pi - 180 theta / pi) / (2 pi)."""
    monkeypatch.setattr(lazy_training, "du_gram_entry", _du_entry(c * (sp.pi - sp.acos(c) * 180 / sp.pi) / (2 * sp.pi)))


def _sign_of_pi_minus_theta(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Gram entry with theta - pi for pi - theta: c (theta - pi) / (2 pi)."""
    monkeypatch.setattr(lazy_training, "du_gram_entry", _du_entry(c * (sp.acos(c) - sp.pi) / (2 * sp.pi)))


def _width_independent_neurons(monkeypatch: pytest.MonkeyPatch) -> None:
    """The random first layer drawn at the smallest width and tiled to the others: the Gram's law ignores m."""
    original, smallest = two_layer.init, positive.DU_WIDTHS[0]

    def tiled(rng: Any, *, n: int, d: int, batch: tuple[int, ...] = (), **kw: Any) -> two_layer.Params:
        base = original(rng, n=smallest, d=d, batch=batch, **kw)
        copies = n // smallest
        return two_layer.Params(a=np.tile(base.a, (1,) * len(batch) + (copies,)),
                                w=np.tile(base.w, (1,) * len(batch) + (copies, 1)))

    monkeypatch.setattr(two_layer, "init", tiled)


MODEL_MUTANTS = [
    pytest.param(MODEL, _unscaled_noise, "diffusion diffusion' = eta Sigma_a", id="model-unscaled-noise"),
    pytest.param(MODEL, _uncentred_factor, "diffusion diffusion' = eta Sigma_a", id="model-uncentred-factor"),
    pytest.param(NEAR, _unscaled_noise, "decay order of E sup_t", id="near-init-unscaled-noise"),
    pytest.param(EIGEN, _unscaled_noise, "decay order of E[1 - min_t", id="eigenvalue-unscaled-noise"),
    pytest.param(EIGEN, _kernel_of_scaled_outputs, "decay order of E[1 - min_t", id="eigenvalue-scaled-kernel"),
    pytest.param(LOSS, _unscaled_noise, "moment generator read off", id="loss-unscaled-noise"),
    pytest.param(LOSS, _loss_without_inverse_square, "moment generator read off", id="loss-without-1/a^2"),
    pytest.param(POSITIVE, _arccos_in_degrees, "from J_0 equals", id="positive-arccos-degrees"),
    pytest.param(POSITIVE, _sign_of_pi_minus_theta, "lambda_0 = lambda_min(H_inf)",
                 id="positive-sign-of-pi-minus-theta"),
    pytest.param(POSITIVE, _width_independent_neurons, "rises from m = 10", id="positive-width-independent-neurons"),
]


@pytest.mark.parametrize(("check", "patch", "decision"), MODEL_MUTANTS)
def test_lazy_check_catches_model_mutant(monkeypatch: pytest.MonkeyPatch, check: str,
                                         patch: Callable[[pytest.MonkeyPatch], None], decision: str) -> None:
    patch(monkeypatch)
    result = run_check(check)
    assert_caught(result, patch.__name__.strip("_"), named=False)
    assert result["outcome"] == "failed", result["message"]
    assert decision in result["message"], result["message"]


# --- design: exact moments of the lazy limit up to order four --------------------------------------------------------


def quadratic_form_moments(weight: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean and sd of e_t' W e_t for the check problem's lazy limit from e_0 = -y."""
    p = lazy.problem()
    return linearised_training.lazy_quadratic_moments(p.kernel0, lazy.ETA, -p.targets, weight, times)


def em_quadratic_form(weight: np.ndarray, times: np.ndarray, dt: float) -> np.ndarray:
    p = lazy.problem()
    model = linearised_training.lazy_moment_model(p.kernel0, lazy.ETA)
    y = p.targets
    return np.array([float(np.einsum("ij,ij", weight, model.euler_maruyama_moments(int(round(t / dt)), dt, -y,
                                                                                  np.outer(y, y))[1]))
                     for t in times])


def test_the_tensor_generator_reproduces_the_lazy_moment_model() -> None:
    p = lazy.problem()
    n = p.kernel0.shape[0]
    noise = linearised_training.noise_matrices(p.kernel0, lazy.ETA)
    ours = linearised_training.tensor_generator(p.kernel0 / n, noise, 2)
    theirs = linearised_training.lazy_moment_model(p.kernel0, lazy.ETA).generator()[1 + n:, 1 + n:]
    symmetric = np.random.default_rng(0).standard_normal((n, n))
    symmetric = (symmetric + symmetric.T).reshape(-1)
    np.testing.assert_allclose(ours @ symmetric, theirs @ symmetric, atol=1e-12)


@pytest.mark.parametrize("name", profiles.NAMES)
def test_em_bias_of_the_compared_moments_is_below_a_quarter_standard_error(name: str) -> None:
    p = lazy.problem()
    profile = profiles.get(name)
    cases = [(NEAR, np.linalg.inv(p.kernel0), near_init.LAW_TIMES),
             (LOSS, np.eye(p.kernel0.shape[0]), loss.LOSS_TIMES)]
    for cid, weight, times in cases:
        sizes = profile.sizes(cid)
        mean, sd = quadratic_form_moments(weight, times)
        bias = (em_quadratic_form(weight, times, sizes["dt"]) - mean) / (sd / math.sqrt(sizes["chains"]))
        assert np.abs(bias).max() < 0.25, (cid, name, bias)


@pytest.mark.parametrize("name", profiles.NAMES)
def test_em_bias_of_the_windowed_log_slope_is_below_a_quarter_standard_error(name: str) -> None:
    """sgld-lazy.exponential-loss compares an Euler–Maruyama log-slope with the exact one, two-sided."""
    sizes = profiles.get(name).sizes(LOSS)
    times = loss.LOSS_TIMES
    mean, cov = loss.squared_norm_law(times)
    design = np.column_stack([np.ones_like(times), -times])
    solve = np.linalg.solve(design.T @ design, design.T)
    se = math.sqrt((solve @ (cov / sizes["chains"] / np.outer(mean, mean)) @ solve.T)[1, 1])
    em = em_quadratic_form(np.eye(lazy.problem().kernel0.shape[0]), times, sizes["dt"])
    assert abs(loss.window_slope(times, em) - loss.window_slope(times, mean)) < 0.25 * se, name


def test_squared_norm_law_agrees_with_the_oracle_moments_and_is_a_covariance() -> None:
    times = loss.LOSS_TIMES
    mean, cov = loss.squared_norm_law(times)
    oracle_mean, oracle_sd = quadratic_form_moments(np.eye(lazy.problem().kernel0.shape[0]), times)
    np.testing.assert_allclose(mean, oracle_mean, rtol=1e-10)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), oracle_sd, rtol=1e-8)
    np.testing.assert_allclose(cov, cov.T, rtol=1e-12)
    assert np.linalg.eigvalsh(cov).min() > 0


def test_compared_quadratic_forms_have_a_finite_fourth_moment_and_moderate_spread() -> None:
    """p_crit > 4: the order-4 moment generator is stable; relative sd < 0.5 at every compared time (CLT)."""
    p = lazy.problem()
    n = p.kernel0.shape[0]
    noise = linearised_training.noise_matrices(p.kernel0, lazy.ETA)
    generator4 = linearised_training.tensor_generator(p.kernel0 / n, noise, 4)
    assert np.linalg.eigvals(generator4).real.max() < 0
    for weight, times in ((np.linalg.inv(p.kernel0), near_init.LAW_TIMES), (np.eye(n), loss.LOSS_TIMES)):
        mean, sd = quadratic_form_moments(weight, times)
        assert np.max(sd / mean) < 0.5


def test_problem_constants_are_those_the_hypotheses_quote() -> None:
    p = lazy.problem()
    assert (round(p.lam0, 3), round(p.kappa, 2), round(2 * p.lam0 / p.kappa, 3)) == (0.806, 5.31, 0.304)
    assert lazy.ETA < 2 * p.lam0 / p.kappa

    def conditioning(draw: int) -> float:
        half = two_layer.init(generator(draw, "sgld-lazy", "problem"), n=lazy.HALF_WIDTH, d=2, a_law="rademacher")
        kernel = lazy_sgld.LazySGLD(lazy_sgld.antisymmetric_init(half), p.inputs, p.targets, lazy.ETA, 1.0).kernel0
        lam, kap = linearised_training.kernel_constants(kernel)
        return 2 * lam / kap

    assert max(range(20), key=conditioning) == lazy.NETWORK_DRAW


def _coupled_run(alphas: tuple[float, ...], chains: int, steps: int, dt: float,
                 observe: Callable[[int, list[Any]], None], linear_alpha: float | None = None) -> None:
    p = lazy.problem()
    models = tuple(p.model(a) for a in alphas)
    if linear_alpha is not None:
        models = (p.model(linear_alpha, linearised=True), *models)
    runner = Runner(Guard(reference("sde"), 1e9, "design"))
    lazy_sgld.simulate(runner.sde_step, lazy_sgld.Stack(models, (chains,) * len(models)), chains=chains, steps=steps,
                       dt=dt, stream=lambda first: generator(12345, "design", "dW", first), xp=xnp, observe=observe)


def test_alpha_times_the_mean_sup_deviation_decreases_along_the_thorough_grid() -> None:
    """The H0 of the one-sided order test: alpha E sup|omega_t - omega_0| decreases to its limit (local orders > 1)."""
    alphas = profiles.get("thorough").sizes(NEAR)["alphas"]
    chains, omega0 = 100, lazy.problem().model(1.0).omega0
    sup = [np.zeros(chains) for _ in alphas]

    def observe(step: int, blocks: list[Any]) -> None:
        for k, b in enumerate(blocks):
            sup[k] = np.maximum(sup[k], np.linalg.norm(b - omega0, axis=1))

    _coupled_run(tuple(float(a) for a in alphas), chains, int(round(near_init.HORIZON / near_init.GRID_DT)),
                 near_init.GRID_DT, observe)
    scaled = np.column_stack([a * s for a, s in zip(alphas, sup, strict=True)])
    steps = np.diff(scaled, axis=1)  # paired differences of alpha sup between consecutive alphas
    z = steps.mean(axis=0) / (steps.std(axis=0, ddof=1) / math.sqrt(chains))
    assert np.all(z < -3), z


def test_mcnemar_p_value_is_the_binomial_tail_and_clopper_pearson_covers() -> None:
    low = np.array([True] * 3 + [False] * 17)
    high = np.array([False] * 3 + [True] * 9 + [False] * 8)
    decision = stats.mcnemar_not_worse("x", low, high, 1e-3)
    assert decision.p_value == pytest.approx(sum(math.comb(12, k) for k in range(9, 13)) / 2**12)
    lo, hi = stats.clopper_pearson(3, 20, 0.05)
    assert lo < 0.15 < hi and stats.clopper_pearson(0, 20, 0.05)[0] == 0.0
