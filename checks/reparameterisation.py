"""Claims about reparameterisation that are statements of the theory alone (family ``reference``).

Sharpness is a property of the coordinates, not of the function: the Hessian transforms as D^-1 H D^-1 under
theta' = D theta (and ReLU's function-preserving rescaling changes lambda_max), while the lecture's
information-geometric sharpness is invariant — and, for squared loss with rank J = N, is just 2 N L.
Sources: Dinh, Pascanu, Bengio & Bengio (ICML 2017, sharp minima can generalise); Jang et al. (NeurIPS 2022).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp
from hypothesis import example, given, seed
from hypothesis import strategies as st

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.harness.hypothesis_settings import derandomised
from sgd_conformance.checks.oracles.loss_hessian import squared_loss_hessian
from sgd_conformance.reports.model import Figure, Series
from sgd_conformance.solvers import two_layer
from sgd_conformance.theory import reparam

QUARTIC_H = (1.0, 0.1)  #: H = diag(1, 0.1) of the test loss of lecture.hessian-reparam
WIDTH, INPUT_DIM, POINTS = 8, 3, 4  #: the ReLU net of lecture.hessian-reparam: n = 8 neurons, x in R^3, N = 4 points
RTOL = 1e-10  #: deterministic oracles
MAX_CONDITION = 1e3  #: cond(J) bound of the tanh test problems: double precision then resolves a 1e-10 identity
#: hypothesis's seeds for the generated ReLU networks and tanh problems. Derandomised hypothesis would derive them from
#: the source text of the example functions, so that any edit of a check drew other problems; they are pinned to the
#: seeds the calibrated cases were drawn with.
RELU_CASES_SEED = int("7d4c6610e4bfe21dd1622c488ffb8d8a17f6eb5da14dd8184d1c908d"
                      "21640a52a74ff935071706a3ceb925c7aa6919e2", 16)
IGS_CASES_SEED = int("b691c7c131871e82850dbb2153cd761e5554564b6fe5abedc791a342"
                     "bf19cce1bfd1285babd24902a7c6dfed04113069", 16)


def _relu_problem(rng: np.random.Generator, neuron: int) -> tuple[two_layer.Params, np.ndarray]:
    """A ReLU net and N inputs, redrawn until neuron ``neuron`` is active on some input (a dead neuron's
    coordinates do not enter f, and rescaling them changes nothing)."""
    while True:
        params = two_layer.init(rng, n=WIDTH, d=INPUT_DIM)
        x = rng.standard_normal((POINTS, INPUT_DIM))
        if np.any(x @ params.w[neuron] > 0):
            return params, x


def _relu_rescaling(params: two_layer.Params, neuron: int, c: float) -> tuple[two_layer.Params, np.ndarray]:
    """(a_k, w_k) -> (a_k / c, c w_k): the rescaled parameters and the diagonal of D with theta' = D theta."""
    n, d = params.w.shape
    scales = np.ones(n + n * d)
    scales[neuron] = 1.0 / c
    scales[n + neuron * d: n + (neuron + 1) * d] = c
    a, w = params.a.copy(), params.w.copy()
    a[neuron] /= c
    w[neuron] *= c
    return two_layer.Params(a=a, w=w), scales


@claim(
    "lecture.hessian-reparam", family="reference",
    statement="Under theta' = D theta (D diagonal, invertible) and L'(theta') = L(D^-1 theta'), at every point "
              "grad' L' = D^-1 grad L and Hess' L' = D^-1 Hess L D^-1 exactly, so lambda_max is not invariant "
              "(D = cI scales it by c^-2). For a ReLU net the function-preserving rescaling (a_k, w_k) -> "
              "(a_k/c, c w_k) leaves f unchanged and changes lambda_max of the loss Hessian at a minimum "
              "(generically; here: when k carries mass in the top eigenvector).",
    hypotheses="sympy: L = theta' H theta/2 + sum theta_i^4/4 with generic symmetric 2 x 2 H; numeric: H = diag(1, "
               "0.1), log d_i and theta'_i hypothesis-generated in [-2, 2] and [-3, 3], plus D = 3I; ReLU net "
               "f = n^-1/2 sum a_i relu(w_i'x), n = 8, x in R^3, N = 4 Gaussian inputs, targets y = f(x) (a "
               "minimum) and random y, nets redrawn until neuron k is active on some input, neuron k and c in "
               "[1.5, 4] hypothesis-generated plus (k, c) = (1, 3); exact "
               "Hessians (sympy, compiled; analytic network derivatives).",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) (slide 'Flat vs. Sharp Minima': "
           "sharpness is not reparameterisation-invariant); Dinh et al., ICML 2017 (sharp minima can generalise).",
    sizes={"quick": {"examples": 10},
           "standard": {"examples": 30},
           "thorough": {"examples": 100}},
    oracle_mutants=("hessian_d_h_d", "hessian_d_inverse_h_d"),
)
def hessian_transforms_as_d_inverse_h_d_inverse_and_relu_rescaling_changes_lambda_max(run: ClaimRun) -> None:
    """Hess_{theta'} L(D^-1 theta') = D^-1 Hess_theta L D^-1 by sympy, then numerically over D and points; the
    ReLU rescaling keeps f to 1e-12, obeys the same law, and moves lambda_max (ratio reported)."""
    examples = run.sizes["examples"]
    original, primed = reparam.quartic_hessians(QUARTIC_H)
    decisions: list[stats.Decision] = [
        stats.agreement("Hess' L' - D^-1 Hess L D^-1 simplifies to 0 (generic symmetric H)",
                        reparam.hessian_law_residual(2) == sp.zeros(2, 2), True, test="sympy substitution"),
        stats.agreement("grad' L' - D^-1 grad L simplifies to 0", reparam.gradient_law_residual(2) == sp.zeros(2, 1),
                        True, test="sympy substitution")]
    quartic: list[tuple[np.ndarray, np.ndarray]] = []

    @derandomised(examples)
    @given(log_scales=st.lists(st.floats(-2.0, 2.0), min_size=2, max_size=2),
           point=st.lists(st.floats(-3.0, 3.0), min_size=2, max_size=2))
    @example(log_scales=[float(np.log(3.0))] * 2, point=[0.7, -1.2])
    def quartic_example(log_scales: list[float], point: list[float]) -> None:
        scales, theta_primed = np.exp(np.array(log_scales)), np.array(point)
        exact = primed(np, theta_primed, scales)
        law = reparam.transformed_hessian(original(np, theta_primed / scales), scales)
        quartic.append((exact, law))

    quartic_example()
    exact_q, law_q = np.stack([e for e, _ in quartic]), np.stack([m for _, m in quartic])
    decisions.append(stats.identity(f"exact Hess' L'(theta') vs D^-1 Hess L(D^-1 theta') D^-1 ({len(quartic)} cases)",
                                    exact_q, law_q, rtol=RTOL, test="compiled sympy Hessians, rtol 1e-10"))
    scalar = 3.0
    point = run.stream("scalar D", on_backend=False).uniform(-3.0, 3.0, 2)
    top_before = np.linalg.eigvalsh(original(np, point / scalar))[-1]
    top_after = np.linalg.eigvalsh(primed(np, point, np.full(2, scalar)))[-1]
    decisions.append(stats.identity("c^2 lambda_max(Hess' L') vs lambda_max(Hess L) for D = 3I",
                                     scalar**2 * top_after, top_before, rtol=RTOL,
                                     test="eigenvalues of exact Hessians"))

    relu: list[dict[str, Any]] = []

    @seed(RELU_CASES_SEED)
    @derandomised(examples)
    @given(network=st.integers(0, 2**31 - 1), neuron=st.integers(0, WIDTH - 1), c=st.floats(1.5, 4.0))
    @example(network=0, neuron=0, c=3.0)
    def relu_example(network: int, neuron: int, c: float) -> None:
        rng = run.stream("relu", network, on_backend=False)
        params, x = _relu_problem(rng, neuron)
        y_random = rng.standard_normal(POINTS)
        rescaled, scales = _relu_rescaling(params, neuron, c)
        f0 = two_layer.forward(params, x, activation_name="relu", scaling="ntk")
        row: dict[str, Any] = {"c": c, "f": (f0, two_layer.forward(rescaled, x, activation_name="relu", scaling="ntk"))}
        for name, y in (("minimum", f0), ("random", y_random)):
            before = squared_loss_hessian(params, x, y, activation_name="relu", scaling="ntk")
            after = squared_loss_hessian(rescaled, x, y, activation_name="relu", scaling="ntk")
            row[name] = (before, after, reparam.transformed_hessian(before, scales))
        before, after, _ = row["minimum"]
        values, vectors = np.linalg.eigh(before)
        row["lambda"] = (values[-1], np.linalg.eigvalsh(after)[-1])
        mass = vectors[:WIDTH, -1] ** 2 + np.sum(vectors[WIDTH:, -1].reshape(WIDTH, INPUT_DIM) ** 2, axis=1)
        top, _ = _relu_rescaling(params, int(np.argmax(mass)), c)
        row["lambda_top"] = np.linalg.eigvalsh(squared_loss_hessian(top, x, f0, activation_name="relu",
                                                                    scaling="ntk"))[-1]
        relu.append(row)

    relu_example()
    f_before, f_after = np.stack([r["f"][0] for r in relu]), np.stack([r["f"][1] for r in relu])
    decisions.append(stats.identity(f"f after (a_k, w_k) -> (a_k/c, c w_k) vs f before ({len(relu)} nets)",
                                    f_after, f_before, rtol=0.0, atol=1e-12, test="forward passes, |diff| <= 1e-12"))
    for name in ("minimum", "random"):
        after = np.stack([r[name][1] for r in relu])
        law = np.stack([r[name][2] for r in relu])
        decisions.append(stats.identity(
            f"ReLU loss Hessian at the rescaled point vs D^-1 Hess L D^-1 (targets: {name})", after, law, rtol=RTOL,
            atol=RTOL * np.max(np.abs(law), axis=(1, 2))[:, None, None],
            test="analytic Hessians, rtol 1e-10 of the largest entry"))
    lam = np.array([r["lambda"] for r in relu])
    ratios = lam[:, 1] / lam[:, 0]
    catalog_ratio = float(ratios[0])
    top_ratios = np.array([r["lambda_top"] for r in relu]) / lam[:, 0]
    decisions.append(stats.agreement(
        f"lambda_max(after)/lambda_max(before) at a minimum, rescaling the neuron with most mass in the top "
        f"eigenvector, differs from 1 (range {top_ratios.min():.4g}..{top_ratios.max():.4g}; drawn neuron: "
        f"{ratios.min():.4g}..{ratios.max():.4g}, c = 3 on neuron 1: {catalog_ratio:.6g})",
        bool(np.all(np.abs(top_ratios - 1.0) > 1e-9)), True,
        test="eigenvalues of exact Hessians, |ratio - 1| > 1e-9 (rounding ~1e-15)"))
    run.figure(Figure(
        title="ReLU rescaling (a_k, w_k) -> (a_k/c, c w_k): lambda_max at a minimum, before vs after",
        xlabel="lambda_max before", ylabel="lambda_max after", xscale="log", yscale="log",
        series=[Series("drawn neuron k (f unchanged to 1e-12)", lam[:, 0].tolist(), lam[:, 1].tolist()),
                Series("neuron with most top-eigenvector mass", lam[:, 0].tolist(), (top_ratios * lam[:, 0]).tolist()),
                Series("no change", [float(lam.min()), float(lam.max())], [float(lam.min()), float(lam.max())],
                       style="dashed")],
        caption=f"Same function, different sharpness: ratios {top_ratios.min():.3g}..{top_ratios.max():.3g} for the "
                f"top neuron; a neuron outside the top eigenvector's inputs can leave lambda_max unchanged "
                f"(c = 3 on neuron 1: {catalog_ratio:.4g})."))
    run.verdict(*decisions)


def _tanh_problem(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, theta) with x, y, theta standard normal, redrawn until cond(J) <= MAX_CONDITION (rank J = N = 3)."""
    _, jacobian, _ = reparam.tanh_model_derivatives(False)
    while True:
        x, y, theta = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(2 * reparam.WIDTH)
        if np.linalg.cond(jacobian(np, x, theta)) <= MAX_CONDITION:
            return x, y, theta


@claim(
    "lecture.igs-invariant", family="reference",
    statement="IGS(theta) = (1/N) sum_i grad l_i' F^+ grad l_i with F = (1/N) sum_i J_i'J_i is invariant under "
              "theta = M theta' (g' = M'g, F' = M'FM and g lies in range F). It has the closed form "
              "sum_i (l'_i)^2 P_ii, P = J (J'J)^+ J', so for squared loss l = r^2/2 and rank J = N it equals "
              "||r||^2 = 2 N L: it vanishes at every interpolating minimum and carries no curvature information.",
    hypotheses="sympy: p = 2, N = 1, generic invertible M; numeric: f(x) = sum_{j<=4} b_j tanh(a_j x) (p = 8), N = 3 "
               "standard normal (x, y) and theta, cond(J) <= 1e3 (redrawn otherwise), D = diag(exp(2 xi_j)) with "
               "xi_j hypothesis-generated in [-1, 1]; Jacobians and Hessians exact (sympy, compiled).",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) ('IGS(theta) = (1/N) sum grad "
           "l_i' F(theta)^+ grad l_i ... reparameterization-invariant'); Jang et al., NeurIPS 2022 (an invariant "
           "sharpness); the closed form is derived here.",
    seed_wording="The lecture offers IGS as a reparameterisation-invariant measure of sharpness. It is invariant, but "
                 "for over-parameterised (p >= N) squared-loss models it equals 2 N L exactly: zero at every "
                 "interpolating minimum, whatever the curvature.",
    sizes={"quick": {"examples": 10},
           "standard": {"examples": 30},
           "thorough": {"examples": 100}},
    oracle_mutants=("regularised_fisher_inverse",),
)
def information_geometric_sharpness_is_invariant_and_equals_twice_n_times_the_loss(run: ClaimRun) -> None:
    """IGS(theta) = IGS'(D theta) = sum_i (l'_i)^2 P_ii = 2 N L (rank J = N), while lambda_max(Hess L) moves."""
    examples = run.sizes["examples"]
    f, jacobian, hessian = reparam.tanh_model_derivatives(False)
    f_r, jacobian_r, hessian_r = reparam.tanh_model_derivatives(True)
    residuals = reparam.igs_symbolic_residuals()
    decisions: list[stats.Decision] = [stats.agreement(
        f"{name} residual (p = 2, N = 1, generic M) simplifies to 0", value == 0, True, test="sympy")
        for name, value in residuals.items()]
    rows: list[dict[str, float]] = []

    @seed(IGS_CASES_SEED)
    @derandomised(examples)
    @given(problem=st.integers(0, 2**31 - 1),
           xi=st.lists(st.floats(-1.0, 1.0), min_size=2 * reparam.WIDTH, max_size=2 * reparam.WIDTH))
    @example(problem=0, xi=[0.5, -0.5, 1.0, -1.0, 0.25, -0.25, 0.75, -0.75])
    def one_example(problem: int, xi: list[float]) -> None:
        x, y, theta = _tanh_problem(run.stream(problem, on_backend=False))
        scales = np.exp(2.0 * np.array(xi))
        theta_r = scales * theta
        jac, res = jacobian(np, x, theta), f(np, x, theta) - y
        jac_r, res_r = jacobian_r(np, x, theta_r, scales), f_r(np, x, theta_r, scales) - y
        hess = reparam.squared_loss_hessian(np, jac, hessian(np, x, theta), res)
        hess_r = reparam.squared_loss_hessian(np, jac_r, hessian_r(np, x, theta_r, scales), res_r)
        rows.append({
            "igs": float(reparam.information_geometric_sharpness(np, jac, res)),
            "igs_r": float(reparam.information_geometric_sharpness(np, jac_r, res_r)),
            "closed": float(reparam.igs_closed_form(np, jac, res)),
            "two_n_loss": float(2 * len(x) * np.sum(res**2) / (2 * len(x))),
            "lam": float(np.linalg.eigvalsh(hess)[-1]), "lam_r": float(np.linalg.eigvalsh(hess_r)[-1])})

    one_example()
    col = {key: np.array([r[key] for r in rows]) for key in rows[0]}
    n = len(rows)
    decisions += [
        stats.identity(f"IGS after theta' = D theta vs before ({n} cases)", col["igs_r"], col["igs"], rtol=RTOL,
                       test="definition with F^+, exact Jacobians of f(D^-1 theta'), rtol 1e-10"),
        stats.identity(f"IGS vs closed form sum_i (l'_i)^2 P_ii ({n} cases)", col["igs"], col["closed"], rtol=RTOL,
                       test="projector onto range(J), rtol 1e-10"),
        stats.identity(f"IGS vs 2 N L ({n} cases, rank J = N = 3 < p = 8)", col["igs"], col["two_n_loss"],
                       rtol=RTOL, test="squared loss, rtol 1e-10")]
    # no curvature content: at an interpolating point (y = f(x)) IGS is 0 while the Hessian is not
    x, _, theta = _tanh_problem(run.stream("interpolating", on_backend=False))
    jac = jacobian(np, x, theta)
    zero_res = np.zeros(3)
    igs_min = float(reparam.information_geometric_sharpness(np, jac, zero_res))
    lam_min = float(np.linalg.eigvalsh(reparam.squared_loss_hessian(np, jac, hessian(np, x, theta), zero_res))[-1])
    decisions.append(stats.agreement(
        f"at an interpolating minimum IGS = {igs_min:.3g} while lambda_max = {lam_min:.4g}",
        (igs_min == 0.0, lam_min > 0.0), (True, True), test="exact: grad l_i = 0 there, Hess L = J'J/N != 0"))
    ratio_lam = col["lam_r"] / col["lam"]
    run.figure(Figure(
        title="Under theta' = D theta: IGS is unchanged (and equals 2NL), lambda_max is not", xlabel="case",
        ylabel="after / before", yscale="log",
        series=[Series("lambda_max(Hess L') / lambda_max(Hess L)", list(range(n)), ratio_lam.tolist()),
                Series("IGS' / IGS", list(range(n)), (col["igs_r"] / col["igs"]).tolist()),
                Series("IGS / 2NL", list(range(n)), (col["igs"] / col["two_n_loss"]).tolist(), style="dashed")],
        caption=f"lambda_max ratios {ratio_lam.min():.3g}..{ratio_lam.max():.3g}; IGS/2NL - 1 at most "
                f"{np.max(np.abs(col['igs'] / col['two_n_loss'] - 1)):.1e}: IGS is the loss, not a curvature."))
    run.verdict(*decisions)
