"""Claims about SDE models of SGD: how well the stochastic modified equations approximate the implementation's SGD
(family ``sgd``, computed exactly, no Monte Carlo: its exact second moment is identified from its own steps, the
models' moments are closed forms), and the diffusion that makes the stochastic gradient flow match one SGD step
(family ``sgd`` with the user's sampler and reduction: the matching derived by sympy, the user's step's two moments
tested by Monte Carlo against it)."""

from __future__ import annotations

import numpy as np
import sympy as sp

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.harness.impl import ContractError, Runner
from sgd_conformance.checks.harness.loop import Reduction, Sampler
from sgd_conformance.checks.harness.sampler_law import law_decisions, minibatch_gradient
from sgd_conformance.checks.oracles.minibatch_law import (
    UPPER,
    Population,
    identify,
    least_squares_population,
    upper_products,
)
from sgd_conformance.checks.oracles.sme import VALUES, along_etas, sgd_second_moment, sme_second_moment
from sgd_conformance.reports.model import Figure, Series
from sgd_conformance.solvers._xp import asarray, to_numpy
from sgd_conformance.theory import langevin, numeric, sgf
from sgd_conformance.theory import minibatch as minibatch_theory
from sgd_conformance.theory.symbols import a, b, eta, t, x0

ETAS = 0.1 * 2.0 ** -np.arange(6)


def _sgd_second_moments(run: ClaimRun) -> tuple[np.ndarray, stats.Decision]:
    r"""Exact :math:`E\theta_K^2` of the implementation's SGD on :math:`f = a\theta^2/2` with additive gradient noise,
    :math:`\theta_{k+1} = \mathrm{step}(\theta_k, a\theta_k + \sigma\xi_k)`, :math:`K = T/\eta` steps from
    :math:`\theta_0`, for each eta of ``ETAS`` (:data:`checks.oracles.sme.VALUES`).

    SGD is affine in its noise: :math:`\theta_K = m_K + \sum_j \Delta_j\xi_j`, so for i.i.d. standard normal
    :math:`\xi_j`, :math:`E\theta_K^2 = m_K^2 + \sum_j\Delta_j^2` with no Monte Carlo error. The chains are the
    paths that identify the affine map: chain 0 runs with :math:`\xi \equiv 0` (giving :math:`m_K`), chain
    :math:`j + 1` with a unit impulse at step j (giving :math:`m_K + \Delta_j`), all through the same calls of the
    step. One more chain runs on a standard normal path :math:`\xi` and superposition
    :math:`\theta_K(\xi) = m_K + \sum_j\Delta_j\xi_j` is checked (rtol 1e-10 of :math:`|m_K| +
    \sum_j|\Delta_j\xi_j|`): a step that is not affine in (theta, grad), or mixes chains, fails it, and the moments
    are then not its moments. Returns the moments over ``ETAS`` and the superposition decision."""
    xp, rtol = run.xp, 1e-10
    curvature, noise_scale, start, horizon = (VALUES[k] for k in ("a", "sigma", "x0", "t"))
    moments, measured, predicted, tolerance = [], [], [], []
    for step_size in ETAS:
        steps = round(horizon / step_size)
        path = run.stream("superposition path", float(step_size), on_backend=False).standard_normal(steps)
        noise = asarray(np.vstack([np.zeros(steps), np.eye(steps), path]), xp)  # (chains, steps)
        theta = asarray(np.full((steps + 2, 1), start), xp)
        runner = Runner(run.impl, lr=float(step_size), context=f"SGD on a theta^2/2 at lr {step_size:g} (stable)")
        for k in range(steps):
            theta = runner.step(theta, curvature * theta + noise_scale * noise[:, k:k + 1])
        final = to_numpy(theta)[:, 0]
        mean, response = final[0], final[1:-1] - final[0]
        moments.append(mean**2 + response @ response)
        measured.append(final[-1])
        predicted.append(mean + response @ path)
        tolerance.append(rtol * (abs(mean) + np.abs(response * path).sum()))
    return np.array(moments), stats.identity(
        "SGD is affine in its noise: theta_K(xi) = m_K + sum_j Delta_j xi_j on a standard normal path",
        np.array(measured), np.array(predicted), rtol=0.0, atol=np.array(tolerance),
        test=f"one path per eta, {len(ETAS)} step sizes; rtol {rtol:g} of |m_K| + sum_j |Delta_j xi_j|")


@claim(
    "sde.sme-weak-order", family="sgd",
    statement="SGD is approximated weakly to O(eta) on [0, T] by the first-order stochastic modified equation "
              "dX = -grad f dt + sqrt(eta) Sigma^(1/2) dW and to O(eta^2) by the second-order one (drift "
              "-grad(f + (eta/4)|grad f|^2)); gradient flow alone is O(eta).",
    hypotheses="SGD is the implementation's step at lr eta given g = f'(theta) + sigma xi, on f = a theta^2/2 "
               "with additive Gaussian gradient noise (xi i.i.d. N(0, 1)); a = sigma = theta_0 = T = 1; test "
               "function theta^2; eta = 0.1 * 2^-j, j = 0..5. SGD's E theta_K^2 is computed exactly from its "
               "affine map in the noise (identified by the implementation's own steps on impulse paths; "
               "superposition checked), the SME moments in closed form: no Monte Carlo.",
    source="Li, Tai & E, ICML 2017 and JMLR 2019, Thm 3 (SME); Ruthotto, 'Modern Theory of Stochastic Gradient Descent'"
           " (lecture slides) (stochastic gradient flow); Schertzer & Pillaud-Vivien, JMLR 27 (2026) (arXiv "
           "2407.02322), §3.1; Oberweis & Cayci, TMLR 2026 (arXiv 2510.21245) (SGLD as an Itô SDE approximation of "
           "SGD); the closed-form moments are derived here.",
    power="Exact decisions, the same at every seed and profile: a step of 1.1 or 0.5 lr, hidden momentum or "
          "weight decay leaves a weak error that does not vanish with eta (no model's fitted order rounds to the "
          "claimed one); a one-step delayed gradient is still O(eta) from the first-order SME but drops the "
          "second-order SME's order to 1; a step that is not affine in (theta, grad) (sign-SGD, clipping, AdaGrad-"
          "style preconditioning) fails superposition.",
    mutants=("gd_lr_times_1_1", "gd_hidden_momentum", "gd_stale_gradient", "gd_weight_decay", "gd_half_step",
             "sgd_sign", "sgd_clipped", "gd_diagonal_preconditioning"),
    oracle_mutants=("modified_loss_eta_over_two",),
)
def stochastic_modified_equations_have_weak_orders_one_and_two(run: ClaimRun) -> None:
    """Weak errors |E theta_K^2 - E X_T^2| of the implementation's SGD (exact, :func:`_sgd_second_moments`) against
    each model's closed form; fitted orders (Richardson-extrapolated local slopes in log eta) 1, 1, 2."""
    sgd, affine = _sgd_second_moments(run)
    models = {
        "gradient flow": (along_etas(sp.exp(-2 * a * t) * x0**2, ETAS), 1.0),
        "first-order SME": (along_etas(sme_second_moment(1), ETAS), 1.0),
        "second-order SME": (along_etas(sme_second_moment(2), ETAS), 2.0),
    }
    decisions, series = [affine], []
    for name, (moment, order) in models.items():
        errors = np.abs(sgd - moment)
        decisions.append(stats.order_test(f"weak order of the {name} (E theta^2 at T = 1)", ETAS, errors, order,
                                          context="exact moments"))
        series.append(Series(name, ETAS.tolist(), errors.tolist()))
    series.append(Series("slope 2", ETAS.tolist(), (series[-1].y[0] * (ETAS / ETAS[0]) ** 2).tolist(),
                         style="dashed"))
    exact = np.max(np.abs(sgd - along_etas(sgd_second_moment(), ETAS)))
    run.figure(Figure(title="Weak error of SDE models of SGD (exact)", xlabel="eta", ylabel="|E theta^2 - E X_T^2|",
                      xscale="log", yscale="log", series=series,
                      caption="The second-order SME's drift comes from the backward-error modified loss. The "
                              "implementation's E theta_K^2 differs from exact SGD's closed form by at most "
                              f"{exact:.3g}."))
    run.verdict(*decisions)


#: the SGF step check: N samples, batch size b, step size eta (dt = eta)
SGF_POPULATION, SGF_BATCH, SGF_LR = 20, 5, 0.1


def _sgd_steps(run: ClaimRun, population: Population) -> tuple[np.ndarray, np.ndarray, bool | None]:
    r"""One step of the user's sgd from :math:`\theta` for every (chain, epoch): the first batch of a fresh epoch of
    the user's sampler, the user's reduction, the step called once per epoch on every chain from the same
    :math:`\theta` (one runner: a step that keeps state between calls, such as momentum, moves differently on the
    later calls, and the steps are then not SGD's). Returns the moves
    :math:`\theta' - \theta` ``(chains * epochs, d)``, the first batches ``(chains, epochs, b)`` and the sampler's
    declared law."""
    chains, epochs = run.sizes["chains"], run.sizes["epochs"]
    sampler = Sampler(run.component("sampler"), n=SGF_POPULATION, batch_size=SGF_BATCH, chains=chains,
                      rng=run.stream("sampler", on_backend=False), context=f"N = {SGF_POPULATION}, b = {SGF_BATCH}")
    reduction = Reduction(run.component("reduction"), batch_size=SGF_BATCH)
    theta = asarray(np.tile(population.theta, (chains, 1)), run.xp)
    runner = Runner(run.impl, lr=SGF_LR, context=f"one SGD step at lr {SGF_LR:g} from a fixed theta")
    moves, firsts = [], []
    for _ in range(epochs):
        batch = sampler.epoch()[0]
        if batch.shape[1] != SGF_BATCH:
            raise ContractError(f"{sampler.guard.impl.name}: the first batch of epoch {sampler.epochs} has "
                                f"{batch.shape[1]} indices; expected batch_size = {SGF_BATCH} (N = {SGF_POPULATION})")
        grad = minibatch_gradient(population, reduction, batch, run.xp)
        moves.append(to_numpy(runner.step(theta, grad)) - population.theta)
        firsts.append(batch)
    return np.concatenate(moves), np.stack(firsts, axis=1), sampler.declared_replacement


@claim(
    "lecture.sgf-diffusion", family="sgd", components=("sampler", "reduction"),
    statement="One SGD step theta' = theta - eta g_hat from a fixed theta, with the user's minibatch of b of the N "
              "samples, has conditional mean -eta grad L and covariance eta^2 Cov(g_hat): eta^2 Sigma/b with "
              "replacement, eta^2 (N - b)/(b (N - 1)) Sigma without. One Euler–Maruyama step over dt = eta of the "
              "stochastic gradient flow d theta = -grad L dt + sqrt(2D) dW has these two moments for D = (eta/2b) "
              "Sigma (with replacement: the lecture's SGF; with Sigma = I its noise is sqrt(eps) dW, eps = eta/b) "
              "and for D = ((N - b)/(N - 1)) (eta/2b) Sigma (without: the finite-population factor carries over).",
    hypotheses=f"least squares with N = {SGF_POPULATION} samples in d = 3 at a fixed theta, b = {SGF_BATCH}, eta = "
               f"{SGF_LR:g}; each (chain, epoch) takes one step of the user's sgd from that theta (called once per "
               "epoch for all chains) with the first batch of a fresh epoch of the user's sampler and the user's "
               "reduction, so the steps of a stateless step are independent draws; the law is the sampler's "
               "declared replacement attribute, else identified from its batches (as "
               "lecture.minibatch-noise-covariance); D derived by sympy for a generic symmetric 2 x 2 Sigma.",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) ('d theta = -grad L dt + sqrt(2 "
           "D(theta)) dW, D = (eta/2b) Sigma(theta)'); Li, Tai & E, JMLR 2019 (first-order SME); the "
           "finite-population factor (Cochran, Sampling Techniques, 1977) and the matching derived here.",
    seed_wording="The lecture's D = (eta/2b) Sigma matches SGD whose minibatches are drawn with replacement; "
                 "without replacement the matching D carries the factor (N - b)/(N - 1).",
    # chains of the sampler and epochs per chain (steps = chains x epochs)
    sizes={"quick": {"chains": 4000, "epochs": 4},
           "standard": {"chains": 16000, "epochs": 4},
           "thorough": {"chains": 64000, "epochs": 4}},
    power="At quick (16000 steps) a step of 1.1 or 0.5 eta, sign-SGD or a diagonal preconditioner moves the step's "
          "mean (by 10%, 50%, 20%, 6% of eta grad L here), each many CLT standard errors; a summed reduction is a "
          "step b times too large; a sampler declared with replacement that samples without never repeats an index "
          "(exact binomial test); one seed for all chains or one permutation for all epochs repeats every first "
          "batch; hidden momentum adds the previous call's move to the later calls' (mean 1.5 eta grad L). A "
          "one-step delayed gradient has the same one-step law and is not caught here (sde.sme-weak-order "
          "catches it).",
    mutants=("gd_lr_times_1_1", "gd_half_step", "sgd_sign", "gd_diagonal_preconditioning", "gd_hidden_momentum",
             "reduction:summed",
             "sampler:without_replacement_declared_with", "sampler:fixed_seed", "sampler:shuffles_once"),
    oracle_mutants=("diffusion_missing_the_half",),
)
def stochastic_gradient_flow_matches_the_sgd_step_moments(run: ClaimRun) -> None:
    """The diffusions solved from moment matching equal the lecture's (with replacement) and its finite-population
    version (without); the Sigma = I case gives eps = eta/b. Then the user's step: the law of its sampler (declared
    or identified, held to it exactly by :func:`~sgd_conformance.checks.harness.sampler_law.law_decisions`) and
    CLT z-tests of the step's mean against -eta grad L and of its covariance entries against 2 D eta of that law's
    SGF, over independent steps."""
    population = least_squares_population(run.stream("data", on_backend=False), SGF_POPULATION)
    moves, firsts, declared = _sgd_steps(run, population)
    law = identify(declared, [firsts.reshape(-1, SGF_BATCH)])
    level = stats.split(run.level, law.statistical_tests + 2)
    unit_sigma = {s: (1 if s.name in ("S_00", "S_11") else 0) for s in sgf.noise_covariance_symbols(2).free_symbols}
    decisions = [
        stats.agreement("D solved from 2 D eta = eta^2 Sigma / b (with replacement) equals the lecture's (eta/2b) "
                        "Sigma", sp.simplify(sgf.matched_diffusion(2, True) - sgf.lecture_diffusion(2))
                        == sp.zeros(2, 2), True, test="sympy, generic symmetric Sigma"),
        stats.agreement("D solved from 2 D eta = eta^2 (N - b)/(b (N - 1)) Sigma (without replacement) equals "
                        "((N - b)/(N - 1)) (eta/2b) Sigma",
                        sp.simplify(sgf.matched_diffusion(2, False) - sgf.finite_population_diffusion(2))
                        == sp.zeros(2, 2), True, test="sympy, generic symmetric Sigma"),
        stats.agreement("with Sigma = I the SGF noise variance 2D is eps = eta/b",
                        sp.simplify(2 * sgf.matched_diffusion(2, True).subs(unit_sigma) - eta / b * sp.eye(2))
                        == sp.zeros(2, 2), True, test="sympy"),
        *law_decisions(law, firsts.reshape(-1, SGF_BATCH), firsts, SGF_POPULATION, level, where=f"b = {SGF_BATCH}")]
    symbols = sgf.noise_covariance_symbols(3)
    values = {symbols[i, j]: population.sigma[i, j] for i in range(3) for j in range(3)}
    values.update({eta: SGF_LR, b: SGF_BATCH, minibatch_theory.N: SGF_POPULATION})
    step_covariance = np.array((2 * eta * sgf.diffusion(3, law.replacement)).subs(values), dtype=float)
    drift = -SGF_LR * population.gradient
    units, products = moves.shape[0], upper_products(moves - drift)
    decisions += [
        stats.z_test(f"E[theta' - theta] of one step ({law.label}) vs the SGF step's mean -eta grad L",
                     moves.mean(axis=0), moves.std(axis=0, ddof=1) / np.sqrt(units), drift, level,
                     test=f"CLT per coordinate over {units} independent steps"),
        stats.z_test(f"Cov(theta' - theta) entries of one step ({law.label}) vs the SGF step's 2 D eta",
                     products.mean(axis=0), products.std(axis=0, ddof=1) / np.sqrt(units), step_covariance[UPPER],
                     level, test=f"CLT per entry (known centre) over {units} independent steps")]
    steps = np.linspace(0.01, 1.0, 100)
    sgd_variance = numeric.evaluate(langevin.sgd_stationary_variance(), xp=np, eta=steps, b=1, a=1.0, sigma=1.0)
    run.figure(Figure(
        title="Stationary variance on a x^2/2 with gradient-noise variance sigma^2 (a = sigma = b = 1)", xlabel="eta",
        ylabel="variance",
        series=[Series("SGD (exact)", steps.tolist(), np.asarray(sgd_variance).tolist(), style="line"),
                Series("SGF, D = (eta/2b) Sigma: eta sigma^2/(2 a b)", steps.tolist(), (steps / 2).tolist(),
                       style="dashed")],
        caption="Matching one step's moments makes SGF agree with SGD to first order in eta, not beyond."))
    run.verdict(*decisions)
