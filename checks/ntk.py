"""Claims about the neural tangent kernel of a two-layer network (family ``reference``: statements of the theory,
checked on the suite's one network, :mod:`solvers.two_layer`, against :mod:`theory.ntk`).

f(x) = n^{-1/2} sum_i a_i sigma(w_i'x), w_i ~ N(0, I_d/d), a_i ~ N(0, 1) (or Rademacher where stated).
Source: seed 002 (lecture, NTK section); Jacot, Gabriel & Hongler 2018; Cho & Saul 2009; CLAIMS-DETAIL §1.18–§1.20.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import sympy as sp
from scipy import stats as sps

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.harness.profiles import Profile
from sgd_conformance.reports.model import Figure, Series
from sgd_conformance.solvers import two_layer
from sgd_conformance.solvers._xp import asarray, to_numpy
from sgd_conformance.solvers.rng import generator
from sgd_conformance.theory import ntk, numeric

WIDTHS = tuple(2**k for k in range(6, 15, 2))  # 64 .. 16384


def _unit_input(rng: Any, d: int) -> np.ndarray:
    """A random input scaled to ||x||^2 = d, so that z = w'x ~ N(0, 1) exactly under w ~ N(0, I/d)."""
    x = rng.standard_normal(d)
    return x * np.sqrt(d) / np.linalg.norm(x)


def _log_rms_with_se(values: np.ndarray) -> tuple[float, float]:
    """log RMS of the entries and its delta-method standard error sqrt(Var(q)/m)/(2 mean(q)), where q is the mean
    square of one neuron's entries (neurons are i.i.d.; a neuron's entries are not). ``values``: (..., n[, d])."""
    sq = np.ravel(values**2 if values.ndim == 2 else np.mean(values**2, axis=-1))
    m2 = float(sq.mean())
    return 0.5 * float(np.log(m2)), float(sq.std(ddof=1) / np.sqrt(sq.size) / (2 * m2))


def _slope_fit(widths: np.ndarray, y: np.ndarray, se: np.ndarray) -> stats.LinearFit:
    """GLS of y on (1, log n) with independent errors of known standard errors ``se``."""
    design = np.column_stack([np.ones_like(widths, dtype=float), np.log(widths)])
    return stats.gls(design, y, np.diag(se**2))


def _activation_law(name: str, sample: np.ndarray) -> tuple[np.ndarray, Any]:
    """The continuous part of the law of sigma(Z), Z ~ N(0, 1), and its exact CDF: tanh(Z) has CDF Phi(artanh t);
    relu(Z) has an atom 1/2 at 0 (tested separately) and, given > 0, the half-normal CDF 2 Phi(t) - 1."""
    if name == "relu":
        return sample[sample > 0], lambda t: 2 * sps.norm.cdf(t) - 1
    return sample, lambda t: sps.norm.cdf(np.arctanh(np.clip(t, -1.0, 1.0)))


def _dot_rounding(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Bound on the rounding error of z = w'x computed in two summation orders: 2 d u sum_k |w_k x_k| (u = 2^-53)."""
    return 2 * x.size * np.finfo(float).eps * np.sum(np.abs(w * x), axis=-1)


@claim(
    "lecture.ntk-jacobian-scale", family="reference",
    statement="NTK parameterisation f = n^(-1/2) sum_i a_i sigma(w_i'x): df/da_i = n^(-1/2) sigma(w_i'x), "
              "df/dw_ij = n^(-1/2) a_i sigma'(w_i'x) x_j; the entries are O(n^(-1/2)) and sqrt(n) J has an "
              "n-independent law (sqrt(n) df/da_i ~ sigma(N(0, ||x||^2/d))).",
    hypotheses="two-layer net, tanh and ReLU, d = 5, ||x||^2 = d, w ~ N(0, I/d), a ~ N(0, 1), widths 2^6..2^14.",
    source="seed 002 (NTK section); CLAIMS-DETAIL §1.18.",
    seed_wording="df/da_i = (1/sqrt(n)) sigma'(w_i'x) — a typo: the a-gradient of a_i sigma(w_i'x) is sigma(w_i'x).",
    # networks per width (each gives n i.i.d. neurons): KS on >= 64 draws, GLS on log RMS over 5 widths
    sizes={"quick": {"networks": 4},
           "standard": {"networks": 16},
           "thorough": {"networks": 64}},
    oracle_mutants=("unscaled_jacobian", "seed_jacobian"),
)
def test_ntk_jacobian_is_sigma_over_sqrt_n_with_a_width_free_law(profile: Profile, seed: int, xp: ModuleType,
                                                                  claim: ClaimRun) -> None:
    r"""The Jacobian of the two-layer net equals the sympy derivative of its definition,
    :math:`\partial f/\partial a_i = n^{-1/2}\sigma(w_i^\top x)`, :math:`\partial f/\partial w_{ij} = n^{-1/2}a_i
    \sigma'(w_i^\top x)x_j` (rtol 1e-12); the RMS of each part falls like :math:`n^{-1/2}` (GLS slope of log RMS on
    log n, delta-method errors); :math:`\sqrt n\,\partial f/\partial a_i` has the exact law of :math:`\sigma(Z)`,
    Z ~ N(0, 1), at every width (one-sample KS)."""
    sizes = profile.sizes(claim.claim.id)
    d, networks = 5, sizes["networks"]
    widths = np.array(WIDTHS, dtype=float)
    level_ks, level_slope = stats.split(claim.budget, 2), stats.split(claim.budget, 2)
    x_host = _unit_input(generator(seed, claim.claim.id, "input"), d)
    x = asarray(x_host[None, :], xp)
    decisions, series = [], []
    for name in two_layer.ACTIVATIONS:
        grads, args = ntk.neuron_jacobian(name, d)
        compiled = [numeric.compile(g, args) for g in grads]
        worst_a, worst_w, ks_samples, rms, tol_a, tol_w = [], [], [], {"a": [], "w": []}, [], []
        for n in WIDTHS:
            params = two_layer.init(generator(seed, claim.claim.id, name, n, xp=xp), n=n, d=d, batch=(networks,))
            da, dw = (to_numpy(v)[:, 0] for v in two_layer.jacobian(params, x, activation_name=name))
            a, w = to_numpy(params.a), to_numpy(params.w)
            cols = [w[..., k] for k in range(d)]
            sym = [np.broadcast_to(g(np, a, *cols, *x_host, float(n)), a.shape) for g in compiled]
            worst_a.append((da, sym[0]))
            worst_w.append((dw, np.stack(sym[1:], axis=-1)))
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
            continuous, cdf = _activation_law(name, np.ravel(sample))
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
            fit = _slope_fit(widths, y, se)
            decisions.append(stats.coefficient_test(
                f"{name}: slope of log RMS(df/d{part}) in log n", fit, 1, -0.5, level=stats.split(level_slope, 4),
                test=f"GLS on {len(WIDTHS)} widths, delta-method errors from {networks} networks x n neurons"))
            series += [Series(f"{name}, df/d{part}", widths.tolist(), np.exp(y).tolist()),
                       Series(f"{name}, df/d{part}: fitted slope {fit.coef[1]:.4f}", widths.tolist(),
                              np.exp(fit.coef[0] + fit.coef[1] * np.log(widths)).tolist(), style="line")]
    series.append(Series("slope -1/2", widths.tolist(), (np.exp(rms["a"][0][0]) * (widths / widths[0]) ** -0.5)
                         .tolist(), style="dashed"))
    claim.figure(Figure(title="RMS of the Jacobian entries vs width (NTK scaling)", xlabel="width n",
                        ylabel="RMS entry", xscale="log", yscale="log", series=series,
                        caption="Entries are O(n^-1/2); sqrt(n) df/da_i has the law of sigma(N(0, 1)) at every n."))
    claim.verdict(*decisions)


@claim(
    "lecture.ntk-limit", family="reference",
    statement="The empirical NTK K_n = J J' of f = n^(-1/2) sum_i a_i relu(w_i'x), w ~ N(0, I/d), a ~ N(0, 1), is "
              "unbiased for its infinite-width limit at every width and converges at rate n^(-1/2): "
              "K_inf(x, x') = (|x||x'|/(2 pi d))[sin t + (pi - t) cos t] + (x'x')(pi - t)/(2 pi), t = angle(x, x') "
              "(arc-cosine kernels J_1, J_0); lambda_min(K_inf) > 0 on distinct non-parallel inputs.",
    hypotheses="ReLU, d = 3, three random inputs, widths 2^6..2^14, independent networks per width.",
    source="seed 002 ('K = JJ' ... deterministic (spd!) limit by LLN'); Jacot et al. 2018; Cho & Saul 2009 "
           "(arc-cosine kernels); Du et al. 2019 (lambda_0 > 0); CLAIMS-DETAIL §1.20.",
    # networks per width: mean SE ~ 0.57/sqrt(n networks); slope SE ~ 0.02 at quick (300 networks)
    sizes={"quick": {"networks": 300},
           "standard": {"networks": 1200},
           "thorough": {"networks": 4000}},
    oracle_mutants=("unscaled_jacobian", "sigma_in_w_part", "unit_variance_init"),
)
def test_empirical_ntk_is_unbiased_for_the_arc_cosine_limit_and_converges_at_rate_n_to_minus_half(
        profile: Profile, seed: int, xp: ModuleType, claim: ClaimRun) -> None:
    r""":math:`E K_n(x, x') = K_\infty(x, x')` for every n (CLT z-test per width and entry, Bonferroni) and
    :math:`\mathrm{sd}\,K_n = O(n^{-1/2})` (GLS slope of log sd on log n, delta-method errors from the sample
    kurtosis); the arc-cosine kernels :math:`J_0 = \pi - \theta`, :math:`J_1 = \sin\theta + (\pi - \theta)\cos\theta`
    are derived by sympy from the Gaussian integral; :math:`\lambda_{\min}(K_\infty) > 0`."""
    sizes = profile.sizes(claim.claim.id)
    d, networks, block = 3, sizes["networks"], 64
    rng = generator(seed, claim.claim.id, "inputs")
    inputs = rng.standard_normal((3, d))
    norms = np.linalg.norm(inputs, axis=1)
    angles = np.arccos(np.clip(inputs @ inputs.T / np.outer(norms, norms), -1.0, 1.0))
    kinf = numeric.compile(ntk.ntk_infinite(), (ntk.norm_x, ntk.norm_y, ntk.theta, ntk.d))
    expected_gram = kinf(np, norms[:, None], norms[None, :], angles, float(d))
    rows, cols = np.triu_indices(3)
    x = asarray(inputs, xp)
    means, ses, sds, sd_ses = [], [], [], []
    for n in WIDTHS:
        draws = []
        for start in range(0, networks, block):
            size = min(block, networks - start)
            params = two_layer.init(generator(seed, claim.claim.id, n, start, xp=xp), n=n, d=d, batch=(size,))
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
    level = stats.split(claim.budget, 2)
    fit = _slope_fit(widths, np.array(sds), np.array(sd_ses))
    lam_min = float(np.linalg.eigvalsh(expected_gram)[0])
    derived = {k: sp.simplify(ntk.arccos_kernel(k) - ntk.ARCCOS_CLOSED[k]) == 0 for k in (0, 1)}
    means_arr, ses_arr = np.array(means), np.array(ses)
    claim.figure(Figure(
        title="Empirical NTK of a two-layer ReLU net: sd of K_n(x_1, x_2) over networks", xlabel="width n",
        ylabel="sd K_n(x_1, x_2)", xscale="log", yscale="log",
        series=[Series("sd over networks", widths.tolist(), np.exp(sds).tolist()),
                Series(f"fitted slope {fit.coef[1]:.3f} ± {fit.se(1):.3f}", widths.tolist(),
                       np.exp(fit.coef[0] + fit.coef[1] * np.log(widths)).tolist(), style="line"),
                Series("slope -1/2", widths.tolist(), (np.exp(sds[0]) * (widths / widths[0]) ** -0.5).tolist(),
                       style="dashed")],
        caption=f"K_inf(x_1, x_2) = {expected_gram[0, 1]:.6f}; means per width "
                + ", ".join(f"{m:.5f} ± {s:.5f}" for m, s in zip(means_arr[:, 1], ses_arr[:, 1], strict=True))))
    claim.verdict(
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
    source="seed 002 ('d2f/da_i da_j = 0, d2f/dw_ik dw_jl = delta_ij n^(-1/2) a_i sigma'' x_k x_l; block-diagonal "
           "=> ||Hess f|| = O(1/sqrt n)'); CLAIMS-DETAIL §1.19.",
    seed_wording="The seed lists only the a-a (zero) and w-w blocks and omits the mixed block "
                 "d2f/da_i dw_ik = n^(-1/2) sigma'(w_i'x) x_k, which carries the whole norm for ReLU.",
    sizes={"quick": {"networks": 4},
           "standard": {"networks": 16},
           "thorough": {"networks": 48}},
    oracle_mutants=("no_mixed_block",),
)
def test_ntk_hessian_is_block_diagonal_with_norm_of_order_n_to_minus_half(profile: Profile, seed: int,
                                                                         xp: ModuleType, claim: ClaimRun) -> None:
    r"""Per network and width: :math:`\|\nabla^2 f\|_2` from the eigenvalues of the exact (d+1)-blocks of
    :mod:`solvers.two_layer` equals :math:`\max_i (|c_i| + \sqrt{c_i^2 + 4b_i^2})/(2\sqrt n)`,
    :math:`b_i = \sigma'(z_i)\|x\|`, :math:`c_i = a_i\sigma''(z_i)\|x\|^2` (sympy, rtol 1e-10); ReLU gives
    :math:`\|x\|/\sqrt n` (rtol 1e-12); with Rademacher a, :math:`\sqrt n\|\nabla^2 f\|_2 \le C = \sup_z` of the
    block norm (mpmath). Gaussian a (Θ(sqrt(log n)/sqrt(n))) is shown in the figure only."""
    sizes = profile.sizes(claim.claim.id)
    d, networks = 5, sizes["networks"]
    x_host = _unit_input(generator(seed, claim.claim.id, "input"), d)
    x, r = asarray(x_host, xp), float(np.linalg.norm(x_host))
    cases = (("tanh", "rademacher"), ("relu", "gaussian"), ("tanh", "gaussian"))
    decisions, series = [], []
    widths = np.array(WIDTHS, dtype=float)
    for name, law in cases:
        closed = numeric.compile(ntk.hessian_block_norm(name), (ntk.a_i, ntk.z, ntk.r, ntk.n))
        measured, predicted, scaled = [], [], []
        for n in WIDTHS:
            params = two_layer.init(generator(seed, claim.claim.id, name, law, n, xp=xp), n=n, d=d,
                                    batch=(networks,), a_law=law)
            norm = to_numpy(two_layer.hessian_norm(params, x, activation_name=name))
            a, z = to_numpy(params.a), to_numpy(params.w) @ x_host
            measured.append(norm)
            predicted.append(np.max(closed(np, a, z, r, float(n)) + np.zeros_like(a), axis=-1))
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
    claim.figure(Figure(
        title="sqrt(n) ||Hess f||_2 vs width (mean over networks)", xlabel="width n", ylabel="sqrt(n) ||Hess f||_2",
        xscale="log", yscale="log", series=series,
        caption="Flat: O(n^-1/2) for bounded a (tanh, Rademacher; ReLU exactly ||x||); slowly rising like "
                "sqrt(log n) for Gaussian a."))
    claim.verdict(*decisions)


DUAL_WIDTHS = (256, 1024, 4096, 16384)


def _log_mean_with_se(values: np.ndarray) -> tuple[float, float]:
    """Mean of log(values) over replicate networks and its standard error sd/sqrt(m)."""
    logs = np.log(np.ravel(values))
    return float(logs.mean()), float(logs.std(ddof=1) / np.sqrt(logs.size))


def _normwise(reference: np.ndarray, rtol: float) -> np.ndarray:
    """Per-replicate tolerance rtol * max |reference| (a norm-wise relative tolerance), broadcast to its shape."""
    return np.broadcast_to(rtol * np.max(np.abs(reference), axis=-1, keepdims=True), reference.shape)


def _sphere_inputs(rng: Any, count: int, d: int, separation: float = 0.0) -> np.ndarray:
    """``count`` uniform points on the sphere ||x||^2 = d, redrawn until every pair is at least ``separation``
    radians from parallel and from antiparallel (tanh is odd: x and -x give opposite Jacobian rows, so
    near-antipodal inputs make K nearly singular and the step huge)."""
    while True:
        x = rng.standard_normal((count, d))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        cos = np.abs(x @ x.T)[np.triu_indices(count, 1)]
        if cos.size == 0 or np.max(cos) <= np.cos(separation):
            return x * np.sqrt(d)


@claim(
    "lecture.ntk-dual-solution", family="reference",
    statement="If the Jacobian J (N x p) of the network at theta_0 has full row rank, K = J J' (N x N): "
              "dtheta* = J'K^(-1)R, R = Y - f_0(X), is the minimum-norm solution of J dtheta = R; "
              "||dtheta*||^2 = R'K^(-1)R exactly, and it is O(1) in the width; GD on the linearised model from "
              "dtheta = 0 converges to dtheta*; the linearised predictor is f*(x) = f_0(x) + K(x, X)K^(-1)R "
              "(so f*(X) = Y). One Gauss-Newton step on the true network leaves a residual "
              "||f(theta_0 + dtheta*; X) - Y|| = O(sqrt(log n)/sqrt(n)) (the Hessian bound times ||dtheta*||^2).",
    hypotheses="tanh, NTK scaling, N = 6 inputs on the sphere ||x||^2 = d, d = 3, every pair >= 0.6 rad from "
               "parallel and antiparallel (a well-conditioned K), 4 test inputs on the sphere, targets "
               "Y ~ N(0, I_6) fixed per seed, w ~ N(0, I/d), a ~ N(0, 1); widths 256, 1024, 4096, 16384; "
               "identities at rtol 1e-10 (norm-wise per network); linearised GD checked at n = 256 with "
               "eta = 1/lambda_max(K) against its exact contraction bound.",
    source="seed 002 ('dtheta* = J'K^-1(Y - f0(X))', 'Gauss-Newton converges in one step', "
           "'f*(x_new) = f0 + K(x_new, X)K^-1 R', '||dtheta*||^2 = r'K^-1 r = O(1)'); CLAIMS-DETAIL §1.21.",
    seed_wording="'Gauss-Newton converges in one step' holds for the linearised model only; on the network one "
                 "step leaves a residual that vanishes with the width (here about like 1/n, faster than the "
                 "seed's n^(-1/2) bound, because the quadratic remainder is a sum of mean-zero per-neuron terms).",
    sizes={"quick": {"networks": 8},
           "standard": {"networks": 16},
           "thorough": {"networks": 48}},
    oracle_mutants=("predict_without_offset", "primal_gram"),
)
def test_min_norm_step_is_the_kernel_regression_solution_and_gauss_newton_residual_shrinks_with_width(
        profile: Profile, seed: int, xp: ModuleType, claim: ClaimRun) -> None:
    r"""Per width and network: :math:`K` from :func:`solvers.two_layer.ntk_gram` is the N×N Gram :math:`JJ^\top`;
    the step of :func:`solvers.two_layer.min_norm_step` equals NumPy's SVD least-norm solution of
    :math:`J\delta\theta = R` and solves it; :math:`\|\delta\theta^*\|^2 = R^\top K^{-1}R`;
    :func:`solvers.two_layer.kernel_predict` equals :math:`f_0(x) + J(x)\delta\theta^*` and interpolates
    (all at rtol 1e-10). GD on the linearised loss from 0 ends within its contraction bound
    :math:`(1 - \lambda_{\min}/\lambda_{\max})^k\|\delta\theta^*\|` of :math:`\delta\theta^*`. Rates (GLS of the
    mean log over networks on log n): :math:`\|\delta\theta^*\|^2` slope 0 (two-sided); the Gauss–Newton residual
    :math:`\log\|f(\theta_0 + \delta\theta^*) - Y\| - \tfrac12\log\log n` slope :math:`\le -1/2` (one-sided)."""
    name, d, count, tests = "tanh", 3, 6, 4
    networks = profile.sizes(claim.claim.id)["networks"]
    rng = generator(seed, claim.claim.id, "data")
    x_host, x_new_host = _sphere_inputs(rng, count, d, separation=0.6), _sphere_inputs(rng, tests, d)
    y_host = rng.standard_normal(count)
    x, x_new, y = asarray(x_host, xp), asarray(x_new_host, xp), asarray(np.broadcast_to(y_host, (networks, count)), xp)
    kw = {"activation_name": name, "scaling": "ntk"}
    rtol = 1e-10
    decisions, norms, residuals = [], [], []
    for n in DUAL_WIDTHS:
        params = two_layer.init(generator(seed, claim.claim.id, n, xp=xp), n=n, d=d, batch=(networks,))
        jac = to_numpy(two_layer.flat_jacobian(params, x, **kw))
        gram = to_numpy(two_layer.ntk_gram(params, x, **kw))
        if gram.shape[-2:] != (count, count):
            claim.verdict(stats.agreement(f"n = {n}: shape of K = ntk_gram (the N x N Gram J J')", gram.shape[-2:],
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
            eig = np.linalg.eigvalsh(explicit)
            lr, ratio = 1.0 / eig[:, -1], 1.0 - eig[:, 0] / eig[:, -1]
            steps = int(min(20000, np.ceil(np.log(rtol) / np.log(np.max(ratio)))))
            gd = to_numpy(two_layer.flatten(two_layer.linearised_gd(params, x, y, steps=steps,
                                                                    lr=asarray(lr, xp), **kw)))
            bound = (ratio**steps + rtol) * np.linalg.norm(step, axis=-1)
            decisions.append(stats.identity(f"n = {n}: linearised GD from 0 converges to dtheta*", gd, step, rtol=0.0,
                                            atol=np.broadcast_to(bound[:, None], step.shape),
                                            test=f"{steps} steps, eta = 1/lambda_max; contraction bound"))
        after = two_layer.Params(*(p + q for p, q in zip(params, two_layer.unflatten(asarray(step, xp), n, d),
                                                          strict=True)))
        residuals.append(np.linalg.norm(to_numpy(two_layer.forward(after, x, **kw)) - y_host, axis=-1))
        norms.append(np.sum(step**2, axis=-1))
    widths = np.array(DUAL_WIDTHS, dtype=float)
    level = stats.split(claim.budget, 2)
    norm_y, norm_se = (np.array(v) for v in zip(*(_log_mean_with_se(v) for v in norms), strict=True))
    res_y, res_se = (np.array(v) for v in zip(*(_log_mean_with_se(v) for v in residuals), strict=True))
    norm_fit = _slope_fit(widths, norm_y, norm_se)
    bound_fit = _slope_fit(widths, -(res_y - 0.5 * np.log(np.log(widths))), res_se)
    res_fit = _slope_fit(widths, res_y, res_se)
    claim.figure(Figure(
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
    claim.verdict(
        *decisions,
        stats.coefficient_test("slope of log ||dtheta*||^2 in log n (O(1) in the width)", norm_fit, 1, 0.0,
                               level=level,
                               test=f"GLS of mean log over {networks} networks, {len(DUAL_WIDTHS)} widths"),
        stats.coefficient_test("minus the slope of log(GN residual) - log(log n)/2 in log n (bound: >= 1/2)",
                               bound_fit, 1, 0.5, level=level, alternative="greater",
                               test=f"one-sided GLS of mean log over {networks} networks, {len(DUAL_WIDTHS)} widths"),
    )


LAZY_WIDTHS = (256, 512, 1024, 2048, 4096)
LAZY_STEPS, LAZY_ETA = 200, 0.5


def _train_replicates(claim_id: str, seed: int, xp: ModuleType, networks: int, scaling: str
                      ) -> dict[str, list[np.ndarray]]:
    """Teacher-student regression (ReLU, N = 8, d = 3): per width, ``networks`` students trained by full-batch GD
    (:func:`solvers.two_layer.train_gd`, ``LAZY_STEPS`` steps of eta = 0.5 on the mean loss) under ``scaling``.
    Returns per-width arrays over networks: relative kernel change, ||theta_T - theta_0||, RMS parameter change."""
    name, d, count = "relu", 3, 8
    rng = generator(seed, claim_id, "data")
    x_host = _sphere_inputs(rng, count, d, separation=0.3)
    teacher = two_layer.init(generator(seed, claim_id, "teacher"), n=4, d=d)
    y_host = two_layer.forward(teacher, x_host, activation_name=name)
    x, y = asarray(x_host, xp), asarray(np.broadcast_to(y_host, (networks, count)), xp)
    kw = {"activation_name": name, "scaling": scaling}
    out: dict[str, list[np.ndarray]] = {"kernel": [], "norm": [], "rms": []}
    for n in LAZY_WIDTHS:
        start = two_layer.init(generator(seed, claim_id, n, xp=xp), n=n, d=d, batch=(networks,))
        end = two_layer.train_gd(start, x, y, steps=LAZY_STEPS, lr=LAZY_ETA / count, **kw)
        k0, k1 = (to_numpy(two_layer.ntk_gram(p, x, **kw)) for p in (start, end))
        change = to_numpy(two_layer.flatten(end)) - to_numpy(two_layer.flatten(start))
        out["kernel"].append(np.linalg.norm(k1 - k0, axis=(-2, -1)) / np.linalg.norm(k0, axis=(-2, -1)))
        out["norm"].append(np.linalg.norm(change, axis=-1))
        out["rms"].append(np.sqrt(np.mean(change**2, axis=-1)))
    return out


def _width_fit(values: list[np.ndarray], sign: float = 1.0) -> tuple[stats.LinearFit, np.ndarray]:
    """GLS of sign * (mean log over networks) on (1, log n), known errors from the replicates; also the means."""
    y, se = (np.array(v) for v in zip(*(_log_mean_with_se(v) for v in values), strict=True))
    return _slope_fit(np.array(LAZY_WIDTHS, dtype=float), sign * y, se), y


def _lazy_series(label: str, y: np.ndarray, fit: stats.LinearFit, sign: float = 1.0) -> list[Series]:
    widths = np.array(LAZY_WIDTHS, dtype=float)
    return [Series(label, widths.tolist(), np.exp(y).tolist()),
            Series(f"{label}: fitted slope {sign * fit.coef[1]:.3f} ± {fit.se(1):.3f}", widths.tolist(),
                   np.exp(sign * (fit.coef[0] + fit.coef[1] * np.log(widths))).tolist(), style="line")]


@claim(
    "lecture.ntk-lazy", family="reference",
    statement="Under the NTK parameterisation f = n^(-1/2) sum_i a_i sigma(w_i'x), full-batch GD on the squared loss "
              "for a fixed training time moves the parameters by ||theta_T - theta_0|| = O(1) (width-independent), "
              "i.e. O(n^(-1/2)) per parameter, and the relative kernel change ||K_T - K_0||_F/||K_0||_F = O(n^(-1/2)).",
    hypotheses="ReLU, teacher-student regression (teacher: width-4 ReLU net), N = 8 inputs on the sphere ||x||^2 = d "
               "(pairs >= 0.3 rad from parallel), d = 3, w ~ N(0, I/d), a ~ N(0, 1); GD on (1/2N) sum (f - y)^2 "
               "with eta = 0.5 for T = 200 steps (not the catalog's 2000: the claims hold at every fixed time); "
               "widths 256..4096 (not 1024..16384, for time).",
    source="seed 002 ('parameter change bounded', NTK vs mean-field table); Jacot et al. 2018; Lee et al. 2019; "
           "Chizat, Oyallon & Bach 2019; CLAIMS-DETAIL §1.22.",
    seed_wording="O(n^(-1/2)) for the kernel change is an upper bound: the measured rate is faster (about n^(-0.7) "
                 "for ReLU; O(1/n) is known for smooth activations), so it is tested one-sided.",
    sizes={"quick": {"networks": 8},
           "standard": {"networks": 16},
           "thorough": {"networks": 32}},
    oracle_mutants=("swapped_training",),
)
def test_ntk_training_moves_parameters_by_order_one_and_the_kernel_by_at_most_n_to_minus_half(
        profile: Profile, seed: int, xp: ModuleType, claim: ClaimRun) -> None:
    r"""GLS of the mean log over replicate networks on log n (known errors from the replicates):
    :math:`\|\theta_T - \theta_0\|` slope 0 and the RMS parameter change slope -1/2 (two-sided);
    :math:`\|K_T - K_0\|_F/\|K_0\|_F` slope :math:`\le -1/2` (one-sided: the claim is a bound)."""
    networks = profile.sizes(claim.claim.id)["networks"]
    runs = _train_replicates(claim.claim.id, seed, xp, networks, "ntk")
    norm_fit, norm_y = _width_fit(runs["norm"])
    rms_fit, rms_y = _width_fit(runs["rms"])
    kernel_fit, kernel_y = _width_fit(runs["kernel"], sign=-1.0)
    level = stats.split(claim.budget, 3)
    test = f"GLS of mean log over {networks} networks, {len(LAZY_WIDTHS)} widths"
    claim.figure(Figure(
        title="Lazy training under NTK scaling: parameter and kernel change vs width", xlabel="width n",
        ylabel="geometric mean over networks", xscale="log", yscale="log",
        series=[*_lazy_series("||theta_T - theta_0||", norm_y, norm_fit),
                *_lazy_series("RMS parameter change", rms_y, rms_fit),
                *_lazy_series("||K_T - K_0||_F / ||K_0||_F", -kernel_y, kernel_fit, sign=-1.0)],
        caption=f"ReLU, {LAZY_STEPS} GD steps, {networks} networks per width."))
    claim.verdict(
        stats.coefficient_test("slope of log ||theta_T - theta_0|| in log n (O(1))", norm_fit, 1, 0.0, level=level,
                               test=test),
        stats.coefficient_test("slope of log RMS parameter change in log n (O(n^-1/2) per parameter)", rms_fit, 1,
                               -0.5, level=level, test=test),
        stats.coefficient_test("minus the slope of log relative kernel change in log n (bound: >= 1/2)", kernel_fit,
                               1, 0.5, level=level, alternative="greater", test=f"one-sided {test}"),
    )


@claim(
    "lecture.mean-field-moves", family="reference",
    statement="Under the mean-field parameterisation f = n^(-1) sum_i a_i sigma(w_i'x) with time scaled by n "
              "(learning rate eta n), GD on the squared loss changes the kernel by a relative amount "
              "||K_T - K_0||_F/||K_0||_F that does not vanish as the width grows (feature learning): its "
              "width exponent is 0, not the lazy regime's <= -1/2.",
    hypotheses="the network, data, GD and widths of lecture.ntk-lazy with output scale 1/n and learning rate "
               "0.5 n on the mean loss (same initialisation w ~ N(0, I/d), a ~ N(0, 1)).",
    source="seed 002 (NTK vs mean-field table); Chizat, Oyallon & Bach 2019; Mei, Montanari & Nguyen 2018; "
           "CLAIMS-DETAIL §1.22.",
    sizes={"quick": {"networks": 8},
           "standard": {"networks": 16},
           "thorough": {"networks": 32}},
    oracle_mutants=("swapped_training",),
)
def test_mean_field_training_changes_the_kernel_by_an_amount_that_does_not_vanish_with_width(
        profile: Profile, seed: int, xp: ModuleType, claim: ClaimRun) -> None:
    r"""GLS of the mean log relative kernel change over replicate networks on (1, log n, 1/n): in the mean-field
    limit the trained kernel is a smooth functional of the empirical measure of n i.i.d. neurons, so
    :math:`E\log(\|K_T - K_0\|_F/\|K_0\|_F) = \log c_\infty + O(1/n)` with :math:`c_\infty > 0`; the log n
    coefficient is tested one-sided, ">= 0" (rejects when the kernel change significantly shrinks with the width,
    as it does like n^(-1/2) or faster under NTK scaling)."""
    networks = profile.sizes(claim.claim.id)["networks"]
    runs = _train_replicates(claim.claim.id, seed, xp, networks, "mean_field")
    widths = np.array(LAZY_WIDTHS, dtype=float)
    kernel_y, kernel_se = (np.array(v) for v in zip(*(_log_mean_with_se(v) for v in runs["kernel"]), strict=True))
    design = np.column_stack([np.ones_like(widths), np.log(widths), 1.0 / widths])
    kernel_fit = stats.gls(design, kernel_y, np.diag(kernel_se**2))
    claim.figure(Figure(
        title="Mean-field training: relative kernel change vs width", xlabel="width n",
        ylabel="||K_T - K_0||_F / ||K_0||_F (geometric mean)", xscale="log", yscale="log",
        series=[Series("relative kernel change", widths.tolist(), np.exp(kernel_y).tolist()),
                Series(f"fit c0 + c1 log n + c2/n, c1 = {kernel_fit.coef[1]:.3f} ± {kernel_fit.se(1):.3f}",
                       widths.tolist(), np.exp(design @ kernel_fit.coef).tolist(), style="line")],
        caption=f"ReLU, {LAZY_STEPS} GD steps at learning rate 0.5 n (mean loss), {networks} networks per width."))
    claim.verdict(stats.coefficient_test(
        "log n coefficient of log relative kernel change (does not vanish: >= 0)", kernel_fit, 1, 0.0,
        level=claim.budget, alternative="greater",
        test=f"one-sided; GLS on (1, log n, 1/n) of mean log over {networks} networks, {len(LAZY_WIDTHS)} widths"))
