"""Claims about training the two-layer network of :mod:`solvers.two_layer` from a random initialisation (family
``sgd``: every parameter update is one call of the implementation's step, ``Runner(impl, lr).step(theta, grad)``,
on the flat parameters of the replicate networks as chains ``(networks, n + n d)``; the suite computes the
gradients): the minimum-norm (Gauss–Newton) step is kernel regression with the empirical NTK, and GD on the linearised
model reaches it along a closed-form path; under the NTK scaling GD is lazy (parameters move O(1) in norm, the kernel
by at most O(n^{-1/2})); under the mean-field scaling the kernel moves by an amount that does not vanish with the
width. Rates are GLS fits of the mean log over replicate networks on log n (:func:`stats.slope_fit`).

Source: Ruthotto, Lecture 4 (NTK section and NTK vs mean-field table); Jacot, Gabriel & Hongler 2018; Lee et al.
2019; Chizat, Oyallon & Bach 2019.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.harness.impl import Runner
from sgd_conformance.reports.model import Figure, Series
from sgd_conformance.solvers import two_layer
from sgd_conformance.solvers._xp import asarray, to_numpy

DUAL_WIDTHS = (256, 1024, 4096, 16384)
LAZY_WIDTHS = (256, 512, 1024, 2048, 4096)
LAZY_STEPS, LAZY_ETA = 200, 0.5
GD_CHECKPOINTS = (1, 10, 100)


def _log_mean_with_se(values: np.ndarray) -> tuple[float, float]:
    """Mean of log(values) over replicate networks and its standard error sd/sqrt(m)."""
    logs = np.log(np.ravel(values))
    return float(logs.mean()), float(logs.std(ddof=1) / np.sqrt(logs.size))


def _normwise(reference: np.ndarray, rtol: float) -> np.ndarray:
    """Per-replicate tolerance rtol * max |reference| (a norm-wise relative tolerance), broadcast to its shape."""
    return np.broadcast_to(rtol * np.max(np.abs(reference), axis=-1, keepdims=True), reference.shape)


def _train_replicates(run: ClaimRun, networks: int, scaling: str) -> dict[str, list[np.ndarray]]:
    """Teacher-student regression (ReLU, N = 8, d = 3): per width, ``networks`` students (the chains) trained for
    ``LAZY_STEPS`` full-batch steps of the implementation on the mean loss (:func:`solvers.two_layer.train`), at
    learning rate eta tau_n (eta = 0.5; tau_n = :func:`solvers.two_layer.time_scale`: n under mean-field scaling).
    Returns per-width arrays over networks: relative kernel change, ||theta_T - theta_0||, RMS parameter change."""
    name, d, count, xp = "relu", 3, 8, run.xp
    x_host = two_layer.sphere_inputs(run.stream("data", on_backend=False), count, d, separation=0.3)
    teacher = two_layer.init(run.stream("teacher", on_backend=False), n=4, d=d)
    y_host = two_layer.forward(teacher, x_host, activation_name=name)
    x, y = asarray(x_host, xp), asarray(np.broadcast_to(y_host, (networks, count)), xp)
    kw = {"activation_name": name, "scaling": scaling}
    out: dict[str, list[np.ndarray]] = {"kernel": [], "norm": [], "rms": []}
    for n in LAZY_WIDTHS:
        lr = LAZY_ETA * two_layer.time_scale(n, scaling)
        runner = Runner(run.impl, lr=lr, context=f"full-batch GD on a width-{n} ReLU net at lr {lr:g} on the mean "
                                                 "loss (stable: the loss decreases)")
        start = two_layer.init(run.stream(n), n=n, d=d, batch=(networks,))
        end = two_layer.train(start, x, y, steps=LAZY_STEPS, step=runner.step, **kw)
        k0, k1 = (to_numpy(two_layer.ntk_gram(p, x, **kw)) for p in (start, end))
        change = to_numpy(two_layer.flatten(end)) - to_numpy(two_layer.flatten(start))
        out["kernel"].append(np.linalg.norm(k1 - k0, axis=(-2, -1)) / np.linalg.norm(k0, axis=(-2, -1)))
        out["norm"].append(np.linalg.norm(change, axis=-1))
        out["rms"].append(np.sqrt(np.mean(change**2, axis=-1)))
    return out


def _width_fit(values: list[np.ndarray], sign: float = 1.0) -> tuple[stats.LinearFit, np.ndarray]:
    """GLS of sign * (mean log over networks) on (1, log n), known errors from the replicates; also the means."""
    y, se = (np.array(v) for v in zip(*(_log_mean_with_se(v) for v in values), strict=True))
    return stats.slope_fit(np.array(LAZY_WIDTHS, dtype=float), sign * y, se), y


def _lazy_series(label: str, y: np.ndarray, fit: stats.LinearFit, sign: float = 1.0) -> list[Series]:
    widths = np.array(LAZY_WIDTHS, dtype=float)
    return [Series(label, widths.tolist(), np.exp(y).tolist()),
            Series(f"{label}: fitted slope {sign * fit.coef[1]:.3f} ± {fit.se(1):.3f}", widths.tolist(),
                   np.exp(sign * (fit.coef[0] + fit.coef[1] * np.log(widths))).tolist(), style="line")]


def _linearised_gd(run: ClaimRun, params: two_layer.Params, x: Any, y: Any, jac: np.ndarray, gram: np.ndarray,
                   resid: np.ndarray, step: np.ndarray, rtol: float, kw: dict[str, str]) -> list[stats.Decision]:
    r"""The implementation's GD on the linearised loss :math:`\tfrac12\|J\delta\theta - R\|^2` from 0, the
    replicate networks as chains, at the common learning rate :math:`\eta = 1/\max\lambda_{\max}(K)`. GD's
    iterates stay in the row space of J: :math:`\delta\theta_k = J^\top c_k`, :math:`c_{k+1} = c_k - \eta(Kc_k - R)`,
    so :math:`\delta\theta_k = J^\top(I - (I - \eta K)^k)K^{-1}R` exactly (checked at ``GD_CHECKPOINTS``, rtol
    norm-wise per network) and :math:`\|\delta\theta_k - \delta\theta^*\| \le (1 - \eta\lambda_{\min})^k
    \|\delta\theta^*\|` (checked at the last step, taken so that this bound is rtol)."""
    eig, vec = np.linalg.eigh(gram)
    lr = 1.0 / float(np.max(eig[:, -1]))
    ratio = 1.0 - lr * eig[:, 0]
    steps = int(min(20000, np.ceil(np.log(rtol) / np.log(np.max(ratio)))))
    seen: dict[int, np.ndarray] = {}

    def observe(k: int, delta: Any) -> None:
        if k in GD_CHECKPOINTS:
            seen[k] = to_numpy(delta)

    runner = Runner(run.impl, lr=lr, context="GD on a linear least-squares loss at lr 1/lambda_max (stable)")
    gd = to_numpy(two_layer.flatten(two_layer.linearised_gd(params, x, y, steps=steps, step=runner.step,
                                                            observe=observe, **kw)))
    rotated = np.einsum("bji,bj->bi", vec, resid) / eig
    ks = np.array(sorted(seen), dtype=float)
    coef = np.einsum("bij,kbj->kbi", vec, (1.0 - (1.0 - lr * eig) ** ks[:, None, None]) * rotated)
    closed = np.einsum("bip,kbi->kbp", jac, coef)
    iterates = np.stack([seen[k] for k in sorted(seen)])
    bound = (ratio**steps + rtol) * np.linalg.norm(step, axis=-1)
    return [
        stats.identity(f"n = {params.a.shape[-1]}: linearised GD iterates dtheta_k = J'(I - (I - eta K)^k)K^-1 R, "
                       f"k = {', '.join(str(k) for k in sorted(seen))}", iterates, closed, rtol=rtol,
                       atol=np.broadcast_to(_normwise(step, rtol), closed.shape),
                       test=f"{len(step)} networks, eta = 1/lambda_max = {lr:.4g}"),
        stats.identity(f"n = {params.a.shape[-1]}: linearised GD from 0 converges to dtheta*", gd, step, rtol=0.0,
                       atol=np.broadcast_to(bound[:, None], step.shape),
                       test=f"{steps} steps, eta = 1/lambda_max; contraction bound"),
    ]


@claim(
    "lecture.ntk-dual-solution", family="sgd",
    statement="If the Jacobian J (N x p) of the network at theta_0 has full row rank, K = J J' (N x N): "
              "dtheta* = J'K^(-1)R, R = Y - f_0(X), is the minimum-norm solution of J dtheta = R; "
              "||dtheta*||^2 = R'K^(-1)R exactly, and it is O(1) in the width; GD on the linearised model from "
              "dtheta = 0 stays in the row space of J, dtheta_k = J'(I - (I - eta K)^k)K^(-1)R, and so converges to "
              "dtheta* for eta lambda_max(K) < 2; the linearised predictor is f*(x) = f_0(x) + K(x, X)K^(-1)R "
              "(so f*(X) = Y). One Gauss-Newton step on the true network leaves a residual "
              "||f(theta_0 + dtheta*; X) - Y|| = O(sqrt(log n)/sqrt(n)) (the Hessian bound times ||dtheta*||^2).",
    hypotheses="tanh, NTK scaling, N = 6 inputs on the sphere ||x||^2 = d, d = 3, every pair >= 0.6 rad from "
               "parallel and antiparallel (a well-conditioned K), 4 test inputs on the sphere, targets "
               "Y ~ N(0, I_6) fixed per seed, w ~ N(0, I/d), a ~ N(0, 1); widths 256, 1024, 4096, 16384; "
               "identities at rtol 1e-10 (norm-wise per network). Linearised GD is the implementation's: its steps "
               "on the 8 (quick) networks at n = 256 as chains, at the common eta = 1/max lambda_max(K) over the "
               "networks; iterates checked at k = 1, 10, 100 (rtol 1e-10 norm-wise) and the end point against the "
               "exact contraction bound (1 - eta lambda_min)^k ||dtheta*|| (k steps make it 1e-10).",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) ('dtheta* = J'K^-1(Y - f0(X))', "
           "'Gauss-Newton converges in one step', 'f*(x_new) = f0 + K(x_new, X)K^-1 R', '||dtheta*||^2 = r'K^-1 r = "
           "O(1)'); derived here.",
    seed_wording="'Gauss-Newton converges in one step' holds for the linearised model only; on the network one step "
                 "leaves a residual that vanishes with the width (here about like 1/n, faster than the lecture's "
                 "n^(-1/2) bound, because the quadratic remainder is a sum of mean-zero per-neuron terms).",
    sizes={"quick": {"networks": 8},
           "standard": {"networks": 16},
           "thorough": {"networks": 48}},
    power="The linearised-GD decisions are exact (rtol 1e-10, the same at every seed) and decide on the "
          "implementation: any step other than theta - eta g (hidden momentum, 1.1 or 0.5 eta, 2 eta, a delayed "
          "gradient, weight decay, diagonal preconditioning, clipping, sign) leaves the closed-form path within "
          "k = 1, 10, 100 steps; momentum, 1.1 eta, a delayed gradient and clipping still reach dtheta*, so the "
          "limit alone would not see them. The other decisions are oracle identities and width rates of the "
          "suite's network (its oracle mutants).",
    mutants=("gd_hidden_momentum", "gd_lr_times_1_1", "gd_stale_gradient", "gd_weight_decay", "gd_double_gradient",
             "gd_half_step", "gd_diagonal_preconditioning", "sgd_sign", "sgd_clipped"),
    oracle_mutants=("predict_without_offset", "primal_gram"),
)
def min_norm_step_is_the_kernel_regression_solution_and_gauss_newton_residual_shrinks_with_width(
        run: ClaimRun) -> None:
    r"""Per width and network: :math:`K` from :func:`solvers.two_layer.ntk_gram` is the N×N Gram :math:`JJ^\top`;
    the step of :func:`solvers.two_layer.min_norm_step` equals NumPy's SVD least-norm solution of
    :math:`J\delta\theta = R` and solves it; :math:`\|\delta\theta^*\|^2 = R^\top K^{-1}R`;
    :func:`solvers.two_layer.kernel_predict` equals :math:`f_0(x) + J(x)\delta\theta^*` and interpolates
    (all at rtol 1e-10). The implementation's GD on the linearised loss from 0 follows the closed-form path and
    ends within its contraction bound of :math:`\delta\theta^*` (:func:`_linearised_gd`). Rates (GLS of the
    mean log over networks on log n): :math:`\|\delta\theta^*\|^2` slope 0 (two-sided); the Gauss–Newton residual
    :math:`\log\|f(\theta_0 + \delta\theta^*) - Y\| - \tfrac12\log\log n` slope :math:`\le -1/2` (one-sided)."""
    name, d, count, tests = "tanh", 3, 6, 4
    networks = run.sizes["networks"]
    rng = run.stream("data", on_backend=False)
    x_host, x_new_host = two_layer.sphere_inputs(rng, count, d, separation=0.6), two_layer.sphere_inputs(rng, tests, d)
    y_host = rng.standard_normal(count)
    xp = run.xp
    x, x_new, y = asarray(x_host, xp), asarray(x_new_host, xp), asarray(np.broadcast_to(y_host, (networks, count)), xp)
    kw = {"activation_name": name, "scaling": "ntk"}
    rtol = 1e-10
    decisions, norms, residuals = [], [], []
    for n in DUAL_WIDTHS:
        params = two_layer.init(run.stream(n), n=n, d=d, batch=(networks,))
        jac = to_numpy(two_layer.flat_jacobian(params, x, **kw))
        gram = to_numpy(two_layer.ntk_gram(params, x, **kw))
        if gram.shape[-2:] != (count, count):
            run.verdict(stats.agreement(f"n = {n}: shape of K = ntk_gram (the N x N Gram J J')", gram.shape[-2:],
                                          (count, count), test="K must be N x N, not the p x p matrix J'J"))
        explicit = np.einsum("bip,bjp->bij", jac, jac)
        decisions.append(stats.identity(f"n = {n}: K = J J'", gram, explicit, rtol=rtol, test=f"{networks} networks",
                                        atol=np.broadcast_to(rtol * np.max(np.abs(explicit)), explicit.shape)))
        f0 = to_numpy(two_layer.forward(params, x, **kw))
        resid = y_host - f0
        step = to_numpy(two_layer.flatten(two_layer.min_norm_step(params, x, y, **kw)))
        lstsq = np.stack([np.linalg.lstsq(j, r, rcond=None)[0] for j, r in zip(jac, resid, strict=True)])
        decisions.append(stats.identity(f"n = {n}: dtheta* = J'K^-1 R is the least-norm solution (SVD)", step, lstsq,
                                        rtol=rtol, atol=_normwise(lstsq, rtol), test=f"{networks} networks"))
        decisions.append(stats.identity(f"n = {n}: J dtheta* = R", np.einsum("bip,bp->bi", jac, step), resid,
                                        rtol=rtol, atol=_normwise(resid, rtol), test=f"{networks} networks"))
        quad = np.einsum("bi,bi->b", resid, np.linalg.solve(explicit, resid[..., None])[..., 0])
        decisions.append(stats.identity(f"n = {n}: ||dtheta*||^2 = R'K^-1 R", np.sum(step**2, axis=-1), quad,
                                        rtol=rtol, test=f"{networks} networks"))
        jac_new = to_numpy(two_layer.flat_jacobian(params, x_new, **kw))
        linear = to_numpy(two_layer.forward(params, x_new, **kw)) + np.einsum("bip,bp->bi", jac_new, step)
        predicted = to_numpy(two_layer.kernel_predict(params, x, y, x_new, **kw))
        decisions.append(stats.identity(f"n = {n}: f*(x) = f_0(x) + K(x, X)K^-1 R at test inputs", predicted, linear,
                                        rtol=rtol, atol=_normwise(linear, rtol), test=f"{networks} networks x {tests}"))
        fitted = to_numpy(two_layer.kernel_predict(params, x, y, x, **kw))
        target = np.broadcast_to(y_host, fitted.shape)
        decisions.append(stats.identity(f"n = {n}: f*(X) = Y", fitted, target, rtol=rtol,
                                        atol=_normwise(target, rtol), test=f"{networks} networks"))
        if n == DUAL_WIDTHS[0]:
            decisions.extend(_linearised_gd(run, params, x, y, jac, explicit, resid, step, rtol, kw))
        after = two_layer.Params(*(p + q for p, q in zip(params, two_layer.unflatten(asarray(step, xp), n, d),
                                                          strict=True)))
        residuals.append(np.linalg.norm(to_numpy(two_layer.forward(after, x, **kw)) - y_host, axis=-1))
        norms.append(np.sum(step**2, axis=-1))
    widths = np.array(DUAL_WIDTHS, dtype=float)
    level = stats.split(run.level, 2)
    norm_y, norm_se = (np.array(v) for v in zip(*(_log_mean_with_se(v) for v in norms), strict=True))
    res_y, res_se = (np.array(v) for v in zip(*(_log_mean_with_se(v) for v in residuals), strict=True))
    norm_fit = stats.slope_fit(widths, norm_y, norm_se)
    bound_fit = stats.slope_fit(widths, -(res_y - 0.5 * np.log(np.log(widths))), res_se)
    res_fit = stats.slope_fit(widths, res_y, res_se)
    run.figure(Figure(
        title="One Gauss-Newton step on a two-layer tanh net: residual and step norm vs width", xlabel="width n",
        ylabel="geometric mean over networks", xscale="log", yscale="log",
        series=[Series("||f(theta_0 + dtheta*; X) - Y||", widths.tolist(), np.exp(res_y).tolist()),
                Series(f"fitted slope {res_fit.coef[1]:.3f} ± {res_fit.se(1):.3f}", widths.tolist(),
                       np.exp(res_fit.coef[0] + res_fit.coef[1] * np.log(widths)).tolist(), style="line"),
                Series("bound sqrt(log n / n)", widths.tolist(),
                       (np.exp(res_y[0]) * np.sqrt(np.log(widths) / widths / (np.log(widths[0]) / widths[0])))
                       .tolist(), style="dashed"),
                Series("||dtheta*||^2 = R'K^-1 R", widths.tolist(), np.exp(norm_y).tolist())],
        caption=f"{networks} networks per width; the residual falls faster than the O(sqrt(log n)/sqrt(n)) bound."))
    run.verdict(
        *decisions,
        stats.coefficient_test("slope of log ||dtheta*||^2 in log n (O(1) in the width)", norm_fit, 1, 0.0,
                               level=level,
                               test=f"GLS of mean log over {networks} networks, {len(DUAL_WIDTHS)} widths"),
        stats.coefficient_test("minus the slope of log(GN residual) - log(log n)/2 in log n (bound: >= 1/2)",
                               bound_fit, 1, 0.5, level=level, alternative="greater",
                               test=f"one-sided GLS of mean log over {networks} networks, {len(DUAL_WIDTHS)} widths"),
    )




@claim(
    "lecture.ntk-lazy", family="sgd",
    statement="Under the NTK parameterisation f = n^(-1/2) sum_i a_i sigma(w_i'x), full-batch GD on the squared loss "
              "for a fixed training time moves the parameters by ||theta_T - theta_0|| = O(1) (width-independent), "
              "i.e. O(n^(-1/2)) per parameter, and the relative kernel change ||K_T - K_0||_F/||K_0||_F = O(n^(-1/2)).",
    hypotheses="ReLU, teacher-student regression (teacher: width-4 ReLU net), N = 8 inputs on the sphere ||x||^2 = d "
               "(pairs >= 0.3 rad from parallel), d = 3, w ~ N(0, I/d), a ~ N(0, 1); GD on (1/2N) sum (f - y)^2 with "
               "eta = 0.5 for T = 200 steps (rather than 2000: the claims hold at every fixed time), each step the "
               "implementation's on the flat parameters (a, vec W) of the replicate networks as chains, given the "
               "mean loss's gradient and lr 0.5; widths 256..4096 (rather than 1024..16384, for run time).",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) ('parameter change bounded', NTK "
           "vs mean-field table); Jacot, Gabriel & Hongler, NeurIPS 2018; Lee et al., NeurIPS 2019; Chizat, Oyallon & "
           "Bach, NeurIPS 2019.",
    seed_wording="O(n^(-1/2)) for the kernel change is an upper bound: the measured rate is faster (about n^(-0.7) "
                 "for ReLU; O(1/n) is known for smooth activations), so it is tested one-sided.",
    sizes={"quick": {"networks": 8},
           "standard": {"networks": 16},
           "thorough": {"networks": 32}},
    power="Decides whether the implementation keeps NTK training lazy: a step whose size depends on the parameter "
          "count (gradient divided by it: exponents about -1 and -1.5 instead of 0 and -1/2), sign-SGD (each "
          "coordinate moves eta whatever its O(n^(-1/2)) gradient: exponents about +1/2 and 0) or weight decay "
          "(theta shrinks by an O(1) fraction: ||theta_T - theta_0|| grows like sqrt(n)) are rejected at 8 networks "
          "with p < 1e-10. A width-independent change of the training time (momentum, 1.1 eta, a delayed gradient) "
          "keeps training lazy and passes: the claim holds for it too.",
    mutants=("gd_grad_over_parameter_count", "sgd_sign", "gd_weight_decay"),
    oracle_mutants=("swapped_training",),
)
def ntk_training_moves_parameters_by_order_one_and_the_kernel_by_at_most_n_to_minus_half(run: ClaimRun) -> None:
    r"""The implementation trains the replicate networks (:func:`_train_replicates`); GLS of the mean log over them on
    log n (known errors from the replicates): :math:`\|\theta_T - \theta_0\|` slope 0 and the RMS parameter change
    slope -1/2 (two-sided); :math:`\|K_T - K_0\|_F/\|K_0\|_F` slope :math:`\le -1/2` (one-sided: the claim is a
    bound)."""
    networks = run.sizes["networks"]
    runs = _train_replicates(run, networks, "ntk")
    norm_fit, norm_y = _width_fit(runs["norm"])
    rms_fit, rms_y = _width_fit(runs["rms"])
    kernel_fit, kernel_y = _width_fit(runs["kernel"], sign=-1.0)
    level = stats.split(run.level, 3)
    test = f"GLS of mean log over {networks} networks, {len(LAZY_WIDTHS)} widths"
    run.figure(Figure(
        title="Lazy training under NTK scaling: parameter and kernel change vs width", xlabel="width n",
        ylabel="geometric mean over networks", xscale="log", yscale="log",
        series=[*_lazy_series("||theta_T - theta_0||", norm_y, norm_fit),
                *_lazy_series("RMS parameter change", rms_y, rms_fit),
                *_lazy_series("||K_T - K_0||_F / ||K_0||_F", -kernel_y, kernel_fit, sign=-1.0)],
        caption=f"ReLU, {LAZY_STEPS} GD steps, {networks} networks per width."))
    run.verdict(
        stats.coefficient_test("slope of log ||theta_T - theta_0|| in log n (O(1))", norm_fit, 1, 0.0, level=level,
                               test=test),
        stats.coefficient_test("slope of log RMS parameter change in log n (O(n^-1/2) per parameter)", rms_fit, 1,
                               -0.5, level=level, test=test),
        stats.coefficient_test("minus the slope of log relative kernel change in log n (bound: >= 1/2)", kernel_fit,
                               1, 0.5, level=level, alternative="greater", test=f"one-sided {test}"),
    )


@claim(
    "lecture.mean-field-moves", family="sgd",
    statement="Under the mean-field parameterisation f = n^(-1) sum_i a_i sigma(w_i'x) with time scaled by n "
              "(learning rate eta n), GD on the squared loss moves each neuron by an amount that does not vanish "
              "as the width grows (RMS parameter change of width exponent 0, not the lazy regime's -1/2) and "
              "changes the kernel by a relative amount ||K_T - K_0||_F/||K_0||_F that does not vanish (feature "
              "learning): its width exponent is 0, not the lazy regime's <= -1/2.",
    hypotheses="the network, data, GD and widths of lecture.ntk-lazy with output scale 1/n and learning rate "
               "0.5 n on the mean loss (same initialisation w ~ N(0, I/d), a ~ N(0, 1)); each step the "
               "implementation's on the flat parameters of the replicate networks as chains, given lr 0.5 n.",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) (NTK vs mean-field table); "
           "Chizat, Oyallon & Bach, NeurIPS 2019; Mei, Montanari & Nguyen, PNAS 2018.",
    sizes={"quick": {"networks": 8},
           "standard": {"networks": 16},
           "thorough": {"networks": 32}},
    power="Decides whether the implementation moves the features at the mean-field rate: a gradient divided by the "
          "parameter count makes mean-field training lazy (log n coefficient of the RMS parameter change -1.0 +- "
          "0.02, p < 1e-100 at 8 networks, in 20 of 20 seeds; the kernel change's, about -1 with a standard error "
          "of 0.2 to 0.5 from the few ReLU activation flips, alone rejects in only 17 of 20); weight decay at lr "
          "0.5 n (decay factor 1 - 0.5 n 1e-3 < -1 at n = 4096) diverges, an error. Momentum, 1.1 eta or a delayed "
          "gradient change the time scale by an O(1) factor and pass (the neurons still move by O(1)); so does "
          "sign-SGD (they move more, not less).",
    mutants=("gd_grad_over_parameter_count", "gd_weight_decay"),
    oracle_mutants=("swapped_training",),
)
def mean_field_training_moves_the_neurons_and_the_kernel_by_amounts_that_do_not_vanish_with_width(
        run: ClaimRun) -> None:
    r"""The implementation trains the replicate networks (:func:`_train_replicates`); GLS of the mean log over them of
    the RMS parameter change and of the relative kernel change, each on (1, log n, 1/n): in the mean-field limit the
    trained network is a smooth functional of the empirical measure of n i.i.d. neurons, each of which moves by O(1),
    so :math:`E\log(\cdot) = \log c_\infty + O(1/n)` with :math:`c_\infty > 0`; each log n coefficient is tested
    one-sided, ">= 0" (rejects when the change significantly shrinks with the width, as it does like n^(-1/2) or
    faster under NTK scaling)."""
    networks = run.sizes["networks"]
    runs = _train_replicates(run, networks, "mean_field")
    widths = np.array(LAZY_WIDTHS, dtype=float)
    design = np.column_stack([np.ones_like(widths), np.log(widths), 1.0 / widths])
    fits, means = {}, {}
    for key in ("rms", "kernel"):
        means[key], se = (np.array(v) for v in zip(*(_log_mean_with_se(v) for v in runs[key]), strict=True))
        fits[key] = stats.gls(design, means[key], np.diag(se**2))
    labels = {"rms": "RMS parameter change", "kernel": "relative kernel change ||K_T - K_0||_F / ||K_0||_F"}
    run.figure(Figure(
        title="Mean-field training: parameter and kernel change vs width", xlabel="width n",
        ylabel="geometric mean over networks", xscale="log", yscale="log",
        series=[series for key, label in labels.items() for series in (
            Series(label, widths.tolist(), np.exp(means[key]).tolist()),
            Series(f"fit c0 + c1 log n + c2/n, c1 = {fits[key].coef[1]:.3f} ± {fits[key].se(1):.3f}",
                   widths.tolist(), np.exp(design @ fits[key].coef).tolist(), style="line"))],
        caption=f"ReLU, {LAZY_STEPS} GD steps at learning rate 0.5 n (mean loss), {networks} networks per width."))
    test = f"one-sided; GLS on (1, log n, 1/n) of mean log over {networks} networks, {len(LAZY_WIDTHS)} widths"
    level = stats.split(run.level, 2)
    run.verdict(
        stats.coefficient_test("log n coefficient of log RMS parameter change (each neuron moves: >= 0)",
                               fits["rms"], 1, 0.0, level=level, alternative="greater", test=test),
        stats.coefficient_test("log n coefficient of log relative kernel change (does not vanish: >= 0)",
                               fits["kernel"], 1, 0.0, level=level, alternative="greater", test=test))
