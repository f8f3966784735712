r"""Claims on one-step SDE integrators (family ``sde``) with time-dependent coefficients and with non-commutative noise
of more Brownian motions than dimensions (m = 3, d = 2).

The implementation is called as ``fn(x, t, dt, drift, diffusion, dW)`` with ``t`` the start of the step; here
``drift`` and ``diffusion`` depend on the time through the envelope :math:`e^{-3t}`
(:mod:`sgd_conformance.theory.time_dependent_sde`), so an integrator that reads another time (the time argument
ignored, ``t = 0``; a time offset of many steps, ``t + 1000 dt``) integrates another equation, and its error does not
vanish as h -> 0. A scheme that reads a time inside the step (``t + dt``, the midpoint, a stage time of a Runge–Kutta
scheme) is consistent: the difference :math:`b(x, t + \theta h) - b(x, t) = O(h)` adds :math:`O(h)` to the weak and
to the strong error, so it keeps the orders and no claim on orders or on the law as h -> 0 can tell it apart.

Paths are coupled across step sizes: the suite draws the Brownian increments on the finest grid and sums them
(:func:`solvers.rng.coarsen`), and measures the error against the solution on the same path: exact for the linear
SDEs (the Wiener integral drawn cell by cell jointly with the increments,
:func:`checks.oracles.sde_solutions.time_dependent_gbm_sampler`); for the non-commutative system, whose exact solution
needs the Lévy areas, the suite's Euler–Maruyama on grids 16 and 8 times finer than the finest tested, extrapolated
in the reference's step.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from sgd_conformance.checks.harness import profiles, stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.harness.impl import Runner
from sgd_conformance.checks.oracles.sde_solutions import (
    finals_across_levels,
    ou_euler_maruyama_moments,
    ou_time_dependent_moments,
    scalar_fields,
    time_dependent_gbm_sampler,
    vector_fields,
)
from sgd_conformance.reports.model import Figure, Series
from sgd_conformance.solvers import sde
from sgd_conformance.solvers._xp import asarray, to_numpy
from sgd_conformance.solvers.rng import brownian_increments, coarsen
from sgd_conformance.theory import time_dependent_sde
from sgd_conformance.theory.symbols import t, x, x0

HORIZON = 1.0
BLOCK = 20000  # paths per block of Brownian increments (memory stays bounded at any profile)
TIME_MUTANTS = ("coefficients_at_time_zero", "coefficients_at_t_plus_1000_dt")
GBM_TEXT = ("dX = a(t) X dt + b(t) X dW, a = -1 - 2 e^(-3t), b = 0.2 + 0.4 e^(-3t), X0 = 1, T = 1; exact path X0 "
            "exp(int (a - b^2/2) + int b dW), the Wiener integral drawn per fine cell jointly with the increment "
            "(Gaussian, covariances int b and int b^2)")


def _gbm_levels(run: ClaimRun, levels: list[int], label: str) -> tuple[np.ndarray, np.ndarray]:
    """X^h_T of the implementation at 2^j steps for j in ``levels`` on the time-dependent GBM, and the exact X_T on
    the same paths: shapes ``(paths, levels)`` and ``(paths,)``."""
    paths = run.sizes["paths"]
    sampler = time_dependent_gbm_sampler(1.0, 2 ** max(levels), HORIZON)
    fields = scalar_fields(*time_dependent_sde.gbm_fields(), {})
    runner = Runner(run.impl, context=f"the time-dependent GBM is stable on [0, {HORIZON:g}] at every h used")
    finals, exact = [], []
    for block in range(math.ceil(paths / BLOCK)):
        dW, solution = sampler(run.stream(label, block, on_backend=False), min(BLOCK, paths - block * BLOCK))
        finals.append(finals_across_levels(runner.sde_step, fields, np.ones(1), dW, levels, HORIZON, run.xp)[:, :, 0])
        exact.append(solution)
    return np.concatenate(finals), np.concatenate(exact)


def _strong_order(run: ClaimRun, what: str, levels: list[int], squared: np.ndarray, against: str) -> stats.Decision:
    r"""One-sided test of strong order >= 1/2: least-squares slope of :math:`\tfrac12\log\mathrm{MSE}` on
    :math:`(1, \log h, h)` (first-order correction) with the delta-method covariance of the coupled levels
    propagated (:func:`stats.sandwich_fit`: weights estimated from the same paths would correlate with the means they
    weigh, and Euler–Maruyama's order is exactly the bound here); a figure."""
    hs = HORIZON / 2.0 ** np.array(levels)
    mse = squared.mean(axis=0)
    cov = np.cov(squared.T) / squared.shape[0] / (4 * np.outer(mse, mse))
    fit = stats.sandwich_fit(np.column_stack([np.ones_like(hs), np.log(hs), hs]), 0.5 * np.log(mse), cov)
    rms = np.sqrt(mse)
    run.figure(Figure(
        title=f"Strong (RMS pathwise) error vs h: {what}", xlabel="h", ylabel="RMS |X^h_T - X_T|", xscale="log",
        yscale="log",
        series=[Series("implementation", hs.tolist(), rms.tolist()),
                Series("slope 1/2", hs.tolist(), (rms[0] * np.sqrt(hs / hs[0])).tolist(), style="dashed")],
        caption=f"Fitted order {fit.coef[1]:.3f} ± {fit.se(1):.3f}; coupled paths."))
    return stats.coefficient_test(
        f"strong order on {what} (slope of log RMS error on log h)", fit, 1, 0.5, run.level, alternative="greater",
        test=f"least-squares slope with a first-order correction over h = 2^-{levels[0]}..2^-{levels[-1]}, "
             f"{squared.shape[0]} coupled paths against {against}, one-sided (order >= 1/2)")


@claim(
    "sde.time-dependent-weak-order", family="sde",
    statement="An Itô scheme converges weakly with order >= 1 on an SDE with time-dependent drift and diffusion: "
              "E f(X^h_T) - E f(X_T) = O(h); a scheme that evaluates the coefficients at another time than the "
              "step's (t = 0, t + 1000 dt) converges to another equation (order 0).",
    hypotheses=f"time-dependent geometric Brownian motion {GBM_TEXT}; f(x) = x, x^2; h = 2^-3..2^-8 on one "
               "Brownian path per sample, the exact path as control variate; the order is the fitted slope of "
               "log|weak error| on log h (first-order correction), decided one-sided >= 1.",
    source="Kloeden & Platen (1992) Thm 14.5.1 and §4.4 (linear SDEs); Talay & Tubaro (1990); the exact solution "
           "is derived here (Itô's formula on log X, Wiener integrals).",
    sizes={"quick": {"paths": 20000},
           "standard": {"paths": 100000},
           "thorough": {"paths": 400000}},
    mutants=(*TIME_MUTANTS, "diffusion_frozen_at_start", "stochastic_heun"),
)
def scheme_converges_weakly_with_time_dependent_coefficients(run: ClaimRun) -> None:
    r"""Fitted weak order, one-sided >= 1, of E X_T and E X_T^2.

    As for ``sde.ito-weak-order``: the exact path on the same Brownian path is the control variate, so each sample's
    error has the size of the strong error and Euler–Maruyama's bias is resolved at every h (|error|/SE > 100 at the
    quick size); its leading coefficients come from the left-point time quadrature and the step itself,
    :math:`\log E X^h_T - \log E X_T = -\tfrac h2[\int_0^T a^2 + a(T) - a(0)] + O(h^2)`, and the fit of
    :math:`(1, \log h, h)` on its exact errors :math:`\prod_k(1 + a(t_k)h) - e^{\int a}` returns p within 5e-3 of 1.
    """
    levels = list(range(3, 9))
    hs = HORIZON / 2.0 ** np.array(levels)
    finals, exact = _gbm_levels(run, levels, "paths")
    level = stats.split(run.level, 2)
    design = np.column_stack([np.ones_like(hs), np.log(hs), hs])
    decisions, series = [], []
    for label, power in (("E[X_T]", 1), ("E[X_T^2]", 2)):
        samples = finals**power - exact[:, None] ** power
        error, cov = stats.mean_cov_of_log(samples)
        fit = stats.sandwich_fit(design, np.log(np.abs(error)), cov)
        decisions.append(stats.coefficient_test(
            f"weak order of {label} (slope of log|weak error| on log h)", fit, 1, 1.0, level,
            test=f"least-squares slope with a first-order correction over h = 2^-{levels[0]}..2^-{levels[-1]}, "
                 f"{samples.shape[0]} coupled paths, exact path as control variate, one-sided (order >= 1)",
            alternative="greater"))
        se = samples.std(axis=0, ddof=1) / math.sqrt(samples.shape[0])
        series.append(Series(f"|error of {label}| (95% CI), order {fit.coef[1]:.3f} ± {fit.se(1):.3f}", hs.tolist(),
                             np.abs(error).tolist(), yerr=(1.96 * se).tolist()))
    series.append(Series("slope 1", hs.tolist(), (abs(series[0].y[0]) * hs / hs[0]).tolist(), style="dashed"))
    run.figure(Figure(title="Weak error vs h, time-dependent GBM", xlabel="h", ylabel="|E f(X^h_T) - E f(X_T)|",
                      xscale="log", yscale="log", series=series,
                      caption="A scheme reading the wrong time levels off: it integrates another equation."))
    run.verdict(*decisions)


@claim(
    "sde.time-dependent-strong-order", family="sde",
    statement="An Itô scheme converges strongly with order >= 1/2 on an SDE with time-dependent drift and "
              "multiplicative diffusion: (E|X^h_T - X_T|^2)^(1/2) = O(h^(1/2)) against the exact Itô solution on the "
              "same Brownian path; a scheme that reads another time than the step's does not converge.",
    hypotheses=f"time-dependent geometric Brownian motion {GBM_TEXT}; h = 2^-3..2^-9 from one fine Brownian path.",
    source="Kloeden & Platen (1992) Thm 10.2.2 and §4.4; Glasserman (2004) §3.3 (exact sampling of Wiener "
           "integrals); derived here.",
    sizes={"quick": {"paths": 4000},
           "standard": {"paths": 20000},
           "thorough": {"paths": 100000}},
    mutants=(*TIME_MUTANTS, "first_chain_diffusion", "increments_scaled_by_h", "own_noise"),
)
def scheme_converges_strongly_with_time_dependent_coefficients(run: ClaimRun) -> None:
    """Slope of log RMS error on log h (first-order correction), one-sided >= 1/2."""
    levels = list(range(3, 10))
    finals, exact = _gbm_levels(run, levels, "paths")
    run.verdict(_strong_order(run, "time-dependent GBM", levels, (finals - exact[:, None]) ** 2, "the exact path"))


OU_TIMES = np.array([0.5, 1.0])
OU_DT = 2.0**-11


@claim(
    "sde.time-dependent-ou-moments", family="sde",
    statement="An Itô scheme reproduces the moments of the time-inhomogeneous Ornstein–Uhlenbeck process dX = "
              "(alpha(t) - beta(t) X) dt + s(t) dW (a Gaussian process, so they are its law): mean m(t) = Phi(t) "
              "(X0 + int alpha/Phi), variance v(t) = Phi(t)^2 int s^2/Phi^2 and Cov(X_r, X_t) = Phi(t) v(r)/Phi(r), "
              "Phi = exp(-int beta), up to its weak error O(dt).",
    hypotheses="alpha = 4 (1 - e^(-3t)), beta = 2/(1 + t), s = 0.5 + e^(-3t), X0 = 0; the implementation steps with "
               "dt = 2^-11 to t = 1/2 and 1; E X_r, E X_t, E X_r^2, E X_r X_t, E X_t^2 against the closed forms "
               "(z per entry, CLT standard errors, Bonferroni); Euler–Maruyama's exact bias at this dt is < 0.17 "
               "standard error at the thorough size (in the decision's details).",
    source="Kloeden & Platen (1992) §4.2 (linear SDEs, variation of constants); derived here.",
    sizes={"quick": {"chains": 4000},
           "standard": {"chains": 16000},
           "thorough": {"chains": 64000}},
    mutants=(*TIME_MUTANTS, "diffusion_frozen_at_start", "increments_rescaled"),
)
def scheme_reproduces_the_time_inhomogeneous_ou_moments(run: ClaimRun) -> None:
    """CLT z-tests of the first and second moments at two times against the exact moments; the exact Euler–Maruyama
    moments at the same dt bound the discretisation bias (reported in standard errors of the thorough size)."""
    chains = run.sizes["chains"]
    mean, cov = ou_time_dependent_moments(0.0, OU_TIMES)
    em_mean, em_cov = ou_euler_maruyama_moments(0.0, OU_TIMES, OU_DT)
    pairs = [(0, 0), (0, 1), (1, 1)]

    def raw(m: np.ndarray, c: np.ndarray) -> np.ndarray:
        return np.concatenate([m, [c[i, j] + m[i] * m[j] for i, j in pairs]])

    at = {int(round(v / OU_DT)): i for i, v in enumerate(OU_TIMES)}
    snapshots = sde.Snapshots(at)
    runner = Runner(run.impl, context="the linear SDE has Gaussian marginals of bounded variance on [0, 1]")
    alpha, beta, noise = time_dependent_sde.ou_coefficients()
    increments = sde.brownian_blocks(lambda first: run.stream("paths", first, on_backend=False), rows=chains, m=1,
                                     dt=OU_DT, xp=run.xp)
    sde.drive(runner.sde_step, asarray(np.zeros((chains, 1)), run.xp), *scalar_fields(alpha - beta * x, noise, {}),
              increments, steps=max(at), dt=OU_DT, block=sde.block_length(sde.BLOCK_FLOATS, chains, 1),
              observe=snapshots)
    values = np.column_stack([snapshots[k][:, 0] for k in sorted(at)])
    samples = np.column_stack([values, *(values[:, i] * values[:, j] for i, j in pairs)])
    measured = samples.mean(axis=0)
    se = samples.std(axis=0, ddof=1) / math.sqrt(chains)
    thorough = int(profiles.get("thorough").sizes(run.id)["chains"])
    bias_in_se = float(np.max(np.abs(raw(em_mean, em_cov) - raw(mean, cov)) / (se * math.sqrt(chains / thorough))))
    grid = np.linspace(0.0, 1.0, 41)
    mean_expr, variance_expr, _ = time_dependent_sde.ou_moments()
    curve = [float(mean_expr.subs({x0: 0, t: v})) for v in grid]
    spread = [math.sqrt(float(variance_expr.subs(t, v))) for v in grid]
    run.figure(Figure(
        title="Time-inhomogeneous OU: mean and standard deviation", xlabel="t", ylabel="X_t",
        series=[Series("exact mean", grid.tolist(), curve, style="line"),
                Series("exact mean + sd", grid.tolist(), (np.array(curve) + spread).tolist(), style="dashed"),
                Series("implementation mean (95% CI)", OU_TIMES.tolist(), measured[:2].tolist(),
                       yerr=(1.96 * se[:2]).tolist())],
        caption=f"{chains} chains, dt = 2^-11; Euler–Maruyama's exact bias is {bias_in_se:.3f} standard errors of "
                "the thorough size."))
    decision = stats.z_test("E X_r, E X_t, E X_r^2, E X_r X_t, E X_t^2 at r = 1/2, t = 1", measured, se,
                            raw(mean, cov), run.level,
                            test=f"CLT per entry over {chains} chains (Bonferroni over 5), exact closed forms")
    run.verdict(dataclasses.replace(decision, details={**decision.details, "em_bias_in_thorough_se": bias_in_se}))


NONCOMMUTATIVE_START = np.array([1.0, -0.5])
REFERENCE_LEVEL = 12
REFERENCE_BLOCK = 1000  # paths per block: 2^12 x 1000 x 3 increments, 98 MB


@claim(
    "sde.noncommutative-strong-order", family="sde",
    statement="With non-commutative noise and more Brownian motions than dimensions (d = 2, m = 3, diffusion not "
              "diagonal, L^j sigma_k != L^k sigma_j) Euler–Maruyama, and every Itô scheme driven by the increments "
              "alone, converges strongly with order 1/2: the implementation's order is >= 1/2 against the solution on "
              "the same Brownian path; contracting the diffusion with dW over the wrong index does not converge.",
    hypotheses="dX = -c(t) X dt + sigma(X, t) dW, sigma = [[q, sin x1, 0.6 cos x0], [cos x1, q, sin x0]], "
               "q = 0.4 (1 + e^(-3t)), c = 0.5 + e^(-3t), X0 = (1, -0.5), T = 1; h = 2^-3..2^-8; no closed form (the "
               "exact solution needs the Lévy areas): the reference is the suite's Euler–Maruyama on the same path "
               "at h_r = 2^-12 and 2^-11, its own error removed to first order by extrapolating the mean-square error "
               "in h_r (2 E|X^h - R_(h_r)|^2 - E|X^h - R_(2 h_r)|^2).",
    source="Kloeden & Platen (1992) Thm 10.2.2 and §10.3 (commutative noise); Clark & Cameron (1980) (order 1/2 is "
           "the best from the increments alone); derived here.",
    sizes={"quick": {"paths": 2000},
           "standard": {"paths": 8000},
           "thorough": {"paths": 32000}},
    mutants=(*TIME_MUTANTS, "first_chain_diffusion", "diffusion_reshaped_not_transposed", "stochastic_heun"),
)
def scheme_converges_strongly_with_noncommutative_noise(run: ClaimRun) -> None:
    r"""Slope of log RMS error (Euclidean norm) on log h against the fine coupled reference, one-sided >= 1/2.

    The reference R on a grid of step :math:`h_r` has its own error, and for nested grids
    :math:`E|X^h - R_{h_r}|^2 = E|X^h - X|^2 + \kappa h_r + o(h_r)`: the reference's mean-square error and its
    covariance with the scheme's error are both proportional to :math:`h_r` (the leading error terms are martingale
    sums over the fine cells), with a :math:`\kappa` of either sign that depends on the scheme (Euler–Maruyama's error
    contains the reference's, a Milstein scheme's does not). Against one reference at 2^-12 the fitted order over
    2^-3..2^-8 moves by +0.014 (Euler–Maruyama) and -0.009 (derivative-free Milstein without Lévy areas) against a
    reference at 2^-14; the extrapolation :math:`2E|X^h - R_{h_r}|^2 - E|X^h - R_{2h_r}|^2`, per path, removes the
    :math:`\kappa h_r` term for every scheme (measured: -0.001 and +0.007 +- 0.004 against the 2^-14 reference), and its
    extra variance is in the per-path samples the standard errors come from. Euler–Maruyama's order is exactly 1/2
    here (its local slopes are 0.52, 0.51, 0.50, 0.50, 0.51 on 32000 pooled paths), so on it the one-sided test sits at
    its boundary and rejects at its level; a scheme with extra order-1 error terms (Milstein without Lévy areas)
    fits above 1/2.
    """
    paths = run.sizes["paths"]
    levels = list(range(3, 9))
    fine = 2**REFERENCE_LEVEL
    fields = vector_fields(*time_dependent_sde.noncommutative_fields(), time_dependent_sde.STATE)
    runner = Runner(run.impl, context="the SDE has bounded Lipschitz coefficients: stable at every h used")
    squared = []
    for block in range(math.ceil(paths / REFERENCE_BLOCK)):
        size = min(REFERENCE_BLOCK, paths - block * REFERENCE_BLOCK)
        dW = brownian_increments(run.stream("paths", block, on_backend=False), steps=fine, chains=size, m=3,
                                 dt=HORIZON / fine)
        finals = finals_across_levels(runner.sde_step, fields, NONCOMMUTATIVE_START, dW, levels, HORIZON, run.xp)
        start = asarray(np.tile(NONCOMMUTATIVE_START, (size, 1)), run.xp)
        reference, half = (to_numpy(sde.integrate(sde.euler_maruyama, start, *fields, asarray(coarsen(dW, f), run.xp),
                                                  f * HORIZON / fine))[:, None, :] for f in (1, 2))
        squared.append(2 * np.sum((finals - reference) ** 2, axis=-1) - np.sum((finals - half) ** 2, axis=-1))
    run.verdict(_strong_order(
        run, "non-commutative noise, d = 2, m = 3", levels, np.concatenate(squared),
        f"Euler–Maruyama at h = 2^-{REFERENCE_LEVEL} and 2^-{REFERENCE_LEVEL - 1} on the same path (extrapolated)"))
