r"""Backward error analysis of gradient methods (family ``sgd``): the modified losses that GD and shuffled SGD follow.

Gradient descent :math:`\theta_{k+1} = \theta_k - \eta\nabla L(\theta_k)` is, to second order in :math:`\eta`, the
time-:math:`\eta` map of the gradient flow of :math:`\tilde L = L + \frac\eta4|\nabla L|^2` (Barrett & Dherin
2021); SGD with random shuffling over :math:`m` minibatches follows, in expectation over the orderings,
:math:`L + \frac{\eta}{4m}\sum_k|\nabla L_k|^2` (Smith et al. 2021). The checks measure the global (GD) and
one-epoch (SGD) errors of the implementation against both flows, solved to rtol 1e-12, and fit their orders in
:math:`\eta`.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.harness.impl import Runner
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


@claim(
    "lecture.modified-loss-sgd", family="sgd",
    statement="SGD with m minibatches per epoch and random shuffling follows, in expectation, the flow of L + (eta/4m) "
              "sum_k |grad L_k|^2 averaged over the partitions (Smith et al. 2021): after one epoch the mean iterate is"
              " O(eta^3) from that flow at time m eta, versus O(eta^2) from the gradient flow of L; its mean over "
              "partitions is L + (eta/4)|grad L|^2 + (eta/4)((N - B)/(B (N - 1))) Gamma, the lecture's O(eta/b).",
    hypotheses="N = 4 samples, B = 2 (m = 2), d = 2, l_i(w) = log(1 + exp(-c_i a_i'w)) + (a_i'w)^4/40; the "
               "expectation over all 4! orderings is exact (one chain per ordering, no Monte Carlo); eta = 0.2 * 2^-j, "
               "j = 0..7; the coefficient 1/(4m) derived symbolically for generic minibatch losses.",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) ('L_mod = L + (eta/4)||grad L||^2"
           " + O(eta/b) + O(eta^2)'); Smith, Dherin, Barrett & De, ICLR 2021.",
    mutants=("gd_hidden_momentum", "gd_lr_times_1_1", "gd_stale_gradient"),
)
def shuffled_sgd_follows_the_minibatch_modified_loss(run: ClaimRun) -> None:
    """Exact mean over orderings after one epoch; fitted local orders 2 (gradient flow) and 3 (modified flow)."""
    rng = run.stream(on_backend=False)
    population, batch = 4, 2
    points = [tuple(np.round(rng.standard_normal(2), 3)) for _ in range(population)]
    per_sample, coords = losses.shuffled_sgd_test_losses(points, [1, -1, 1, -1])
    sample_grads = [numeric.gradient(loss, coords) for loss in per_sample]
    full = sum(per_sample) / population
    orderings = np.array(list(itertools.permutations(range(population))))
    theta0 = np.array([0.4, -0.3])
    etas = 0.2 * 2.0 ** -np.arange(8)
    modified = modified_loss.sgd_modified_loss(per_sample, coords, batch)
    modified_parts = [numeric.compile(sp.diff(modified, q), (*coords, eta)) for q in coords]
    gf_grad = numeric.gradient(full, coords)
    gf_errors, mod_errors = [], []
    for step in etas:
        minibatch_index = iter(range(2))  # the epoch's two steps use minibatch 0, then 1

        def epoch_gradient(theta: Any, calls: Any = minibatch_index) -> Any:
            k = next(calls)
            host = to_numpy(theta)
            per = np.stack([g(np, host) for g in sample_grads])  # (N, chains, d)
            chosen = orderings[:, k * batch:(k + 1) * batch]  # (chains, B)
            return asarray(per[chosen, np.arange(len(orderings))[:, None]].mean(axis=1), namespace(theta))

        runner = Runner(run.impl, lr=float(step), context="two SGD steps on a smooth loss")
        start = asarray(np.broadcast_to(theta0, (len(orderings), 2)), run.xp)
        mean = to_numpy(chains.iterate(runner.step, epoch_gradient, start, 2)).mean(axis=0)
        horizon = 2 * float(step)

        def modified_field(th: np.ndarray, step: float = float(step)) -> np.ndarray:
            return -np.stack([part(np, th[:, 0], th[:, 1], step) for part in modified_parts], axis=-1)

        gf_errors.append(float(np.linalg.norm(mean - _flow(lambda th: -gf_grad(np, th), theta0[None], horizon)[0])))
        mod_errors.append(float(np.linalg.norm(mean - _flow(modified_field, theta0[None], horizon)[0])))
    gf, mod = np.array(gf_errors), np.array(mod_errors)
    decisions = [stats.agreement("coefficient of sum_k |grad L_k|^2 for m = 2 (derived by matching the averaged "
                                 "two-step map)", modified_loss.derived_sgd_regulariser_coefficient(),
                                 sp.Rational(1, 8), test="sympy, generic minibatch losses"),
                 stats.agreement("partition average of the regulariser = (eta/4)|grad L|^2 + (eta/4)"
                                 "((N - B)/(B (N - 1))) Gamma",
                                 modified_loss.partition_average_is_finite_population_term(), True,
                                 test="sympy, every partition of N = 4 into B = 2")]
    for label, errs, order in (("gradient flow of L", gf, 2.0), ("SGD modified flow", mod, 3.0)):
        decisions.append(stats.order_test(f"order of the one-epoch error of mean SGD to the {label}", etas, errs,
                                          order, context="exact expectation over orderings"))
    run.figure(Figure(
        title="Mean SGD after one epoch (exact over orderings) vs two flows", xlabel="eta", ylabel="error",
        xscale="log", yscale="log",
        series=[Series("to the gradient flow of L", etas.tolist(), gf.tolist()),
                Series("to the flow of L + (eta/4m) E sum_k |grad L_k|^2", etas.tolist(), mod.tolist()),
                Series("slope 2", etas.tolist(), (gf[0] * (etas / etas[0]) ** 2).tolist(), style="dashed"),
                Series("slope 3", etas.tolist(), (mod[0] * (etas / etas[0]) ** 3).tolist(), style="dashed")],
        caption="Random shuffling: the minibatch regulariser is what makes the error third order."))
    run.verdict(*decisions)

