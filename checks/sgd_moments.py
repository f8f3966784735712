r"""The first two moments of SGD run through the user's sampler and reduction (family ``sgd``, components
``sampler`` and ``reduction``): its mean is GD for affine gradients and independent minibatches; its stationary
variance is a function of the temperature :math:`\eta/b` neither for independent minibatches (to first order only)
nor under random reshuffling (not at all); its stationary second moment does not have the Gibbs shape.

*Which minibatches.* Claims 1 and 3 need minibatches independent of the iterate. Each step takes the *first batch of
a fresh epoch* of the user's sampler: for a sampler that draws a fresh uniform permutation per epoch (and chain)
that is a uniform b-subset, independent from step to step; for one that declares ``replacement = True``, b i.i.d.
uniform indices. A sampler that does not reshuffle, or shares its permutation across chains, gives every step the
same batch and breaks the hypothesis (the checks fail it). Claim 2 runs the sampler over whole epochs, as a training
loop does, and its oracle is the law the sampler declares.

*Mean.* For per-sample gradients :math:`A_i\theta - c_i` the minibatch gradient is :math:`A_B\theta - c_B` with
:math:`EA_B = H`, :math:`Ec_B = c`; when :math:`B_k` is independent of :math:`\theta_k`,
:math:`E\theta_{k+1} = E\theta_k - \eta(HE\theta_k - c)`: the mean of SGD is the GD iterate at every k, exactly.
Within a reshuffled epoch it is not: two batches of one epoch are disjoint, so their
per-sample quantities have covariance :math:`-1/(N-1)` times the population's, and after two steps
:math:`E\theta_2 - \theta_2^{GD} = -\frac{\eta^2}{N-1}\frac1N\sum_i (A_i - H)(g_i(\theta_0) - \nabla
L(\theta_0))`, generically nonzero: the mean leaves GD at order :math:`\eta^2`. The covariance of
:math:`\theta_k` under independent minibatches is exact too (:mod:`sgd_conformance.checks.oracles.sgd_moments`), and
standardises the test.

*Variance (claim 2).* Per-sample gradients :math:`a\theta + \sigma z_i` over N samples with fixed centred
:math:`z_i` of population variance 1: :math:`\theta_{k+1} = \rho\theta_k - \eta\sigma\xi_k`, :math:`\rho = 1 - \eta
a`, :math:`\xi_k` the mean of z over :math:`B_k`, so :math:`\theta_K = -\eta\sigma\sum_k\rho^{K-1-k}\xi_k` from
:math:`\theta_0 = 0`. With i.i.d. indices the :math:`\xi_k` are independent of variance 1/b, and
:math:`\operatorname{Var}\theta_k \to V(\eta, b) = \eta\sigma^2/(ba(2 - \eta a))`: "temperature :math:`\eta/b`" to
first order only. Under random reshuffling :math:`\operatorname{Var}\xi_k = \frac{N-b}{b(N-1)}`, the batches of an
epoch have covariance :math:`-1/(N-1)`, their sum is zero, and epochs are independent: the variance is an exact
quadratic form (:func:`sgd_conformance.theory.sgd_moments.reshuffled_variance_after`), periodic over the epoch and
of order :math:`\eta^3` at its end. A sampler that never reshuffles repeats one epoch noise
:math:`U = \sum_i\rho^{m-1-i}\xi_i` every epoch, so the epoch ends accumulate it coherently,
:math:`\operatorname{Var}\theta_{em} \to \eta^2\sigma^2\operatorname{Var}U/(1 - \rho^m)^2` instead of
:math:`/(1 - \rho^{2m})`; one shared permutation makes the chains identical; summed gradients multiply the step by b.

*Shape (claim 3).* On a finite least-squares dataset with :math:`H = \operatorname{diag}(1, 0.1)` and gradient noise
:math:`\Sigma(\theta^*) = H` at the minimum, the exact second moment of SGD with independent minibatches is the
fixed point of the moment map (the oracle's :math:`E[T_B \otimes T_B]`). To first order in eta it solves
:math:`HM + MH = \eta f\,\Sigma(\theta^*)` (f the covariance factor of the batch mean), so
:math:`M \approx \frac{\eta f}{2} I`: isotropic, because the noise has the shape of H; the Gibbs law
:math:`\exp(-2L/\varepsilon)`, :math:`\varepsilon = \eta/b`, would give :math:`\frac{\eta}{2b}H^{-1}` (Mandt,
Hoffman & Blei, JMLR 2017), ten times wider in the flat direction than in the stiff one.

The tests use the chains' per-step values averaged over each chain (chains are independent, steps are not): CLT
intervals with the chains' own spread, not the chi-square law of Gaussian draws, because a finite population makes
:math:`\theta_k` non-Gaussian.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import sympy as sp
from scipy import stats as sps

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.harness.impl import Runner
from sgd_conformance.checks.harness.loop import Reduction, Sampler
from sgd_conformance.checks.oracles.sgd_moments import MinibatchMoments, covariance, mean, second_moment_about
from sgd_conformance.reports.model import Figure, Series
from sgd_conformance.solvers import minibatch
from sgd_conformance.solvers._xp import asarray, to_numpy
from sgd_conformance.theory import langevin, numeric, sgd_moments
from sgd_conformance.theory import minibatch as minibatch_theory
from sgd_conformance.theory.symbols import a, b, eta, sigma

#: claim 2: samples, noise coordinates, (eta, b) pairs with the same eta/b, steps of each (whole epochs of both)
TEMPERATURE_N, TEMPERATURE_D, TEMPERATURE_SETTINGS, TEMPERATURE_STEPS = 32, 4, ((0.1, 4), (0.2, 8)), 64


def fresh_first_batches(sampler: Sampler) -> Iterator[np.ndarray]:
    """The first batch of a fresh epoch, step after step: independent minibatches from an epoch sampler."""
    while True:
        yield sampler.epoch()[0]


def independent_law(replacement: bool, batch: int) -> str:
    """The law of :func:`fresh_first_batches` for a sampler that declares ``replacement`` or not."""
    return (f"{batch} i.i.d. uniform indices per step (the sampler declares replacement = True)" if replacement else
            f"one uniform {batch}-subset per step (the first batch of a fresh epoch; the sampler declares no "
            "replacement)")


def normal_scores(n: int) -> np.ndarray:
    """n symmetric normal quantiles, exactly centred and scaled to population variance 1."""
    q = np.asarray(sps.norm.ppf((np.arange(n) + 0.5) / n), dtype=float)
    q = q - q.mean()
    return q / math.sqrt(np.mean(q**2))


@claim(
    "lecture.sgf-mean-is-gf", family="sgd", components=("sampler", "reduction"),
    statement="For least squares (affine gradients) and unbiased minibatches drawn independently of the iterate (b "
              "i.i.d. uniform indices, or a fresh uniform b-subset per step), the mean of SGD is GD: E theta_k^SGD = "
              "theta_k^GD exactly at every k (same step), and likewise E theta_SGF(t) = theta_GF(t) for the "
              "stochastic gradient flow; false for non-affine gradients, and not exact within a reshuffled epoch, "
              "whose batches depend on the earlier ones (the mean leaves GD at order eta^2).",
    hypotheses="X in R^(40 x 5) Gaussian, y = X theta* + N(0, 0.25), L = ||X theta - y||^2/(2n); each step's "
               "minibatch is the first batch (b = 4) of a fresh epoch of the sampler (a uniform 4-subset when the "
               "sampler reshuffles every epoch and chain, 4 i.i.d. indices when it declares replacement), per-sample "
               "gradients averaged by the reduction; eta = 0.05, k = 20 steps from theta_0 = 0 (mid-way to the "
               "minimum, so the step size matters); the exact covariance of theta_20 under that law standardises "
               "the chains' mean.",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) ('E[theta_SGF(t)] = "
           "theta_GF(t)'); Ali, Dobriban & Tibshirani, ICML 2020.",
    # chains whose mean is compared with GD
    sizes={"quick": {"chains": 4000},
           "standard": {"chains": 16000},
           "thorough": {"chains": 64000}},
    mutants=("gd_hidden_momentum", "gd_lr_times_1_1", "sampler:shuffles_once", "sampler:fixed_seed",
             "reduction:summed"),
)
def mean_of_sgd_is_gd_on_least_squares(run: ClaimRun) -> None:
    """z-tests of the chains' mean of theta_20, whitened by its exact covariance, against the exact GD iterate."""
    chains_n = run.sizes["chains"]
    rng = run.stream("data", on_backend=False)
    n, d, batch, step, steps = 40, 5, 4, 0.05, 20
    features = rng.standard_normal((n, d))
    targets = features @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n)
    sampler = Sampler(run.component("sampler"), n=n, batch_size=batch, chains=chains_n,
                      rng=run.stream("minibatches", on_backend=False), context=f"n = {n}, b = {batch}")
    replacement = sampler.declared_replacement is True
    exact = MinibatchMoments.least_squares(features, targets, step, batch, replacement).path(np.zeros(d), steps)
    gd = mean(exact)
    reduction = Reduction(run.component("reduction"), batch_size=batch)
    x_xp, y_xp = asarray(features, run.xp), asarray(targets, run.xp)
    batches = fresh_first_batches(sampler)
    runner = Runner(run.impl, lr=step, context="eta lambda_max(H) < 0.15: SGD is stable")
    theta = asarray(np.zeros((chains_n, d)), run.xp)
    means = [np.zeros(d)]
    for _ in range(steps):
        grad = reduction.gradient(minibatch.least_squares_per_sample_gradients(theta, x_xp, y_xp, next(batches)))
        theta = runner.step(theta, grad)
        means.append(to_numpy(theta).mean(axis=0))
    final = to_numpy(theta)
    whitened = np.linalg.solve(np.linalg.cholesky(covariance(exact[-1])), (final - gd[-1]).T).T
    distance = [float(np.linalg.norm(m - g)) for m, g in zip(means, gd, strict=True)]
    spread = [float(np.linalg.norm(g - gd[-1])) for g in gd]
    ks = [float(k) for k in range(steps + 1)]
    run.figure(Figure(
        title="Mean of SGD against GD on least squares", xlabel="k", ylabel="norm",
        series=[Series("|mean of SGD chains - GD iterate|", ks, distance, style="line"),
                Series("|GD iterate - GD iterate at k = 20| (scale)", ks, spread, style="dashed")],
        caption="Affine gradients and independent minibatches: the mean follows GD exactly."))
    run.verdict(
        stats.agreement("E g_hat = grad L by enumeration of the minibatches (N = 6, b = 2, without replacement)",
                        minibatch_theory.enumerated_moments(6, 2, False)[0], 0, test="sympy, every minibatch"),
        stats.z_test(f"mean of theta_{steps} over the chains vs theta_{steps}^GD, standardised by the exact "
                     f"covariance; law: {independent_law(replacement, batch)}", whitened.mean(axis=0),
                     np.full(d, 1 / math.sqrt(chains_n)), np.zeros(d), run.level,
                     test=f"CLT z-tests of the {d} whitened coordinates over {chains_n} independent chains "
                          f"(Bonferroni over {d}); exact covariance from the moment map"))


def temperature_variances(replacement: bool, step: float, batch: int, steps: int) -> np.ndarray:
    """Exact Var(theta_k), k = 0..steps, of claim 2's SGD under the law the sampler declares (a = sigma = 1)."""
    ks = np.arange(steps + 1)
    values = {"eta": step, "b": batch, "a": 1.0, "sigma": 1.0}
    if replacement:
        return np.asarray(numeric.evaluate(langevin.sgd_variance_after(), xp=np, **values, k=ks), dtype=float)
    m = TEMPERATURE_N // batch
    return np.asarray(numeric.evaluate(sgd_moments.reshuffled_variance_after(), xp=np, **values, N=TEMPERATURE_N,
                                       e=ks // m, j=ks % m), dtype=float)


def reshuffled_temperature_ratio() -> sp.Expr:
    """Exact ratio of the stationary epoch-end variances under random reshuffling at claim 2's two settings."""
    end = sgd_moments.reshuffled_stationary_epoch_end_variance().subs({a: 1, sigma: 1, sgd_moments.population:
                                                                      TEMPERATURE_N})
    first, second = (end.subs({eta: sp.Rational(str(s)), b: n}) for s, n in TEMPERATURE_SETTINGS)
    return sp.Rational(second / first)


@claim(
    "lecture.sgd-temperature", family="sgd", components=("sampler", "reduction"),
    statement="The stationary variance of SGD is not a function of the temperature eta/b. On L = a theta^2/2 with "
              "per-sample gradients a theta + sigma z_i: with independent minibatches (i.i.d. indices) it is "
              "V(eta, b) = eta sigma^2/(b a (2 - eta a)), eta/b to first order only (V(0.2, 8)/V(0.1, 4) = 1.0556); "
              "under random reshuffling the epoch's noise sums to zero, the variance is periodic over the epoch and "
              "of order eta^3 N (N^2 - b^2)/(24 b^3 (N - 1)) at its end (N = 32: 0.000739 at (0.1, 4), 0.000826 at "
              "(0.2, 8), ratio 1.1176, against V = 0.01316 and 0.01389).",
    hypotheses=f"a = sigma = 1; N = {TEMPERATURE_N} samples, {TEMPERATURE_D} noise coordinates, each a fixed "
               "arrangement of the N normal scores (centred, population variance exactly 1); (eta, b) = (0.1, 4) "
               f"and (0.2, 8) (same eta/b); {TEMPERATURE_STEPS} steps (whole epochs) from theta_0 = 0, minibatches "
               "from the sampler epoch after epoch, per-sample gradients averaged by the reduction; the oracle is "
               "the exact k-step variance of the law the sampler declares: random reshuffling (no replacement "
               "declared) or i.i.d. indices (replacement = True).",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) ('temperature eps = eta/b', "
           "'T_eff ∝ eta/b'); Gürbüzbalaban, Ozdaglar & Parrilo, Math. Program. 2021 (random reshuffling); the "
           "exact variances are derived here.",
    seed_wording="The lecture presents the stationary spread of SGD as a function of the temperature eta/b alone; that "
                 "holds to first order in eta only, and only for minibatches drawn independently (here V(0.2, 8)/"
                 "V(0.1, 4) = 1.0556); a training loop that reshuffles every epoch has a variance of order eta^3.",
    sizes={"quick": {"chains": 4000},
           "standard": {"chains": 16000},
           "thorough": {"chains": 64000}},
    mutants=("gd_hidden_momentum", "gd_lr_times_1_1", "gd_stale_gradient", "sampler:shuffles_once",
             "sampler:fixed_seed", "sampler:with_replacement_undeclared", "sampler:without_replacement_declared_with",
             "reduction:summed"),
)
def sgd_stationary_variance_is_not_a_function_of_eta_over_b(run: ClaimRun) -> None:
    """z-tests of each chain's time average of theta_k^2 / Var(theta_k) (exact, for the declared law) against 1."""
    chains_n = run.sizes["chains"]
    scores = normal_scores(TEMPERATURE_N)
    noise = np.column_stack([scores[(np.arange(TEMPERATURE_N) * (2 * c + 1)) % TEMPERATURE_N]
                             for c in range(TEMPERATURE_D)])
    noise_xp = asarray(noise, run.xp)
    level = stats.split(run.level, len(TEMPERATURE_SETTINGS))
    decisions, series = [], []
    for step, batch in TEMPERATURE_SETTINGS:
        sampler = Sampler(run.component("sampler"), n=TEMPERATURE_N, batch_size=batch, chains=chains_n,
                          rng=run.stream("minibatches", step, batch, on_backend=False),
                          context=f"n = {TEMPERATURE_N}, b = {batch}")
        replacement = sampler.declared_replacement is True
        exact = temperature_variances(replacement, step, batch, TEMPERATURE_STEPS)
        reduction = Reduction(run.component("reduction"), batch_size=batch)
        runner = Runner(run.impl, lr=step, context=f"eta a = {step:g} < 2: SGD is stable")
        theta = asarray(np.zeros((chains_n, TEMPERATURE_D)), run.xp)
        standardised = asarray(np.zeros(chains_n), run.xp)
        observed = [0.0]  # k = 0: theta_0 = 0
        for k, indices in zip(range(1, TEMPERATURE_STEPS + 1), sampler.steps(), strict=False):
            flat = run.xp.asarray(indices.reshape(-1))
            per_sample = theta[:, None, :] + run.xp.reshape(run.xp.take(noise_xp, flat, axis=0),
                                                            (chains_n, batch, TEMPERATURE_D))
            theta = runner.step(theta, reduction.gradient(per_sample))
            squares = run.xp.mean(theta**2, axis=1)
            standardised = standardised + squares / exact[k]
            observed.append(float(run.xp.mean(squares)))
        per_chain = to_numpy(standardised) / TEMPERATURE_STEPS
        law = "i.i.d. indices (declared replacement = True)" if replacement else "random reshuffling"
        decisions.append(stats.z_test(
            f"time average of theta_k^2 / Var(theta_k), k = 1..{TEMPERATURE_STEPS}, at eta = {step:g}, b = {batch}; "
            f"law: {law}", [per_chain.mean()], [per_chain.std(ddof=1) / math.sqrt(chains_n)], [1.0], level,
            test=f"CLT interval over {chains_n} independent chains x {TEMPERATURE_D} coordinates, exact k-step "
                 "variances"))
        other = temperature_variances(not replacement, step, batch, TEMPERATURE_STEPS)
        ks = [float(k) for k in range(1, TEMPERATURE_STEPS + 1)]
        series += [Series(f"SGD, eta={step:g}, b={batch}", ks, observed[1:]),
                   Series(f"exact, {law}, eta={step:g}", ks, exact[1:].tolist(), style="line"),
                   Series(f"exact, {'random reshuffling' if replacement else 'i.i.d. indices'}, eta={step:g}", ks,
                          other[1:].tolist(), style="dashed")]
    iid_ratio = sp.simplify(langevin.sgd_temperature_ratio() - 1) != 0
    rr_ratio = reshuffled_temperature_ratio()
    run.figure(Figure(
        title="Variance of SGD at the same eta/b under the sampler's law", xlabel="k", ylabel="E theta_k^2",
        yscale="log", series=series,
        caption=f"i.i.d. indices: V(0.2, 8)/V(0.1, 4) = 1.0556; random reshuffling: epoch-end ratio "
                f"{float(rr_ratio):.4f}, and the epoch's noise cancels."))
    run.verdict(
        stats.agreement("V(2 eta, 2 b)/V(eta, b) = (2 - eta a)/(2 - 2 eta a) differs from 1 for eta a > 0 (i.i.d. "
                        "indices)", iid_ratio, True, test="sympy"),
        stats.agreement(f"stationary epoch-end variance under random reshuffling, (0.2, 8) over (0.1, 4), N = "
                        f"{TEMPERATURE_N}, differs from 1", rr_ratio != 1, True, test=f"exact rational {rr_ratio}"),
        *decisions)


def shape_dataset(levels: int = 4, flat: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Claim 3's data: x on the grid (q_j, sqrt(flat) q_l) of ``levels`` normal scores (H = diag(1, flat) exactly),
    y = x'theta* + sign(q_j q_l) (residuals of variance 1, orthogonal to both columns: theta_LS = theta* and
    Sigma(theta*) = (1/N) sum r_i^2 x_i x_i' = H exactly). Returns (features, targets, theta*)."""
    q = normal_scores(levels)
    first, second = (g.ravel() for g in np.meshgrid(q, q, indexing="ij"))
    features = np.column_stack([first, math.sqrt(flat) * second])
    optimum = np.array([0.5, -0.5])
    return features, features @ optimum + np.sign(first * second), optimum


@claim(
    "lecture.sgd-stationary-shape", family="sgd", components=("sampler", "reduction"),
    statement="SGD's stationary law is not the Gibbs law: on a finite least-squares dataset with H = diag(1, 0.1) and "
              "gradient noise Sigma(theta*) = H, SGD with independent minibatches has the exact second moment M = "
              "E[(theta - theta*)(theta - theta*)'] of the moment map M~ -> E[T_B M~ T_B'] (eta = 0.2, b = 4, N = "
              "16, uniform 4-subsets: M = diag(0.022638, 0.020690); 4 i.i.d. indices: diag(0.028431, 0.026019)), "
              "nearly isotropic, where the Gibbs law exp(-2L/eps), eps = eta/b, gives (eta/2b) H^-1 = "
              "diag(0.025, 0.25), 12x wider in the flat direction.",
    hypotheses="x on the 4 x 4 grid (q_j, sqrt(0.1) q_l) of normal scores, y = x' theta* + sign(q_j q_l) (theta_LS = "
               "theta*, residual variance 1); each step's minibatch is the first batch (b = 4) of a fresh epoch of "
               "the sampler (a uniform 4-subset, or 4 i.i.d. indices when it declares replacement), per-sample "
               "gradients averaged by the reduction; eta = 0.2; chains start at theta* and run 200 steps; each "
               "chain's products averaged over steps 101..200 against the exact average of M_k over those steps "
               "(within 0.5% of the stationary M).",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) (Gibbs law 'with temperature eps "
           "= eta/b' as the SGD limit); Mandt, Hoffman & Blei, JMLR 2017 (constant-step SGD's stationary law); the "
           "exact moment map is derived here.",
    seed_wording="The lecture presents p ∝ exp(-2L/eps), eps = eta/b, as the stationary law of SGD. For least squares "
                 "that law has the shape H^-1 where SGD's is nearly isotropic (here 12x too wide in the flat "
                 "direction): SGD's gradient noise has the shape of H and depends on the state.",
    sizes={"quick": {"chains": 1000},
           "standard": {"chains": 4000},
           "thorough": {"chains": 16000}},
    mutants=("gd_hidden_momentum", "gd_lr_times_1_1", "gd_stale_gradient", "sampler:shuffles_once",
             "sampler:fixed_seed", "sampler:with_replacement_undeclared", "sampler:without_replacement_declared_with",
             "reduction:summed"),
)
def sgd_stationary_law_is_not_the_gibbs_law(run: ClaimRun) -> None:
    """Per-entry CLT intervals on each chain's time average of (delta_1^2, delta_1 delta_2, delta_2^2) against the
    exact moment map."""
    chains_n = run.sizes["chains"]
    step, batch, steps = 0.2, 4, 200
    window = range(steps // 2 + 1, steps + 1)
    features, targets, optimum = shape_dataset()
    n = features.shape[0]
    sampler = Sampler(run.component("sampler"), n=n, batch_size=batch, chains=chains_n,
                      rng=run.stream("minibatches", on_backend=False), context=f"n = {n}, b = {batch}")
    replacement = sampler.declared_replacement is True
    moments = MinibatchMoments.least_squares(features, targets, step, batch, replacement)
    path = second_moment_about(moments.path(optimum, steps), optimum)
    exact = path[window.start:].mean(axis=0)
    stationary = second_moment_about(moments.stationary(), optimum)
    reduction = Reduction(run.component("reduction"), batch_size=batch)
    x_xp, y_xp, centre = asarray(features, run.xp), asarray(targets, run.xp), asarray(optimum, run.xp)
    batches = fresh_first_batches(sampler)
    runner = Runner(run.impl, lr=step, context="eta max |x|^2 < 0.5: SGD is stable")
    theta = asarray(np.broadcast_to(optimum, (chains_n, 2)).copy(), run.xp)
    totals = asarray(np.zeros((chains_n, 3)), run.xp)
    diagonal: list[list[float]] = [[], []]
    for k in range(1, steps + 1):
        grad = reduction.gradient(minibatch.least_squares_per_sample_gradients(theta, x_xp, y_xp, next(batches)))
        theta = runner.step(theta, grad)
        delta = theta - centre
        products = run.xp.stack([delta[:, 0] ** 2, delta[:, 0] * delta[:, 1], delta[:, 1] ** 2], axis=1)
        for i, column in enumerate((0, 2)):
            diagonal[i].append(float(run.xp.mean(products[:, column])))
        if k in window:
            totals = totals + products
    per_chain = to_numpy(totals) / len(window)
    estimate, se = per_chain.mean(axis=0), per_chain.std(axis=0, ddof=1) / math.sqrt(chains_n)
    gibbs = [step / (2 * batch * h) for h in (1.0, 0.1)]
    ks = [float(k) for k in range(1, steps + 1)]
    run.figure(Figure(
        title="Second moment of SGD: exact vs the Gibbs shape", xlabel="k", ylabel="E[delta_i^2]", yscale="log",
        series=[Series("SGD, direction h = 1", ks, diagonal[0]), Series("SGD, direction h = 0.1", ks, diagonal[1]),
                Series("exact M_k, h = 1", ks, path[1:, 0, 0].tolist(), style="line"),
                Series("exact M_k, h = 0.1", ks, path[1:, 1, 1].tolist(), style="line"),
                Series("Gibbs (eta/2b) H^-1, h = 1", ks, [gibbs[0]] * len(ks), style="dashed"),
                Series("Gibbs (eta/2b) H^-1, h = 0.1", ks, [gibbs[1]] * len(ks), style="dashed")],
        caption=f"Stationary M = diag({stationary[0, 0]:.6f}, {stationary[1, 1]:.6f}), nearly isotropic; the Gibbs "
                f"law is {gibbs[1] / stationary[1, 1]:.1f}x wider in the flat direction."))
    run.verdict(stats.z_test(
        f"time averages of E[delta delta'] entries (11, 12, 22) over steps {window.start}..{steps}; law: "
        f"{independent_law(replacement, batch)}", estimate, se, [exact[0, 0], exact[0, 1], exact[1, 1]], run.level,
        test=f"CLT intervals per entry over {chains_n} independent chains (Bonferroni over 3); exact moment map"))
