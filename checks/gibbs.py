r"""The Gibbs law :math:`\propto e^{-L/T}` of Langevin dynamics and what SGLD samples at finite step (family ``sgld``).

:math:`e^{-L/T}` has zero Fokker–Planck flux for :math:`d\theta = -\nabla L\,dt + \sqrt{2T}\,dW` (the lecture's
:math:`e^{-2L/\varepsilon}` is the same law at :math:`T = \varepsilon/2`). SGLD at step :math:`\eta` samples it up
to an O(eta) bias: the checks extrapolate to :math:`\eta \to 0` on a double well, compare the mean excess loss
with the exact finite-step equipartition :math:`\frac T2\sum_i (1 - \eta a_i/2)^{-1}` on a quadratic, and the mass
of the flat basin of a tilted double well with the grid-exact finite-step law.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import sympy as sp

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.harness.impl import Runner
from sgd_conformance.checks.oracles.langevin import stationary_density_on_grid
from sgd_conformance.reports.model import Figure, Series
from sgd_conformance.solvers import chains
from sgd_conformance.solvers._xp import asarray, to_numpy
from sgd_conformance.solvers.problems import Quadratic
from sgd_conformance.theory import fokker_planck, langevin, losses, numeric
from sgd_conformance.theory.symbols import T


@claim(
    "lecture.gibbs-stationary", family="sgld",
    statement="exp(-L/T) solves the stationary Fokker–Planck equation of d theta = -grad L dt + sqrt(2T) dW for any "
              "smooth confining L (zero probability flux); the lecture's exp(-2L/eps) for noise sqrt(eps) is the same "
              "statement with T = eps/2. SGLD samples it as lr -> 0 with an O(lr) stationary bias.",
    hypotheses="symbolic part: L a generic smooth function (d = 1, 2). Simulation: double well L = (x^2 - 1)^2, "
               "T = 0.5, lr in {0.02, 0.01, 0.005}; chains start from the Gibbs law, burn-in 2, averages over 4 "
               "time units.",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) ('d theta = -grad L dt + "
           "sqrt(eps) dW => p = exp(-2L/eps)/Z'); Roberts & Tweedie, Bernoulli 1996 (Langevin diffusions and their "
           "discretisation).",
    seed_wording="The lecture calls the PDE 'Feynman–Kac'; it is the Fokker–Planck (forward Kolmogorov) "
                 "equation. SGD itself does not sample exp(-2L/eps) (see lecture.sgd-stationary-shape).",
    sizes={"quick": {"chains": 2000},
           "standard": {"chains": 8000},
           "thorough": {"chains": 32000}},
    mutants=("sgld_noise_proportional_to_lr", "sgld_noise_sqrt_lr_t", "sgld_shared_noise"),
)
def sgld_samples_the_gibbs_law_as_lr_vanishes(run: ClaimRun) -> None:
    """E[x^2] of the chain at three step sizes, extrapolated linearly to lr = 0, against mpmath quadrature."""
    chains_n = run.sizes["chains"]
    temperature, burn_in, window = 0.5, 2.0, 4.0
    loss, (q,) = losses.double_well()
    target = fokker_planck.gibbs_expectation(loss, q, q**2, temperature)
    grad = numeric.gradient(loss, (q,))
    start = _gibbs_draws(loss, q, temperature, chains_n, run.stream("start", on_backend=False))
    lrs = np.array([0.02, 0.01, 0.005])
    estimates, errors = [], []
    for lr in lrs:
        runner = Runner(run.impl, lr=float(lr), temperature=temperature, rng=run.noise(float(lr)),
                        context="the double well is confining; the chain is stable at this lr")
        burn, keep = int(round(burn_in / lr)), int(round(window / lr))
        total = np.zeros(chains_n)

        def accumulate(step: int, theta: Any, burn: int = burn, total: np.ndarray = total) -> None:
            if step > burn:
                total += to_numpy(theta)[:, 0] ** 2

        chains.iterate(runner.step, lambda th: grad(run.xp, th), asarray(start[:, None], run.xp), burn + keep,
                       accumulate)
        per_chain = total / keep
        estimates.append(per_chain.mean())
        errors.append(per_chain.std(ddof=1) / math.sqrt(chains_n))
    est, se = np.array(estimates), np.array(errors)
    fit = stats.gls(np.column_stack([np.ones_like(lrs), lrs]), est, np.diag(se**2))
    line = np.linspace(0, lrs.max(), 50)
    run.figure(Figure(
        title="E[x^2] of SGLD on the double well vs the Gibbs law", xlabel="lr", ylabel="E[x^2]",
        series=[Series("SGLD (95% CI)", lrs.tolist(), est.tolist(), yerr=(1.96 * se).tolist()),
                Series("linear extrapolation", line.tolist(), (fit.coef[0] + fit.coef[1] * line).tolist(),
                       style="line"),
                Series(f"Gibbs, mpmath ({target:.6f})", [0.0, float(lrs.max())], [target, target], style="dashed")],
        caption="Stationary bias O(lr): the extrapolation to lr = 0 must hit the Gibbs value."))
    level = stats.split(run.level, 2)
    run.verdict(
        stats.agreement("exp(-L/T) has zero Fokker–Planck flux for generic L (d = 1 and 2)",
                        fokker_planck.gibbs_is_stationary(1) and fokker_planck.gibbs_is_stationary(2), True,
                        test="sympy: J = -(p grad L + T grad p) simplifies to 0"),
        stats.agreement("lecture convention exp(-2L/eps) equals exp(-L/T) at T = eps/2",
                        fokker_planck.lecture_convention_agrees(), True,
                        test="sympy: match sqrt(2T) = sqrt(eps), compare densities"),
        stats.coefficient_test("E[x^2] extrapolated to lr -> 0", fit, 0, target, level,
                               test=f"weighted least-squares intercept over lr in {lrs.tolist()}, "
                                    f"{chains_n} chains (per-chain time averages)"),
        stats.goodness_of_fit("linearity of the stationary bias in lr", fit, level,
                              test="chi-square of the weighted linear fit (1 dof)"),
    )


def _gibbs_draws(loss: sp.Expr, var: sp.Symbol, temperature: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draws from exp(-L/T) by inverting its CDF on a fine grid: a warm start only, never an oracle."""
    grid = np.linspace(-3.0, 3.0, 20001)
    density = np.exp(-numeric.function(loss, (var,))(np, grid[:, None]) / temperature)
    cdf = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2)])
    return np.interp(rng.uniform(0, cdf[-1], n), cdf, grid)


@claim(
    "lecture.gibbs-equipartition", family="sgld",
    statement="Under the Gibbs law of a quadratic L = L* + (theta - theta*)' H (theta - theta*)/2, E[L] - L* = d T / 2 "
              "(= d eps / 4 in the lecture's convention), whatever H; SGLD at step lr has exactly "
              "E[L] - L* = (T/2) sum_i 1/(1 - lr a_i / 2) (a_i the eigenvalues of H), which tends to d T / 2 as "
              "lr -> 0.",
    hypotheses="d = 10, H = diag(logspace(-1, 1, 10)), eps = 0.1 (T = eps/2 = 0.05), lr = 0.05 (lr a_max = 0.5); "
               "chains start at theta* = 0 and run 1000 steps (>= 5/(lr a_min)); the exact k-step law is the oracle.",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) ('Small eps (large batches): "
           "concentrate near global minimum'); the Gibbs and finite-step moments are derived here.",
    sizes={"quick": {"chains": 4000},
           "standard": {"chains": 16000},
           "thorough": {"chains": 64000}},
    mutants=("sgld_half_speed", "sgld_noise_proportional_to_lr", "sgld_noise_sqrt_lr_t"),
)
def sgld_mean_loss_has_the_exact_finite_step_equipartition(run: ClaimRun) -> None:
    """CLT interval on the mean excess loss over independent chains, against the exact finite-step value."""
    chains_n = run.sizes["chains"]
    curvatures = np.logspace(-1, 1, 10)
    lr, temperature, steps = 0.05, 0.05, 1000
    problem = Quadratic(np.diag(curvatures))
    runner = Runner(run.impl, lr=lr, temperature=temperature, rng=run.noise(),
                    context=f"lr*lambda_max = {lr * curvatures.max():g} < 2 meets the hypothesis")
    final = chains.iterate(runner.step, problem.grad, asarray(np.zeros((chains_n, curvatures.size)), run.xp), steps)
    excess = to_numpy(problem.loss(final))
    variances = numeric.evaluate(langevin.sgld_variance_after(), xp=np, a=curvatures, eta=lr, T=temperature, k=steps)
    exact = float(np.sum(curvatures * variances) / 2)
    finite_step = float(np.sum(numeric.evaluate(langevin.quadratic_mean_loss_excess(), xp=np, a=curvatures, eta=lr,
                                                T=temperature)))
    gibbs = curvatures.size * temperature / 2
    limit = sp.limit(langevin.quadratic_mean_loss_excess(), sp.Symbol("eta", positive=True), 0)
    se = excess.std(ddof=1) / math.sqrt(chains_n)
    run.figure(Figure(
        title="Mean excess loss of SGLD on a 10-d quadratic", xlabel="", ylabel="E[L] - L*",
        series=[Series("SGLD (95% CI)", [1.0], [float(excess.mean())], yerr=[1.96 * se]),
                Series(f"exact at lr = {lr:g}, k = {steps} ({exact:.6f})", [0.5, 1.5], [exact, exact], style="line"),
                Series(f"stationary at lr = {lr:g} ({finite_step:.6f})", [0.5, 1.5], [finite_step] * 2,
                       style="dashed"),
                Series(f"Gibbs d T / 2 ({gibbs:g})", [0.5, 1.5], [gibbs, gibbs], style="dashed")],
        caption="Equipartition holds for the Gibbs law; at finite lr every direction carries 1/(1 - lr a/2) more."))
    run.verdict(
        stats.agreement("per-direction excess (T/2)/(1 - eta a/2) tends to the Gibbs T/2 as eta -> 0",
                        sp.simplify(limit - T / 2) == 0, True, test="sympy limit"),
        stats.z_test("E[L] - L* after the run", excess.mean(), se, exact, run.level,
                     test=f"CLT interval on the mean over {chains_n} independent chains"))


@claim(
    "lecture.gibbs-flat-vs-sharp", family="sgld",
    statement="At finite temperature the mass of a basin follows the Gibbs law exp(-L/T): of two equal-depth minima "
              "the flat one carries more mass (tilted double well, T = 0.5 (eps = 1): P(x < 0) = 0.60325), the ratio "
              "tending to sqrt(L''(sharp)/L''(flat)) as T -> 0 (Laplace); SGLD at step lr samples the finite-step "
              "law (Gibbs plus an O(lr) bias, computed exactly on a grid), so its occupation of the flat basin "
              "matches.",
    hypotheses="L(x) = (x^2 - 1)^2 (1 + tanh(2x)/2): minima at ±1 of equal depth, L'' = 4.145 (flat, x = -1) and "
               "11.855 (sharp, x = +1); T = 0.5; lr = 0.02; chains start at the barrier x = 0, burn-in 25 and "
               "window 25 time units (inter-well relaxation time ~4).",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) ('Flat minima = wide basins = "
           "high probability at finite eps'); Laplace's method for the limit ratio; the masses are computed by "
           "quadrature here.",
    sizes={"quick": {"chains": 4000},
           "standard": {"chains": 16000},
           "thorough": {"chains": 64000}},
    mutants=("sgld_noise_proportional_to_lr", "sgld_noise_sqrt_lr_t"),
)
def sgld_puts_the_gibbs_mass_on_the_flat_basin(run: ClaimRun) -> None:
    """Per-chain occupation fractions of x < 0 (independent chains, CLT) against the exact finite-lr mass."""
    chains_n = run.sizes["chains"]
    temperature, lr, burn_in, window = 0.5, 0.02, 25.0, 25.0
    loss, (q,) = losses.tilted_double_well()
    grad = numeric.gradient(loss, (q,))
    gibbs = fokker_planck.expectation_1d(fokker_planck.gibbs_density(loss, sp.Float(temperature)), q,
                                         sp.Piecewise((1, q < 0), (0, True)))
    curvature = [float(sp.diff(loss, q, 2).subs(q, point)) for point in (-1, 1)]
    grid = np.linspace(-2.5, 2.5, 1500)
    finite_step = stationary_density_on_grid(lambda z: grad(np, z[:, None])[:, 0], lr, temperature, grid)
    oracle = float(finite_step[grid < 0].sum())
    runner = Runner(run.impl, lr=lr, temperature=temperature, rng=run.noise(),
                    context="the tilted double well is confining; the chain is stable at this lr")
    burn, keep = int(round(burn_in / lr)), int(round(window / lr))
    inside = np.zeros(chains_n)

    def accumulate(step: int, theta: Any) -> None:
        if step > burn:
            inside[:] += to_numpy(theta)[:, 0] < 0

    chains.iterate(runner.step, lambda th: grad(run.xp, th), asarray(np.zeros((chains_n, 1)), run.xp), burn + keep,
                   accumulate)
    fraction = inside / keep
    estimate, se = float(fraction.mean()), float(fraction.std(ddof=1) / math.sqrt(chains_n))
    laplace = math.sqrt(curvature[1] / curvature[0])
    run.figure(Figure(
        title="Mass of the flat basin (x < 0) of the tilted double well", xlabel="", ylabel="P(x < 0)",
        series=[Series("SGLD occupation (95% CI)", [1.0], [estimate], yerr=[1.96 * se]),
                Series(f"exact at lr = {lr:g} ({oracle:.5f})", [0.5, 1.5], [oracle, oracle], style="line"),
                Series(f"Gibbs, mpmath ({gibbs:.5f})", [0.5, 1.5], [gibbs, gibbs], style="dashed"),
                Series(f"Laplace limit T -> 0 ({laplace / (1 + laplace):.5f})", [0.5, 1.5],
                       [laplace / (1 + laplace)] * 2, style="dashed")],
        caption="The flat basin carries more mass; the finite-lr law is the grid-exact stationary law of the chain."))
    run.verdict(
        stats.agreement("the flat basin has the larger Gibbs mass", gibbs > 0.5, True, test="mpmath quadrature"),
        stats.z_test("occupation of x < 0", estimate, se, oracle, run.level,
                     test=f"CLT over {chains_n} independent chains' time fractions (window {window:g})"))
