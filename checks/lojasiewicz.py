r"""Claims of An & Lu (arXiv 2304.09221): SGD under a local Łojasiewicz condition with machine-learning
noise (family ``sgd``).

The suite's noisy-gradient oracle (:mod:`solvers.ml_noise`) supplies
:math:`\nabla f = \nabla F + \sqrt{\sigma F}\,Z` ("machine-learning noise", Z uniform on the unit sphere: E Z = 0,
:math:`E|Z|^2 = |Z|^2 = 1`); the implementation under test takes the step, ``Runner(impl, lr=eta).step(theta, grad)``.
Every constant (mu_pl, C_L, rho, eta*, the exit bound) comes from :mod:`theory.lojasiewicz`, where it is derived
symbolically, through :mod:`checks.oracles.lojasiewicz`; the 4-digit reference values quoted in the claims are
cross-checks.

1. ``lojasiewicz.contraction``: on :math:`F = \tfrac h2|\theta|^2` the one-step factor equals An & Lu's bound
   :math:`\rho = 1 - \eta\mu_{pl} + \tfrac{\eta^2}2C_L(2C_L + \sigma)` exactly, so :math:`E[F_{k+1} \mid
   \mathcal F_k] = \rho F_k` and :math:`E F_k/F_0 = \rho^k`: tested per step, per k and as a log-slope.
2. ``lojasiewicz.stay-in-ball``: mean path lengths against the derived path bound on that quadratic (r = 4, within
   a factor 1.7) and on a small ball of the ring :math:`F = (|\theta|^2 - 1)^2/2` (within 3.3); the exit frequency
   on the line (d = 1, Z = ±1), where the exact exit probability is known (a lattice walk), against the derived exit
   bound (one-sided exact binomial: only an unstable step leaves often enough to exceed it, the bound being ~1500x the
   exact probability, the tightest regime found) and against the exact probability (two-sided exact binomial).
3. ``lojasiewicz.global-min``: on the ring, :math:`E[F_k1_{E_k}] \le \rho^kF_0` per k and in rate, and every surviving
   chain at the horizon K has :math:`F \le 10^{-12}`, :math:`||\theta| - 1| \le 10^{-6}`; K is derived so that, by
   Markov on the claim's own bound, a correct implementation leaves a survivor above 1e-12 with probability
   <= its level.

Bounded noise with Robbins–Monro steps (An & Lu §4) is :mod:`checks.lojasiewicz_robbins_monro`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp
from scipy import stats as sps

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.harness.impl import Runner
from sgd_conformance.checks.oracles.lojasiewicz import QUADRATIC, line_setting, quadratic_rho, ring_setting
from sgd_conformance.reports.model import Figure, Series
from sgd_conformance.solvers import ml_noise
from sgd_conformance.theory import lojasiewicz, numeric
from sgd_conformance.theory.lojasiewicz import C_L, F0, h, m2, mu_pl, r, rho
from sgd_conformance.theory.symbols import eta, sigma

CONTRACTION_D, CONTRACTION_STEPS = 8, 20
BALL_D, BALL_RADIUS, BALL_STEPS = 2, 4.0, 200  # lojasiewicz.stay-in-ball (i): theta_0 = (1, 0), r = 4
RING_PATH_STEPS = 2000
RING_CONTEXT = "eta = {:.4g} < 2/C_L on the ring's ball: stable"
GLOBAL_MIN = {"eps": 1e-12, "radius_tol": 1e-6, "grid": 41, "resolution": 1e-24}


def _sgd_chains(run: ClaimRun, label: str, problem: Callable[[Any], tuple[Any, Any]], theta0: np.ndarray, *,
                eta_value: float, sigma_value: float, context: str, **kw: Any) -> ml_noise.Chains:
    """:func:`solvers.ml_noise.run_chains` with the implementation under test taking the steps (learning rate
    ``eta_value``) and the noise stream named ``label``."""
    runner = Runner(run.impl, lr=eta_value, context=context)
    return ml_noise.run_chains(runner.step, problem, theta0, rng=run.stream(label), xp=run.xp, sigma=sigma_value, **kw)


def _at_most_clt(what: str, mean: float, se: float, bound: float, level: float, test: str) -> stats.Decision:
    """One-sided CLT test of E X <= bound (rejects when the mean lies significantly above): stats.one_sided_z_test
    on -X, reported in the original sign."""
    decision = stats.one_sided_z_test(what, -mean, se, -bound, level, test)
    upper = mean + float(sps.norm.isf(level)) * se
    return dataclasses.replace(decision, measured=mean, predicted=bound, statistic=-(decision.statistic or 0.0),
                               interval=(-math.inf, upper))


# --- 5.1 -------------------------------------------------------------------------------------------------------------


@claim(
    "lojasiewicz.contraction", family="sgd",
    statement="Under local PL |grad F|^2 >= mu_pl F on B(theta_0, r), C_L-smoothness, F >= 0, and machine-learning "
              "noise grad f = grad F + sqrt(sigma F) Z with E Z = 0, E|Z|^2 <= 1: E[F(theta_(k+1)) 1_(E_(k+1)) | F_k] "
              "<= rho F(theta_k) 1_(E_k), rho(eta) = 1 - eta mu_pl + eta^2 C_L (2 C_L + sigma)/2 (derived from the "
              "descent lemma by the paper's term-wise bounds); rho < 1 iff eta < 2 mu_pl/(C_L (2 C_L + sigma)), "
              "best eta* = mu_pl/(C_L (2 C_L + sigma)), rho_min = 1 - mu_pl^2/(2 C_L (2 C_L + sigma)). On F = "
              "(h/2)|theta|^2 (mu_pl = 2h, C_L = h) equality holds: the exact factor is (1 - eta h)^2 + eta^2 h "
              "sigma E|Z|^2/2 = rho when E|Z|^2 = 1, so E F_k/F_0 = rho^k (h = 1, eta = 0.5, sigma = 1: 0.375).",
    hypotheses="F = (h/2)|theta|^2 in R^8 (PL and smoothness hold on all of R^8, so E_k is sure), h = 1, eta = 0.5, "
               "sigma = 1 (rho = 0.375; eta < 2 mu_pl/(C_L (2 C_L + sigma)) = 4/3), theta_0 = e_1 (F_0 = 1/2), 20 "
               "steps, independent chains; Z uniform on the unit sphere (E|Z|^2 = 1 exactly), drawn by the suite; "
               "the implementation takes the step. The per-step factor F_(k+1)/F_k = |(1 - eta h) u - eta "
               "sqrt(sigma h/2) Z|^2 lies in [0.021, 0.729] (bounded: CLT honest); d = 8 keeps its variance "
               "(4 (1 - eta h)^2 eta^2 sigma h/(2d) = 0.0156) small enough that F_20/F_0 has relative sd 2.7 and "
               "its chain mean a skewness < 0.11 at the quick size. The non-convex inequality case (the ring) is "
               "tested in lojasiewicz.global-min.",
    source="An & Lu, arXiv 2304.09221 (J. Mach. Learn., doi:10.4208/jml.240724), §3 ('E[F(θk+1)1Ek+1(r)|Fk] ≤ (1 − ηα +"
           " (η²/2)CL(2CL + σ))F(θk)1Ek(r)', alpha = mu_pl); the exact factor on the isotropic quadratic is derived "
           "here. The paper's theorem statements were not checked against its full text.",
    sizes={"quick": {"chains": 20000},
           "standard": {"chains": 100000},
           "thorough": {"chains": 400000}},
    power='exact symbolic decisions at every profile; quick: lr x 1.1 ~25 SE, clipping ~120 SE, momentum / stale '
          'gradient / sign steps > 200 SE; the log-slope interval resolves a ~0.5% step rescaling at quick, ~0.25% at'
          ' standard, ~0.12% at thorough',
    mutants=("gd_half_step", "gd_hidden_momentum", "gd_lr_times_1_1", "gd_stale_gradient", "sgd_clipped", "sgd_sign"),
    oracle_mutants=("bounded_noise", "gaussian_directions", "noise_sigma_f"),
)
def machine_learning_noise_contracts_the_loss_by_rho_per_step(run: ClaimRun) -> None:
    """Exact oracles first (derived rho = quoted rho; condition and optimum; the quadratic attains the bound), then
    the per-step factor, E F_k/F_0 per k and the fitted log-slope against rho."""
    chains = run.sizes["chains"]
    level = stats.split(run.level, 3)
    hv, ev, sv = QUADRATIC["h"], QUADRATIC["eta"], QUADRATIC["sigma"]
    derived, quoted = lojasiewicz.derived_contraction_factor(), lojasiewicz.contraction_factor()
    limit, (best, least) = lojasiewicz.largest_contracting_step(), lojasiewicz.optimal_step()
    ratio, curvature = lojasiewicz.quadratic_constants()
    on_quadratic = quoted.subs({mu_pl: ratio, C_L: curvature})
    factor = numeric.evaluate(derived, eta=ev, mu_pl=2 * hv, C_L=hv, sigma=sv)
    exact = quadratic_rho(QUADRATIC)
    theta0 = np.eye(CONTRACTION_D)[0]
    sim = _sgd_chains(run, "quadratic", functools.partial(ml_noise.quadratic, h=hv), theta0, eta_value=ev,
                      sigma_value=sv, context=f"eta h = {ev * hv:g}, rho = {factor:g} < 1: the chain contracts",
                      chains=chains, steps=CONTRACTION_STEPS, record=np.arange(CONTRACTION_STEPS + 1))
    per_step = sim.losses[:, 1:] / sim.losses[:, :-1]
    relative = sim.losses[:, 1:] / sim.losses[:, :1]
    ks = np.arange(1, CONTRACTION_STEPS + 1, dtype=float)
    step_mean, step_se = per_step.mean(axis=0), per_step.std(axis=0, ddof=1) / math.sqrt(chains)
    mean, cov = stats.mean_cov_of_log(relative)
    se = mean * np.sqrt(np.diag(cov))
    fit = stats.sandwich_fit(np.column_stack([np.ones_like(ks), ks]), np.log(mean), cov)
    gaussian = quadratic_rho(QUADRATIC, CONTRACTION_D)
    run.figure(Figure(
        title="Machine-learning noise on F = |theta|^2/2 in R^8: E F_k / F_0", xlabel="k", ylabel="E F_k / F_0",
        yscale="log",
        series=[Series("implementation (95% CI)", ks.tolist(), mean.tolist(), yerr=(1.96 * se).tolist()),
                Series(f"rho^k, rho = {factor:.4g} (An & Lu's bound, attained)", ks.tolist(), (factor**ks).tolist(),
                       style="line"),
                Series(f"Z ~ N(0, I_8) (E|Z|^2 = 8): {gaussian:.4g}^k", ks.tolist(), (gaussian**ks).tolist(),
                       style="dashed"),
                Series("per-step factor E[F_(k+1)/F_k] (95% CI)", ks.tolist(), step_mean.tolist(),
                       yerr=(1.96 * step_se).tolist())],
        caption=f"Fitted log-slope {fit.coef[1]:.4f} ± {fit.se(1):.4f} against log rho = {math.log(factor):.4f}; "
                f"{chains} chains. The per-step factor is the conditional statement itself, flat at rho."))
    run.verdict(
        stats.agreement("rho derived from the descent lemma with the paper's term-wise bounds (-eta G <= -eta mu_pl "
                        "F, (C_L eta^2/2) G <= C_L^2 eta^2 F, E|Z|^2 <= 1) = the quoted 1 - eta mu_pl + (eta^2/2) "
                        "C_L (2 C_L + sigma)", sp.simplify(derived - quoted) == 0, True,
                        test="sympy, general noise covariance"),
        stats.agreement("rho < 1 iff eta < 2 mu_pl/(C_L (2 C_L + sigma)); eta* = mu_pl/(C_L (2 C_L + sigma)), "
                        "rho(eta*) = 1 - mu_pl^2/(2 C_L (2 C_L + sigma))",
                        all(sp.simplify(a - b) == 0 for a, b in [
                            (limit, 2 * mu_pl / (C_L * (2 * C_L + sigma))), (best, mu_pl / (C_L * (2 * C_L + sigma))),
                            (least, 1 - mu_pl**2 / (2 * C_L * (2 * C_L + sigma)))]), True, test="sympy"),
        stats.agreement("F = (h/2)|theta|^2: mu_pl = 2h, C_L = h, and the exact factor (1 - eta h)^2 + eta^2 h sigma "
                        "E|Z|^2/2 equals rho(eta) at E|Z|^2 = 1 (the bound is attained)",
                        (ratio, curvature) == (2 * h, h)
                        and sp.simplify(lojasiewicz.quadratic_factor().subs(m2, 1) - on_quadratic) == 0, True,
                        test="sympy, d = 3, general noise covariance"),
        stats.identity("rho at h = 1, eta = 0.5, sigma = 1 (bound and exact factor) vs the reference value 0.375",
                       np.array([factor, exact]), 0.375, rtol=1e-14, test="exact"),
        stats.z_test("per-step factor E[F(theta_(k+1))/F(theta_k)] = rho, k = 0..19", step_mean, step_se, factor,
                     level, test=f"CLT over {chains} independent chains of a bounded ratio (Bonferroni over "
                                 f"{CONTRACTION_STEPS} steps)"),
        stats.z_test("E F(theta_k)/F(theta_0) = rho^k, k = 1..20", mean, se, factor**ks, level,
                     test=f"CLT over {chains} independent chains (Bonferroni over {CONTRACTION_STEPS} k)"),
        stats.coefficient_test("slope of log E F_k/F_0 on k = log rho", fit, 1, math.log(factor), level,
                               test="least squares over k = 1..20, coefficient covariance propagated from the "
                                    "chains' covariance (delta method), normal interval"),
    )


# --- 5.2 -------------------------------------------------------------------------------------------------------------


@claim(
    "lojasiewicz.stay-in-ball", family="sgd",
    statement="Under the hypotheses of lojasiewicz.contraction with rho < 1 (C_L valid on B(theta_0, r + largest "
              "step)), the expected path length inside the ball is at most eta (sqrt(2 C_L) + sqrt(sigma)) sqrt(F_0) "
              "/ (1 - sqrt(rho)), so the trajectory leaves B(theta_0, r) with probability at most eta (sqrt(2 C_L) + "
              "sqrt(sigma)) sqrt(F_0) / (r (1 - sqrt(rho))) (derived: a_k = E[F_k 1_(E_k)] <= rho^k F_0, one step "
              "moves at most eta (sqrt(2 C_L F) + sqrt(sigma F) |Z|), E|Z| <= 1, Jensen, Markov). The exit bound is "
              "loose wherever leaving is possible at all: an exit needs a run of noise draws that grows |theta| "
              "several-fold, which Markov's inequality on the path length does not see (~1500x in the tightest "
              "regime found, (iii)).",
    hypotheses="(i) F = |theta|^2/2 in R^2, eta = 0.5, sigma = 1, theta_0 = (1, 0), r = 4, 200 steps: path bound 2.202 "
               "(~1.7x above the mean path); (ii) the ring F = (|theta|^2 - 1)^2/2 in R^2, non-convex on the ball, "
               "theta_0 = (1.014, 0), r = 0.1 (small, so that the local constants are nearly tight), sigma = 0.5: "
               "mu_pl = 8 (1.014 - 0.1)^2 = 6.683, C_L = 6.270 (largest |Hessian eigenvalue| on B(theta_0, 0.16); one "
               "step moves at most 0.0537 < 0.06 since |Z| = 1), |grad F|^2 <= 2 C_L F on the ball, eta = eta* = "
               "0.08175, rho = 0.7268: path bound 0.04696 (~3.3x above the mean path), 2000 steps; (iii) the line F = "
               "theta^2/2 in R^1, Z = +-1, eta = 0.3, sigma = 8 (noise twice the gradient), rho = 0.85 (eta < eta_max "
               "= 0.4), theta_0 = 1, r = 16, K = 50 steps: theta_k is a product of multipliers 0.1 and 1.3 drawn with "
               "probability 1/2, so it stays positive and leaves only through 17; exit bound 0.7207 against the exact "
               "P(leave within K steps) = 4.936e-4 (a lattice walk of log theta, dynamic programming): slack 1460. "
               "Searched: over every step and noise level on the line with both multipliers positive, the exact exit "
               "probability under a bound <= 0.7 is at most 5.4e-4. Z drawn by the suite; independent chains; an exit "
               "by step K is an exit.",
    source="An & Lu, arXiv 2304.09221 (J. Mach. Learn., doi:10.4208/jml.240724), Thm 3.1 (escape-probability bound; its"
           " quoted form is garbled and the theorem text was not available); the bound here is derived.",
    seed_wording="P(E^c_k(R−1)) = Σ P(Ẽ_i(R−1)) < F(θ0)((√(2C_L) + √σ)η*√ρ/(1 − √ρ) + ρ² M0(1 − ρ)) — garbled, and "
                 "its M0 term comes from the paper's extra structural assumption (not reconstructable).",
    sizes={"quick": {"chains": 4000, "line_chains": 200000},
           "standard": {"chains": 16000, "line_chains": 800000},
           "thorough": {"chains": 64000, "line_chains": 3200000}},
    power="quick (200000 chains on the line, ~99 exits expected): lr x 2 is unstable there and leaves with frequency "
          "0.95 > the bound 0.72 (the only bug the bound itself can catch); against the exact probability (two-sided "
          "exact binomial) lr x 1.1 doubles the frequency (p ~ 1e-19), momentum multiplies it by 26, a stale gradient "
          "by 5.6, half steps and clipping make leaving impossible; the quadratic's mean path puts momentum, a stale "
          "gradient and lr x 2 40-155 SE above its bound; decoupled weight decay keeps the ring's noise alive (path "
          "0.056 > 0.047); larger profiles x2 and x4 in SE",
    mutants=("gd_half_step", "gd_hidden_momentum", "gd_lr_times_1_1", "gd_stale_gradient", "gd_weight_decay",
             "sgd_clipped", "sgd_lr_times_2", "sgd_sign"),
)
def trajectory_stays_in_the_ball_with_the_derived_probability(run: ClaimRun) -> None:
    """Exact constants, bounds and the exact exit probability on the line first; then mean path lengths against the
    path bound (one-sided CLT) on the quadratic and the ring, and the line's exit frequency against the exit bound
    (one-sided exact binomial) and against the exact exit probability (two-sided exact binomial)."""
    chains, line_chains = run.sizes["chains"], run.sizes["line_chains"]
    level = stats.split(run.level, 4)
    ring, line = ring_setting("stay-in-ball"), line_setting()
    hv, ev, sv = QUADRATIC["h"], QUADRATIC["eta"], QUADRATIC["sigma"]
    quadratic = {mu_pl: 2 * hv, C_L: hv, sigma: sv, eta: ev, F0: 0.5, r: BALL_RADIUS, rho: quadratic_rho(QUADRATIC)}
    quad_path = float(lojasiewicz.path_length_bound().subs(quadratic))
    paths = {
        "quadratic": (_sgd_chains(run, "quadratic", functools.partial(ml_noise.quadratic, h=hv), np.eye(BALL_D)[0],
                                  eta_value=ev, sigma_value=sv, context="eta h = 0.5: SGD on the quadratic contracts",
                                  chains=chains, steps=BALL_STEPS, record=np.array([0, BALL_STEPS]),
                                  radius=BALL_RADIUS), quad_path),
        "ring": (_sgd_chains(run, "ring", ml_noise.ring, np.array([ring["norm0"], 0.0]), eta_value=ring["eta"],
                             sigma_value=ring["sigma"], context=RING_CONTEXT.format(ring["eta"]), chains=chains,
                             steps=RING_PATH_STEPS, record=np.array([0, RING_PATH_STEPS]), radius=ring["radius"]),
                 ring["path_bound"])}
    steps = line["steps"]
    exited = int(_sgd_chains(run, "line", functools.partial(ml_noise.quadratic, h=line["h"]),
                             np.array([line["theta0"]]), eta_value=line["eta"], sigma_value=line["sigma"],
                             context=f"eta h = {line['eta']:g} < eta_max = {line['eta_max']:g}: SGD on the line "
                                     "contracts in mean square", chains=line_chains, steps=steps,
                             record=np.array([0, steps]), radius=line["radius"]).exited.sum())
    frequency, exact, bound = exited / line_chains, line["exit_probability"], line["exit_bound"]
    decisions = [
        stats.identity("bounds and exact exit probability vs the 4-digit reference values: path bounds 2.202 "
                       "(quadratic), 0.04696 (ring), exit bound 0.7207 and P(leave within 50 steps) = 4.936e-4 (line)",
                       np.array([quad_path, ring["path_bound"], bound, exact]),
                       np.array([2.202, 0.04696, 0.7207, 4.936e-4]), rtol=2e-4,
                       test="exact (theory.lojasiewicz; dynamic programming on the lattice walk)"),
        stats.at_most("ring: largest step eta max_B (|grad F| + sqrt(sigma F)) over the margin 0.06 (C_L must hold on "
                      "every segment a step takes)", ring["largest_step"] / ring["margin"], 1.0,
                      test="exact maximum over the ball (sympy)"),
        stats.at_most("ring: max_B |grad F|^2/F over 2 C_L (|grad F|^2 <= 2 C_L F on the ball)",
                      ring["grad_ratio"] / (2 * ring["C_L"]), 1.0, test="exact (8 max s vs 2 C_L)"),
        stats.agreement("line: eta < eta_max (rho < 1) and both multipliers of theta positive (it leaves only through "
                        "theta_0 + r)", line["eta"] < line["eta_max"] and 0 < line["down"] < 1 < line["up"], True,
                        test=f"exact: eta_max = {line['eta_max']:g}, multipliers {line['down']:.4g}, {line['up']:.4g}"),
    ]
    for name, (sim, path_bound) in paths.items():
        decisions.append(_at_most_clt(f"{name}: E[path length inside the ball] <= {path_bound:.4g}",
                                      float(sim.path.mean()), float(sim.path.std(ddof=1)) / math.sqrt(chains),
                                      path_bound, level, test=f"one-sided CLT over {chains} independent chains"))
    decisions += [
        stats.binomial_at_most(f"line: P(theta_k leaves the ball by step {steps}) <= the bound {bound:.4g}", exited,
                               line_chains, bound, level,
                               test=f"exact binomial tail over {line_chains} independent chains"),
        stats.binomial_equals(f"line: P(theta_k leaves the ball by step {steps}) = {exact:.4g} (exact)", exited,
                         line_chains, exact, level),
    ]
    names = list(paths)
    means = [float(paths[n][0].path.mean()) for n in names]
    run.figure(Figure(
        title="Path length inside the ball against the derived bound", xlabel="problem (0 = quadratic, 1 = ring)",
        ylabel="path length", xscale="linear", yscale="log",
        series=[Series("mean path length (95% CI)", [0.0, 1.0], means,
                       yerr=[1.96 * float(paths[n][0].path.std(ddof=1)) / math.sqrt(chains) for n in names]),
                Series("path-length bound", [0.0, 1.0], [paths[n][1] for n in names], style="dashed")],
        caption="Slack (bound / measured mean path): " + ", ".join(
            f"{n} {paths[n][1] / m:.2f}" for n, m in zip(names, means, strict=True))
        + ". Triangle inequality and Jensen are the only slack on the quadratic; on the ring the constants are the "
          "worst case over the ball and the radial curvature (~4) contracts faster than rho."))
    lower, upper = stats.clopper_pearson(exited, line_chains, 0.05)
    run.figure(Figure(
        title="Leaving the ball on the line (F = theta^2/2, eta = 0.3, sigma = 8, r = 16): frequency, exact, bound",
        xlabel="", ylabel="P(leave within 50 steps)", xscale="linear", yscale="log",
        series=[Series("exit frequency (95% Clopper–Pearson)", [0.0], [max(frequency, 0.5 / line_chains)],
                       yerr=[max(frequency - lower, upper - frequency)]),
                Series("exact exit probability", [-0.5, 0.5], [exact, exact], style="line"),
                Series("An & Lu's bound (derived)", [-0.5, 0.5], [bound, bound], style="dashed")],
        caption=f"{exited} of {line_chains} chains left the ball (frequency {frequency:.3g}); exact {exact:.4g}; the "
                f"bound {bound:.4g} is {bound / exact:.0f}x the exact probability"
                + (f" and {bound / frequency:.0f}x the measured frequency" if exited else "")
                + ". The bound is loose wherever exits happen: leaving needs ~11 consecutive up-moves (x1.3 each) "
                  "against a mean-square contraction, a rare run that Markov's inequality on the path length does "
                  "not see."))
    run.verdict(*decisions)


# --- 5.3 -------------------------------------------------------------------------------------------------------------


@claim(
    "lojasiewicz.global-min", family="sgd",
    statement="On the event E_inf = {theta_k in B(theta_0, r) for all k} (probability >= 1 - the bound of "
              "lojasiewicz.stay-in-ball): F(theta_k) -> 0 and theta_k -> a global minimum in the closed ball, with "
              "E[F(theta_k) 1_(E_k)] <= rho^k F(theta_0) for every k.",
    hypotheses="Non-convex ring F = (|theta|^2 - 1)^2/2 in R^2 (global minima: the unit circle), theta_0 = (1.014, 0) "
               "(F_0 = 3.975e-4), r = 0.5, sigma = 0.5, eta = eta* = 0.0064491, rho = 0.993185 (mu_pl = 2.1136 on the "
               "ball, C_L = 12.677 on the ball + one step's margin 0.05; exit bound 0.4326); Z uniform on the unit "
               "sphere, drawn by the suite; independent chains. Horizon K = ceil(log(N F_0/(eps level))/(-log rho)) "
               "(about 5200 to 5700 steps): by Markov on the claim's own bound, P(some survivor has F(theta_K) > eps = "
               "1e-12) <= N rho^K F_0/eps <= level. F <= 1e-12 on the ball (|theta| >= 0.514) implies ||theta| - 1| <= "
               "sqrt(2e-12)/1.514 < 1e-6. E[F_k 1_(E_k)] is tested on 41 k in [0, K]; F 1_(E_k) is bounded on the ball "
               "(CLT honest).",
    source="An & Lu, arXiv 2304.09221 (J. Mach. Learn., doi:10.4208/jml.240724) (convergence to a global minimum with "
           "probability >= 1 - delta; almost-sure convergence on the event E_inf(R - 1)); derived here; the paper's "
           "theorem statements were not available.",
    sizes={"quick": {"chains": 2000},
           "standard": {"chains": 8000},
           "thorough": {"chains": 32000}},
    power='stalls (weight decay, bounded noise, sign steps) leave survivors above 1e-12 at every profile; rescalings '
          'that still converge pass here by design (caught by lojasiewicz.contraction)',
    mutants=("gd_weight_decay", "sgd_sign"),
    oracle_mutants=("bounded_noise",),
)
def surviving_chains_reach_a_global_minimum_at_rate_rho(run: ClaimRun) -> None:
    """Every survivor ends on the circle (Markov-derived horizon), the expectation on the event stays below
    rho^k F_0 at every k, and its fitted decay rate is at least -log rho."""
    chains = run.sizes["chains"]
    level = stats.split(run.level, 3)
    ring, eps = ring_setting(), GLOBAL_MIN["eps"]
    steps = math.ceil(math.log(chains * ring["F0"] / (eps * level)) / -math.log(ring["rho"]))
    markov = chains * ring["F0"] * ring["rho"] ** steps / eps
    grid = np.unique(np.linspace(0, steps, int(GLOBAL_MIN["grid"])).round().astype(int))
    sim = _sgd_chains(run, "ring", ml_noise.ring, np.array([ring["norm0"], 0.0]), eta_value=ring["eta"],
                      sigma_value=ring["sigma"], context=RING_CONTEXT.format(ring["eta"]), chains=chains, steps=steps,
                      record=grid, radius=ring["radius"])
    survivors = ~sim.exited
    final = sim.losses[survivors, -1]
    above = int(np.sum(final > eps))
    distance = np.abs(np.linalg.norm(sim.theta[survivors], axis=1) - 1.0)
    implied = math.sqrt(2 * eps) / (1 + ring["norm0"] - ring["radius"])
    bound = ring["rho"] ** grid
    mean = sim.losses.mean(axis=0) / ring["F0"]
    se = sim.losses.std(axis=0, ddof=1) / math.sqrt(chains) / ring["F0"]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (mean - bound) / se, np.where(mean > bound, np.inf, -np.inf))
    worst = 1 + int(np.argmax(z[1:]))  # k = 0 is exact (F_0 for every chain)
    # rate fit: where the bound is above eps, and F above float64's resolution of F near the circle (|theta|^2 - 1
    # is known to ~1e-15, so F to ~1e-30): a floor of the arithmetic, not of SGD
    fitted = (bound * ring["F0"] >= eps) & (mean * ring["F0"] >= GLOBAL_MIN["resolution"])
    decisions = [
        stats.Decision(what=f"survivors with F(theta_K) > {eps:g} at K = {steps} ({int(survivors.sum())} of {chains} "
                            "chains survived)", level=level, passed=above == 0,
                       statistic=float(above), p_value=min(1.0, markov / above) if above else 1.0,
                       measured=float(above), predicted=0.0,
                       test=f"Markov on E[F_K 1_(E_K)] <= rho^K F_0: P(count >= c) <= N rho^K F_0/(eps c) = "
                            f"{markov:.3g}/c <= level; the horizon K is the smallest that makes this hold"),
        stats.at_most("largest ||theta_K| - 1| over survivors (tolerance 1e-6)",
                      float(distance.max()) if distance.size else 0.0, GLOBAL_MIN["radius_tol"],
                      test=f"exact: F <= {eps:g} in the ball gives ||theta| - 1| <= {implied:.3g}"),
        _at_most_clt(f"E[F(theta_k) 1_(E_k)]/F_0 <= rho^k at the worst of {grid.size} k in [0, {steps}] (k = "
                     f"{grid[worst]})", float(mean[worst]), float(se[worst]), float(bound[worst]),
                     level / grid.size, test=f"one-sided CLT over {chains} independent chains; level/{grid.size} "
                                             "at the worst k (Bonferroni over the grid)"),
    ]
    if fitted.sum() >= 3:
        ks = grid[fitted].astype(float)
        _, cov = stats.mean_cov_of_log(sim.losses[:, fitted])
        fit = stats.sandwich_fit(np.column_stack([np.ones_like(ks), -ks]), np.log(mean[fitted]), cov)
        decisions.append(stats.coefficient_test(
            "decay rate -d log E[F_k 1_(E_k)]/dk >= -log rho", fit, 1, -math.log(ring["rho"]), level,
            alternative="greater", test=f"least squares over the {int(fitted.sum())} grid k with rho^k F_0 >= "
                                        f"{eps:g} and E F_k >= {GLOBAL_MIN['resolution']:g} (float64 resolution), "
                                        "coefficient covariance from the chains' covariance (delta method), one-sided "
                                        "normal interval"))
        rate = f"fitted decay rate {fit.coef[1]:.4f} ± {fit.se(1):.4f} >= -log rho = {-math.log(ring['rho']):.4f}"
    else:
        decisions.append(stats.agreement("E[F_k 1_(E_k)] resolvable at >= 3 grid k (a chain survives: P(E_inf) >= "
                                         "0.57 per chain)", False, True, test="exact: nothing to fit"))
        rate = "no survivor"
    run.figure(Figure(
        title="Ring F = (|theta|^2 - 1)^2/2: E[F(theta_k) 1_(E_k)] against rho^k F_0", xlabel="k",
        ylabel="E[F_k 1_(E_k)] / F_0", yscale="log",
        series=[Series("implementation (95% CI)", grid[mean > 0].tolist(), mean[mean > 0].tolist(),
                       yerr=(1.96 * se[mean > 0]).tolist()),
                Series(f"bound rho^k, rho = {ring['rho']:.6g}", grid.tolist(), bound.tolist(), style="dashed"),
                Series(f"eps / F_0 = {eps / ring['F0']:.3g}", grid.tolist(), [eps / ring["F0"]] * grid.size,
                       style="dashed")],
        caption=f"{rate}; {int(survivors.sum())} of {chains} chains stayed in the ball; survivors end with F <= "
                f"{float(final.max()) if final.size else 0.0:.3g} and ||theta| - 1| <= "
                f"{float(distance.max()) if distance.size else 0.0:.3g}."))
    run.verdict(*decisions)
