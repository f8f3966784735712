r"""Stability of gradient descent (family ``sgd``): the threshold :math:`\eta\lambda_{\max} < 2` and where GD can end.

On :math:`L = \tfrac12\theta^\top H\theta`, GD is the linear recursion :math:`\theta_k = (I - \eta H)^k\theta_0`: it
converges from every start iff :math:`\eta\lambda_{\max}(H) < 2`. Consequently a minimum that GD converges to from a
set of starts of positive measure has :math:`\eta\lambda_{\max}(\nabla^2 L) \le 2`, even where the gradient flow
from the same start ends sharper; on networks, full-batch GD sharpens until :math:`\lambda_{\max}` hovers near
:math:`2/\eta` (the edge of stability, Cohen et al. 2021), which is reported.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import sympy as sp
from hypothesis import example, given, seed
from hypothesis import strategies as st

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.harness.hypothesis_settings import derandomised
from sgd_conformance.checks.harness.impl import Runner
from sgd_conformance.checks.oracles.loss_hessian import squared_loss_sharpness
from sgd_conformance.reports.model import Figure, Series
from sgd_conformance.solvers import chains, two_layer
from sgd_conformance.solvers._xp import asarray, namespace, to_numpy
from sgd_conformance.solvers.problems import Quadratic, random_spd
from sgd_conformance.theory import numeric, stability

#: hypothesis's seed for the generated stability cases. Derandomised hypothesis would derive it from the source text of
#: the example function, so that any edit of the check drew other problems; it is pinned to the seed the calibrated
#: cases were drawn with.
STABILITY_CASES_SEED = int("487eda0c965e179a5576d50ed83b5632dbea37fc918cfbe7b0c71d56"
                           "81291314c9b3ffe7ef052ba5e0e4214987a88b13", 16)


@st.composite
def stability_cases(draw: st.DrawFn) -> dict[str, Any]:
    """SPD H (d <= 4, lambda_max in [0.1, 10], condition number <= 5) and eta lambda_max on either side of 2,
    at least 0.1 away from it (so that K <= 2000 steps decide convergence or divergence by a factor 1e8)."""
    d = draw(st.integers(1, 4))
    top = draw(st.floats(0.1, 10.0))
    rest = draw(st.lists(st.floats(0.2, 1.0), min_size=d - 1, max_size=d - 1))
    ratio = draw(st.one_of(st.floats(0.1, 1.9), st.floats(2.1, 3.0)))
    return {"eigenvalues": top * np.array([1.0, *rest]), "ratio": ratio,
            "rotation_seed": draw(st.integers(0, 2**31 - 1))}



@claim(
    "lecture.gd-stability", family="sgd",
    statement="GD on L = theta' H theta / 2 is theta_k = (I - eta H)^k theta_0: it converges for every start iff "
              "eta lambda_max(H) < 2, and diverges (top mode growing by |1 - eta lambda_max| per step) if > 2.",
    hypotheses="H symmetric positive definite (d <= 4, lambda_max in [0.1, 10], condition number <= 5; "
               "hypothesis-generated, plus "
               "H = diag(1, 0.1) at eta lambda_max in {1.9, 1.99, 2.01, 2.1}); 8 random starts per case.",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) ('GD stable if eta lambda_max(H) "
           "< 2'); Cohen et al., ICLR 2021 (iff for convex quadratics).",
    sizes={"quick": {"examples": 12},
           "standard": {"examples": 40},
           "thorough": {"examples": 120}},
    mutants=("gd_double_gradient", "gd_hidden_momentum", "gd_lr_times_1_1", "float32_arithmetic"),
)
def gd_converges_iff_eta_lambda_max_below_two(run: ClaimRun) -> None:
    """Exact trajectory identity (rtol 1e-8) and the converge/diverge verdict, on both sides of the threshold."""
    sizes = run.sizes
    decisions: list[stats.Decision] = []
    traces: list[tuple[str, list[float]]] = []

    @seed(STABILITY_CASES_SEED)
    @derandomised(sizes["examples"])
    @given(case=stability_cases())
    @example(case={"eigenvalues": np.array([1.0, 0.1]), "ratio": 1.9, "rotation_seed": -1})
    @example(case={"eigenvalues": np.array([1.0, 0.1]), "ratio": 2.1, "rotation_seed": -1})
    @example(case={"eigenvalues": np.array([1.0, 0.1]), "ratio": 1.99, "rotation_seed": -1})
    @example(case={"eigenvalues": np.array([1.0, 0.1]), "ratio": 2.01, "rotation_seed": -1})
    def one_example(case: dict[str, Any]) -> None:
        eig = case["eigenvalues"]
        h = np.diag(eig) if case["rotation_seed"] < 0 else random_spd(np.random.default_rng(case["rotation_seed"]),
                                                                       eig)
        problem = Quadratic(h)
        step = case["ratio"] / problem.lambda_max
        values, vectors = problem.eigen
        factors = 1.0 - step * values
        rho = float(np.max(np.abs(factors)))
        steps = max(1, math.ceil(abs(math.log(1e8) / math.log(rho)))) if rho > 0 else 1
        theta0 = run.stream(len(traces), on_backend=False).standard_normal((8, problem.d))
        recorded: dict[int, np.ndarray] = {}
        norms: list[float] = []
        checkpoints = {k for k in (1, 2, 3, 10) if k <= steps} | {steps}

        def observe(k: int, theta: Any) -> None:
            host = to_numpy(theta)
            norms.append(float(np.linalg.norm(host[0])))
            if k in checkpoints:
                recorded[k] = host

        runner = Runner(run.impl, lr=float(step), finite=rho < 1,
                        context=f"eta lambda_max = {case['ratio']:.3g} < 2: GD is stable here")
        chains.iterate(runner.step, problem.grad, asarray(theta0, run.xp), steps, observe)
        tag = f"d={problem.d}, eta lambda_max={case['ratio']:.4g}, {steps} steps"
        scale = np.linalg.norm(theta0, axis=1, keepdims=True)
        ks = sorted(checkpoints)
        exact = np.stack([((theta0 @ vectors) * factors**k) @ vectors.T for k in ks])
        decisions.append(stats.identity(
            f"theta_k / |theta_0| vs (I - eta H)^k theta_0 / |theta_0| at k in {ks} ({tag})",
            np.stack([recorded[k] for k in ks]) / scale, exact / scale, rtol=1e-8,
            atol=1e-8 * np.maximum(1.0, rho ** np.array(ks, dtype=float))[:, None, None],
            test="exact linear recursion, rtol 1e-8 of max(1, rho^k)"))
        final_ratio = float(np.max(np.linalg.norm(recorded[steps], axis=1) / scale[:, 0]))
        observed = "converges" if final_ratio <= 1e-6 else "diverges" if final_ratio >= 1e6 else "neither"
        decisions.append(stats.agreement(
            f"|theta_K|/|theta_0| = {final_ratio:.3g} ({tag})", observed, "converges" if rho < 1 else "diverges",
            test="stable iff eta lambda_max < 2; K chosen so that max|1 - eta lambda_i|^K is 1e-8 or 1e8"))
        if case["rotation_seed"] < 0:
            traces.append((f"eta lambda_max = {case['ratio']:g}", norms))
        else:
            traces.append(("", []))

    one_example()
    shown = [(label, norms) for label, norms in traces if label]
    run.figure(Figure(
        title="GD on H = diag(1, 0.1): |theta_k| on both sides of eta lambda_max = 2", xlabel="k",
        ylabel="|theta_k|", yscale="log",
        series=[Series(label, list(range(len(norms))), norms, style="line") for label, norms in shown],
        caption="Stable iff eta lambda_max < 2; the top mode grows or decays by |1 - eta lambda_max| per step."))
    run.verdict(*decisions)


@claim(
    "lecture.edge-of-stability", family="sgd",
    statement="Provable part: a minimum that GD with step eta converges to from a set of starts of positive measure "
              "has eta lambda_max(Hessian) <= 2 (sharper minima are linearly unstable), even where gradient flow "
              "from the same start ends sharper. Empirical part (Cohen et al. 2021): full-batch GD on a network "
              "sharpens until lambda_max hovers at, or just above, 2/eta.",
    hypotheses="provable: L(u, v) = (uv - 1)^2/2 (minima uv = 1, sharpness u^2 + v^2); 256 random starts u_0 ~ U(1, 6),"
               " v_0 ~ U(0.05, 0.5) for each eta in {0.1, 0.2, 0.3}; 3000 steps; converged: |uv - 1| < 1e-10. Empirical"
               " (a report with a sanity guard): two-layer tanh net, n = 32, d = 2, 40 points, 3 replicate networks, "
               "eta in {0.75, 1.0}, 2000 steps, exact loss Hessian every 100 steps; the plateau (mean of the last 5 "
               "records, steps 1600-2000) of eta lambda_max / 2 must not exceed the upper edge 1.3 of the expected "
               "band [0.9, 1.3] (an enforced sanity guard); its lower edge is a reported measurement: a plateau "
               "below 0.9 reads 'not confirmed', not failed (calibration: in 1 of 100 seeds a network had not yet "
               "reached the edge within 2000 steps, plateau 0.85).",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) ('in deep learning lambda_max(H) "
           "≈ 2/eta, exactly at the stability boundary'); Cohen et al., ICLR 2021; Lewkowycz et al. 2020 (catapult).",
    seed_wording="The lecture says the sharpness sits 'exactly at the stability boundary' and credits the catapult "
                 "mechanism to Cohen et al.; Cohen et al. report it 'hovers just above 2/eta', and the catapult is "
                 "Lewkowycz et al. 2020.",
    reported_part='the empirical part: the plateau band of progressive sharpening is reported (its lower edge 0.9 '
                  'is a reported measurement), guarded only above (1.3); the provable part is decided exactly',
    mutants=("gd_half_step", "gd_hidden_momentum"),
)
def gd_only_converges_to_minima_with_eta_sharpness_at_most_two(run: ClaimRun) -> None:
    """Over converged runs, max eta (u^2 + v^2) <= 2 (+1e-6), with a non-vacuous share of converged runs."""
    loss = stability.two_factor_loss()
    grad = numeric.gradient(loss, (stability.u, stability.v))
    rng = run.stream(on_backend=False)
    starts_n, steps = 256, 3000
    worst, converged_share, scatter = 0.0, 1.0, ([], [])
    for step in (0.1, 0.2, 0.3):
        start = np.column_stack([rng.uniform(1, 6, starts_n), rng.uniform(0.05, 0.5, starts_n)])
        runner = Runner(run.impl, lr=step, finite=False, context="")
        with np.errstate(all="ignore"):
            final = to_numpy(chains.iterate(runner.step, lambda th, g=grad: g(run.xp, th), asarray(start, run.xp),
                                            steps))
        converged = np.abs(final[:, 0] * final[:, 1] - 1) < 1e-10
        sharpness = step * np.sum(final**2, axis=1)
        worst = max(worst, float(np.max(sharpness[converged], initial=0.0)))
        converged_share = min(converged_share, float(converged.mean()))
        conserved = start[:, 0] ** 2 - start[:, 1] ** 2  # gradient flow keeps u^2 - v^2: its limit on uv = 1
        flow_limit = step * np.sqrt(conserved**2 + 4)
        scatter[0].extend(flow_limit[converged].tolist())
        scatter[1].extend(sharpness[converged].tolist())
    top = max(scatter[0], default=2.0)
    traces = _progressive_sharpening(run)
    plateaus = np.concatenate([trace[-5:].mean(axis=0) * step / 2 for step, trace in traces.items()])
    run.figure(Figure(
        title="Where GD ends on uv = 1, against where gradient flow ends", xlabel="eta * sharpness of the GF limit",
        ylabel="eta * sharpness of the GD limit",
        series=[Series("converged GD runs", scatter[0], scatter[1]),
                Series("eta lambda_max = 2", [0.0, top], [2.0, 2.0], style="dashed")],
        caption="Gradient flow may end beyond 2/eta; GD never converges there."))
    run.figure(Figure(
        title="Progressive sharpening of a tanh net under full-batch GD", xlabel="step",
        ylabel="eta lambda_max / 2", series=[
            Series(f"eta = {step:g}, network {r}", [100.0 * k for k in range(len(trace))],
                   (trace[:, r] * step / 2).tolist(), style="line")
            for step, trace in traces.items() for r in range(trace.shape[1])]
        + [Series("edge of stability", [0.0, 100.0 * (len(next(iter(traces.values()))) - 1)], [1.0, 1.0],
                  style="dashed")],
        caption=f"Plateau band over networks and step sizes: {plateaus.min():.3f} to {plateaus.max():.3f} x 2/eta "
                f"(the expected band: 0.9 to 1.3)."))
    run.verdict(
        stats.agreement("sharpness on the minima uv = 1", stability.sharpness_on_minima(),
                        (stability.u**4 + 1) / stability.u**2, test="sympy: Hessian eigenvalues (0, u^2 + v^2)"),
        stats.agreement("GD's linear stability threshold", stability.stability_threshold(),
                        2 / sp.Symbol("eta", positive=True), test="sympy: |1 - eta lambda| <= 1"),
        stats.at_least("smallest share of converged runs over the step sizes", converged_share, 0.25,
                       test="non-vacuity: the bound must be tested on many runs"),
        stats.at_most("max eta lambda_max over converged runs", worst, 2.0 + 1e-6,
                      test="exact sharpness u^2 + v^2 at the end point, 768 runs"),
        stats.at_most("highest plateau of eta lambda_max / 2 on the tanh net (empirical)", float(plateaus.max()), 1.3,
                      test="sanity guard of a reported band: the band's upper edge"),
        stats.reported(stats.at_least("lowest plateau of eta lambda_max / 2 on the tanh net (empirical)",
                                      float(plateaus.min()), 0.9, test="reported: the band's lower edge")))


def _progressive_sharpening(run: ClaimRun) -> dict[float, np.ndarray]:
    """Full-batch GD of the implementation on a small tanh net; the loss sharpness every 100 steps, per replicate
    network and step size: ``{eta: (records, replicates)}``."""
    rng = run.stream("network", on_backend=False)
    n, d, points, replicates, steps = 32, 2, 40, 3, 2000
    x = rng.standard_normal((points, d))
    y = 2 * np.sin(2 * x[:, 0]) * np.cos(x[:, 1])
    start = two_layer.flatten(two_layer.init(rng, n=n, d=d, batch=(replicates,)))
    traces: dict[float, np.ndarray] = {}
    for step in (0.75, 1.0):
        records: list[np.ndarray] = []

        def gradient(theta: Any) -> Any:
            params = two_layer.unflatten(to_numpy(theta), n, d)
            residual = two_layer.forward(params, x, activation_name="tanh") - y
            jac = two_layer.flat_jacobian(params, x, activation_name="tanh")
            return asarray(2 / points * np.einsum("bk,bkp->bp", residual, jac), namespace(theta))

        def observe(k: int, theta: Any, records: list[np.ndarray] = records) -> None:
            if k % 100 == 0:
                records.append(squared_loss_sharpness(two_layer.unflatten(to_numpy(theta), n, d), x, y,
                                                      activation_name="tanh"))

        runner = Runner(run.impl, lr=step, context="full-batch GD on a small tanh net")
        chains.iterate(runner.step, gradient, asarray(start, run.xp), steps, observe)
        traces[step] = np.array(records)
    return traces
