r"""Backward error analysis of gradient methods (family ``sgd``): the modified losses that GD and shuffled SGD follow.

Gradient descent :math:`\theta_{k+1} = \theta_k - \eta\nabla L(\theta_k)` is, to second order in :math:`\eta`, the
time-:math:`\eta` map of the gradient flow of :math:`\tilde L = L + \frac\eta4|\nabla L|^2` (Barrett & Dherin
2021); SGD with random shuffling over :math:`m` minibatches follows, in expectation over the orderings,
:math:`L + \frac{\eta}{4m}\sum_k|\nabla L_k|^2` (Smith et al. 2021). The checks measure the global (GD) and
one-epoch (SGD) errors of the implementation against both flows, solved to rtol 1e-12, and fit their orders in
:math:`\eta`. The SGD check runs the user's reduction on the minibatch gradients and tests the user's sampler
against the law the theorem assumes, random reshuffling: with replacement the one-epoch mean follows another
modified loss, and a permutation reused across epochs is invisible to the order fit (derived below).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.harness.impl import Runner
from sgd_conformance.checks.harness.loop import Reduction, Sampler
from sgd_conformance.checks.harness.stats import Decision
from sgd_conformance.reports.model import Figure, Series
from sgd_conformance.solvers import chains
from sgd_conformance.solvers._xp import asarray, namespace, to_numpy
from sgd_conformance.theory import losses, modified_loss, numeric
from sgd_conformance.theory.symbols import a, eta


def _flow(field: Any, theta0: np.ndarray, horizon: float) -> np.ndarray:
    """Solutions at ``horizon`` of theta' = field(theta) from each row of ``theta0`` (rtol 1e-12)."""
    out = np.empty_like(theta0)
    for i, start in enumerate(theta0):
        sol = solve_ivp(lambda _t, y: field(y[None, :])[0], (0.0, horizon), start, method="DOP853",
                        rtol=1e-12, atol=1e-14)
        out[i] = sol.y[:, -1]
    return out


def _rms(differences: np.ndarray) -> float:
    """Root-mean-square over chains of the Euclidean error (smooth in eta, unlike a maximum)."""
    return float(np.sqrt(np.mean(np.sum(differences**2, axis=1))))


def _compiled_field(exprs: list[sp.Expr], coords: tuple[sp.Symbol, ...], step: float) -> Any:
    """The vector field ``exprs`` (components in ``coords``) at eta = ``step``, on a batch of states ``(chains, d)``."""
    parts = [numeric.compile(e.subs(eta, step), coords) for e in exprs]

    def field(theta: np.ndarray) -> np.ndarray:
        cols = [theta[:, i] for i in range(theta.shape[1])]
        return np.stack([np.broadcast_to(p(np, *cols), theta.shape[:1]) for p in parts], axis=-1)

    return field


@claim(
    "lecture.modified-loss-gd", family="sgd",
    statement="Gradient descent theta_(k+1) = theta_k - eta grad L follows the gradient flow of the modified loss "
              "L + (eta/4)|grad L|^2 with global error O(eta^2) on a fixed interval [0, T], versus O(eta) for the "
              "gradient flow of L itself (backward error analysis; modified field derived symbolically).",
    hypotheses="L smooth: L = (x^2 + y^2 - 1)^2/4 + xy/2 + x^3/10 from starts near (1.2, -0.4), and the quadratic "
               "L = (2 x^2 + y^2/2)/2; T = 1; eta = 0.1 * 2^-j, j = 0..6; ODEs solved at rtol 1e-12.",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) ('L_mod = L + (eta/4)||grad "
           "L||^2'); Barrett & Dherin, ICLR 2021, Thm 3.1.",
    sizes={"quick": {"starts": 4},
           "standard": {"starts": 8},
           "thorough": {"starts": 16}},
    mutants=("gd_hidden_momentum", "gd_lr_times_1_1", "gd_stale_gradient"),
)
def gd_follows_the_modified_flow_to_second_order(run: ClaimRun) -> None:
    """Global errors at T against both flows; fitted orders (slope of log error on log eta) 1 and 2."""
    starts_n = run.sizes["starts"]
    horizon = 1.0
    etas = 0.1 * 2.0 ** -np.arange(7)
    base = np.array([1.2, -0.4])
    starts = base + 0.2 * run.stream("starts", on_backend=False).uniform(-1, 1, (starts_n, 2))
    starts[0] = base
    generic, generic_coords = modified_loss.generic_loss(2)
    derived = sp.simplify(modified_loss.derived_modified_loss(generic, generic_coords)
                          - modified_loss.lecture_modified_loss(generic, generic_coords)) == 0
    exact_curvature = modified_loss.quadratic_exact_modified_curvature()
    lecture_curvature = sp.diff(modified_loss.lecture_modified_loss(a * sp.Symbol("q") ** 2 / 2, [sp.Symbol("q")]),
                                sp.Symbol("q"), 2)
    quadratic_agrees = sp.simplify(sp.series(exact_curvature - lecture_curvature, eta, 0, 2).removeO()) == 0
    problems = {"non-quadratic": losses.backward_error_test_loss(), "quadratic": losses.quadratic((2.0, 0.5))}
    decisions = [
        stats.agreement("modified loss derived by backward error analysis (flow-map matching, potential solved "
                        "for) = the lecture's L + (eta/4)|grad L|^2", derived, True,
                        test="sympy, generic smooth L(q0, q1)"),
        stats.agreement("exact quadratic modified curvature -log(1 - eta a)/eta = a + eta a^2/2 + O(eta^2)",
                        quadratic_agrees, True, test="sympy series in eta"),
    ]
    for name, (loss, coords) in problems.items():
        grad = numeric.gradient(loss, coords)
        field_exprs = modified_loss.modified_vector_field(loss, coords)
        gradient_flow = _flow(lambda th, g=grad: -g(np, th), starts, horizon)
        gf_errors, mod_errors = [], []
        for step in etas:
            steps = int(round(horizon / step))
            runner = Runner(run.impl, lr=float(step), context=f"GD on a smooth loss, eta = {step:.4g}")
            final = to_numpy(chains.iterate(runner.step, lambda th, g=grad: g(run.xp, th), asarray(starts, run.xp),
                                            steps))
            modified = _compiled_field(field_exprs, coords, float(step))
            gf_errors.append(_rms(final - gradient_flow))
            mod_errors.append(_rms(final - _flow(modified, starts, horizon)))
        gf, mod = np.array(gf_errors), np.array(mod_errors)
        for label, errs, order in (("gradient flow of L", gf, 1.0), ("modified flow", mod, 2.0)):
            decisions.append(stats.order_test(f"order of the GD error to the {label} ({name} loss)", etas, errs,
                                              order, context="ODE flows at rtol 1e-12"))
        run.figure(Figure(
            title=f"GD global error at T = {horizon:g} ({name} loss)", xlabel="eta", ylabel="RMS error over starts",
            xscale="log", yscale="log",
            series=[Series("to the gradient flow of L", etas.tolist(), gf.tolist()),
                    Series("to the modified flow", etas.tolist(), mod.tolist()),
                    Series("slope 1", etas.tolist(), (gf[0] * (etas / etas[0])).tolist(), style="dashed"),
                    Series("slope 2", etas.tolist(), (mod[0] * (etas / etas[0]) ** 2).tolist(), style="dashed")],
            caption="Backward error analysis: error O(eta) to the flow of L, O(eta^2) to the flow of "
                    "L + (eta/4)|grad L|^2."))
    run.verdict(*decisions)


#: the ordered partitions of {0, 1, 2, 3} into two batches of 2, by their first batch (the second is the rest)
FIRST_BATCHES = tuple(itertools.combinations(range(4), 2))
_CELL = np.full((4, 4), -1)
for _k, (_i, _j) in enumerate(FIRST_BATCHES):
    _CELL[_i, _j] = _k
RESHUFFLING = "random reshuffling"


def _cells(epoch: list[np.ndarray], chains_n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each chain's epoch as its ordered partition 0..5 (-1 where it is not an ordered partition of {0..3} into two
    batches of 2), and whether it repeats an index."""
    visits = np.sort(np.concatenate(epoch, axis=1), axis=1)
    repeats = np.any(visits[:, 1:] == visits[:, :-1], axis=1)
    if len(epoch) != 2 or any(batch.shape[1] != 2 for batch in epoch):
        return np.full(chains_n, -1), repeats
    first = np.sort(epoch[0], axis=1)
    return np.where(np.all(visits == np.arange(4), axis=1), _CELL[first[:, 0], first[:, 1]], -1), repeats


def _law_found(cells: np.ndarray, repeats: np.ndarray, declared: bool | None, rejected: list[bool]) -> str:
    """The epoch law the sampler's chain-epochs ``cells`` (chains, epochs) show, in words."""
    if np.any(cells < 0):
        if np.any(repeats):
            return "with replacement" + (" (declared replacement = True)" if declared else " (undeclared)")
        return "epochs that are not two batches of 2 visiting every sample once"
    if np.all(cells == cells.flat[0]):
        first = FIRST_BATCHES[int(cells.flat[0])]
        rest = tuple(i for i in range(4) if i not in first)
        return (f"one fixed ordered partition ({set(first)}, {set(rest)}) for every chain and epoch: no shuffling "
                "(a sequential order or a fixed seed)")
    if np.all(cells[:, 1:] == cells[:, :-1]):
        return "no reshuffle between epochs: each chain reuses its first permutation"
    if cells.shape[0] > 1 and np.all(cells == cells[:1]):
        return "one permutation per epoch shared by every chain (the chains are not independent)"
    if rejected[1] or rejected[2]:
        return "consecutive epochs dependent"
    return "not uniform over the 6 ordered partitions" if rejected[0] else RESHUFFLING


def _sampler_law(run: ClaimRun) -> list[Decision]:
    r"""Exact law test of the user's sampler on N = 4, b = 2: every chain-epoch an ordered partition, uniform over
    the 6, consecutive epochs independent (:func:`shuffled_sgd_follows_the_minibatch_modified_loss`)."""
    chains_n, epochs = run.sizes["chains"], run.sizes["epochs"]
    sampler = Sampler(run.component("sampler"), n=4, batch_size=2, chains=chains_n,
                      rng=run.stream("sampler", on_backend=False), context="epochs of N = 4 samples in batches of 2")
    drawn = [_cells(sampler.epoch(), chains_n) for _ in range(epochs)]
    cells, repeats = np.stack([c for c, _ in drawn], axis=1), np.stack([r for _, r in drawn], axis=1)
    level = stats.split(run.level, 3)
    valid = cells >= 0
    both = valid[:, 1:] & valid[:, :-1]
    same = int(np.sum((cells[:, 1:] == cells[:, :-1]) & both))
    repeat = stats.binomial_equals(f"P(epoch e+1 = epoch e), {int(both.sum())} consecutive chain-epoch pairs", same,
                                   max(int(both.sum()), 1), 1 / 6, level)
    pairs = cells[:, : epochs - epochs % 2].reshape(chains_n, -1, 2)
    pairs = pairs[np.all(pairs >= 0, axis=2)]
    decisions = [
        stats.uniform_categories("largest share of one ordered partition among the chain-epochs (uniform: 1/6 each)",
                                 cells[valid], 6, level,
                                 "every epoch of every chain a uniform ordered partition, all independent"),
        dataclasses.replace(repeat, test="exact two-sided binomial test: under random reshuffling the indicators "
                                         "1{epoch e+1 = epoch e} are i.i.d. Bernoulli(1/6) (the next epoch is "
                                         "uniform whatever the past)"),
        stats.uniform_categories("largest share of one (epoch 2j, epoch 2j+1) pair of ordered partitions "
                                 "(independent: 1/36 each)", 6 * pairs[:, 0] + pairs[:, 1], 36, level,
                                 "disjoint pairs of consecutive epochs, i.i.d. under random reshuffling"),
    ]
    invalid = int(np.sum(~valid))
    decisions.insert(0, stats.at_most(
        f"chain-epochs of {cells.size} that are not an ordered partition of {{0, 1, 2, 3}} into two batches of 2",
        invalid, 0, test="random reshuffling visits every sample once per epoch; with replacement an epoch of 4 "
                         "i.i.d. indices is a permutation with probability 4!/4^4 = 0.094"))
    law = _law_found(cells, repeats, sampler.declared_replacement, [not d.passed for d in decisions[1:]])
    if law == RESHUFFLING:
        return decisions
    consequence = {"with": "its one-epoch mean follows GD's modified flow L + (eta/4)|grad L|^2 to O(eta^3) and the "
                           "SGD modified flow only to O(eta^2) (derived; exact enumeration in the figure)",
                   "no reshuffle": "its epochs differ from random reshuffling from the second epoch on, and their "
                                   "mean only at O(eta^4) (the order fit cannot see it; the law test does)",
                   "one fixed": "an epoch is then one partition's map, O(eta^2) from the SGD modified flow"}
    note = next((text for key, text in consequence.items() if law.startswith(key)), "")
    return [dataclasses.replace(d, what=f"{d.what} [law found: {law}{'; ' + note if note else ''}]") for d in decisions]


def _mean_after(sample_grads: list[Any], batches: np.ndarray, theta0: np.ndarray, step: Callable[[Any, Any], Any],
                reduce: Callable[[Any], Any], xp: Any) -> np.ndarray:
    """Mean over the rows of ``batches`` (chains, steps, B) of theta after one step per column: the per-sample
    gradients of the step's batch, reduced by ``reduce``, stepped by ``step``."""
    chains_n, steps, _ = batches.shape
    calls = iter(range(steps))

    def gradient(theta: Any) -> Any:
        k = next(calls)
        per = np.stack([g(np, to_numpy(theta)) for g in sample_grads])  # (N, chains, d)
        return reduce(asarray(per[batches[:, k], np.arange(chains_n)[:, None]], namespace(theta)))

    start = asarray(np.tile(theta0, (chains_n, 1)), xp)
    return to_numpy(chains.iterate(step, gradient, start, steps)).mean(axis=0)


def _reference_step(lr: float) -> Callable[[Any, Any], Any]:
    return lambda theta, grad: theta - lr * grad


def _modified_field(loss: sp.Expr, coords: tuple[sp.Symbol, ...]) -> Callable[[np.ndarray, float], np.ndarray]:
    """The field -grad ``loss`` (a function of the coordinates and eta) on states (chains, 2), at a given eta."""
    parts = [numeric.compile(sp.diff(loss, q), (*coords, eta)) for q in coords]
    return lambda th, step: -np.stack([np.broadcast_to(p(np, th[:, 0], th[:, 1], step), th.shape[:1])
                                       for p in parts], axis=-1)


#: the fixed test problem on which the other laws' expansions (with replacement, a reused permutation) are shown
LAW_PROBLEM_SEED = 2021


@dataclasses.dataclass(frozen=True)
class _Problem:
    """N logistic-plus-quartic per-sample losses in d = 2 (:func:`losses.shuffled_sgd_test_losses`), with their
    gradients, the gradient of L and the fields of the two modified flows (GD's and SGD's, batch b)."""

    sample_grads: list[Any]
    gf_grad: Any
    fields: dict[str, Callable[[np.ndarray, float], np.ndarray]]

    @classmethod
    def drawn(cls, rng: np.random.Generator, population: int, batch: int) -> _Problem:
        points = [tuple(np.round(rng.standard_normal(2), 3)) for _ in range(population)]
        per_sample, coords = losses.shuffled_sgd_test_losses(points, [1, -1, 1, -1])
        full = sum(per_sample) / population
        return cls([numeric.gradient(loss, coords) for loss in per_sample], numeric.gradient(full, coords),
                   {"sgd": _modified_field(modified_loss.sgd_modified_loss(per_sample, coords, batch), coords),
                    "gd": _modified_field(modified_loss.lecture_modified_loss(full, coords), coords)})

    def flow(self, name: str, step: float, theta0: np.ndarray, horizon: float) -> np.ndarray:
        """The modified flow ``name`` at eta = ``step`` from ``theta0`` to ``horizon``."""
        return _flow(lambda th: self.fields[name](th, step), theta0[None], horizon)[0]


@claim(
    "lecture.modified-loss-sgd", family="sgd", components=("sampler", "reduction"),
    statement="SGD with m minibatches per epoch and random reshuffling (a fresh uniform permutation per epoch) "
              "follows, in expectation, the flow of L + (eta/4m) sum_k |grad L_k|^2 averaged over the partitions "
              "(Smith et al. 2021): after one epoch the mean iterate is O(eta^3) from that flow at time m eta, versus "
              "O(eta^2) from the gradient flow of L; its mean over partitions is L + (eta/4)|grad L|^2 + (eta/4)"
              "((N - B)/(B (N - 1))) Gamma, the lecture's O(eta/b). The law matters: with replacement the one-epoch "
              "mean follows GD's L + (eta/4)|grad L|^2 to O(eta^3) and the flow above only to O(eta^2); a permutation "
              "reused across epochs changes the mean only at O(eta^4) from the second epoch on, so the sampler's law "
              "is tested directly: each epoch a uniform ordered partition, consecutive epochs independent.",
    hypotheses="N = 4 samples, B = 2 (m = 2), d = 2, l_i(w) = log(1 + exp(-c_i a_i'w)) + (a_i'w)^4/40; the "
               "expectation over all 4! orderings is exact (one chain per ordering, no Monte Carlo), the minibatch "
               "gradients reduced by the reduction under test; eta = 0.2 * 2^-j, j = 0..7; the coefficients derived "
               "symbolically for generic per-sample losses (both laws); the other laws' orders (with replacement, a "
               "reused permutation: facts of the theory, the reference step) on one fixed draw of the a_i (seed "
               "2021), the user's on the seed's draw. The sampler under test draws chains x epochs "
               "epochs of N = 4, b = 2: exact count of non-partitions, Pearson chi-square on the 6 ordered "
               "partitions and on the 36 pairs of disjoint consecutive epochs, exact binomial P(repeat) = 1/6.",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) ('L_mod = L + (eta/4)||grad L||^2"
           " + O(eta/b) + O(eta^2)'); Smith, Dherin, Barrett & De, ICLR 2021; the with-replacement and reused-"
           "permutation expansions are derived here.",
    sizes={"quick": {"chains": 3000, "epochs": 4},
           "standard": {"chains": 12000, "epochs": 4},
           "thorough": {"chains": 50000, "epochs": 4}},
    power="quick: with replacement (an epoch is a permutation with probability 0.094), a reused permutation "
          "(P(repeat) = 1 vs 1/6) and a fixed seed are each rejected with p < 1e-100; the order fit catches a "
          "summed reduction (step 2 lr) and the step mutants exactly",
    mutants=("gd_hidden_momentum", "gd_lr_times_1_1", "gd_stale_gradient", "sampler:with_replacement_undeclared",
             "sampler:shuffles_once", "sampler:fixed_seed", "reduction:summed"),
)
def shuffled_sgd_follows_the_minibatch_modified_loss(run: ClaimRun) -> None:
    r"""Law test of the sampler; exact mean over orderings after one epoch, fitted local orders 2 (gradient flow) and
    3 (modified flow); the other laws' expansions, derived and enumerated.

    With :math:`\hat G_k` the minibatch gradients, one epoch is
    :math:`\theta - \eta\sum_k\hat G_k + \eta^2\sum_{j<k}D\hat G_k\hat G_j + O(\eta^3)`. Without replacement
    :math:`\sum_k\hat G_k = m\nabla L` for every partition, so an epoch depends on its partition only from
    :math:`\eta^2` on, and two epochs' partitions interact only through a product of such terms,
    :math:`O(\eta^4)`: a permutation reused in the second epoch (the first is uniform) moves the two-epoch mean by
    :math:`O(\eta^4)` (measured below), invisible to an order fit at :math:`O(\eta^3)`; only the law test catches it.
    With replacement the batches are independent, :math:`E\,D\hat G_b\hat G_a = \nabla^2L\nabla L`, the one-epoch
    mean is GD's modified flow to :math:`O(\eta^3)` (:func:`modified_loss.epoch_law_modified_loss_coefficients`).
    """
    decisions = _sampler_law(run)
    population, batch = 4, 2
    problem = _Problem.drawn(run.stream(on_backend=False), population, batch)
    # the other laws' expansions are facts of the theory, not of the user's code: one fixed problem, whatever the seed
    law_problem = _Problem.drawn(np.random.default_rng(LAW_PROBLEM_SEED), population, batch)
    orderings = np.array(list(itertools.permutations(range(population)))).reshape(-1, 2, batch)
    replacement = np.array(list(itertools.product(range(population), repeat=2 * batch))).reshape(-1, 2, batch)
    partitions = np.array([[first, [i for i in range(population) if i not in first]] for first in FIRST_BATCHES])
    fresh = np.concatenate([np.repeat(partitions, len(partitions), axis=0),
                            np.tile(partitions, (len(partitions), 1, 1))], axis=1)
    reused = np.concatenate([partitions, partitions], axis=1)
    theta0 = np.array([0.4, -0.3])
    etas = 0.2 * 2.0 ** -np.arange(8)
    reduction = Reduction(run.component("reduction"), batch_size=batch, context="two SGD steps on a smooth loss")
    errors: dict[str, list[float]] = {name: [] for name in ("gf", "mod", "wr-sgd", "wr-gd", "reuse")}
    for step in etas:
        runner = Runner(run.impl, lr=float(step), context="two SGD steps on a smooth loss")
        mean = _mean_after(problem.sample_grads, orderings, theta0, runner.step, reduction.gradient, run.xp)
        horizon = 2 * float(step)
        errors["gf"].append(float(np.linalg.norm(mean - _flow(lambda th: -problem.gf_grad(np, th), theta0[None],
                                                              horizon)[0])))
        errors["mod"].append(float(np.linalg.norm(mean - problem.flow("sgd", float(step), theta0, horizon))))
        reference = _reference_step(float(step))
        with_replacement = _mean_after(law_problem.sample_grads, replacement, theta0, reference,
                                       lambda per: per.mean(axis=1), np)
        errors["wr-sgd"].append(float(np.linalg.norm(with_replacement
                                                     - law_problem.flow("sgd", float(step), theta0, horizon))))
        errors["wr-gd"].append(float(np.linalg.norm(with_replacement
                                                    - law_problem.flow("gd", float(step), theta0, horizon))))
        errors["reuse"].append(float(np.linalg.norm(
            _mean_after(law_problem.sample_grads, reused, theta0, reference, lambda per: per.mean(axis=1), np)
            - _mean_after(law_problem.sample_grads, fresh, theta0, reference, lambda per: per.mean(axis=1), np))))
    err = {name: np.array(values) for name, values in errors.items()}
    decisions += [
        stats.agreement("coefficient of sum_k |grad L_k|^2 for m = 2 (derived by matching the averaged two-step map)",
                        modified_loss.derived_sgd_regulariser_coefficient(), sp.Rational(1, 8),
                        test="sympy, generic minibatch losses"),
        stats.agreement("partition average of the regulariser = (eta/4)|grad L|^2 + (eta/4)((N - B)/(B (N - 1))) "
                        "Gamma", modified_loss.partition_average_is_finite_population_term(), True,
                        test="sympy, every partition of N = 4 into B = 2"),
        stats.agreement("one-epoch mean = flow of L + eta (c_GD |grad L|^2 + c_SGD R) to O(eta^3), (c_GD, c_SGD) for "
                        "random reshuffling, with replacement",
                        [modified_loss.epoch_law_modified_loss_coefficients(law) for law in modified_loss.EPOCH_LAWS],
                        [(0, sp.Rational(1, 8)), (sp.Rational(1, 4), 0)],
                        test="sympy, 4 generic per-sample losses in d = 2, exact enumeration of each law"),
    ]
    for label, key, order in (("of mean SGD to the gradient flow of L", "gf", 2.0),
                              ("of mean SGD to the SGD modified flow", "mod", 3.0),
                              ("with replacement (4^4 sequences, reference step, fixed problem) to GD's modified flow",
                               "wr-gd", 3.0),
                              ("with replacement (4^4 sequences, reference step, fixed problem) to the SGD modified "
                               "flow", "wr-sgd", 2.0)):
        decisions.append(stats.order_test(f"order of the one-epoch error {label}", etas, err[key], order,
                                          context="exact expectation over the law"))
    decisions.append(stats.order_test("order of the two-epoch mean's change when the first permutation is reused "
                                      "(exact over 6 vs 36 pairs of ordered partitions; reference step, fixed problem)",
                                      etas[:6], err["reuse"][:6],
                                      4.0, context="exact expectation; eta >= 0.00625 keeps it above rounding"))
    slope = [Series(f"slope {p}", etas.tolist(), (err[key][0] * (etas / etas[0]) ** p).tolist(), style="dashed")
             for key, p in (("gf", 2), ("mod", 3), ("reuse", 4))]
    run.figure(Figure(
        title="Mean SGD after one epoch (exact over the law) vs two flows", xlabel="eta", ylabel="error",
        xscale="log", yscale="log",
        series=[Series("to the gradient flow of L", etas.tolist(), err["gf"].tolist()),
                Series("to the flow of L + (eta/4m) E sum_k |grad L_k|^2", etas.tolist(), err["mod"].tolist()),
                Series("with replacement, to the same flow", etas.tolist(), err["wr-sgd"].tolist()),
                Series("with replacement, to GD's L + (eta/4)|grad L|^2", etas.tolist(), err["wr-gd"].tolist()),
                Series("two epochs: permutation reused minus fresh", etas.tolist(), err["reuse"].tolist()), *slope],
        caption="Random reshuffling: the minibatch regulariser makes the error third order; with replacement the "
                "mean follows GD's modified flow instead (second order to this one); reusing the permutation moves "
                "the mean only at O(eta^4), so the sampler's law is tested directly."))
    run.verdict(*decisions)
