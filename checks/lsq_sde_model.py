r"""What the SDE models of least-squares SGD are (Schertzer & Pillaud-Vivien (JMLR 2026, arXiv 2407.02322)): the moments
of one SGD increment, and the Ker X component that neither the SDE nor SGD can move.

Training-loss model (:mod:`theory.lsq_sde`, :mod:`solvers.lsq_sde`), Itô, time t = k gamma:

.. math:: d\theta = -\nabla L(\theta)\,dt + \sqrt\gamma\,\sigma(\theta)\,dB,\qquad
          \sigma(\theta) = n^{-1/2}[r_ix_i - \nabla L]_{i=1..n},\qquad \sigma\sigma^\top = \Sigma(\theta),

:math:`\Sigma` the centred covariance of one sample's gradient, so one single-sample SGD step has the mean
:math:`-\gamma\nabla L` and the covariance :math:`\gamma^2\Sigma` of the model's increment over dt = gamma. Population
(online) model, :math:`x \sim N(0, H)`, :math:`y = x^\top\theta^* + \xi`: by Isserlis
:math:`\Sigma(\delta) = H\delta\delta^\top H + (\delta^\top H\delta + s^2)H`. The drift and every noise column
:math:`n^{-1/2}(r_ix_i - \nabla L)` lie in range X', so :math:`\Pi_{\mathrm{Ker}X}\theta_t` is constant.

The ``sde`` check runs the implementation under test on the model's drift/diffusion fields with increments supplied
by the suite (:func:`solvers.sde.drive`). Each problem's data are fixed (:func:`checks.oracles.lsq_sde.fixed_data`);
``--seed`` moves the Brownian paths and the SGD samples. The statements checked are derived here from the paper's
models (12)–(13)
and generator (19).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.harness.impl import Runner
from sgd_conformance.checks.oracles.lsq_sde import evaluate, fixed_data, training_values
from sgd_conformance.checks.oracles.moment_equations import training_moment_model
from sgd_conformance.reports.model import Figure, Series
from sgd_conformance.solvers import minibatch, sde
from sgd_conformance.solvers._xp import asarray, to_numpy
from sgd_conformance.solvers.lsq_sde import PopulationSDE, TrainingSDE, online_gradients
from sgd_conformance.theory import lsq_sde

NOISE_BLOCK = 200_000  #: chain-steps of Brownian increments drawn at once (memory stays bounded at any profile)

# --- 4.1: the models' moments --------------------------------------------------------------------------------------


@claim(
    "lsq-sde.model-moments", family="reference",
    statement="The SDE models of least-squares SGD have drift -grad L and diffusion covariance gamma Sigma(theta), "
              "Sigma the centred covariance of one sample's gradient. Training loss L = ||X theta - y||^2/(2n): "
              "Sigma = (1/n) sum_i r_i^2 x_i x_i' - grad L grad L' (r = X theta - y) and sigma(theta) = n^-1/2 "
              "[r_i x_i - grad L]_(i=1..n) is an exact square root (sigma sigma' = Sigma), affine in theta (no matrix "
              "square root). Population (x ~ N(0, H), y = x' theta* + xi, Var xi = s^2, delta = theta - theta*): "
              "Sigma = H delta delta' H + (delta' H delta + s^2) H. So one single-sample SGD step of size gamma has "
              "the mean -gamma grad L and the covariance gamma^2 Sigma of the model's increment over dt = gamma.",
    hypotheses="training: X in R^(4 x 3), y standard Gaussian (fixed), gamma = 0.1, three fixed theta = theta_LS + "
               "N(0, I); population: H = A A'/3 + 0.2 I (A 3 x 3 Gaussian, fixed), s = 0.5, three fixed delta ~ "
               "N(0, I); increments -gamma g of single-sample gradients drawn uniformly from the n samples "
               "(solvers.minibatch) or fresh (online_gradients); sympy identities at n = 4, d = 3 and, by Isserlis, "
               "d = 3.",
    source="Schertzer & Pillaud-Vivien, JMLR 27 (2026) (arXiv 2407.02322), §3.1, requirements (i)–(ii) and eq. (10) "
           "('The drift term b(t, theta_t) should match -grad L(theta_t)'; 'The noise factor sigma should have the same"
           " covariance as the local martingale m'), models (12)–(13) and Example 4 (population covariance); Li, Tai & "
           "E, ICML 2017 and JMLR 2019, Thm 3.",
    sizes={"quick": {"draws": 20000},
           "standard": {"draws": 80000},
           "thorough": {"draws": 320000}},
    power='the symbolic identities decide the uncentred-covariance mistake at every profile; an uncentred factor in a'
          ' solver is ~130 SE off at quick',
    oracle_mutants=("uncentred_covariance", "uncentred_population_diffusion", "uncentred_training_diffusion"),
)
def sde_models_have_the_moments_of_the_sgd_increment(run: ClaimRun) -> None:
    """Symbolic identities (sympy); the solver's fields equal the symbolic ones; per-entry CLT z-tests of the mean and
    covariance of simulated single-sample SGD increments against the model's drift and diffusion (SE of a covariance
    entry from the sample fourth moments, known centre), Bonferroni inside each test."""
    draws = run.sizes["draws"]
    n, d, gamma = 4, 3, 0.1
    features, targets, rng = fixed_data(run.id, n, d)
    training = TrainingSDE(features, targets, gamma)
    thetas = training.minimiser() + rng.standard_normal((3, d))
    root = rng.standard_normal((d, d))
    population = PopulationSDE(root @ root.T / 3 + 0.2 * np.eye(d), 0.5, gamma)
    deltas = rng.standard_normal((3, d))
    upper = np.triu_indices(d)

    symbolic = lsq_sde.training_model(n, d)
    sigma_pop, h_sym, s_sym, delta_sym = lsq_sde.population_covariance(d)
    field_gaps, pop_gaps = [], []
    for theta in thetas:
        values = training_values(symbolic, features, targets, theta)
        factor = training.diffusion(theta[None])[0]
        field_gaps.append((factor @ factor.T / gamma, evaluate(symbolic.covariance, values)))
        field_gaps.append((-training.drift(theta[None])[0], evaluate(symbolic.gradient, values)[:, 0]))
    h_values = {h_sym[i, j]: population.curvature[i, j] for i in range(d) for j in range(i, d)}
    for delta in deltas:
        values = h_values | {s_sym: population.label_noise} | dict(zip(delta_sym, delta, strict=True))
        factor = population.diffusion(delta[None])[0]
        pop_gaps.append((factor @ factor.T / gamma, evaluate(sigma_pop, values)))

    def increment_tests(points: np.ndarray, sample: Callable[[int, np.ndarray], np.ndarray],
                        model: TrainingSDE | PopulationSDE) -> tuple[np.ndarray, ...]:
        means, mean_se, mean_pred, cov, cov_se, cov_pred = [], [], [], [], [], []
        for j, point in enumerate(points):
            increments = -gamma * sample(j, point)
            centre = gamma * model.drift(point[None])[0]  # E increment over dt = gamma
            factor = model.diffusion(point[None])[0]
            centred = increments - centre
            products = (centred[:, :, None] * centred[:, None, :])[:, upper[0], upper[1]]
            means.append(increments.mean(axis=0))
            mean_se.append(increments.std(axis=0, ddof=1) / math.sqrt(draws))
            mean_pred.append(centre)
            cov.append(products.mean(axis=0))
            cov_se.append(products.std(axis=0, ddof=1) / math.sqrt(draws))
            cov_pred.append((gamma * factor @ factor.T)[upper])
        return tuple(np.concatenate(v) for v in (means, mean_se, mean_pred, cov, cov_se, cov_pred))

    def training_sample(j: int, theta: np.ndarray) -> np.ndarray:
        indices = minibatch.sample_indices(run.stream("training", j, on_backend=False), draws, n, 1, True)
        return minibatch.least_squares_minibatch_gradient(np.broadcast_to(theta, (draws, d)), features, targets,
                                                          indices)

    def population_sample(j: int, delta: np.ndarray) -> np.ndarray:
        return online_gradients(np.broadcast_to(delta, (draws, d)), population.curvature, population.label_noise,
                                run.stream("population", j, on_backend=False))

    level = stats.split(run.level, 4)
    decisions = [
        stats.agreement("sigma sigma' - Sigma == 0 (training model, n = 4, d = 3)",
                        lsq_sde.factor_reproduces_covariance(n, d), True, test="sympy expansion, generic data"),
        stats.agreement("sigma(theta) is affine in theta (every second derivative vanishes)",
                        lsq_sde.factor_is_affine(n, d), True, test="sympy, generic data"),
        stats.agreement("population Sigma = H d d' H + (d' H d + s^2) H (d = 3)",
                        lsq_sde.population_covariance_closed_form_agrees(d), True,
                        test="sympy, Isserlis' theorem for E[x x' d d' x x']"),
        stats.identity("solver's training fields (sigma sigma', grad L) vs the symbolic model at the three theta",
                       np.concatenate([a.reshape(-1) for a, _ in field_gaps]),
                       np.concatenate([b.reshape(-1) for _, b in field_gaps]), rtol=1e-10, atol=1e-12,
                       test="exact, rtol 1e-10"),
        stats.identity("solver's population sigma sigma' vs the Isserlis covariance at the three delta",
                       np.concatenate([a.reshape(-1) for a, _ in pop_gaps]),
                       np.concatenate([b.reshape(-1) for _, b in pop_gaps]), rtol=1e-10, atol=1e-12,
                       test="exact, rtol 1e-10"),
    ]
    series = []
    for name, points, sample, model in (("training", thetas, training_sample, training),
                                        ("population", deltas, population_sample, population)):
        mean, mean_se, mean_pred, cov, cov_se, cov_pred = increment_tests(points, sample, model)
        decisions.append(stats.z_test(
            f"E[increment] vs -gamma grad L ({name}, 3 points x {d} coordinates)", mean, mean_se, mean_pred, level,
            test=f"CLT per coordinate over {draws} single-sample SGD increments per point"))
        decisions.append(stats.z_test(
            f"Cov(increment) vs gamma x diffusion diffusion' ({name}, 3 points x {upper[0].size} entries)", cov,
            cov_se, cov_pred, level,
            test=f"CLT per entry of (increment - mean)(increment - mean)' over {draws} increments per point (SE from "
                 "the sample fourth moments)"))
        series.append(Series(f"{name} (95% CI)", cov_pred.tolist(), cov.tolist(), yerr=(1.96 * cov_se).tolist()))
    everything = np.concatenate([np.asarray(s.x) for s in series])
    grid = [float(everything.min()), float(everything.max())]
    run.figure(Figure(
        title="Covariance of one SGD step vs the SDE model's increment", xlabel="model: gamma^2 Sigma(theta) entry",
        ylabel="measured covariance entry", series=[*series, Series("y = x", grid, grid, style="dashed")],
        caption="Entries of Cov(-gamma g) at three points per model against gamma x diffusion diffusion' of the "
                "model (centred covariance: the uncentred second moment adds gamma^2 grad L grad L')."))
    run.verdict(*decisions)


# --- 4.2: the Ker X component is frozen ----------------------------------------------------------------------------


@claim(
    "lsq-sde.kernel-component-frozen", family="sde",
    statement="The drift -grad L and every noise column n^-1/2 (r_i x_i - grad L) lie in range(X') = (Ker X)^perp, so "
              "the Ker X component of theta_t is constant: Pi_Ker theta_t = Pi_Ker theta_0 for all t a.s. (for the "
              "SDE, its Euler–Maruyama discretisation and SGD). With y in range X the chain converges to the "
              "interpolator closest to its start, theta*_0 = theta_0 - X^+ (X theta_0 - y): with Ker X != {0} the "
              "limit (and the invariant law) depends on Pi_Ker theta_0, so it is not unique.",
    hypotheses="X in R^(3 x 6) and y standard Gaussian (fixed; rank X = 3, so y in range X: noiseless), gamma = 0.1; "
               "two starts theta_0 = 2 N(0, I_6) (fixed), half the chains each; the implementation steps with dt = "
               "1e-2 to T = 40 (4000 steps); reference single-sample SGD (solvers.minibatch) for T/gamma = 400 steps "
               "from the same starts; convergence tested with Markov's inequality on the exact Euler–Maruyama value "
               "of E|theta_T - theta*_0|^2 (slowest second-moment rate on range X' 0.307).",
    source="Schertzer & Pillaud-Vivien, JMLR 27 (2026) (arXiv 2407.02322), §3.2 (SGD and the SDE noise stay in theta_0 "
           "+ span(x_1, ..., x_n)), §4.1 (noiseless case, ker X ≠ {0}), Definition 2, eq. (14), and Lemma 3 (the limit "
           "theta* is the projection of theta_0 onto the interpolators); derived here.",
    seed_wording="'When the loss can be driven to zero (Ker(X) ≠ {0}) ...'; 'The design matrix X has a non-trivial "
                 "kernel, enabling perfect interpolation.' Imprecise: interpolation needs y in range X (e.g. rank X = "
                 "n); Ker X ≠ {0} makes the interpolators non-unique and the limit depend on the start.",
    sizes={"quick": {"chains": 200},
           "standard": {"chains": 1000},
           "thorough": {"chains": 4000}},
    power='exact at every profile (an isotropic jitter moves the Ker X component at any chain count); larger profiles'
          ' only sharpen the convergence bound',
    mutants=("isotropic_jitter",),
)
def kernel_component_is_frozen_and_the_limit_depends_on_the_start(run: ClaimRun) -> None:
    """Exact: the fields vanish on Ker X; the Ker X projection of every chain stays at its start to 1e-12 (relative)
    through the implementation and through reference SGD; the two starts' interpolators differ by exactly
    Pi_Ker(theta_A - theta_B). Statistical: mean |theta_T - theta*_0|^2 <= E/level (Markov), E exact for EM."""
    xp = run.xp
    chains = 2 * (run.sizes["chains"] // 2)
    n, d, gamma, dt, horizon = 3, 6, 0.1, 1e-2, 40.0
    features, targets, rng = fixed_data(run.id, n, d)
    model = TrainingSDE(features, targets, gamma)
    projector = model.kernel_projector()
    starts = 2 * rng.standard_normal((2, d))
    limits = model.interpolator_from(starts)
    theta0 = np.repeat(starts, chains // 2, axis=0)
    own = np.repeat(limits, chains // 2, axis=0)
    other = np.repeat(limits[::-1], chains // 2, axis=0)
    scale = np.maximum(1.0, np.linalg.norm(theta0, axis=1))
    steps = int(round(horizon / dt))

    probes = rng.standard_normal((8, d)) * 3
    field_scale = np.max(np.abs(model.diffusion(probes))) + np.max(np.abs(model.drift(probes)))
    on_kernel = np.concatenate([(model.drift(probes) @ projector.T).reshape(-1),
                                np.einsum("ij,cjm->cim", projector, model.diffusion(probes)).reshape(-1)])

    record: dict[str, list[float]] = {"t": [], "own": [], "other": [], "kernel": []}
    worst = {"sde": 0.0, "sgd": 0.0}

    def kernel_drift(state: Any) -> float:
        return float(np.max(np.linalg.norm((to_numpy(state) - theta0) @ projector.T, axis=1) / scale))

    def observe(k: int, state: Any) -> None:
        host = to_numpy(state)
        worst["sde"] = max(worst["sde"], kernel_drift(host))
        if k % 10:
            return
        record["t"].append(k * dt)
        record["own"].append(float(np.mean(np.sum((host - own) ** 2, axis=1))))
        record["other"].append(float(np.mean(np.sum((host - other) ** 2, axis=1))))
        record["kernel"].append(worst["sde"])

    runner = Runner(run.impl,
                    context="the noiseless least-squares SDE is stable (EM at dt = 1e-2, lambda_max dt < 0.02)")
    final = to_numpy(sde.simulate(runner.sde_step, model, asarray(theta0, xp), steps=steps, dt=dt,
                                  stream=lambda first: run.stream("paths", first, on_backend=False),
                                  floats=NOISE_BLOCK, observe=observe))

    features_xp, targets_xp = asarray(features, xp), asarray(targets, xp)
    theta = asarray(theta0, xp)
    for k in range(int(round(horizon / gamma))):
        indices = minibatch.sample_indices(run.stream("sgd", k, on_backend=False), chains, n, 1, True)
        theta = theta - gamma * minibatch.least_squares_minibatch_gradient(theta, features_xp, targets_xp, indices)
        worst["sgd"] = max(worst["sgd"], kernel_drift(theta))

    expected = []
    for start, limit in zip(starts, limits, strict=True):
        moments = training_moment_model(features, targets, gamma, limit)
        delta0 = start - limit
        expected.append(float(np.trace(moments.euler_maruyama_moments(steps, dt, delta0, np.outer(delta0, delta0))[1])))
    exact_mean = float(np.mean(expected))
    observed = float(np.mean(np.sum((final - own) ** 2, axis=1)))
    level = run.level
    p_markov = min(1.0, exact_mean / observed) if observed > 0 else 1.0
    separation = float(np.linalg.norm(limits[0] - limits[1]))
    run.figure(Figure(
        title="Chains from two starts (noiseless, X 3 x 6): distance to each interpolator", xlabel="t",
        ylabel="mean |theta_t - theta*|^2 (all chains)", yscale="log",
        series=[Series("to the chain's own theta*_0", record["t"], record["own"], style="line"),
                Series("to the other start's theta*_0", record["t"], record["other"], style="line"),
                Series("max |Pi_Ker (theta_t - theta_0)| / |theta_0| so far", record["t"],
                       [max(v, 1e-18) for v in record["kernel"]], style="step")],
        caption=f"Each chain keeps its Ker X component and converges to its own interpolator; the two limits are "
                f"{separation:.3g} apart. Exact EM E|theta_T - theta*_0|^2 = {exact_mean:.3g}."))
    run.verdict(
        stats.identity("Pi_Ker of drift and of every diffusion column at 8 random theta (relative)",
                       on_kernel / field_scale, 0.0, rtol=0.0, atol=1e-12, test="exact, fields of the model"),
        stats.identity(f"largest |Pi_Ker (theta_t - theta_0)| / max(1, |theta_0|) over {steps} implementation steps",
                       worst["sde"], 0.0, rtol=0.0, atol=1e-12, test="exact invariance, 1e-12 relative"),
        stats.identity("largest |Pi_Ker (theta_k - theta_0)| / max(1, |theta_0|) over 400 reference SGD steps",
                       worst["sgd"], 0.0, rtol=0.0, atol=1e-12, test="exact invariance, 1e-12 relative"),
        stats.identity("theta*_A - theta*_B vs Pi_Ker (theta_A - theta_B)", limits[0] - limits[1],
                       projector @ (starts[0] - starts[1]), rtol=1e-10, atol=1e-12,
                       test="exact: the limit carries the start's Ker X component"),
        stats.at_least("distance between the two starts' limits over the Markov threshold sqrt(E/level)",
                       separation / math.sqrt(exact_mean / level), 10.0,
                       test="exact: the limits differ far beyond what the convergence test resolves"),
        stats.Decision(
            what=f"mean over {chains} chains of |theta_T - theta*_0|^2 at T = {horizon:g}", level=level,
            test=f"Markov's inequality P(mean >= E/level) <= level, E the exact Euler–Maruyama mean "
                 f"(checks.oracles.moment_equations): rejects above {exact_mean / level:.3g}; p = E/observed",
            passed=bool(p_markov >= level), statistic=observed, p_value=p_markov, measured=observed,
            predicted=exact_mean),
    )
