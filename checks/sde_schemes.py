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
    gbm_exact_sampler,
    gbm_exact_solution,
    ou_exact_sampler,
    scalar_fields,
)
from sgd_conformance.reports.model import Figure, Series
from sgd_conformance.solvers import sde
from sgd_conformance.solvers._xp import asarray, to_numpy
from sgd_conformance.solvers.rng import brownian_increments, coarsen
from sgd_conformance.theory import fokker_planck, ito, sde_models
from sgd_conformance.theory.symbols import a, mu, sigma, t, x, x0

HORIZON = 1.0
BLOCK = 20000  # paths per block of Brownian increments (memory stays bounded at any profile)


def _gbm() -> tuple[Any, Callable[[np.ndarray], Any]]:
    """Fields of geometric Brownian motion (mu = -1, sigma = 0.8, X0 = 1) and its exact X_T as a function of W_T."""
    return (scalar_fields(*ito.gbm_coefficients(), {mu: -1.0, sigma: 0.8}),
            gbm_exact_solution(-1.0, 0.8, 1.0, HORIZON))


def _path_errors(runner: Runner, fields: tuple[Callable[..., Any], Callable[..., Any]], start: float,
                 dW_fine: np.ndarray, levels: list[int], xp: Any) -> np.ndarray:
    """X_T of the scheme at each level (2^j steps), on one block of paths: shape ``(paths, levels)``."""
    finest = 2 ** max(levels)
    finals = []
    for j in levels:
        dW = asarray(coarsen(dW_fine, finest // 2**j), xp)
        x_start = asarray(np.full((dW_fine.shape[1], 1), start), xp)
        finals.append(to_numpy(sde.integrate(runner.sde_step, x_start, *fields, dW, HORIZON / 2**j))[:, 0])
    return np.column_stack(finals)


@claim(
    "sde.ito-weak-order", family="sde",
    statement="An Itô scheme converges weakly with order >= 1: for smooth f, E f(X^h_T) - E f(X_T) = O(h) with X "
              "the Itô solution (Euler–Maruyama: order exactly 1; its GBM mean is X0 (1 + mu h)^(T/h)). "
              "A scheme converging to the Stratonovich solution has a non-vanishing weak error.",
    hypotheses="geometric Brownian motion dX = mu X dt + sigma X dW (mu = -1, sigma = 0.8, X0 = 1) and "
               "Ornstein–Uhlenbeck dX = -a X dt + sigma dW (a = 1, sigma = 1, X0 = 2); T = 1; f(x) = x, x^2; "
               "h = 2^-3..2^-8 on one Brownian path per sample.",
    source="Kloeden & Platen (1992) Thm 14.5.1; the exact moments of geometric Brownian motion and the Euler–Maruyama "
           "mean (1 + mu h)^(T/h), derived here.",
    sizes={"quick": {"paths": 20000},
           "standard": {"paths": 100000},
           "thorough": {"paths": 400000}},
    mutants=("endpoint_diffusion", "increments_rescaled", "stochastic_heun"),
)
def scheme_converges_weakly_to_the_ito_solution(run: ClaimRun) -> None:
    """Weighted (GLS) fit of the weak errors over h to c0 + c1 h + c2 h^2: c0 = 0 and the model fits."""
    paths = run.sizes["paths"]
    levels = list(range(3, 9))
    hs = HORIZON / 2.0 ** np.array(levels)
    gbm_fields, gbm_exact = _gbm()
    ou_values = {a: 1.0, sigma: 1.0}
    ou_first, ou_second = (float(m.subs({**ou_values, x0: 2.0, t: HORIZON})) for m in ito.ou_moments_additive())
    problems: dict[str, tuple[Any, float, Callable[[np.ndarray], tuple[Any, Any]]]] = {
        "GBM": (gbm_fields, 1.0, lambda w: (gbm_exact(w), gbm_exact(w) ** 2)),
        "OU": (scalar_fields(-a * x, sigma, ou_values), 2.0, lambda _w: (ou_first, ou_second)),
    }
    level = stats.split(run.budget, 2 * 2 * len(problems))
    decisions = []
    design = np.column_stack([np.ones_like(hs), hs, hs**2])
    for name, (fields, start, reference) in problems.items():
        moments = {"E[X_T]": stats.Moments(), "E[X_T^2]": stats.Moments()}
        runner = Runner(run.impl, context=f"{name} is stable on [0, {HORIZON:g}] at every h used")
        for block in range(math.ceil(paths / BLOCK)):
            size = min(BLOCK, paths - block * BLOCK)
            dW = brownian_increments(run.stream(name, block, on_backend=False), steps=2 ** max(levels),
                                     chains=size, m=1, dt=HORIZON / 2 ** max(levels))
            finals = _path_errors(runner, fields, start, dW, levels, run.xp)
            exact_first, exact_second = reference(dW.sum(axis=0)[:, 0])
            moments["E[X_T]"].add(finals - np.reshape(exact_first, (-1, 1)))
            moments["E[X_T^2]"].add(finals**2 - np.reshape(exact_second, (-1, 1)))
        series = []
        for label, acc in moments.items():
            fit = stats.gls(design, acc.mean, acc.cov / acc.n)
            decisions.append(stats.coefficient_test(
                f"weak error of {label} extrapolated to h -> 0 ({name})", fit, 0, 0.0, level,
                test=f"GLS intercept of c0 + c1 h + c2 h^2 over h = 2^-{levels[0]}..2^-{levels[-1]}, {acc.n} coupled "
                     "paths" + (" (exact path as control variate)" if name == "GBM" else "")))
            decisions.append(stats.goodness_of_fit(
                f"weak error of {label} is smooth in h, order >= 1 ({name})", fit, level,
                test=f"chi-square of the GLS fit ({fit.dof} dof)"))
            se = np.sqrt(np.diag(acc.cov) / acc.n)
            series.append(Series(f"|error of {label}| (95% CI)", hs.tolist(), np.abs(acc.mean).tolist(),
                                 yerr=(1.96 * se).tolist()))
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
    gbm_fields, gbm_exact = _gbm()
    problems = {
        "GBM": (gbm_fields, 1.0, gbm_exact_sampler(gbm_exact, finest, HORIZON)),
        "OU": (scalar_fields(-a * x, sigma, {a: 1.0, sigma: 1.0}), 2.0,
               ou_exact_sampler(1.0, 1.0, 2.0, finest, HORIZON)),
    }
    level = stats.split(run.budget, len(problems))
    decisions = []
    for name, (fields, start, sampler) in problems.items():
        squared = stats.Moments()
        runner = Runner(run.impl, context=f"{name} is stable on [0, {HORIZON:g}] at every h used")
        for block in range(math.ceil(paths / BLOCK)):
            dW, exact = sampler(run.stream(name, block, on_backend=False), min(BLOCK, paths - block * BLOCK))
            squared.add((_path_errors(runner, fields, start, dW, levels, run.xp) - exact[:, None]) ** 2)
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
    level = stats.split(run.budget, 2)
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
