r"""Synchronous coupling of the noisy least-squares SDE (Schertzer & Pillaud-Vivien, JMLR 2026; family ``sde``):
exponential contraction in W2 and the uniqueness of the invariant law.

Model (:mod:`theory.lsq_sde`, Itô): :math:`d\theta = -\nabla L\,dt + \sqrt\gamma\,\sigma(\theta)\,dB`,
:math:`\sigma(\theta) = n^{-1/2}[r_ix_i - \nabla L]_i`, affine in theta. Two copies driven by the same Brownian
motion from different starts have the difference :math:`\Delta = \theta - \theta'`, and since sigma is affine the
label terms cancel: :math:`d\Delta = -H\Delta\,dt + \sqrt\gamma\sum_k\Delta_kS_k\,dB`, the noiseless model. So
:math:`E|\Delta_t|^2` follows the exact noiseless moment ODE (:class:`checks.oracles.lsq_sde.Problem`), which decays
at least at rate :math:`(2 - \gamma K)\mu` for :math:`\gamma < 2/K`, and
:math:`W_2^2(\mathrm{Law}\,\theta_t, \mathrm{Law}\,\theta'_t) \le E|\Delta_t|^2`: the law forgets its start
exponentially fast, so the invariant law is unique. The implementation under test integrates the fields through
``Runner.sde_step`` (:func:`solvers.sde.drive`); the suite supplies the increments and decides which rows share them.

Source: Schertzer & Pillaud-Vivien, JMLR 27 (2026) (arXiv 2407.02322), Theorems 7 and 15 (arXiv v1 Thm 4.6, 5.4);
the statements below are derived here (synchronous coupling with the affine square root of their eq. (13)).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats as sps

from sgd_conformance.checks.harness import profiles, stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.harness.impl import Runner
from sgd_conformance.checks.oracles.lsq_sde import Problem, moment_path, noisy_problem
from sgd_conformance.reports.model import Figure, Series
from sgd_conformance.solvers import sde
from sgd_conformance.solvers._xp import asarray

WASSERSTEIN = "lsq-sde.wasserstein-rate"
UNIQUE = "lsq-sde.invariant-unique"
COUPLED_GAMMA_K = 0.5


def coupled_run(run: ClaimRun, problem: Problem, gamma: float, starts: list[np.ndarray], dt: float,
                checkpoints: list[int], coupled: int) -> list[dict[int, np.ndarray]]:
    """One batch of ``len(starts) * chains`` rows through the implementation: the first ``coupled`` groups share the
    same dW rows (synchronous coupling, stream "shared dW"), each later group g has its own (stream "own dW g");
    returns each group's states at the checkpoints."""
    xp, chains = run.xp, run.sizes["chains"]
    model = problem.model(gamma)
    m = model.brownian_dimension

    def blocks(label: str) -> sde.Increments:
        return sde.brownian_blocks(lambda first: run.stream(label, first, on_backend=False), rows=chains, m=m, dt=dt,
                                   xp=xp)

    shared = blocks("shared dW")
    own = [blocks(f"own dW {g}") for g in range(len(starts) - coupled)]

    def increments(first: int, count: int) -> Any:
        dW = shared(first, count)
        return xp.concat([*[dW] * coupled, *(draw(first, count) for draw in own)], axis=1)

    start = np.concatenate([np.tile(s, (chains, 1)) for s in starts])
    runner = Runner(run.impl,
                    context=f"the noisy least-squares SDE at gamma = {COUPLED_GAMMA_K}/K has a stationary law")
    states = sde.Snapshots(checkpoints)
    sde.drive(runner.sde_step, asarray(start, xp), model.drift, model.diffusion, increments, steps=max(checkpoints),
              dt=dt, block=sde.block_length(sde.BLOCK_FLOATS, start.shape[0], m), observe=states)
    return [{k: v[g * chains:(g + 1) * chains] for k, v in states.items()} for g in range(len(starts))]


# --- lsq-sde.wasserstein-rate --------------------------------------------------------------------------------

W2_DT = 1 / 400
W2_TIMES = np.array([0.25, 0.5, 1.0, 1.5, 2.0])


@claim(
    WASSERSTEIN, family="sde",
    statement="Noisy finite-d training model (Ker X = {0}): with the affine factor sigma(theta) = n^-1/2 [r_i x_i - "
              "grad L]_i and synchronous coupling (the same dB for two copies from different starts), Delta_t = "
              "theta_t - theta'_t solves the noiseless SDE d Delta = -H Delta dt + sqrt(gamma) sum_k Delta_k S_k dB, "
              "so E|Delta_t|^2 follows the exact noiseless moment ODE and W2^2(Law theta_t, Law theta'_t) <= "
              "E|Delta_t|^2 <= exp(-(2 - gamma K) mu t) |Delta_0|^2 for gamma < 2/K: the law converges to the "
              "invariant law exponentially fast in W2 (finite dimension).",
    hypotheses="X 6 x 2 with rows N(0, I), y = X 1 + 2 N(0, I), drawn once from the suite's fixed stream; gamma "
               "= 0.5/K with K the sharp constant of (1/n) sum |x_i|^2 x_i x_i' <= K H (E|Delta|^4 decays too); "
               "starts theta_LS +- v_min(H) (|Delta|^2 then has relative sd <= 0.65: an accurate CLT); both copies "
               "stacked as one batch with the same dW rows; Euler–Maruyama "
               "dt = 1/400 (the EM difference chain is exactly the EM chain of the noiseless model; its exact bias "
               "is < 0.25 standard error at the thorough size, 8000 pairs); t = 0.25, 0.5, 1, 1.5, 2.",
    source="Schertzer & Pillaud-Vivien, JMLR 27 (2026) (arXiv 2407.02322), Theorem 7 (training loss; arXiv v1 Thm 4.6) "
           "and Theorem 15 (population; v1 Thm 5.4): W2 convergence to the invariant law by coupling, exponential "
           "(parametric) and polynomial (non-parametric) rates; the bound here, by synchronous coupling with the affine"
           " square root of eq. (13), is derived.",
    seed_wording="'Polynomial convergence rates in the noisy regime with unique invariant distribution'. In finite "
                 "dimension the noisy regime contracts exponentially in W2 (derived above); polynomial rates arise "
                 "only non-parametrically (infinite dimension with eigenvalue decay).",
    sizes={"quick": {"chains": 2000},
           "standard": {"chains": 4000},
           "thorough": {"chains": 8000}},
    power='quick: uncoupled noise ~21 SE, Stratonovich and noise dropped > 6 SE; full power at quick, thorough capped'
          ' at 8000 pairs by the EM-bias rule',
    mutants=("diffusion_frozen_at_start", "endpoint_diffusion", "ignores_increments", "own_noise", "stochastic_heun"),
)
def synchronous_coupling_contracts_exponentially_in_wasserstein(run: ClaimRun) -> None:
    """Coupled pairs through the implementation: z-tests of E|Delta_t|^2 against the exact noiseless moment ODE;
    the bound exp(-(2 - gamma K) mu t) exactly (moment ODE on a grid) and statistically (mean ratio <= 1)."""
    chains = run.sizes["chains"]
    problem = noisy_problem()
    gamma = COUPLED_GAMMA_K / problem.k_sharp
    unit = np.linalg.eigh(problem.curvature)[1][:, 0]
    delta0 = 2 * unit
    steps = sde.grid_steps(W2_TIMES, W2_DT)
    first, second = coupled_run(run, problem, gamma, [problem.centre + unit, problem.centre - unit], W2_DT, steps,
                                coupled=2)
    squared = np.column_stack([np.sum((first[k] - second[k]) ** 2, axis=1) for k in steps])
    noiseless = problem.moments(gamma, noiseless=True)
    fine = np.linspace(0.0, 6 * W2_TIMES[-1], 121)
    fine_second = np.trace(moment_path(noiseless, fine[1], fine.size, np.zeros(2), np.outer(delta0, delta0)),
                           axis1=1, axis2=2)
    rate = problem.bound(gamma)
    fine_bound = np.exp(-rate * fine) * float(delta0 @ delta0)
    exact = np.trace(noiseless.moments(W2_TIMES, np.zeros(2), np.outer(delta0, delta0))[1], axis1=1, axis2=2)
    bound = np.exp(-rate * W2_TIMES) * float(delta0 @ delta0)
    mean, se = squared.mean(axis=0), squared.std(axis=0, ddof=1) / math.sqrt(chains)
    ratio = np.mean(squared / bound, axis=1)
    level = stats.split(run.level, 2)
    run.figure(Figure(
        title=f"Synchronously coupled copies: E|Delta_t|^2 at gamma = {COUPLED_GAMMA_K}/K (X 6 x 2, noisy)",
        xlabel="t", ylabel="E|theta_t - theta'_t|^2 (>= W2^2)", yscale="log",
        series=[Series("implementation (99.9% CI)", W2_TIMES.tolist(), mean.tolist(), yerr=(3.29 * se).tolist()),
                Series("exact noiseless moment ODE", fine[fine <= 2.5].tolist(),
                       fine_second[fine <= 2.5].tolist(), style="line"),
                Series("bound e^(-(2 - gamma K) mu t) |Delta_0|^2", fine[fine <= 2.5].tolist(),
                       fine_bound[fine <= 2.5].tolist(), style="dashed")],
        caption=f"Exact rate {problem.rate(gamma):.4f} >= (2 - gamma K) mu = {rate:.4f} (mu = {problem.mu:.4f}, "
                f"K = {problem.k_sharp:.4f}): exponential, not polynomial."))
    run.verdict(
        stats.at_least("exact decay rate of E|Delta_t|^2 >= (2 - gamma K) mu", problem.rate(gamma), rate,
                       test="spectral abscissa of the noiseless second-moment operator"),
        stats.at_most("max over t in [0, 12] of (exact E|Delta_t|^2) / bound", float(np.max(
            fine_second / fine_bound)), 1.0, test="exact moment ODE on 121 times"),
        stats.z_test("E|Delta_t|^2 of the coupled pair vs the exact noiseless moment ODE", mean, se, exact, level,
                     test=f"CLT intervals over {chains} coupled pairs at t = {', '.join(f'{t:g}' for t in W2_TIMES)} "
                          "(Bonferroni)"),
        stats.one_sided_z_test("mean over t of |Delta_t|^2 / bound(t) (the bound says <= 1; sign flipped)",
                               -float(ratio.mean()), float(ratio.std(ddof=1)) / math.sqrt(chains), -1.0, level,
                               test=f"one-sided CLT over {chains} coupled pairs: rejects a mean ratio "
                                    "significantly above 1"),
    )


# --- lsq-sde.invariant-unique --------------------------------------------------------------------------------

UNIQUE_DT = 1 / 40
UNIQUE_HORIZON = 25.0
UNIQUE_RECORD = np.array([0.5, 1.0, 2.0, 5.0, 10.0, 25.0])
UNIQUE_OFFSET = 5.0
NEGLIGIBLE_SHIFT = 0.01  # transient allowed, in standard errors of a coordinate's mean at the thorough size


def forgetting_threshold(problem: Problem, gamma: float, chains: int) -> float:
    """eps = (0.01 s_min)^2 / chains: W2^2 between the two laws at T below eps shifts any coordinate by < 0.01 of the
    standard error of its mean (s_min the smallest stationary standard deviation, exact moments)."""
    _, stationary = problem.moments(gamma).stationary()
    return float((NEGLIGIBLE_SHIFT * np.sqrt(np.diag(stationary)).min()) ** 2 / chains)


@claim(
    UNIQUE, family="sde",
    statement="Noisy regime of the training-loss SDE (Ker X = {0}, y not in range X, so the noise never vanishes): "
              "the invariant law is unique and every chain forgets its start: synchronously coupled chains from "
              "different starts contract to each other (E|Delta_T|^2 -> 0 at the exact noiseless rate), and chains "
              "driven independently from two far-apart starts reach the same law.",
    hypotheses="the problem and gamma = 0.5/K of lsq-sde.wasserstein-rate; starts theta_LS +- 5 v_min(H) (the "
               "slowest direction; 10 apart, 43 times the smallest stationary standard deviation); T = 25, "
               "Euler–Maruyama dt = 1/40 (the claim "
               "holds for the EM chain too; the exact EM moments of the noiseless difference give W2^2 between the "
               "two laws at T < eps = (0.01 s_min)^2/32000, a shift below 0.01 standard error of any coordinate at "
               "the thorough size); one batch: copy a, copy b with the same dW rows, and an independently driven copy "
               "b'; two-sample KS of a against b' per coordinate (Bonferroni).",
    source="Schertzer & Pillaud-Vivien, JMLR 27 (2026) (arXiv 2407.02322), §4.2 ('there exists a unique invariant "
           "measure to the SDE equation') and Theorem 7 (a unique stationary distribution); the coupling argument here "
           "is derived.",
    sizes={"quick": {"chains": 2000},
           "standard": {"chains": 4000},
           "thorough": {"chains": 32000}},
    power='decoupled or start-dependent noise misses the contraction threshold by orders of magnitude at quick; '
          'Stratonovich or a doubled diffusion still have a unique law and are not caught here (by design)',
    mutants=("diffusion_frozen_at_start", "ignores_increments", "isotropic_jitter", "own_noise"),
)
def noisy_chains_forget_their_start(run: ClaimRun) -> None:
    """Coupled pairs contract below eps (one-sided CLT) and the final laws from both starts agree (two-sample KS).

    What it catches: implementations that ignore or replace the supplied increments (``own_noise``: the copies
    decouple; ``isotropic_jitter``: an independent additive noise keeps the pair apart), drop the noise
    (``ignores_increments``: both laws collapse to different points), or give the noise a memory of the start
    (``diffusion_frozen_at_start`` in :mod:`sgd_conformance.mutants`: two different Ornstein–Uhlenbeck laws).
    What it cannot catch: integrators that converge to another SDE with a unique invariant law (``stochastic_heun``,
    ``increments_rescaled``, ``endpoint_diffusion``): uniqueness holds for them too; lsq-sde.heavy-tail and
    lsq-sde.invariant-mean check which law it is."""
    chains = run.sizes["chains"]
    problem = noisy_problem()
    gamma = COUPLED_GAMMA_K / problem.k_sharp
    unit = UNIQUE_OFFSET * np.linalg.eigh(problem.curvature)[1][:, 0]
    starts = [problem.centre + unit, problem.centre - unit, problem.centre - unit]
    steps = sde.grid_steps(UNIQUE_RECORD, UNIQUE_DT)
    first, coupled, independent = coupled_run(run, problem, gamma, starts, UNIQUE_DT, steps, coupled=2)
    final = steps[-1]
    squared = np.column_stack([np.sum((first[k] - coupled[k]) ** 2, axis=1) for k in steps])
    threshold = forgetting_threshold(problem, gamma, profiles.get("thorough").sizes(UNIQUE)["chains"])
    noiseless = problem.moments(gamma, noiseless=True)
    exact_em = [np.trace(noiseless.euler_maruyama_moments(k, UNIQUE_DT, np.zeros(2), 4 * np.outer(unit, unit))[1])
                for k in steps]
    level = stats.split(run.level, 2)
    mean = squared.mean(axis=0)
    worst = int(np.argmax([sps.ks_2samp(first[final][:, j], independent[final][:, j]).statistic
                           for j in range(problem.basis.shape[1])]))
    grid = np.sort(np.concatenate([first[final][:, worst], independent[final][:, worst]]))[::max(1, chains // 200)]
    run.figure(Figure(
        title="Coupled chains from theta_LS +- 5 v_min forget their start", xlabel="t",
        ylabel="E|theta_t - theta'_t|^2",
        xscale="log", yscale="log",
        series=[Series("implementation, same dW", UNIQUE_RECORD.tolist(), np.maximum(mean, 1e-300).tolist()),
                Series("exact (Euler–Maruyama moments)", UNIQUE_RECORD.tolist(), exact_em, style="line"),
                Series("eps (start negligible)", [UNIQUE_RECORD[0], UNIQUE_RECORD[-1]], [threshold, threshold],
                       style="dashed")],
        caption="W2^2(law from a, law from b) <= E|Delta_t|^2."))
    run.figure(Figure(
        title=f"Coordinate {worst} at T = {UNIQUE_HORIZON:g}: independently driven chains from both starts",
        xlabel=f"theta_{worst}", ylabel="empirical CDF",
        series=[Series("from theta_LS + 5 v_min", grid.tolist(),
                       (np.searchsorted(np.sort(first[final][:, worst]), grid, side="right") / chains).tolist(),
                       style="step"),
                Series("from theta_LS - 5 v_min (own dW)", grid.tolist(),
                       (np.searchsorted(np.sort(independent[final][:, worst]), grid, side="right") / chains).tolist(),
                       style="dashed")],
        caption="One invariant law: the two empirical CDFs agree."))
    run.verdict(
        stats.agreement("Ker X = {0} and y not in range X (rank, residual of theta_LS)",
                        (int(np.linalg.matrix_rank(problem.features)),
                         bool(np.linalg.norm(problem.features @ problem.centre - problem.targets) > 1e-8)),
                        (problem.features.shape[1], True), test="SVD rank; least-squares residual"),
        stats.at_most(f"exact E|Delta_T|^2 of the EM difference chain at T = {UNIQUE_HORIZON:g} vs eps", exact_em[-1],
                      threshold, test="euler_maruyama_moments of the noiseless model"),
        stats.one_sided_z_test(f"E|Delta_T|^2 of the coupled pair at T = {UNIQUE_HORIZON:g} <= eps = {threshold:.3g} "
                               "(sign flipped)", -float(mean[-1]),
                               float(squared[:, -1].std(ddof=1)) / math.sqrt(chains), -threshold, level,
                               test=f"one-sided CLT over {chains} coupled pairs"),
        stats.two_sample_ks(f"law at T = {UNIQUE_HORIZON:g} from theta_LS + 5 v_min vs from theta_LS - 5 v_min",
                            first[final], independent[final], level),
    )
