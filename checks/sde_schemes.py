r"""Claims on one-step SDE integrators (family ``sde``): Itô weak order >= 1, strong order >= 1/2, and the Itô
Fokker–Planck law.

An implementation is called as ``fn(x, t, dt, drift, diffusion, dW)``; the suite supplies the Brownian
increments, summed from the finest grid, so every step size integrates the same Brownian path and the errors are
measured against the exact Itô solution driven by that path (:mod:`sgd_conformance.checks.oracles.sde_solutions`).
For :math:`dx = -g\,dt + \sqrt{2D}\,dW` the density solves :math:`\partial_t p = \nabla\cdot[g p + \nabla\cdot(D p)]`;
zero flux of it gives the stationary law an Itô integrator must reach.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp
from scipy import stats as sps

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.harness.impl import Runner
from sgd_conformance.checks.oracles.sde_solutions import (
    finals_across_levels,
    gbm_exact_sampler,
    gbm_exact_solution,
    ou_exact_sampler,
    scalar_fields,
)
from sgd_conformance.reports.model import Figure, Series
from sgd_conformance.solvers import sde
from sgd_conformance.solvers._xp import asarray, to_numpy
from sgd_conformance.solvers.rng import brownian_increments
from sgd_conformance.theory import fokker_planck, ito, sde_models
from sgd_conformance.theory.symbols import a, mu, sigma, x

HORIZON = 1.0
BLOCK = 20000  # paths per block of Brownian increments (memory stays bounded at any profile)


def _gbm(drift_rate: float, volatility: float) -> tuple[Any, Callable[[np.ndarray], Any]]:
    """Fields of geometric Brownian motion (X0 = 1) and its exact X_T as a function of W_T."""
    return (scalar_fields(*ito.gbm_coefficients(), {mu: drift_rate, sigma: volatility}),
            gbm_exact_solution(drift_rate, volatility, 1.0, HORIZON))


def _finals(runner: Runner, fields: tuple[Callable[..., Any], Callable[..., Any]], start: float,
            dW_fine: np.ndarray, levels: list[int], xp: Any) -> np.ndarray:
    """X_T of the scheme at each level (2^j steps), on one block of paths: shape ``(paths, levels)``."""
    return finals_across_levels(runner.sde_step, fields, np.array([start]), dW_fine, levels, HORIZON, xp)[:, :, 0]


WEAK_GBM = (-1.0, 0.3)  #: (mu, sigma) of the weak-order GBM: Euler–Maruyama's bias resolved at every h (docstring)


@claim(
    "sde.ito-weak-order", family="sde",
    statement="An Itô scheme converges weakly with order >= 1: for smooth f, E f(X^h_T) - E f(X_T) = O(h) with X "
              "the Itô solution (Euler–Maruyama: order exactly 1; its GBM mean is X0 (1 + mu h)^(T/h)). "
              "A scheme converging to the Stratonovich solution has a non-vanishing weak error (order 0).",
    hypotheses="geometric Brownian motion dX = mu X dt + sigma X dW (mu = -1, sigma = 0.3, X0 = 1) and "
               "Ornstein–Uhlenbeck dX = -a X dt + sigma dW (a = 1, sigma = 1, X0 = 2); T = 1; f(x) = x, x^2 on GBM, "
               "x^2 on OU (the OU mean does not see the noise); "
               "h = 2^-3..2^-8 on one Brownian path per sample, the exact Itô path on it as control variate; the "
               "order is the fitted slope of log|weak error| on log h (first-order correction), decided one-sided "
               ">= 1.",
    source="Kloeden & Platen (1992) Thm 14.5.1; Talay & Tubaro (1990) (the expansion E f(X^h) - E f(X) = C h + "
           "O(h^2)); the exact moments of geometric Brownian motion and the Euler–Maruyama mean "
           "(1 + mu h)^(T/h), derived here.",
    sizes={"quick": {"paths": 20000},
           "standard": {"paths": 100000},
           "thorough": {"paths": 400000}},
    mutants=("endpoint_diffusion", "increments_rescaled", "stochastic_heun"),
)
def scheme_converges_weakly_to_the_ito_solution(run: ClaimRun) -> None:
    r"""Fitted weak order, one-sided >= 1, of E X_T and E X_T^2 on GBM and of E X_T^2 on OU.

    The weak error :math:`e(h) = E[f(X^h_T) - f(X_T)]` is estimated with the exact Itô path :math:`X_T` on the same
    Brownian path as control variate: each sample's difference has the size of the *strong* error (:math:`O(h^{1/2})`,
    and :math:`O(h)` for additive noise), not of :math:`f(X_T)`, so its Monte Carlo standard error is
    :math:`O(\sqrt{h/N})` while the bias is :math:`O(h)`. A slope needs the bias resolved at every h: the
    delta-method variance of :math:`\log|\bar e|` is :math:`\mathrm{Var}\,\bar e/\bar e^2`, meaningful only when
    :math:`|\bar e|` is many standard errors. GBM with :math:`\mu = -1, \sigma = 0.3` makes both of Euler–Maruyama's
    leading coefficients large, :math:`-\mu^2 T e^{\mu T}/2` for E X and :math:`T[\mu^2 - (2\mu + \sigma^2)^2/2]
    e^{(2\mu + \sigma^2)T}` for E X^2 (at :math:`\sigma = 0.8` the latter nearly cancels, 0.075, and the E X^2 error is
    under one standard error): at the quick size the smallest |error|/SE is about 45 (GBM) and 60 (OU), so the slope
    is determined to 0.003-0.01. Under Talay–Tubaro :math:`\log|e| = \log C + p\log h + \kappa h + O(h^2)`; the
    least-squares fit of :math:`(1, \log h, h)` estimates p, with the covariance of the coupled levels propagated
    (:func:`stats.sandwich_fit`: Euler–Maruyama's order is exactly the bound, and weights estimated from the same
    paths correlate with the means they weigh); on Euler–Maruyama's exact errors it returns p within 1e-3 of 1 here.
    A scheme converging to another equation (Stratonovich, backward Itô, scaled noise) has
    :math:`e(h) \to C_0 \ne 0`: slope 0.
    """
    paths = run.sizes["paths"]
    levels = list(range(3, 9))
    finest = 2 ** max(levels)
    hs = HORIZON / 2.0 ** np.array(levels)
    gbm_fields, gbm_exact = _gbm(*WEAK_GBM)
    problems = {
        "GBM": (gbm_fields, 1.0, gbm_exact_sampler(gbm_exact, finest, HORIZON), (1, 2)),
        "OU": (scalar_fields(-a * x, sigma, {a: 1.0, sigma: 1.0}), 2.0,
               ou_exact_sampler(1.0, 1.0, 2.0, finest, HORIZON), (2,)),
    }
    level = stats.split(run.level, sum(len(powers) for *_, powers in problems.values()))
    design = np.column_stack([np.ones_like(hs), np.log(hs), hs])
    decisions = []
    for name, (fields, start, sampler, powers) in problems.items():
        moments = {power: stats.Moments() for power in powers}
        runner = Runner(run.impl, context=f"{name} is stable on [0, {HORIZON:g}] at every h used")
        for block in range(math.ceil(paths / BLOCK)):
            dW, exact = sampler(run.stream(name, block, on_backend=False), min(BLOCK, paths - block * BLOCK))
            finals = _finals(runner, fields, start, dW, levels, run.xp)
            for power, acc in moments.items():
                acc.add(finals**power - exact[:, None] ** power)
        series = []
        for power, acc in moments.items():
            label, error = ("E[X_T]", "E[X_T^2]")[power - 1], acc.mean
            fit = stats.sandwich_fit(design, np.log(np.abs(error)), acc.cov / acc.n / np.outer(error, error))
            decisions.append(stats.coefficient_test(
                f"weak order of {label} on {name} (slope of log|weak error| on log h)", fit, 1, 1.0, level,
                test=f"least-squares slope with a first-order correction over h = 2^-{levels[0]}..2^-{levels[-1]}, "
                     f"{acc.n} coupled paths, exact path as control variate, one-sided (order >= 1)",
                alternative="greater"))
            se = np.sqrt(np.diag(acc.cov) / acc.n)
            series.append(Series(f"|error of {label}| (95% CI), order {fit.coef[1]:.3f} ± {fit.se(1):.3f}",
                                 hs.tolist(), np.abs(error).tolist(), yerr=(1.96 * se).tolist()))
        ref = max(abs(s.y[0]) for s in series)
        series.append(Series("slope 1", hs.tolist(), (ref * hs / hs[0]).tolist(), style="dashed"))
        run.figure(Figure(title=f"Weak error vs h ({name})", xlabel="h", ylabel="|E f(X^h_T) - E f(X_T)|",
                          xscale="log", yscale="log", series=series,
                          caption="Weak order 1 to the Itô solution; a Stratonovich scheme levels off."))
    run.verdict(*decisions)


@claim(
    "sde.ito-strong-order", family="sde",
    statement="An Itô scheme converges strongly with order >= 1/2: (E|X^h_T - X_T|^2)^(1/2) = O(h^(1/2)) with X_T "
              "the exact Itô solution driven by the same Brownian path (Euler–Maruyama: 1/2 on multiplicative "
              "noise, 1 on additive noise).",
    hypotheses="geometric Brownian motion dX = mu X dt + sigma X dW, mu = -1, sigma = 0.8, X0 = 1, exact path "
               "X0 exp((mu - sigma^2/2) T + sigma W_T); Ornstein–Uhlenbeck dX = -a X dt + sigma dW, a = 1, "
               "sigma = 1, X0 = 2, exact path from the joint law of each fine cell's (dW, int e^(-a(h-s)) dW); "
               "T = 1; h = 2^-3..2^-9 from one fine Brownian path.",
    source="Kloeden & Platen (1992) Thm 10.2.2; Glasserman (2004) §3.3 (exact OU).",
    sizes={"quick": {"paths": 4000},
           "standard": {"paths": 20000},
           "thorough": {"paths": 100000}},
    mutants=("endpoint_diffusion", "increments_scaled_by_h", "stochastic_heun"),
)
def scheme_converges_strongly_with_order_one_half(run: ClaimRun) -> None:
    """GLS slope of log RMS error on log h (delta-method covariance across coupled levels), one-sided >= 1/2."""
    paths = run.sizes["paths"]
    levels = list(range(3, 10))
    finest = 2 ** max(levels)
    hs = HORIZON / 2.0 ** np.array(levels)
    gbm_fields, gbm_exact = _gbm(-1.0, 0.8)
    problems = {
        "GBM": (gbm_fields, 1.0, gbm_exact_sampler(gbm_exact, finest, HORIZON)),
        "OU": (scalar_fields(-a * x, sigma, {a: 1.0, sigma: 1.0}), 2.0,
               ou_exact_sampler(1.0, 1.0, 2.0, finest, HORIZON)),
    }
    level = stats.split(run.level, len(problems))
    decisions = []
    for name, (fields, start, sampler) in problems.items():
        squared = stats.Moments()
        runner = Runner(run.impl, context=f"{name} is stable on [0, {HORIZON:g}] at every h used")
        for block in range(math.ceil(paths / BLOCK)):
            dW, exact = sampler(run.stream(name, block, on_backend=False), min(BLOCK, paths - block * BLOCK))
            squared.add((_finals(runner, fields, start, dW, levels, run.xp) - exact[:, None]) ** 2)
        mse = squared.mean
        cov = squared.cov / squared.n / (4 * np.outer(mse, mse))
        fit = stats.gls(np.column_stack([np.ones_like(hs), np.log(hs), hs]), 0.5 * np.log(mse), cov)
        rms = np.sqrt(mse)
        run.figure(Figure(
            title=f"Strong (RMS pathwise) error vs h on {name}", xlabel="h", ylabel="RMS |X^h_T - X_T|",
            xscale="log", yscale="log",
            series=[Series("scheme", hs.tolist(), rms.tolist()),
                    Series("slope 1/2", hs.tolist(), (rms[0] * np.sqrt(hs / hs[0])).tolist(), style="dashed"),
                    Series("slope 1", hs.tolist(), (rms[0] * hs / hs[0]).tolist(), style="dashed")],
            caption=f"Fitted order {fit.coef[1]:.3f} ± {fit.se(1):.3f}; exact Itô path from the same increments."))
        decisions.append(stats.coefficient_test(
            f"strong order on {name} (slope of log RMS error on log h)", fit, 1, 0.5, level,
            test=f"GLS slope with a first-order correction over h = 2^-{levels[0]}..2^-{levels[-1]}, {squared.n} "
                 "coupled paths, one-sided (order >= 1/2)", alternative="greater"))
    run.verdict(*decisions)


@claim(
    "lecture.fokker-planck-form", family="sde",
    statement="For the Itô SDE dx = -g dt + sqrt(2D) dW the density solves d_t p = div[g p + div(D p)]; the lecture's "
              "div[g p + D grad p] holds for constant D only. For the multiplicative SDE d delta = -h delta dt + "
              "sqrt(gamma (2 h^2 delta^2 + s^2 h)) dW the stationary law (zero Itô flux) is exactly a scaled Student-t "
              "with nu = 1 + 1/(gamma h) (the lecture's form would give nu - 2), and an Itô integrator reaches it.",
    hypotheses="h = s = 1, gamma = 0.2: nu = 6, scale 1/sqrt(12); the implementation steps from delta_0 = 0 to "
               "T = 10 (relaxation e^(-hT)) with dt = 1e-3 on increments supplied by the suite; one-sample KS "
               "against the exact Student-t CDF.",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) ('Reminder (Feynman–Kac): dx = -g"
           " dt + sqrt(2D) dW => d_t p = div[g p + D grad p]'); Schertzer & Pillaud-Vivien, JMLR 27 (2026) (arXiv "
           "2407.02322), population SDE (12); Risken, The Fokker–Planck Equation (1989); the Student-t invariant law of"
           " this Pearson diffusion (Forman & Sørensen, Scand. J. Statist. 2008) derived here.",
    seed_wording="'Reminder (Feynman–Kac): dx = -g dt + sqrt(2D) dW => d_t p = div[g p + D grad p]'. The equation is "
                 "the Fokker–Planck (forward Kolmogorov) equation, and this form is right only for constant D; "
                 "for state-dependent D it is div[g p + div(D p)].",
    sizes={"quick": {"chains": 4000},
           "standard": {"chains": 16000},
           "thorough": {"chains": 64000}},
    mutants=("endpoint_diffusion", "increments_rescaled", "stochastic_heun"),
)
def multiplicative_sde_reaches_the_ito_fokker_planck_law(run: ClaimRun) -> None:
    """Symbolic zero flux of the Student-t law (and non-zero seed-form flux); KS of the simulated law."""
    chains_n = run.sizes["chains"]
    values = {sde_models.h: 1, sde_models.s: 1, sde_models.gamma: sp.Rational(1, 5)}
    drift, diffusion_squared = sde_models.population_least_squares_1d()
    density = fokker_planck.invariant_density_1d(drift, diffusion_squared, x)
    nu, scale = (float(v.subs(values)) for v in fokker_planck.student_t_parameters(density, x))
    seed_density = fokker_planck.seed_form_invariant_density_1d(drift, diffusion_squared, x)
    seed_nu, seed_scale = (float(v.subs(values)) for v in fokker_planck.student_t_parameters(seed_density, x))
    horizon, dt, block = 10.0, 1e-3, 1000
    level = stats.split(run.level, 2)
    fields = scalar_fields(drift, sp.sqrt(diffusion_squared), values)
    runner = Runner(run.impl, context="the SDE has a stationary law with finite variance (nu = 6 > 2)")
    state = asarray(np.zeros((chains_n, 1)), run.xp)
    steps = int(round(horizon / dt))
    for first in range(0, steps, block):
        dW = asarray(brownian_increments(run.stream(first, on_backend=False), steps=block, chains=chains_n, m=1,
                                         dt=dt), run.xp)
        state = sde.integrate(runner.sde_step, state, *fields, dW, dt, t0=first * dt)
    final = to_numpy(state)[:, 0]
    law = sps.t(df=nu, scale=scale)
    observable = x**2 / (x**2 + sp.Float(scale) ** 2)
    expected = fokker_planck.expectation_1d(density.subs(values), x, observable, breakpoints=(-scale, 0.0, scale))
    bounded = final**2 / (final**2 + scale**2)
    edges = np.linspace(-1.5, 1.5, 61)
    hist, _ = np.histogram(final, bins=edges, density=True)
    grid = np.linspace(-1.5, 1.5, 300)
    run.figure(Figure(
        title="Stationary law of the 1-D least-squares SDE", xlabel="delta", ylabel="density", yscale="log",
        series=[Series("implementation at T = 10", edges.tolist(), hist.tolist(), style="hist"),
                Series(f"Itô: Student-t, nu = {nu:g}", grid.tolist(), law.pdf(grid).tolist(), style="line"),
                Series(f"lecture's form: nu = {seed_nu:g}", grid.tolist(),
                       sps.t(df=seed_nu, scale=seed_scale).pdf(grid).tolist(), style="dashed")],
        caption="Zero Itô flux gives the Student-t law; the lecture's D grad p form drops p grad D."))
    run.verdict(
        stats.agreement("Itô flux b p - (1/2) d(sigma^2 p)/dx of the derived density",
                        fokker_planck.ito_flux_1d(drift, diffusion_squared, density, x), 0, test="sympy"),
        stats.agreement("the lecture's flux b p - (sigma^2/2) dp/dx vanishes for the Itô density",
                        sp.simplify(fokker_planck.seed_form_flux_1d(drift, diffusion_squared, density, x)) == 0,
                        False, test="sympy: the lecture's form is wrong for state-dependent D"),
        stats.agreement("the lecture's form predicts nu", seed_nu, 4.0, test="sympy: zero flux of the lecture's form"),
        stats.agreement("degrees of freedom nu = 1 + 1/(gamma h) at gamma = 0.2, h = 1", nu, 6.0,
                        test="sympy: match to (1 + x^2/(nu c^2))^(-(nu+1)/2)"),
        stats.ks_test(f"law of delta_T vs Student-t(nu = {nu:g}, scale {scale:.4g})", final, law.cdf, level),
        stats.z_test(f"E[f(delta_T)], f = delta^2/(delta^2 + c^2), c = {scale:.4g}", bounded.mean(),
                     bounded.std(ddof=1) / math.sqrt(chains_n), expected, level,
                     test=f"CLT interval over {chains_n} chains for a bounded f (mpmath quadrature of the exact law)"),
    )
