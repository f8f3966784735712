r"""The moments of the training-loss SDE of least-squares SGD (Schertzer & Pillaud-Vivien, JMLR 2026, arXiv
2407.02322): the exact second-moment ODE, and the mean and covariance of the invariant law.

Training-loss model (:mod:`theory.lsq_sde`, :mod:`solvers.lsq_sde`), Itô, time t = k gamma:
:math:`d\theta = -\nabla L\,dt + \sqrt\gamma\,\sigma(\theta)\,dB`, :math:`\sigma\sigma^\top = \Sigma(\theta)`.
Around :math:`\theta_{LS}` (:math:`\delta = \theta - \theta_{LS}`, residuals :math:`r^*`, :math:`H = X^\top X/n`)
the drift is :math:`-H\delta` and

.. math:: \Sigma(\theta_{LS} + \delta) = C_0 + \tfrac2n\textstyle\sum_ir^*_i(x_i^\top\delta)x_ix_i^\top
          + T(\delta\delta^\top) - H\delta\delta^\top H,

:math:`T(M) = \frac1n\sum_i(x_i^\top Mx_i)x_ix_i^\top`, :math:`C_0 = \frac1n\sum_ir_i^{*2}x_ix_i^\top`,

quadratic in delta, so :math:`m = E\delta` and :math:`M = E\delta\delta^\top` solve the closed linear ODE
:math:`\dot m = -Hm`, :math:`\dot M = -HM - MH + \gamma E\Sigma`
(:class:`checks.oracles.moment_equations.LinearMomentModel`,
built by :func:`~checks.oracles.moment_equations.training_moment_model`), and so do the moments of every degree p
(:func:`checks.oracles.moment_equations.moment_block`): where they are stable the invariant law has them, with mean
:math:`\theta_{LS}` and second moment the ODE's fixed point. The exact paths and maps are in
:mod:`checks.oracles.lsq_sde`.

The ``sde`` checks run the implementation under test on the model's fields with increments supplied by the suite
(:func:`solvers.sde.simulate`). Each problem's data are fixed (:func:`checks.oracles.lsq_sde.fixed_data`); ``--seed``
moves the Brownian paths. The statements checked are derived here from the paper's generator (19) (cf. its Proposition
8).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from sgd_conformance.checks.harness import profiles, stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.harness.impl import Runner
from sgd_conformance.checks.oracles.lsq_sde import (
    fixed_data,
    moment_path,
    one_dimensional_stationary_variance,
    sgd_moment_map,
    symmetriser,
)
from sgd_conformance.checks.oracles.moment_equations import moment_abscissae, training_moment_model
from sgd_conformance.reports.model import Figure, Series
from sgd_conformance.solvers import sde
from sgd_conformance.solvers._xp import asarray, to_numpy
from sgd_conformance.solvers.lsq_sde import TrainingSDE

NOISE_BLOCK = 200_000  #: chain-steps of Brownian increments drawn at once (memory stays bounded at any profile)


def moment_entries(delta: np.ndarray) -> np.ndarray:
    r"""Per chain: :math:`\delta_i` and the distinct :math:`\delta_i\delta_j` (i <= j), shape (chains, d + d(d+1)/2)."""
    upper = np.triu_indices(delta.shape[1])
    return np.column_stack([delta, (delta[:, :, None] * delta[:, None, :])[:, upper[0], upper[1]]])


def thorough_chains(claim_id: str) -> int:
    """Chains at the thorough profile: the EM bias of a check is sized against the standard error there."""
    return int(profiles.get("thorough").sizes(claim_id)["chains"])


def _with_details(decision: stats.Decision, **details: object) -> stats.Decision:
    return dataclasses.replace(decision, details={**decision.details, **details})


# --- 4.3: the second-moment ODE ------------------------------------------------------------------------------------


@claim(
    "lsq-sde.second-moment-ode", family="sde",
    statement="Around theta_LS (delta = theta - theta_LS) the training-loss SDE's m = E delta solves dm/dt = -Hm and "
              "M = E delta delta' solves the exact linear ODE dM/dt = -HM - MH + gamma [T(M) - HMH + C0 + (2/n) "
              "sum_i r*_i (x_i'm) x_i x_i'], T(M) = (1/n) sum_i (x_i'M x_i) x_i x_i', C0 = (1/n) sum_i r*_i^2 x_i "
              "x_i', r* the residuals at theta_LS; single-sample SGD's moments follow the discrete analogue "
              "M_(k+1) = (I - gamma H) M_k (I - gamma H) + gamma^2 [same bracket], which is exactly the "
              "Euler–Maruyama moment map with h = gamma.",
    hypotheses="X in R^(6 x 3), y standard Gaussian (fixed; noisy: y not in range X), gamma = 0.1: the moment "
               "blocks up to degree 6 are stable, so the law stays light-tailed and the CLT on second moments is "
               "honest (at gamma = 0.5 the degree-3 block is unstable: p_crit < 3); chains start at theta_LS + "
               "(0.4, -0.4, 0.2); the implementation steps with dt = 1e-3 to t = 0.5 and 1; exact moments by expm of "
               "the (1 + d + d^2) generator; the exact EM bias is < 0.25 standard error at the thorough size "
               "(reported in the decision details).",
    source="Schertzer & Pillaud-Vivien, JMLR 27 (2026) (arXiv 2407.02322), §4.2: the generator (19) and Dynkin's "
           "formula (18), applied here to quadratic observables (the moment ODE is derived here).",
    sizes={"quick": {"chains": 3000},
           "standard": {"chains": 12000},
           "thorough": {"chains": 48000}},
    power='quick: Stratonovich ~12 SE, doubled diffusion ~10 SE from the exact moments (threshold ~3.8); '
          'standard/thorough x2/x4 in SE',
    mutants=("endpoint_diffusion", "ignores_increments", "increments_rescaled", "stochastic_heun"),
)
def second_moment_of_the_training_sde_solves_the_moment_ode(run: ClaimRun) -> None:
    """Per-entry CLT z-tests (Bonferroni) of the ensemble's m and distinct entries of M at two times against the
    exact ODE solution; the SGD moment map, computed from the data by averaging over samples, equals the EM map."""
    chains, xp = run.sizes["chains"], run.xp
    n, d, gamma, dt = 6, 3, 0.1, 1e-3
    times = np.array([0.5, 1.0])
    features, targets, _ = fixed_data(run.id, n, d)
    model = TrainingSDE(features, targets, gamma)
    centre = model.minimiser()
    moments = training_moment_model(features, targets, gamma, centre)
    m0 = np.array([0.4, -0.4, 0.2])
    exact_m, exact_second = moments.moments(times, m0, np.outer(m0, m0))
    upper = np.triu_indices(d)
    exact = np.column_stack([exact_m, exact_second[:, upper[0], upper[1]]])
    step_of = {int(round(t / dt)): i for i, t in enumerate(times)}
    snapshots: dict[int, np.ndarray] = {}

    def observe(k: int, state: Any) -> None:
        if k in step_of:
            snapshots[step_of[k]] = moment_entries(to_numpy(state) - centre)

    runner = Runner(run.impl, context="the linear SDE has finite moments of every order at finite times")
    sde.simulate(runner.sde_step, model, asarray(np.tile(centre + m0, (chains, 1)), xp), steps=max(step_of), dt=dt,
                 stream=lambda first: run.stream("paths", first, on_backend=False), floats=NOISE_BLOCK,
                 observe=observe)
    measured = np.stack([snapshots[i].mean(axis=0) for i in range(times.size)])
    se = np.stack([snapshots[i].std(axis=0, ddof=1) for i in range(times.size)]) / math.sqrt(chains)
    em = []
    for t in times:
        em_m, em_second = moments.euler_maruyama_moments(int(round(t / dt)), dt, m0, np.outer(m0, m0))
        em.append(np.concatenate([em_m, em_second[upper]]))
    bias_in_se = float(np.max(np.abs(np.array(em) - exact) / (se * math.sqrt(chains / thorough_chains(run.id)))))
    symmetric = symmetriser(d)
    abscissae = moment_abscissae(moments, range(1, 5))
    sgd_map = sgd_moment_map(features, targets, gamma, centre) @ symmetric
    em_map = moments.euler_maruyama_map(gamma) @ symmetric

    grid = np.linspace(0.0, float(times[-1]), 41)
    curve_second = moment_path(moments, grid[1], grid.size, m0, np.outer(m0, m0))
    series = []
    for j, (a, b) in enumerate(zip(*upper, strict=True)):
        series.append(Series(f"M_{a}{b} exact", grid.tolist(), curve_second[:, a, b].tolist(), style="line"))
        series.append(Series(f"M_{a}{b} implementation (95% CI)", times.tolist(), measured[:, d + j].tolist(),
                             yerr=(1.96 * se[:, d + j]).tolist()))
    run.figure(Figure(
        title="Second moment of the training-loss SDE (X 6 x 3, noisy) against the exact moment ODE", xlabel="t",
        ylabel="E delta_a delta_b", series=series,
        caption=f"{chains} chains, dt = {dt:g}; exact EM bias at most {bias_in_se:.3f} standard errors of the "
                "thorough profile."))
    level = stats.split(run.level, 2)
    mean_test = stats.z_test(f"m(t) = E delta_t at t = {times[0]:g}, {times[1]:g} (Euclidean coordinates)",
                             measured[:, :d].ravel(), se[:, :d].ravel(), exact[:, :d].ravel(), level,
                             test=f"CLT per coordinate over {chains} chains, 2 times x {d} coordinates")
    second_test = stats.z_test(f"M(t) = E delta_t delta_t' at t = {times[0]:g}, {times[1]:g} (distinct entries)",
                               measured[:, d:].ravel(), se[:, d:].ravel(), exact[:, d:].ravel(), level,
                               test=f"CLT per entry over {chains} chains, 2 times x {upper[0].size} entries "
                                    "(SE from the sample fourth moments)")
    run.verdict(
        stats.identity("moment map of single-sample SGD (averaged over the n samples) vs the EM map with h = gamma",
                       sgd_map, em_map, rtol=1e-10, atol=1e-12 * float(np.max(np.abs(em_map))),
                       test="exact, on (1, m, M) with M symmetric"),
        stats.at_most("largest spectral abscissa of the moment blocks of degree <= 4", float(np.max(abscissae)), 0.0,
                      test="exact eigenvalues: fourth moments stay bounded, the second-moment CLT is honest"),
        _with_details(mean_test, em_bias_in_thorough_se=bias_in_se),
        _with_details(second_test, em_bias_in_thorough_se=bias_in_se),
    )


# --- 4.6: the invariant mean and covariance ------------------------------------------------------------------------


@claim(
    "lsq-sde.invariant-mean", family="sde",
    statement="Noisy regime (Ker X = {0}, y not in range X): if the critical moment p_crit > 1 the invariant law of "
              "the training-loss SDE has mean theta_LS; if p_crit > 2 its covariance M_inf solves 0 = -HM - MH + "
              "gamma (T(M) - HMH + C0), T(M) = (1/n) sum_i (x_i'M x_i) x_i x_i', C0 = (1/n) sum_i r*_i^2 x_i x_i'; "
              "in 1-D Var = gamma c0/(2h - gamma v), h = (1/n) sum x_i^2, v = (1/n) sum x_i^4 - h^2, c0 = (1/n) "
              "sum r*_i^2 x_i^2.",
    hypotheses="X in R^(6 x 2), y standard Gaussian (fixed; rank 2, y not in range X), gamma = 0.1: the moment "
               "blocks of degree <= 8 are stable (p_crit > 8 > 4, so the second-moment CLT is honest); independent "
               "chains start at theta_LS and the implementation steps with dt = 2e-3 to T = 8 (slowest "
               "second-moment rate 1.18: remaining transient and exact EM bias together < 0.25 standard error at "
               "the thorough size, reported in the decision details); 1-D cross-check on the first column.",
    source="Schertzer & Pillaud-Vivien, JMLR 27 (2026) (arXiv 2407.02322), §4.2.2 and Proposition 8 (mean and deviation"
           " of the invariant law; 'estimates of its mean, deviations from it', abstract); the exact covariance "
           "equation and the 1-D variance are derived here from the generator (19).",
    sizes={"quick": {"chains": 1000},
           "standard": {"chains": 4000},
           "thorough": {"chains": 16000}},
    power='quick: Stratonovich ~9 SE, doubled diffusion ~10 SE (threshold ~3.5); standard/thorough x2/x4 in SE',
    mutants=("endpoint_diffusion", "ignores_increments", "increments_rescaled", "stochastic_heun"),
)
def invariant_law_has_mean_theta_ls_and_the_stationary_covariance(run: ClaimRun) -> None:
    """Exact: M_inf from the moment model solves the stationary equation written from the data; the moment blocks
    are stable up to degree 8; the 1-D closed form is derived symbolically and matches the moment model. Statistical:
    per-entry CLT z-tests of the chains' mean (theta_LS) and second moments (M_inf) at T."""
    chains, xp = run.sizes["chains"], run.xp
    n, d, gamma, dt, horizon = 6, 2, 0.1, 2e-3, 8.0
    features, targets, _ = fixed_data(run.id, n, d)
    model = TrainingSDE(features, targets, gamma)
    centre = model.minimiser()
    moments = training_moment_model(features, targets, gamma, centre)
    m_inf, second_inf = moments.stationary()
    residuals = features @ centre - targets
    h = features.T @ features / n
    outer = np.einsum("ia,ib->iab", features, features)
    t_of_m = np.einsum("i,iab->ab", np.einsum("ia,ab,ib->i", features, second_inf, features), outer) / n
    c0 = np.einsum("i,iab->ab", residuals**2, outer) / n
    stationary_equation = -h @ second_inf - second_inf @ h + gamma * (t_of_m - h @ second_inf @ h + c0)
    degrees = range(1, 9)
    abscissae = moment_abscissae(moments, degrees)

    x1 = features[:, :1]
    one_d = training_moment_model(x1, targets, gamma, np.linalg.pinv(x1) @ targets)
    h1 = float(np.mean(x1**2))
    v1 = float(np.mean(x1**4) - h1**2)
    c1 = float(np.mean((x1[:, 0] * (np.linalg.pinv(x1) @ targets)[0] - targets) ** 2 * x1[:, 0] ** 2))
    p_range = np.arange(1, 9)
    derived, derivation_agrees = one_dimensional_stationary_variance()

    steps = int(round(horizon / dt))
    every = steps // 10
    path: dict[str, list[float]] = {"t": [], "M00": [], "M11": [], "se00": [], "se11": []}

    def observe(k: int, state: Any) -> None:
        if k % every:
            return
        delta = to_numpy(state) - centre
        path["t"].append(k * dt)
        for a in range(d):
            sq = delta[:, a] ** 2
            path[f"M{a}{a}"].append(float(sq.mean()))
            path[f"se{a}{a}"].append(float(1.96 * sq.std(ddof=1) / math.sqrt(chains)))

    runner = Runner(run.impl,
                    context="the noisy least-squares SDE has a stationary law with finite moments up to p > 8")
    final = to_numpy(sde.simulate(runner.sde_step, model, asarray(np.tile(centre, (chains, 1)), xp), steps=steps,
                                  dt=dt, stream=lambda first: run.stream("paths", first, on_backend=False),
                                  floats=NOISE_BLOCK, observe=observe))
    entries = moment_entries(final - centre)
    upper = np.triu_indices(d)
    expected = np.concatenate([m_inf, second_inf[upper]])
    measured, se = entries.mean(axis=0), entries.std(axis=0, ddof=1) / math.sqrt(chains)
    em_m, em_second = moments.euler_maruyama_moments(steps, dt, np.zeros(d), np.zeros((d, d)))
    _, at_horizon = moments.moments(np.array([horizon]), np.zeros(d), np.zeros((d, d)))
    se_thorough = se * math.sqrt(chains / thorough_chains(run.id))
    bias_in_se = float(np.max(np.abs(np.concatenate([em_m, em_second[upper]]) - expected) / se_thorough))
    transient_in_se = float(np.max(np.abs(at_horizon[0][upper] - second_inf[upper]) / se_thorough[d:]))

    grid = np.linspace(0.0, horizon, 101)
    curve = moment_path(moments, grid[1], grid.size, np.zeros(d), np.zeros((d, d)))
    series = []
    for a in range(d):
        series.append(Series(f"M_{a}{a}(t) exact", grid.tolist(), curve[:, a, a].tolist(), style="line"))
        series.append(Series(f"M_{a}{a} implementation (95% CI)", path["t"], path[f"M{a}{a}"],
                             yerr=path[f"se{a}{a}"]))
        series.append(Series(f"M_inf[{a},{a}]", [0.0, horizon], [float(second_inf[a, a])] * 2, style="dashed"))
    run.figure(Figure(
        title="Second moment of the training-loss SDE from theta_LS to the invariant law (X 6 x 2, gamma = 0.1)",
        xlabel="t", ylabel="E (theta - theta_LS)_a^2", series=series,
        caption=f"{chains} chains, dt = {dt:g}; at T = {horizon:g} the remaining transient is {transient_in_se:.2g} "
                f"and the EM bias plus transient {bias_in_se:.2g} standard errors of the thorough profile; moment "
                f"blocks stable up to degree {int(np.max(np.flatnonzero(abscissae < 0))) + 1}."))
    level = stats.split(run.level, 2)
    mean_test = stats.z_test("E theta_T - theta_LS (invariant mean)", measured[:d], se[:d], expected[:d], level,
                             test=f"CLT per coordinate over {chains} independent chains")
    second_test = stats.z_test("E (theta_T - theta_LS)(theta_T - theta_LS)' vs M_inf (distinct entries)",
                               measured[d:], se[d:], expected[d:], level,
                               test=f"CLT per entry over {chains} independent chains (SE from the sample fourth "
                                    "moments)")
    run.verdict(
        stats.agreement("Ker X = {0} and y not in range X (noisy regime)",
                        (int(np.linalg.matrix_rank(features)), bool(np.linalg.norm(residuals) > 1e-8)), (d, True),
                        test="rank and least-squares residual of the fixed data"),
        stats.identity("stationary mean of the moment model vs 0 (i.e. theta_LS)", m_inf, 0.0, rtol=0.0, atol=1e-12,
                       test="exact linear solve"),
        stats.identity("-HM - MH + gamma (T(M) - HMH + C0) at M_inf (written from the data)", stationary_equation,
                       0.0, rtol=0.0, atol=1e-12 * float(np.max(np.abs(c0))), test="exact"),
        stats.at_most("largest spectral abscissa of the moment blocks of degree <= 4", float(np.max(abscissae[:4])),
                      0.0, test="exact eigenvalues: p_crit > 4, the second-moment CLT is honest"),
        stats.agreement("1-D: grad L = h delta, Sigma = c0 + a1 delta + v delta^2 at theta_LS + delta, so Var = "
                        f"{derived} = gamma c0/(2h - gamma v) (symbolic model, n = 3)", derivation_agrees, True,
                        test="sympy: stationary point of dM/dt = -2hM + gamma (a0 + a2 M), coefficients identified"),
        stats.identity("1-D: stationary second moment of the moment model vs gamma c0/(2h - gamma v)",
                       one_d.stationary()[1][0, 0], gamma * c1 / (2 * h1 - gamma * v1), rtol=1e-10,
                       test="exact, first column of X"),
        stats.identity("1-D: moment block of degree p vs -p h + gamma p (p - 1) v/2 (p = 1..8; p_crit = 1 + "
                       "2h/(gamma v))", moment_abscissae(one_d, degrees),
                       -p_range * h1 + gamma * p_range * (p_range - 1) * v1 / 2, rtol=1e-10, atol=1e-12,
                       test="exact"),
        _with_details(mean_test, em_bias_plus_transient_in_thorough_se=bias_in_se),
        _with_details(second_test, em_bias_plus_transient_in_thorough_se=bias_in_se,
                      transient_in_thorough_se=transient_in_se),
    )
