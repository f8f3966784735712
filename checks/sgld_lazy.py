r"""SGLD in the lazy training regime (Oberweis & Cayci (TMLR 2026, arXiv 2510.21245)): the model and the kernel at
initialisation (family ``reference``).

Model (:mod:`theory.lazy_training`, :mod:`solvers.lazy_sgld`; Itô): the suite's two-layer network h(omega)
(:mod:`solvers.two_layer`) under output scale alpha (``alpha_scale``), :math:`L_\alpha = \alpha^{-2}R(\alpha(h -
h(\omega_0)))`, :math:`d\omega = -\nabla L_\alpha\,dt + \sqrt\eta\,\sigma_\alpha\,dB` with the per-sample factor
:math:`\sigma_\alpha = n^{-1/2}[\nabla\ell_i - \nabla L_\alpha]_i` (n scalar Brownian motions). Per-sample gradients
:math:`\nabla\ell_i = \alpha^{-1}e_i\nabla h_i` (:math:`e = \alpha(h - h_0) - y`) make drift and noise
:math:`O(1/\alpha)`, and in function space :math:`du = J\,d\omega` the scale cancels. The kernel at initialisation:
for unit inputs, no two parallel, the infinite-width Gram of a ReLU first layer (Du et al.) is positive definite, and
the width-m Gram is unbiased for it.

The dynamics under the implementation under test are :mod:`checks.sgld_lazy_near_init` and
:mod:`checks.sgld_lazy_loss`. The paper's theorem texts were not available (only its
abstract could be read): the statements are derived here. The problem is fixed
(:func:`checks.oracles.lazy.problem`; --seed moves the random states and networks only).
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np
import sympy as sp

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.assertions import listed
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.oracles import linearised_training
from sgd_conformance.checks.oracles.lazy import ETA, problem, sympy_gradients
from sgd_conformance.reports.model import Figure, Series
from sgd_conformance.solvers import two_layer
from sgd_conformance.solvers._xp import asarray, to_numpy
from sgd_conformance.solvers.rng import generator
from sgd_conformance.theory import lazy_training

MODEL = "sgld-lazy.model"
INIT_POSITIVE = "sgld-lazy.ntk-init-positive"
BLOCK_FLOATS = 2_000_000  #: numbers per block of random first layers


# --- sgld-lazy.model ---------------------------------------------------------------------------------------------


@claim(
    MODEL, family="reference",
    statement="Lazy (Chizat–Oyallon–Bach) scaling: L_a(omega) = R(a (h(omega) - h(omega_0)))/a^2, R(u) = |u - "
              "y|^2/(2n); SGLD d omega = -grad L_a dt + sqrt(eta) Sigma_a^(1/2) dW with Sigma_a the per-sample gradient"
              " covariance. Per-sample gradients grad l_i = a^-1 e_i grad h_i (e = a(h - h_0) - y): gradient and noise "
              "are a^-1 times expressions that do not depend on a (noise scaled by 1/a), the noise vanishes at "
              "interpolation (e = 0), Sigma_a^(1/2) dW = n^(-1/2) sum_i (grad l_i - grad L_a) dB^i exactly in law (n "
              "scalar Brownian motions), and in function space du = -(1/n) K e dt + sqrt(eta) n^(-1/2) sum_i (e_i k_i -"
              " K e/n) dB^i + O(eta/a) dt: a cancels.",
    hypotheses="symbolic: 2-parameter predictor h_i = omega_0 tanh(omega_1 x_i), 2 inputs; numeric: the check "
               "problem's tanh net (m = 16, 4 inputs) at random states and a in {1, 8, 64}, per-sample gradients from "
               "sympy's derivative of one neuron (theory.ntk), compared with the solver's drift and diffusion fields "
               "(rtol 1e-12).",
    source="Oberweis & Cayci, TMLR 2026 (arXiv 2510.21245) (SGLD with multiplicative, state-dependent noise in the lazy"
           " regime; the paper's model equations were not available, so the model here is derived); Chizat, Oyallon & "
           "Bach, NeurIPS 2019 (lazy training is due to a choice of scaling).",
    sizes={"quick": {"states": 8},
           "standard": {"states": 32},
           "thorough": {"states": 128}},
    power='exact identities at every profile; unscaled or uncentred noise is caught at any size',
    oracle_mutants=("uncentred_factor", "unscaled_noise"),
)
def lazy_sgld_model_has_order_one_over_alpha_noise_that_cancels_in_function_space(run: ClaimRun) -> None:
    r"""sympy: :math:`\alpha\nabla L_\alpha` and :math:`\alpha\sigma_\alpha` are alpha-free in (omega, e),
    :math:`\sigma_\alpha\sigma_\alpha^\top = \Sigma_\alpha`, Sigma vanishes at e = 0, the function-space noise is
    alpha-free and the drift is :math:`-Ke/n + O(\eta/\alpha)`. Numeric, on the solver: drift = -mean of the per-sample
    gradients and diffusion diffusion' = eta Sigma_alpha with gradients from sympy; alpha J diffusion equals the
    function-space factor; linearised model: alpha drift and alpha diffusion at omega_0 + v/alpha do not depend on
    alpha; at the interpolating point both vanish."""
    p = problem()
    states = run.sizes["states"]
    rng = run.stream("states", on_backend=False)
    n = p.inputs.shape[0]
    decisions = [
        stats.agreement(f"sympy: {name}", proof(), True, test="2-parameter model h_i = omega_0 tanh(omega_1 x_i)")
        for name, proof in (("alpha grad L_a is alpha-free in (omega, e) and equals J'e/n",
                             lazy_training.gradient_is_order_one_over_alpha),
                            ("alpha sigma_a is alpha-free and equals n^-1/2 [e_i grad h_i - J'e/n]",
                             lazy_training.factor_is_order_one_over_alpha),
                            ("sigma_a sigma_a' = Sigma_a (n Brownian motions suffice)",
                             lazy_training.factor_reproduces_covariance),
                            ("Sigma_a = 0 at interpolation (e = 0)", lazy_training.noise_vanishes_at_interpolation),
                            ("function space: noise alpha-free, drift = -Ke/n + O(eta/alpha)",
                             lazy_training.function_space_alpha_cancels))]
    measured: dict[str, list[np.ndarray]] = {"drift": [], "cov": [], "function": []}
    predicted: dict[str, list[np.ndarray]] = {"drift": [], "cov": [], "function": []}
    scale_errors: list[float] = []
    for alpha in (1.0, 8.0, 64.0):
        model = p.model(alpha)
        omega = p.model(1.0).omega0 + rng.standard_normal((states, model.p)) / alpha
        grads = sympy_gradients(p, omega)
        e = model.residuals(omega)
        per_sample = (e / alpha)[:, :, None] * grads
        mean = per_sample.mean(axis=1)
        sigma = (np.einsum("cip,ciq->cpq", per_sample, per_sample) / n - np.einsum("cp,cq->cpq", mean, mean))
        diff = model.diffusion(omega)
        measured["drift"].append(model.drift(omega).ravel())
        predicted["drift"].append(-mean.ravel())
        measured["cov"].append((diff @ np.swapaxes(diff, 1, 2)).ravel())
        predicted["cov"].append((ETA * sigma).ravel())
        kernel = grads @ np.swapaxes(grads, 1, 2)
        ke = np.einsum("cij,cj->ci", kernel, e)
        factor = math.sqrt(ETA / n) * (e[:, None, :] * kernel - ke[:, :, None] / n)
        measured["function"].append((alpha * grads @ diff).ravel())
        predicted["function"].append(factor.ravel())
    v = rng.standard_normal((states, p.model(1.0).p))
    fields = []
    for alpha in (1.0, 8.0, 64.0, 1024.0):
        lin = p.model(alpha, linearised=True)
        point = lin.omega0 + v / alpha
        fields.append(np.concatenate([alpha * lin.drift(point).ravel(), alpha * lin.diffusion(point).ravel()]))
    lin = p.model(32.0, linearised=True)
    interpolating = lin.omega0 + (p.model(1.0).jacobian0.T @ np.linalg.solve(p.kernel0, p.targets)) / 32.0
    at_rest = np.concatenate([lin.drift(interpolating[None]).ravel(), lin.diffusion(interpolating[None]).ravel()])
    for key, label in (("drift", "drift = -(1/n) sum_i grad l_i (sympy per-sample gradients)"),
                       ("cov", "diffusion diffusion' = eta Sigma_a (covariance of the factorisation)"),
                       ("function", "a J diffusion = sqrt(eta/n) [e_i k_i - K e/n]_i (function-space factor)")):
        m_, q_ = np.concatenate(measured[key]), np.concatenate(predicted[key])
        decisions.append(stats.identity(f"network, a in (1, 8, 64): {label}", m_, q_, rtol=1e-12,
                                        atol=1e-13 * np.max(np.abs(q_)), test=f"{states} random states per a"))
        scale_errors.append(float(np.max(np.abs(m_ - q_)) / np.max(np.abs(q_))))
    decisions.append(stats.identity("linearised: a drift and a diffusion at omega_0 + v/a for a = 8, 64, 1024 vs a = 1",
                                    np.concatenate(fields[1:]), np.tile(fields[0], 3), rtol=1e-10,
                                    atol=1e-12 * np.max(np.abs(fields[0])), test=f"{states} random v"))
    decisions.append(stats.identity("linearised: drift and diffusion at the interpolating point omega_0 + J_0'K_0^-1 "
                                    "y/a", at_rest, 0.0, rtol=0.0, atol=1e-12, test="e = 0 exactly (a = 32)"))
    alphas = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0])
    shift = rng.standard_normal(p.model(1.0).p)
    sizes = [(float(np.linalg.norm(p.model(a).drift((p.model(1.0).omega0 + shift / a)[None]))),
              float(np.linalg.norm(p.model(a).diffusion((p.model(1.0).omega0 + shift / a)[None])))) for a in alphas]
    run.figure(Figure(
        title="Gradient and noise of the lazily scaled loss at omega_0 + v/alpha", xlabel="alpha", ylabel="norm",
        xscale="log", yscale="log",
        series=[Series("|grad L_a|", alphas.tolist(), [s[0] for s in sizes]),
                Series("|sqrt(eta) sigma_a| (Frobenius)", alphas.tolist(), [s[1] for s in sizes]),
                Series("slope -1", alphas.tolist(), (sizes[0][1] / alphas).tolist(), style="dashed")],
        caption="Both are O(1/alpha) (alpha times them converges); the factor reproduces eta Sigma_a to "
                f"{max(scale_errors):.1e} relative."))
    run.verdict(*decisions)



# --- sgld-lazy.ntk-init-positive ---------------------------------------------------------------------------------

DU_INPUTS, DU_DIM = 10, 5
DU_WIDTHS = (10, 30, 100)


@cache
def du_inputs() -> np.ndarray:
    """10 unit inputs in d = 5, drawn once (fixed problem), no two parallel (largest |x_i'x_j| = 0.805)."""
    x = generator(0, INIT_POSITIVE, "inputs").standard_normal((DU_INPUTS, DU_DIM))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def first_layer_grams(run: ClaimRun, width: int, networks: int) -> np.ndarray:
    """H(0) = J_w J_w' of f = m^-1/2 sum_r a_r relu(w_r'x), w_r ~ N(0, I), a_r = +-1, over the first layer only (Du et
    al.'s Gram: (1/m) sum_r x_i'x_j 1{w_r'x_i > 0} 1{w_r'x_j > 0}), from :func:`solvers.two_layer.jacobian`;
    (networks, N, N), drawn in blocks, block k from the stream (width, first network of the block)."""
    xp = run.xp
    x = asarray(du_inputs(), xp)
    block = max(1, BLOCK_FLOATS // (DU_INPUTS * width * DU_DIM))
    out = []
    for first in range(0, networks, block):
        size = min(block, networks - first)
        params = two_layer.init(run.stream(width, first), n=width, d=DU_DIM, batch=(size,), a_law="rademacher",
                                w_scale=1.0)
        _, dw = two_layer.jacobian(params, x, activation_name="relu")
        flat = xp.reshape(dw, (size, DU_INPUTS, width * DU_DIM))
        out.append(to_numpy(flat @ xp.matrix_transpose(flat)))
    return np.concatenate(out)


@claim(
    INIT_POSITIVE, family="reference",
    statement="For unit inputs no two of which are parallel, the infinite-width Gram of the first layer of a "
              "two-layer ReLU net, H_inf_ij = x_i'x_j (pi - arccos x_i'x_j)/(2 pi) (= E_w[x_i'x_j 1{w'x_i > 0} "
              "1{w'x_j > 0}], derived from the arc-cosine kernel J_0), has lambda_0 = lambda_min(H_inf) > 0; a "
              "parallel (repeated) input makes it singular. At initialisation the width-m Gram H(0) is unbiased for "
              "H_inf, and P(lambda_min(H(0)) >= 3/4 lambda_0) -> 1 as m grows (Du et al.'s Lemma 3.1); on this "
              "problem it rises strictly from each width tested to the next.",
    hypotheses="10 unit inputs in d = 5 drawn once (fixed problem; lambda_0 = 0.143, largest |x_i'x_j| = 0.805); f = "
               "m^(-1/2) sum_r a_r relu(w_r'x), w_r ~ N(0, I), a_r = +-1, the first layer only (Du et al.'s H); m in "
               "{10, 30, 100}, where the fraction is 0.40, 0.86, 0.99 (it rises monotonically on a finer grid of m "
               "too); independent networks per width; the counterexample repeats input 1 as input 10. Monotonicity in "
               "m is no theorem (Du et al. bound only large m): with a nearly parallel pair (10 inputs in d = 3, "
               "lambda_0 = 4.6e-4) the fraction falls from 0.63 at m = 1000 to 0.51 at m = 2000.",
    source="Du, Zhai, Poczos & Singh, ICLR 2019 (Thm 3.1: lambda_0 > 0 when no two inputs are parallel; Lemma 3.1: "
           "lambda_min(H(0)) >= 3/4 lambda_0 w.p. 1 - delta for m = Omega(n^2 log(n/delta)/lambda_0^2)); Oberweis & "
           "Cayci, TMLR 2026 (arXiv 2510.21245) (a kernel lower bound at initialisation).",
    sizes={"quick": {"networks": 400},
           "standard": {"networks": 1600},
           "thorough": {"networks": 6400}},
    power='exact lambda_0 and the repeated-input counterexample at every profile; arccos in degrees fails at any '
          'size; the rises must be significant: at quick the smaller one (m = 30 to 100, 0.86 to 0.99) had p < 3e-7 '
          'against the level 2.5e-4 in 100 of 100 seeds; a Gram whose law ignores m (neurons drawn at the smallest '
          'width and tiled) shows no rise; standard and thorough x2 and x4 in SE',
    oracle_mutants=("arccos_in_degrees", "sign_of_pi_minus_theta", "width_independent_neurons"),
)
def infinite_width_gram_is_positive_definite_and_the_finite_width_gram_reaches_it(run: ClaimRun) -> None:
    """sympy: the derived H_inf entry equals Du et al.'s closed form; exact eigenvalues: lambda_0 > 0, and 0 with a
    repeated input; CLT z-tests of E H(0) = H_inf per width and entry (Bonferroni); exact one-sided tests that
    P(lambda_min(H(0)) >= 3/4 lambda_0) rises from one width to the next (each passes only if it rejects "no
    rise")."""
    networks = run.sizes["networks"]
    x = du_inputs()
    gram = linearised_training.du_gram(x)
    lam = float(np.linalg.eigvalsh(gram)[0])
    repeated = x.copy()
    repeated[-1] = x[0]
    opposite = x.copy()
    opposite[-1] = -x[0]
    lam_repeated = float(np.linalg.eigvalsh(linearised_training.du_gram(repeated))[0])
    lam_opposite = float(np.linalg.eigvalsh(linearised_training.du_gram(opposite))[0])
    rows, cols = np.triu_indices(DU_INPUTS)
    level = stats.split(run.level, 2)
    means, ses, counts = [], [], []
    for width in DU_WIDTHS:
        grams = first_layer_grams(run, width, networks)
        entries = grams[:, rows, cols]
        means.append(entries.mean(axis=0))
        ses.append(entries.std(axis=0, ddof=1) / math.sqrt(networks))
        counts.append(int(np.sum(np.linalg.eigvalsh(grams)[:, 0] >= 0.75 * lam)))
    fractions = [c / networks for c in counts]
    rising = [stats.rate_rises(f"P(lambda_min(H(0)) >= 3/4 lambda_0) rises from m = {DU_WIDTHS[k]} to m = "
                         f"{DU_WIDTHS[k + 1]}", counts[k], counts[k + 1], networks,
                         stats.split(level, len(DU_WIDTHS) - 1)) for k in range(len(DU_WIDTHS) - 1)]
    bands = np.array([stats.clopper_pearson(c, networks, 1e-3) for c in counts])
    run.figure(Figure(
        title="P(lambda_min(H(0)) >= 3/4 lambda_0) against the width m (Du et al.'s first-layer Gram, ReLU)",
        xlabel="width m", ylabel="fraction of networks", xscale="log",
        series=[Series("fraction (99.9% Clopper–Pearson)", list(map(float, DU_WIDTHS)), fractions,
                       yerr=np.max(np.abs(bands - np.array(fractions)[:, None]), axis=1).tolist())],
        caption=f"lambda_0 = {lam:.3e} on 10 random unit inputs in d = 5; fractions {listed(fractions)} at m = "
                f"{listed(DU_WIDTHS)} ({networks} networks per width); a repeated input gives lambda_min = "
                f"{lam_repeated:.1e}; an antiparallel pair alone keeps it positive ({lam_opposite:.3e})."))
    run.verdict(
        stats.agreement("sympy: E[x_i'x_j 1{w'x_i > 0}1{w'x_j > 0}] from J_0 equals x_i'x_j (pi - arccos x_i'x_j)"
                        "/(2 pi)",
                        sp_equal(lazy_training.du_gram_entry(), lazy_training.DU_CLOSED), True,
                        test="arc-cosine kernel J_0 (theory.ntk) at theta = arccos c"),
        stats.at_least("lambda_0 = lambda_min(H_inf), 10 unit inputs, none parallel", lam,
                       1e3 * np.finfo(float).eps * DU_INPUTS, test="eigenvalues (margin: 1000 x rounding)"),
        stats.identity("lambda_min(H_inf) with input 10 = input 1 (parallel)", lam_repeated, 0.0, rtol=0.0,
                       atol=1e-12, test="eigenvalues: two equal rows"),
        stats.z_test("E H(0) = H_inf (55 entries x 3 widths)", np.concatenate(means), np.concatenate(ses),
                     np.tile(gram[rows, cols], len(DU_WIDTHS)), level,
                     test=f"CLT over {networks} networks per width (Bonferroni)"),
        *rising)


def sp_equal(a: Any, b: Any) -> bool:
    """Symbolic equality (simplify of the difference)."""
    return sp.simplify(a - b) == 0
