"""Heavy tails of the least-squares SDE (family ``sde``) and the different tail of discrete online SGD (family
``sgd``), Schertzer & Pillaud-Vivien (JMLR 2026, arXiv 2407.02322) and Gürbüzbalaban, Şimşekli & Zhu (2021).

The exact facts come from :mod:`theory.tails` (sympy/mpmath/scipy quadrature) and
:mod:`checks.oracles.lsq_sde_tails`; the simulations run the implementation under test: an Itô step of the 1-D
population SDE (``sde``, driven by :func:`solvers.sde.drive`) and online SGD with the suite's fresh samples (``sgd``).
Tail indices are estimated by Hill's statistic against its exact law given N and k (under the SDE's Student-t law,
and under online SGD's iterate law computed without sampling), so Hill's finite-k bias does not enter the tests.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import sympy as sp
from scipy import stats as sps

from sgd_conformance.checks.harness import profiles, stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.harness.impl import Runner
from sgd_conformance.checks.oracles import tails as tail_oracle
from sgd_conformance.checks.oracles.lsq_sde_tails import population_moment_model, sgd_moments_after
from sgd_conformance.checks.oracles.sde_solutions import scalar_fields
from sgd_conformance.reports.model import Figure, Series
from sgd_conformance.solvers import chains, sde
from sgd_conformance.solvers._xp import asarray, to_numpy
from sgd_conformance.solvers.lsq_sde import online_gradients
from sgd_conformance.theory import fokker_planck, numeric, sde_models, sgd_moments, tails
from sgd_conformance.theory.symbols import t, x

HEAVY_TAIL = "lsq-sde.heavy-tail"
TAIL_MISMATCH = "lsq-sde.sde-vs-sgd-tail-mismatch"
SDE_VALUES = {sde_models.h: 1, sde_models.s: 1, sde_models.gamma: sp.Rational(1, 5)}
HORIZON, DT = 6.0, 1e-3  # relaxation e^(-lambda_2 T) = e^(-9.6); EM at dt: see the at_most decisions
HILL_SHARE = 10  # Hill on the top N/10 of |delta_T| (threshold in the tail: local log-slope > 2)
BLOCK_DRAWS = 4_000_000  # Brownian increments per block (memory stays bounded at any profile)
#: Kesten roots (batch, gamma) -> tail index, reference values pinned to rtol 1e-3
CATALOG_SGD_TAIL = {(1, 0.5): 2.904, (1, 0.3): 5.306, (1, 0.2): 8.303, (1, 0.1): 17.29, (4, 0.5): 9.978}
CATALOG_SDE_TAIL = {(1, 0.5): 3.0, (1, 0.3): 4.333, (1, 0.2): 6.0, (1, 0.1): 11.0, (4, 0.5): 9.0}
KESTEN_LR, KESTEN_STEPS = 1.0, 300  # the tail decision: alpha_SGD = 1.091 vs the SDE's 2
#: Hill on the top N/m: the smallest m here whose exact bias under the Kesten law is < 0.1 sd at the thorough size
KESTEN_SHARES = (10, 15, 20, 25, 30, 40, 50, 100)


def _simulate_sde(run: ClaimRun, runner: Runner, fields: tuple[sde.Field, sde.Field], chains_n: int) -> np.ndarray:
    """delta_T of ``chains_n`` independent chains from delta_0 = 0, one implementation call per time step; block k of
    increments from the stream named by its first step."""
    drift, diffusion = fields
    increments = sde.brownian_blocks(lambda first: run.stream(first, on_backend=False), rows=chains_n, m=1, dt=DT,
                                     xp=run.xp)
    state = sde.drive(runner.sde_step, asarray(np.zeros((chains_n, 1)), run.xp), drift, diffusion, increments,
                      steps=int(round(HORIZON / DT)), dt=DT, block=sde.block_length(BLOCK_DRAWS, chains_n, 1))
    return to_numpy(state)[:, 0]


def _survival_series(sample: np.ndarray, label: str, points: int = 200) -> Series:
    """Empirical survival of ``sample`` (> 0) at log-spaced ranks, for log-log plots."""
    ordered = np.sort(sample)[::-1]
    ranks = np.unique(np.geomspace(1, ordered.size, points).astype(int))
    return Series(label, ordered[ranks - 1].tolist(), (ranks / ordered.size).tolist())


@claim(
    HEAVY_TAIL, family="sde",
    statement="For the Itô SDE d delta = -h delta dt + sqrt(gamma (v delta^2 + 2 w delta + c)) dB (positive "
              "diffusion) the invariant law has E|delta|^q < oo exactly for q < alpha(gamma) = 1 + 2h/(gamma v), "
              "finite for every gamma > 0: moments above alpha(gamma) diverge at every fixed step. For the 1-D "
              "population least-squares model (v = 2h^2, c = s^2 h) the invariant law is exactly (s/sqrt(2 h nu)) "
              "t_nu, nu = 1 + 1/(gamma h). There is no heavy tail at finite time: the even moments solve a closed "
              "triangular linear ODE, finite at every t, and E delta_t^q converges as t -> oo iff q < nu.",
    hypotheses="h = s = 1, gamma = 0.2: nu = 6, scale 1/sqrt(12), Var 0.125. The implementation steps from "
               "delta_0 = 0 to T = 6 with dt = 1e-3 on increments supplied by the suite, one draw per independent "
               "chain (i.i.d.). KS against the exact Student-t; Hill's statistic of |delta_T| with k = N/10 z-tested "
               "against its exact law under t_6 for N i.i.d. draws. Euler–Maruyama at dt = 1e-3: its own tail index "
               "(Kesten–Goldie) 6.0015 and its bias on E delta_T^2 (exact EM moments) are both < 0.25 standard "
               "error at the thorough size. A Stratonovich scheme (e.g. stochastic Heun) has nu' = 1/(gamma h) = 5.",
    source="Schertzer & Pillaud-Vivien, JMLR 27 (2026) (arXiv 2407.02322), §1 ('although there is no heavy tail "
           "phenomenon in finite time, it emerges asymptotically'), §4.2.2 'Heavy-tails or not?' (moments of the "
           "invariant law exist only up to a critical value alpha(gamma)) and Proposition 10 (arXiv v1 Prop 4.9); the "
           "exponent and the Student-t law are derived here (Forman & Sørensen 2008, Pearson diffusions); Hill (1975); "
           "Goldie (1991).",
    seed_wording="'Heavy-tail predictions not observed: Verify step-size is fixed and sufficiently large'. In the SDE "
                 "the tail is heavy at every fixed gamma > 0: moments of order >= alpha(gamma) = 1 + 2h/(gamma v) "
                 "are infinite; alpha(gamma) -> oo only as gamma -> 0.",
    sizes={"quick": {"chains": 20000},
           "standard": {"chains": 60000},
           "thorough": {"chains": 200000}},
    power='quick: Stratonovich (nu = 5) caught by KS (1.6x the critical distance); the Hill estimate alone separates '
          'nu = 5 by 3.4 sd at quick, 5.9 at standard, 10.8 at thorough: use standard for a tail-index verdict that '
          'does not lean on KS',
    mutants=("increments_rescaled", "stochastic_heun"),
)
def least_squares_sde_has_moments_exactly_below_the_critical_order(run: ClaimRun) -> None:
    """Exact alpha(gamma), Student-t law and even-moment ODE; KS and exact-oracle Hill test of the simulated law."""
    chains_n = run.sizes["chains"]
    thorough_n = profiles.get("thorough").sizes(run.id)["chains"]
    gamma_, h_, v_ = sde_models.gamma, sde_models.h, tails.v
    alpha = tails.critical_moment_1d()
    nu_expr, scale_expr = tails.population_student_t()
    nu, scale = float(nu_expr.subs(SDE_VALUES)), float(scale_expr.subs(SDE_VALUES))
    drift, diffusion_squared = sde_models.population_least_squares_1d()
    strat_nu, strat_scale = (float(e.subs(SDE_VALUES)) for e in fokker_planck.student_t_parameters(
        fokker_planck.invariant_density_1d(tails.stratonovich_as_ito(drift, diffusion_squared), diffusion_squared, x),
        x))
    orders = (2, 4, 6, 8)
    moments_t = tails.even_moments(max(orders), t, SDE_VALUES)
    limits = [sp.limit(m, t, sp.oo) for m in moments_t]
    student = [tails.student_t_absolute_moment(q, nu_expr.subs(SDE_VALUES), scale_expr.subs(SDE_VALUES))
               for q in orders[:2]]

    # the Euler–Maruyama design: exact EM second moment and the EM chain's own tail index, at the thorough size
    model = population_moment_model(SDE_VALUES)
    steps = int(round(HORIZON / DT))
    em_second = float(model.euler_maruyama_moments(steps, DT, np.zeros(1), np.zeros((1, 1)))[1][0, 0])
    second, fourth = (float(m) for m in limits[:2])
    thorough_se = math.sqrt((fourth - second**2) / thorough_n)
    growth = float(sp.Poly(sp.expand(diffusion_squared / gamma_).subs(SDE_VALUES), x).coeff_monomial(x**2))
    em_alpha = tail_oracle.em_tail_index(float(SDE_VALUES[h_]), growth, float(SDE_VALUES[gamma_]), DT)
    thorough_hill = tail_oracle.student_t_hill_oracle(nu, thorough_n, thorough_n // HILL_SHARE)
    thorough_nu_se = nu**2 * thorough_hill.sd  # delta method: d(1/H) = -dH/H^2, H ~ 1/nu

    runner = Runner(run.impl, context="nu = 6: the SDE has a stationary law with finite variance")
    final = _simulate_sde(run, runner, scalar_fields(drift, sp.sqrt(diffusion_squared), SDE_VALUES), chains_n)
    level = stats.split(run.level, 2)
    k = chains_n // HILL_SHARE
    oracle = tail_oracle.student_t_hill_oracle(nu, chains_n, k)
    hill = tail_oracle.hill_estimator(np.abs(final), k)
    bias = oracle.mean - 1 / nu  # Hill's exact finite-k bias under the null
    z = float(sps.norm.isf(level / 2))
    nu_hat = 1 / (hill - bias)
    lo, hi = 1 / (hill - bias + z * oracle.sd), 1 / max(hill - bias - z * oracle.sd, 1e-12)

    law = sps.t(df=nu, scale=scale)
    magnitude = np.abs(final[final != 0])
    grid = np.geomspace(max(magnitude.min(), 1e-3), magnitude.max(), 200)
    run.figure(Figure(
        title="Tail of the stationary law of the 1-D least-squares SDE", xlabel="|delta_T|", ylabel="P(|delta_T| > x)",
        xscale="log", yscale="log",
        series=[_survival_series(magnitude, f"implementation at T = {HORIZON:g} ({chains_n} chains)"),
                Series(f"Itô: |t_{nu:g}| law (slope -{nu:g})", grid.tolist(), (2 * law.sf(grid)).tolist(),
                       style="line"),
                Series(f"Stratonovich: |t_{strat_nu:g}| law", grid.tolist(),
                       (2 * sps.t(df=strat_nu, scale=strat_scale).sf(grid)).tolist(), style="dashed")],
        caption=f"Hill, k = {k}: raw 1/H = {1 / hill:.3f}; corrected for its exact finite-k bias under t_{nu:g}, "
                f"nu-hat = {nu_hat:.3f} ({100 * (1 - level):.4g}% CI {lo:.3f} to {hi:.3f}), theory nu = {nu:g}; "
                f"the Stratonovich law has nu' = {strat_nu:g}."))
    times = np.linspace(0.0, HORIZON, 161)
    moment_series = []
    for q, m in zip(orders, moments_t, strict=True):
        values = np.broadcast_to(numeric.compile(m, (t,))(np, times), times.shape)
        moment_series.append(Series(f"E delta_t^{q}", times[1:].tolist(), values[1:].tolist(), style="line"))
    for q, limit in zip(orders, limits, strict=True):
        if limit.is_finite:
            moment_series.append(Series(f"Student-t E delta^{q}", [0.0, HORIZON], [float(limit)] * 2, style="dashed"))
    run.figure(Figure(
        title="Exact even moments of the SDE from delta_0 = 0 (gamma = 0.2, nu = 6)", xlabel="t",
        ylabel="E delta_t^q", yscale="log", series=moment_series,
        caption="Finite at every t; q = 2, 4 converge to the Student-t moments, q = 6 grows linearly (rate "
                "lambda_6 = 0), q = 8 exponentially: the tail emerges only as t -> oo."))

    alpha_finite = (bool(alpha.is_finite), bool((alpha - 1).is_positive), sp.limit(alpha, gamma_, 0, "+"))
    run.verdict(
        stats.agreement("critical moment of the general model, -lim x (log p)'(x) - 1 of the zero-flux density",
                        alpha, 1 + 2 * h_ / (gamma_ * v_), test="sympy: p'/p = (2b - (sigma^2)')/sigma^2"),
        stats.agreement("alpha(gamma) finite, > 1 for every gamma > 0, and -> oo only as gamma -> 0",
                        alpha_finite, (True, True, sp.oo), test="sympy with h, v, gamma > 0"),
        stats.agreement("population model: alpha(gamma) = nu of the Student-t invariant density, at gamma = 0.2",
                        (sp.simplify(tails.population_critical_moment() - nu_expr) == 0, nu), (True, 6.0),
                        test="sympy: invariant_density_1d matched to (1 + x^2/(nu c^2))^(-(nu+1)/2)"),
        stats.agreement("E delta_t^q, q = 2, 4, 6, 8, finite at every t >= 0",
                        [bool(m.is_finite) for m in moments_t], [True] * len(orders),
                        test="sympy: exact solution of the triangular even-moment ODE (matrix exponential)"),
        stats.agreement("E delta_t^q converges as t -> oo", [bool(m.is_finite) for m in limits],
                        [q < nu for q in orders], test="sympy limits; prediction: iff q < nu (rates q h (1 - (q-1) "
                                                          "gamma h) > 0)"),
        stats.agreement("limits of E delta_t^2, E delta_t^4 = the Student-t moments", limits[:2], student,
                        test="sympy: E|cT|^q = c^q nu^(q/2) G((q+1)/2) G((nu-q)/2) / (sqrt(pi) G(nu/2))"),
        stats.at_most("Euler–Maruyama shift of the tail index at dt = 1e-3, |alpha_EM - nu|, in standard errors of the "
                      "Hill nu-hat at the thorough size", abs(em_alpha - nu) / thorough_nu_se, 0.25,
                      test=f"Kesten–Goldie root of E|1 - h dt + sqrt(2 gamma h^2 dt) Z|^alpha = 1 (mpmath 1F1): "
                           f"alpha_EM = {em_alpha:.5f}; Hill SE of nu at N = {thorough_n}: {thorough_nu_se:.4f}"),
        stats.at_most("Euler–Maruyama and finite-T bias of E delta_T^2 against the stationary 1/8, in standard errors "
                      "at the thorough size", abs(em_second - second) / thorough_se, 0.25,
                      test=f"exact EM moments (LinearMomentModel.euler_maruyama_moments): {em_second:.6f}; SE at "
                           f"N = {thorough_n}: {thorough_se:.2e}"),
        stats.ks_test(f"law of delta_T vs Student-t(nu = {nu:g}, scale {scale:.4g})", final, law.cdf, level),
        stats.z_test(f"Hill statistic H_k of |delta_T| (k = {k} of {chains_n}; nu-hat = {nu_hat:.3f})", hill,
                     oracle.sd, oracle.mean, level,
                     test=f"exact mean and sd of H_k for {chains_n} i.i.d. |t_{nu:g}| draws (order statistics: "
                          f"Beta threshold, conditional excesses; quadrature); normal approximation, oracle "
                          f"skewness {oracle.skewness:.3f}"),
    )


def _kesten_tail(run: ClaimRun, gradient: Any, start: Any, theta_star: float,
                 level: float) -> tuple[list[stats.Decision], list[Series], str, float]:
    r"""Tail decisions on the implementation's online SGD at lr = 1 (E log|A| = -0.42: stationary, alpha_SGD = 1.09,
    the SDE's 2): Hill's statistic of |delta_300| against its exact law under the Kesten chain
    (:func:`tail_oracle.online_sgd_iterate_law`, computed without sampling), and the SDE's index excluded.

    k = N/m with m the smallest of :data:`KESTEN_SHARES` at which Hill's exact bias (its mean minus 1/alpha_SGD) is
    below a tenth of its sd at the thorough size: m = 20 (the bias is 6e-4 there, 0.0067 at N/10, 1.5 sd at the
    thorough size), so the raw estimate agrees with the Kesten root at every profile; the test itself uses the exact
    mean, so the corrected estimate alpha-hat = 1/(H - bias) is a test of the Kesten root. The SDE's index is
    excluded when the upper end of alpha-hat's interval lies below it, which fails under the reference law with a
    probability computed from the same oracle and counted in the budget."""
    chains_n = run.sizes["chains"]
    law = tail_oracle.online_sgd_iterate_law(KESTEN_LR, KESTEN_STEPS)
    thorough_n = profiles.get("thorough").sizes(run.id)["chains"]
    share = next(m for m in KESTEN_SHARES if abs(law.hill(thorough_n, thorough_n // m).mean - 1 / law.alpha)
                 <= 0.1 * law.hill(thorough_n, thorough_n // m).sd)
    k = chains_n // share
    oracle = law.hill(chains_n, k)
    sde_alpha = tails.sde_tail_index_of_sgd(KESTEN_LR)
    bias = oracle.mean - 1 / law.alpha
    z = float(sps.norm.isf(level / 2))
    miss = float(sps.norm.cdf(z - (1 / law.alpha - 1 / sde_alpha) / oracle.sd))  # P(the SDE index not excluded)
    if miss > level:
        raise ValueError(f"{chains_n} chains cannot separate the Kesten and SDE tail indices (miss {miss:.2g})")
    runner = Runner(run.impl, lr=KESTEN_LR, finite=False, context="lr h = 1: E log|A| = -0.42 < 0, a stationary law "
                                                                   f"with tail index {law.alpha:.3f}")
    with np.errstate(all="ignore"):
        final = to_numpy(chains.iterate(runner.step, gradient, start, KESTEN_STEPS))[:, 0] - theta_star
    magnitude = np.where(np.isfinite(final), np.abs(final), np.inf)  # a diverged chain is in the tail
    with np.errstate(invalid="ignore"):
        hill = tail_oracle.hill_estimator(magnitude, k)
    corrected = hill - bias
    alpha_hat, upper = 1 / corrected, 1 / max(corrected - z * oracle.sd, 1e-12)
    lower = 1 / (corrected + z * oracle.sd)
    threshold = float(law.inverse_survival(np.array([k / chains_n]))[0])
    slope = float(law.log_slope(np.array([threshold]))[0])
    decisions = [
        stats.z_test(f"Hill statistic H_k of |delta_{KESTEN_STEPS}| at lr = {KESTEN_LR:g} (k = {k} of {chains_n}; "
                     f"bias-corrected alpha-hat = {alpha_hat:.3f}, Kesten root {law.alpha:.4f})", hill, oracle.sd,
                     oracle.mean, level - miss,
                     test=f"exact mean and sd of H_k for {chains_n} i.i.d. draws of the law of delta_"
                          f"{KESTEN_STEPS} (Gaussian given the features; variance a perpetuity, its survival iterated "
                          f"without sampling); Hill's bias there {bias:.2g}; threshold at local log-slope "
                          f"{slope:.3f}; normal approximation, oracle skewness {oracle.skewness:.3f}"),
        dataclasses.replace(stats.at_least(
            f"distance of H_k - bias above 1/alpha_SDE = 1/{sde_alpha:g}, in sd of H_k", (corrected - 1 / sde_alpha)
            / oracle.sd, z, test=f"the SDE's tail index {sde_alpha:g} must lie above alpha-hat's interval "
                                 f"({lower:.3f} to {upper:.3f}); under the Kesten law this fails with probability "
                                 f"{miss:.2g}, counted in the budget"), level=miss),
    ]
    grid = np.geomspace(max(threshold / 30, 1e-2), 1e6, 100)
    series = [_survival_series(magnitude[np.isfinite(magnitude) & (magnitude > 0)],
                               f"implementation, lr = {KESTEN_LR:g}, {KESTEN_STEPS} steps"),
              Series(f"exact law of |delta_{KESTEN_STEPS}| (Kesten tail {law.alpha:.3f})", grid.tolist(),
                     law.survival(grid).tolist(), style="line"),
              Series(f"slope -{sde_alpha:g} (the SDE's index)", grid.tolist(),
                     (float(law.survival(grid[:1])[0]) * (grid / grid[0]) ** -sde_alpha).tolist(), style="dashed")]
    caption = (f"Hill, k = {k}: raw 1/H = {1 / hill:.3f}; corrected for its exact finite-k bias under the Kesten "
               f"law, alpha-hat = {alpha_hat:.3f} ({100 * (1 - level):.4g}% CI {lower:.3f} to {upper:.3f}); Kesten "
               f"{law.alpha:.3f}, SDE {sde_alpha:g}.")
    return decisions, series, caption, alpha_hat


@claim(
    TAIL_MISMATCH, family="sgd",
    statement="Discrete online SGD on 1-D least squares, delta' = (1 - (gamma/b) sum_j x_j^2) delta + (gamma/b) "
              "sum_j x_j xi_j, has the Kesten–Goldie tail index alpha_SGD solving E|1 - (gamma/b) sum_{j<=b} "
              "x_j^2|^alpha = 1, not the SDE model's 1 + b/(gamma h): Gaussian x, h = 1, b = 1: 2.904, 5.306, "
              "8.303, 17.29 at gamma = 0.5, 0.3, 0.2, 0.1 vs 3, 4.33, 6, 11; b = 4, gamma = 0.5: 9.978 vs 9. "
              "alpha_SGD > 2 iff E(1 - (gamma/b) chi2_b)^2 < 1 (b = 1: gamma h < 2/3). The stationary moments "
              "differ: at gamma = 0.25, b = 1, h = s = 1, SGD's E delta^2 = gamma^2 s^2 h/(1 - E A^2) = 0.2 vs the "
              "SDE's gamma s^2 h/(2h - 2 gamma h^2) = 1/6, and E delta^6 is finite for SGD, infinite for the SDE. "
              "The tails differ on the simulated chain: at gamma h = 1 online SGD's iterate has tail index "
              "alpha_SGD = 1.091, not the SDE's 2.",
    hypotheses="x ~ N(0, h), y = x theta* + xi, Var xi = s^2, h = s = 1, b = 1 fresh sample per step supplied by the "
               "suite (online_gradients); theta* = 0.5. Moments: lr = 0.25, chains start at theta* and run 80 "
               "steps (E delta_80^2 = 0.2 (1 - 0.6875^80), exact recursion); CLT on E delta^2 valid as alpha_SGD = "
               "6.5 > 4. Tail: lr = 1 (E log|A| = -0.42 < 0), 300 steps from theta*; Hill's statistic of |delta_300| "
               "on the top k = N/20 (the largest share of N/10, N/15, N/20, ... whose exact bias, 6e-4, is below "
               "0.1 sd at the thorough size) z-tested against its exact mean and sd under the law of delta_300 "
               "(Gaussian given the features, its variance a perpetuity whose survival is iterated numerically), the "
               "SDE's index excluded by the bias-corrected interval.",
    source="Schertzer & Pillaud-Vivien, JMLR 27 (2026) (arXiv 2407.02322), §4.2.2 (heavy tails of the SDE model's "
           "invariant law, controlled by the step size); Gürbüzbalaban, Şimşekli & Zhu, ICML 2021; Kesten (1973); "
           "Goldie (1991) Thm 4.1; the discrete moments are derived here.",
    seed_wording="'Heavy-tail phenomenon emerges asymptotically in the invariant distribution when step-size is "
                 "fixed, with moments existing only up to a critical value alpha(gamma)' — a property of the SDE "
                 "model; discrete SGD's tail index solves Kesten's equation and differs (2.904 vs 3 at gamma = 0.5, "
                 "8.303 vs 6 at 0.2).",
    sizes={"quick": {"chains": 20000},
           "standard": {"chains": 100000},
           "thorough": {"chains": 400000}},
    power="exact Kesten roots at every profile; quick: the SDE value and lr x 1.1 sit ~13 SE from SGD's second "
          "moment; Hill's statistic has sd 0.029 at quick, 0.013 at standard, 0.0065 at thorough (1/alpha: 0.917 "
          "for SGD, 0.5 for the SDE, 1.082 at lr x 1.1, ~4.5 sd at quick); clipping the gradient norm at 100 leaves "
          "the second moment at lr = 0.25 unchanged and is caught by the tail alone (z ~ -7 at quick)",
    mutants=("gd_hidden_momentum", "gd_lr_times_1_1", "sgd_clipped_at_100"),
)
def online_sgd_has_the_kesten_tail_not_the_sde_tail(run: ClaimRun) -> None:
    """Kesten roots vs the pinned reference values, exact moment contrasts, SGD's simulated second moment against
    both oracles, and its simulated tail against the Kesten law (:func:`_kesten_tail`)."""
    chains_n, xp = run.sizes["chains"], run.xp
    gamma_, h_ = sde_models.gamma, sde_models.h
    step, steps, theta_star = 0.25, 80, 0.5
    values = {gamma_: sp.Rational(1, 4), h_: 1, sde_models.s: 1}
    roots = {(b, g): tail_oracle.sgd_tail_index(g, b) for b, g in CATALOG_SGD_TAIL}
    sde_roots = {(b, g): tails.sde_tail_index_of_sgd(g, b) for b, g in CATALOG_SDE_TAIL}
    kesten_residual = [abs(float(tail_oracle.sgd_multiplier_moment_mp(a_, g, b)) - 1) for (b, g), a_ in roots.items()]
    boundary = sp.solve(tails.sgd_second_multiplier_moment(1) < 1, gamma_)
    boundary_gamma = {b: 2 * sp.Rational(b, b + 2) for b in (1, 4)}
    boundary_roots = [tail_oracle.sgd_tail_index(float(g), b) for b, g in boundary_gamma.items()]
    sgd_alpha = tail_oracle.sgd_tail_index(step)
    sde_alpha = tails.sde_tail_index_of_sgd(step)
    sgd_map = tails.sgd_even_moment_map(8).subs(values)
    contraction = [sgd_map[i, i] for i in range(1, 5)]
    sgd_stationary = tails.sgd_stationary_even_moments(6, values)
    sde_second = tails.stationary_even_moments(2, values)[0]
    sde_rate_6 = tails.even_moment_rates(6)[2].subs(values)
    lyapunov = sgd_moments.stationary_second_moment((1,), sp.Rational(1, 4), 1, 1)[0, 0]
    exact_m2, exact_m4 = sgd_moments_after(steps, values)

    data_rng = run.stream("data")
    curvature = np.eye(1)

    def gradient(theta: Any) -> Any:
        return online_gradients(theta - theta_star, curvature, 1.0, data_rng)

    start = asarray(np.full((chains_n, 1), theta_star), xp)
    runner = Runner(run.impl, lr=step, context="lr h = 0.25 < 2/3: online SGD has a finite stationary variance")
    final = to_numpy(chains.iterate(runner.step, gradient, start, steps))[:, 0] - theta_star
    squares = final**2
    estimate, se = float(squares.mean()), float(squares.std(ddof=1) / math.sqrt(chains_n))

    level = stats.split(run.level, 2)  # second moment at lr = 0.25; tail at lr = 1
    tail_decisions, tail_series, tail_caption, alpha_hat = _kesten_tail(run, gradient, start, theta_star, level)
    gammas = np.array([0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.2])
    run.figure(Figure(
        title="Tail index of 1-D online SGD (Kesten) vs the SDE model, b = 1", xlabel="gamma h", ylabel="tail index",
        xscale="log", yscale="log",
        series=[Series("SGD: E|1 - gamma x^2|^alpha = 1", gammas.tolist(),
                       [tail_oracle.sgd_tail_index(float(g)) for g in gammas], style="line"),
                Series("SDE: 1 + 1/(gamma h)", gammas.tolist(), (1 + 1 / gammas).tolist(), style="dashed"),
                Series("reference values (b = 1)", [g for b, g in CATALOG_SGD_TAIL if b == 1],
                       [a_ for (b, _), a_ in CATALOG_SGD_TAIL.items() if b == 1]),
                Series(f"Hill on the implementation's SGD, lr = {KESTEN_LR:g}, bias-corrected",
                       [KESTEN_LR], [alpha_hat])],
        caption=f"{tail_caption} At lr = {step:g}: Kesten {sgd_alpha:.3f} > 6 > SDE {sde_alpha:g}."))
    run.figure(Figure(
        title=f"Tail of online SGD's iterate at lr = {KESTEN_LR:g} vs the Kesten law", xlabel="|delta|",
        ylabel="P(|delta| > x)", xscale="log", yscale="log", series=tail_series,
        caption="The implementation's survival against the exact law of delta_300 (its Kesten tail); the SDE's "
                "index would be the dashed slope."))
    run.figure(Figure(
        title=f"Stationary E delta^2 of online SGD at lr = {step:g}", xlabel="model", ylabel="E delta^2",
        series=[Series(f"implementation ({chains_n} chains, 95% CI)", [0.0], [estimate], yerr=[1.96 * se]),
                Series("SGD (exact recursion)", [-0.5, 0.5], [exact_m2] * 2, style="line"),
                Series("SDE model", [-0.5, 0.5], [float(sde_second)] * 2, style="dashed")],
        caption=f"SGD {float(sgd_stationary[0]):.4f} vs SDE {float(sde_second):.4f}: the SDE is "
                f"{abs(estimate - float(sde_second)) / se:.1f} SE from the estimate."))

    z_crit = float(sps.norm.isf(level / 2))
    exact_se = math.sqrt((exact_m4 - exact_m2**2) / chains_n)
    shift = abs(exact_m2 - float(sde_second)) / exact_se
    miss = float(sps.norm.cdf(z_crit - shift) - sps.norm.cdf(-z_crit - shift))  # P(SDE value not excluded | SGD)
    if miss > level:
        raise ValueError(f"{chains_n} chains cannot separate the SGD and SDE second moments (miss {miss:.2g})")
    excluded = dataclasses.replace(stats.at_least(
        "distance of the estimated E delta^2 from the SDE's 1/6, in standard errors", abs(estimate - float(sde_second))
        / se, z_crit, test=f"the SDE's value must lie outside the interval; under the SGD oracle this fails with "
                           f"probability {miss:.2g} (exact SE from E delta^4), counted in the budget"), level=miss)
    catalog_keys = list(CATALOG_SGD_TAIL)
    run.verdict(
        stats.identity("Kesten roots E|1 - (gamma/b) chi2_b|^alpha = 1 vs the reference values, (b, gamma) = "
                       + ", ".join(map(str, catalog_keys)), [roots[key] for key in catalog_keys],
                       [CATALOG_SGD_TAIL[key] for key in catalog_keys], rtol=1e-3,
                       test="scipy quadrature split at the multiplier's zero and the integrand's peak, Brent root"),
        stats.at_most("|E|A|^alpha - 1| at those roots, by an independent mpmath quadrature", max(kesten_residual),
                      1e-9, test="mpmath tanh-sinh, 30 digits"),
        stats.identity("the SDE model's index 1 + b/(gamma h) vs the reference values",
                       [sde_roots[key] for key in catalog_keys],
                       [CATALOG_SDE_TAIL[key] for key in catalog_keys], rtol=1e-3, test="sympy: alpha(gamma/b)"),
        stats.at_least("smallest relative gap |alpha_SGD - alpha_SDE| / alpha_SDE over the table",
                       min(abs(roots[key] - sde_roots[key]) / sde_roots[key] for key in catalog_keys), 10 * 1e-3,
                       test="two oracles: the SDE's index misses SGD's by more than 10x the rtol the roots are "
                            "pinned to"),
        stats.agreement("E A^2 < 1 (finite SGD variance, alpha_SGD > 2) for b = 1", boundary,
                        sp.And(gamma_ < 2 / (3 * h_), 0 < gamma_), test="sympy: E A^2 = 1 - 2 gamma h + 3 gamma^2 h^2"),
        stats.identity("alpha_SGD at gamma h = 2b/(b + 2) (b = 1, 4)", boundary_roots, [2.0, 2.0], rtol=1e-8,
                       test="Kesten root on the boundary E A^2 = 1"),
        stats.agreement(f"E A^q < 1 iff q < alpha_SGD(0.25) = {sgd_alpha:.4g}, q = 2, 4, 6, 8",
                        [bool(a_ < 1) for a_ in contraction], [q < sgd_alpha for q in (2, 4, 6, 8)],
                        test="sympy: exact E(1 - gamma x^2)^q vs the Kesten root"),
        stats.agreement("stationary E delta^2 at gamma = 0.25: SGD (even-moment map; Isserlis recursion), SDE",
                        (sgd_stationary[0], lyapunov, sde_second), (sp.Rational(1, 5), sp.Rational(1, 5),
                                                                    sp.Rational(1, 6)),
                        test="sympy: gamma^2 s^2 h/(1 - E A^2) and gamma s^2 h/(2h - 2 gamma h^2)"),
        stats.agreement("E delta^6 finite for SGD, divergent for the SDE (rate lambda_6 = 6h(1 - 5 gamma h))",
                        (bool(sgd_stationary[2].is_finite and sgd_stationary[2] > 0), bool(sde_rate_6 > 0)),
                        (True, False), test=f"sympy: SGD E delta^6 = {sgd_stationary[2]}, SDE lambda_6 = {sde_rate_6}"),
        stats.z_test(f"E delta^2 after {steps} online SGD steps at lr = {step:g}", estimate, se, exact_m2,
                     level - miss, test=f"CLT interval over {chains_n} independent chains (E delta^4 finite: "
                                        f"alpha_SGD = {sgd_alpha:.3f} > 4)"),
        excluded,
        *tail_decisions,
    )
