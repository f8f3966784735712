"""Claims about the neural tangent kernel of a two-layer network at initialisation (family ``reference``:
statements of the theory, checked on the suite's one network, :mod:`solvers.two_layer`, against the exact oracles of
:mod:`checks.oracles.ntk`, derived in :mod:`theory.ntk`): the scale and law of the Jacobian, the infinite-width limit
of the empirical NTK, the scale of the Hessian. Training in the NTK and mean-field scalings is
:mod:`checks.ntk_training`.

f(x) = n^{-1/2} sum_i a_i sigma(w_i'x), w_i ~ N(0, I_d/d), a_i ~ N(0, 1) (or Rademacher where stated).
Source: Ruthotto, Lecture 4 (Modern Theory of SGD), NTK section; Jacot, Gabriel & Hongler 2018; Cho & Saul 2009; Du,
Zhai, Póczos & Singh 2019.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.oracles import ntk as oracle
from sgd_conformance.reports.model import Figure, Series
from sgd_conformance.solvers import two_layer
from sgd_conformance.solvers._xp import asarray, to_numpy
from sgd_conformance.theory import ntk

WIDTHS = tuple(2**k for k in range(6, 15, 2))  # 64 .. 16384


def _log_rms_with_se(values: np.ndarray) -> tuple[float, float]:
    """log RMS of the entries and its delta-method standard error sqrt(Var(q)/m)/(2 mean(q)), where q is the mean
    square of one neuron's entries (neurons are i.i.d.; a neuron's entries are not). ``values``: (..., n[, d])."""
    sq = np.ravel(values**2 if values.ndim == 2 else np.mean(values**2, axis=-1))
    m2 = float(sq.mean())
    return 0.5 * float(np.log(m2)), float(sq.std(ddof=1) / np.sqrt(sq.size) / (2 * m2))


def _dot_rounding(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Bound on the rounding error of z = w'x computed in two summation orders: 2 d u sum_k |w_k x_k| (u = 2^-53)."""
    return 2 * x.size * np.finfo(float).eps * np.sum(np.abs(w * x), axis=-1)


@claim(
    "lecture.ntk-jacobian-scale", family="reference",
    statement="NTK parameterisation f = n^(-1/2) sum_i a_i sigma(w_i'x): df/da_i = n^(-1/2) sigma(w_i'x), "
              "df/dw_ij = n^(-1/2) a_i sigma'(w_i'x) x_j; the entries are O(n^(-1/2)) and sqrt(n) J has an "
              "n-independent law (sqrt(n) df/da_i ~ sigma(N(0, ||x||^2/d))).",
    hypotheses="two-layer net, tanh and ReLU, d = 5, ||x||^2 = d, w ~ N(0, I/d), a ~ N(0, 1), widths 2^6..2^14.",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) (NTK parameterisation slide); "
           "Jacot, Gabriel & Hongler, NeurIPS 2018; derived here.",
    seed_wording="df/da_i = (1/sqrt(n)) sigma'(w_i'x) — a typo: the a-gradient of a_i sigma(w_i'x) is sigma(w_i'x).",
    # networks per width (each gives n i.i.d. neurons): KS on >= 64 draws, GLS on log RMS over 5 widths
    sizes={"quick": {"networks": 4},
           "standard": {"networks": 16},
           "thorough": {"networks": 64}},
    oracle_mutants=("unscaled_jacobian", "seed_jacobian"),
)
def ntk_jacobian_is_sigma_over_sqrt_n_with_a_width_free_law(run: ClaimRun) -> None:
    r"""The Jacobian of the two-layer net equals the sympy derivative of its definition,
    :math:`\partial f/\partial a_i = n^{-1/2}\sigma(w_i^\top x)`, :math:`\partial f/\partial w_{ij} = n^{-1/2}a_i
    \sigma'(w_i^\top x)x_j` (rtol 1e-12); the RMS of each part falls like :math:`n^{-1/2}` (GLS slope of log RMS on
    log n, delta-method errors); :math:`\sqrt n\,\partial f/\partial a_i` has the exact law of :math:`\sigma(Z)`,
    Z ~ N(0, 1), at every width (one-sample KS)."""
    sizes = run.sizes
    d, networks = 5, sizes["networks"]
    widths = np.array(WIDTHS, dtype=float)
    level_ks, level_slope = stats.split(run.level, 2), stats.split(run.level, 2)
    x_host = two_layer.unit_input(run.stream("input", on_backend=False), d)
    x = asarray(x_host[None, :], run.xp)
    decisions, series = [], []
    for name in two_layer.ACTIVATIONS:
        exact = oracle.neuron_jacobian(name, d)
        worst_a, worst_w, ks_samples, rms, tol_a, tol_w = [], [], [], {"a": [], "w": []}, [], []
        for n in WIDTHS:
            params = two_layer.init(run.stream(name, n), n=n, d=d, batch=(networks,))
            da, dw = (to_numpy(v)[:, 0] for v in two_layer.jacobian(params, x, activation_name=name))
            a, w = to_numpy(params.a), to_numpy(params.w)
            sym_a, sym_w = exact(a, w, x_host, n)
            worst_a.append((da, sym_a))
            worst_w.append((dw, sym_w))
            # both orders of summation of z may differ by err; sigma is 1-Lipschitz, |sigma''| <= 1 (tanh);
            # relu's sigma' = 1{z > 0} is undetermined for |z| <= err
            err = _dot_rounding(w, x_host) / np.sqrt(n)
            jump, eps = (1.0 if name == "relu" else 0.0), np.finfo(float).eps  # + a few ulps of |a x_j|/sqrt(n)
            ambiguous = np.where(np.abs(w @ x_host) <= err * np.sqrt(n), 1.0, 0.0) if name == "relu" else err
            tol_a.append(err)
            tol_w.append((np.abs(a)[..., None] * np.abs(x_host) / np.sqrt(n)) * (jump * ambiguous + (1 - jump) * err
                                                                                    * np.sqrt(n) + 8 * eps)[..., None])
            ks_samples.append(np.sqrt(n) * da)
            for part, values in (("a", da), ("w", dw)):
                rms[part].append(_log_rms_with_se(values))
        decisions.append(stats.identity(
            f"{name}: df/da_i from solvers.two_layer vs the sympy derivative", np.concatenate([u.ravel() for u, _ in
            worst_a]), np.concatenate([v.ravel() for _, v in worst_a]), rtol=1e-12, test="all neurons, all widths",
            atol=np.concatenate([t.ravel() for t in tol_a])))
        decisions.append(stats.identity(
            f"{name}: df/dw_ij from solvers.two_layer vs the sympy derivative", np.concatenate([u.ravel() for u, _ in
            worst_w]), np.concatenate([v.ravel() for _, v in worst_w]), rtol=1e-12, test="all neurons, all widths",
            atol=np.concatenate([t.ravel() for t in tol_w])))
        parts = 2 * len(WIDTHS) + 1  # KS per width and activation, and relu's atom at 0
        for n, sample in zip(WIDTHS, ks_samples, strict=True):
            continuous, cdf = oracle.activation_law(name, np.ravel(sample))
            decisions.append(stats.ks_test(f"{name}: law of sqrt(n) df/da_i at n = {n} is that of sigma(N(0, 1))",
                                           continuous, cdf, level=stats.split(level_ks, parts)))
        if name == "relu":
            positive = np.array([np.mean(np.ravel(s) > 0) for s in ks_samples])
            counts = np.array([np.size(s) for s in ks_samples])
            decisions.append(stats.z_test("relu: P(sqrt(n) df/da_i > 0) = 1/2 at every width", positive,
                                          0.5 / np.sqrt(counts), 0.5, level=stats.split(level_ks, parts),
                                          test="binomial CLT per width, Bonferroni"))
        for part in ("a", "w"):
            y, se = (np.array(v) for v in zip(*rms[part], strict=True))
            fit = stats.slope_fit(widths, y, se)
            decisions.append(stats.coefficient_test(
                f"{name}: slope of log RMS(df/d{part}) in log n", fit, 1, -0.5, level=stats.split(level_slope, 4),
                test=f"GLS on {len(WIDTHS)} widths, delta-method errors from {networks} networks x n neurons"))
            series += [Series(f"{name}, df/d{part}", widths.tolist(), np.exp(y).tolist()),
                       Series(f"{name}, df/d{part}: fitted slope {fit.coef[1]:.4f}", widths.tolist(),
                              np.exp(fit.coef[0] + fit.coef[1] * np.log(widths)).tolist(), style="line")]
    series.append(Series("slope -1/2", widths.tolist(), (np.exp(rms["a"][0][0]) * (widths / widths[0]) ** -0.5)
                         .tolist(), style="dashed"))
    run.figure(Figure(title="RMS of the Jacobian entries vs width (NTK scaling)", xlabel="width n",
                        ylabel="RMS entry", xscale="log", yscale="log", series=series,
                        caption="Entries are O(n^-1/2); sqrt(n) df/da_i has the law of sigma(N(0, 1)) at every n."))
    run.verdict(*decisions)


@claim(
    "lecture.ntk-limit", family="reference",
    statement="The empirical NTK K_n = J J' of f = n^(-1/2) sum_i a_i relu(w_i'x), w ~ N(0, I/d), a ~ N(0, 1), is "
              "unbiased for its infinite-width limit at every width and converges at rate n^(-1/2): "
              "K_inf(x, x') = (|x||x'|/(2 pi d))[sin t + (pi - t) cos t] + (x'x')(pi - t)/(2 pi), t = angle(x, x') "
              "(arc-cosine kernels J_1, J_0); lambda_min(K_inf) > 0 on distinct non-parallel inputs.",
    hypotheses="ReLU, d = 3, three random inputs, widths 2^6..2^14, independent networks per width.",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) ('K = JJ' ... deterministic "
           "(spd!) limit by LLN'); Jacot, Gabriel & Hongler, NeurIPS 2018; Cho & Saul, NeurIPS 2009 (arc-cosine "
           "kernels); Du, Zhai, Poczos & Singh, ICLR 2019 (lambda_0 > 0).",
    # networks per width
    sizes={"quick": {"networks": 300},
           "standard": {"networks": 1200},
           "thorough": {"networks": 4000}},
    oracle_mutants=("unscaled_jacobian", "sigma_in_w_part", "unit_variance_init"),
)
def empirical_ntk_is_unbiased_for_the_arc_cosine_limit_and_converges_at_rate_n_to_minus_half(run: ClaimRun) -> None:
    r""":math:`E K_n(x, x') = K_\infty(x, x')` for every n (CLT z-test per width and entry, Bonferroni) and
    :math:`\mathrm{sd}\,K_n = O(n^{-1/2})` (GLS slope of log sd on log n, delta-method errors from the sample
    kurtosis); the arc-cosine kernels :math:`J_0 = \pi - \theta`, :math:`J_1 = \sin\theta + (\pi - \theta)\cos\theta`
    are derived by sympy from the Gaussian integral; :math:`\lambda_{\min}(K_\infty) > 0`."""
    sizes = run.sizes
    d, networks, block = 3, sizes["networks"], 64
    inputs = run.stream("inputs", on_backend=False).standard_normal((3, d))
    expected_gram = oracle.infinite_width_gram(inputs)
    rows, cols = np.triu_indices(3)
    x = asarray(inputs, run.xp)
    means, ses, sds, sd_ses = [], [], [], []
    for n in WIDTHS:
        draws = []
        for start in range(0, networks, block):
            size = min(block, networks - start)
            params = two_layer.init(run.stream(n, start), n=n, d=d, batch=(size,))
            gram = to_numpy(two_layer.ntk_gram(params, x, activation_name="relu"))
            draws.append(gram[:, rows, cols])
        sample = np.concatenate(draws)  # (networks, 6)
        means.append(sample.mean(axis=0))
        ses.append(sample.std(axis=0, ddof=1) / np.sqrt(networks))
        pair = sample[:, 1]  # K_n(x_1, x_2)
        centred = pair - pair.mean()
        var, m4 = float(np.mean(centred**2)), float(np.mean(centred**4))
        sds.append(0.5 * np.log(var))
        sd_ses.append(np.sqrt(max(m4 - var**2, 0.0) / networks) / (2 * var))
    widths = np.array(WIDTHS, dtype=float)
    level = stats.split(run.level, 2)
    fit = stats.slope_fit(widths, np.array(sds), np.array(sd_ses))
    lam_min = float(np.linalg.eigvalsh(expected_gram)[0])
    derived = {k: sp.simplify(ntk.arccos_kernel(k) - ntk.ARCCOS_CLOSED[k]) == 0 for k in (0, 1)}
    means_arr, ses_arr = np.array(means), np.array(ses)
    run.figure(Figure(
        title="Empirical NTK of a two-layer ReLU net: sd of K_n(x_1, x_2) over networks", xlabel="width n",
        ylabel="sd K_n(x_1, x_2)", xscale="log", yscale="log",
        series=[Series("sd over networks", widths.tolist(), np.exp(sds).tolist()),
                Series(f"fitted slope {fit.coef[1]:.3f} ± {fit.se(1):.3f}", widths.tolist(),
                       np.exp(fit.coef[0] + fit.coef[1] * np.log(widths)).tolist(), style="line"),
                Series("slope -1/2", widths.tolist(), (np.exp(sds[0]) * (widths / widths[0]) ** -0.5).tolist(),
                       style="dashed")],
        caption=f"K_inf(x_1, x_2) = {expected_gram[0, 1]:.6f}; means per width "
                + ", ".join(f"{m:.5f} ± {s:.5f}" for m, s in zip(means_arr[:, 1], ses_arr[:, 1], strict=True))))
    run.verdict(
        stats.agreement("J_0 derived by the Gaussian integral equals pi - theta", derived[0], True,
                        test="sympy: polar substitution, exact integration"),
        stats.agreement("J_1 derived by the Gaussian integral equals sin theta + (pi - theta) cos theta", derived[1],
                        True, test="sympy: polar substitution, exact integration"),
        stats.at_most("-lambda_min(K_inf) on the three inputs", -lam_min, 0.0, test="eigenvalues of the exact Gram"),
        stats.z_test("E K_n = K_inf (6 Gram entries x widths)", means_arr.ravel(), ses_arr.ravel(),
                     np.tile(expected_gram[rows, cols], len(WIDTHS)), level=level,
                     test=f"CLT z-tests on {networks} networks per width, Bonferroni"),
        stats.coefficient_test("slope of log sd K_n(x_1, x_2) in log n", fit, 1, -0.5, level=level,
                               test=f"GLS on {len(WIDTHS)} widths, delta-method errors from {networks} networks"),
    )


@claim(
    "lecture.ntk-hessian-scale", family="reference",
    statement="The Hessian of f = n^(-1/2) sum_i a_i sigma(w_i'x) in (a, W) is block-diagonal over neurons with "
              "blocks n^(-1/2) [[0, sigma' x'], [sigma' x, a_i sigma'' x x']] (including the mixed a-w block "
              "d2f/da_i dw_ik = n^(-1/2) sigma'(w_i'x) x_k); ||Hess f||_2 = max_i ||B_i||_2 <= C/sqrt(n) for bounded "
              "a (Rademacher), C = sup_z of the block norm; ReLU: ||Hess f||_2 = ||x||/sqrt(n) exactly.",
    hypotheses="d = 5, ||x||^2 = d, w ~ N(0, I/d); tanh with Rademacher a; ReLU with Gaussian a; widths 2^6..2^14.",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) ('d2f/da_i da_j = 0, d2f/dw_ik "
           "dw_jl = delta_ij n^(-1/2) a_i sigma'' x_k x_l; block-diagonal => ||Hess f|| = O(1/sqrt n)'); derived here.",
    seed_wording="The lecture lists only the a-a (zero) and w-w blocks and omits the mixed block d2f/da_i dw_ik = "
                 "n^(-1/2) sigma'(w_i'x) x_k, which carries the whole norm for ReLU.",
    sizes={"quick": {"networks": 4},
           "standard": {"networks": 16},
           "thorough": {"networks": 48}},
    oracle_mutants=("no_mixed_block",),
)
def ntk_hessian_is_block_diagonal_with_norm_of_order_n_to_minus_half(run: ClaimRun) -> None:
    r"""Per network and width: :math:`\|\nabla^2 f\|_2` from the eigenvalues of the exact (d+1)-blocks of
    :mod:`solvers.two_layer` equals :math:`\max_i (|c_i| + \sqrt{c_i^2 + 4b_i^2})/(2\sqrt n)`,
    :math:`b_i = \sigma'(z_i)\|x\|`, :math:`c_i = a_i\sigma''(z_i)\|x\|^2` (sympy, rtol 1e-10); ReLU gives
    :math:`\|x\|/\sqrt n` (rtol 1e-12); with Rademacher a, :math:`\sqrt n\|\nabla^2 f\|_2 \le C = \sup_z` of the
    block norm (mpmath). Gaussian a (Θ(sqrt(log n)/sqrt(n))) is shown in the figure only."""
    sizes = run.sizes
    d, networks = 5, sizes["networks"]
    x_host = two_layer.unit_input(run.stream("input", on_backend=False), d)
    x, r = asarray(x_host, run.xp), float(np.linalg.norm(x_host))
    cases = (("tanh", "rademacher"), ("relu", "gaussian"), ("tanh", "gaussian"))
    decisions, series = [], []
    widths = np.array(WIDTHS, dtype=float)
    for name, law in cases:
        closed = oracle.hessian_norm(name)
        measured, predicted, scaled = [], [], []
        for n in WIDTHS:
            params = two_layer.init(run.stream(name, law, n), n=n, d=d,
                                    batch=(networks,), a_law=law)
            norm = to_numpy(two_layer.hessian_norm(params, x, activation_name=name))
            a, z = to_numpy(params.a), to_numpy(params.w) @ x_host
            measured.append(norm)
            predicted.append(closed(a, z, r, n))
            scaled.append(np.sqrt(n) * norm)
        decisions.append(stats.identity(f"{name}, {law} a: ||Hess f||_2 from the blocks vs the 2x2 closed form",
                                        np.concatenate(measured), np.concatenate(predicted), rtol=1e-10,
                                        test=f"{networks} networks x {len(WIDTHS)} widths"))
        if name == "relu":
            decisions.append(stats.identity("relu: sqrt(n) ||Hess f||_2 = ||x||", np.concatenate(scaled), r,
                                            rtol=1e-12, test="exact (sigma'' = 0, one active neuron suffices)"))
        elif law == "rademacher":
            bound = ntk.sup_block_norm(name, r)
            decisions.append(stats.at_most(f"{name}, Rademacher a: max sqrt(n) ||Hess f||_2 over networks and widths",
                                           float(np.max(np.concatenate(scaled))), bound * (1 + 1e-12),
                                           test=f"exact bound C = sup_z block norm = {bound:.6f} (mpmath)"))
        series.append(Series(f"{name}, {law} a", widths.tolist(), [float(np.mean(s)) for s in scaled]))
    run.figure(Figure(
        title="sqrt(n) ||Hess f||_2 vs width (mean over networks)", xlabel="width n", ylabel="sqrt(n) ||Hess f||_2",
        xscale="log", yscale="log", series=series,
        caption="Flat: O(n^-1/2) for bounded a (tanh, Rademacher; ReLU exactly ||x||); slowly rising like "
                "sqrt(log n) for Gaussian a."))
    run.verdict(*decisions)
