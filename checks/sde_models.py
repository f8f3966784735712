"""Claims about SDE models of SGD that are statements of the theory alone (family ``reference``): how well the
stochastic modified equations approximate SGD, and the diffusion that makes the stochastic gradient flow match one SGD
step, computed exactly (no Monte Carlo)."""

from __future__ import annotations

import numpy as np
import sympy as sp

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.oracles.sme import along_etas, sgd_second_moment, sme_second_moment
from sgd_conformance.reports.model import Figure, Series
from sgd_conformance.theory import langevin, numeric, sgf
from sgd_conformance.theory.symbols import a, b, eta, t, x0

ETAS = 0.1 * 2.0 ** -np.arange(6)


@claim(
    "sde.sme-weak-order", family="reference",
    statement="SGD is approximated weakly to O(eta) on [0, T] by the first-order stochastic modified equation "
              "dX = -grad f dt + sqrt(eta) Sigma^(1/2) dW and to O(eta^2) by the second-order one (drift "
              "-grad(f + (eta/4)|grad f|^2)); gradient flow alone is O(eta).",
    hypotheses="f = a theta^2/2 with additive gradient noise sigma (all moments in closed form, no Monte Carlo); "
               "a = sigma = theta_0 = T = 1; test function theta^2; eta = 0.1 * 2^-j, j = 0..5.",
    source="Li, Tai & E, ICML 2017 and JMLR 2019, Thm 3 (SME); Ruthotto, 'Modern Theory of Stochastic Gradient Descent'"
           " (lecture slides) (stochastic gradient flow); Schertzer & Pillaud-Vivien, JMLR 27 (2026) (arXiv "
           "2407.02322), §3.1; Oberweis & Cayci, TMLR 2026 (arXiv 2510.21245) (SGLD as an Itô SDE approximation of "
           "SGD); the closed-form moments are derived here.",
    oracle_mutants=("modified_loss_eta_over_two",),
)
def stochastic_modified_equations_have_weak_orders_one_and_two(run: ClaimRun) -> None:
    """Exact weak errors of E theta^2 at T; fitted orders (log error on log eta, first-order correction) 1, 1, 2."""
    sgd = along_etas(sgd_second_moment(), ETAS)
    models = {
        "gradient flow": (along_etas(sp.exp(-2 * a * t) * x0**2, ETAS), 1.0),
        "first-order SME": (along_etas(sme_second_moment(1), ETAS), 1.0),
        "second-order SME": (along_etas(sme_second_moment(2), ETAS), 2.0),
    }
    decisions, series = [], []
    for name, (moment, order) in models.items():
        errors = np.abs(sgd - moment)
        decisions.append(stats.order_test(f"weak order of the {name} (E theta^2 at T = 1)", ETAS, errors, order,
                                          context="exact moments"))
        series.append(Series(name, ETAS.tolist(), errors.tolist()))
    series.append(Series("slope 2", ETAS.tolist(), (series[-1].y[0] * (ETAS / ETAS[0]) ** 2).tolist(),
                         style="dashed"))
    run.figure(Figure(title="Weak error of SDE models of SGD (exact)", xlabel="eta", ylabel="|E theta^2 - E X_T^2|",
                      xscale="log", yscale="log", series=series,
                      caption="The second-order SME's drift comes from the backward-error modified loss."))
    run.verdict(*decisions)


@claim(
    "lecture.sgf-diffusion", family="reference",
    statement="One Euler–Maruyama step of the stochastic gradient flow d theta = -grad L dt + sqrt(2D) dW, "
              "D = (eta/2b) Sigma(theta), over dt = eta has the SGD step's conditional mean -eta grad L and "
              "covariance eta^2 Sigma / b; with Sigma = I the noise is sqrt(eps) dW, eps = eta/b.",
    hypotheses="minibatches of b samples drawn with replacement (covariance Sigma/b); a generic symmetric 2 x 2 "
               "Sigma; moments conditional on theta.",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) ('d theta = -grad L dt + sqrt(2 "
           "D(theta)) dW, D = (eta/2b) Sigma(theta)'); Li, Tai & E, JMLR 2019 (first-order SME); derived here.",
    oracle_mutants=("diffusion_missing_the_half",),
)
def stochastic_gradient_flow_matches_the_sgd_step_moments(run: ClaimRun) -> None:
    """The diffusion solved from moment matching equals the lecture's; the Sigma = I case gives eps = eta/b."""
    derived = sgf.matched_diffusion(2)
    steps = np.linspace(0.01, 1.0, 100)
    sgd_variance = numeric.evaluate(langevin.sgd_stationary_variance(), xp=np, eta=steps, b=1, a=1.0, sigma=1.0)
    run.figure(Figure(
        title="Stationary variance on a x^2/2 with gradient-noise variance sigma^2 (a = sigma = b = 1)", xlabel="eta",
        ylabel="variance",
        series=[Series("SGD (exact)", steps.tolist(), np.asarray(sgd_variance).tolist(), style="line"),
                Series("SGF, D = (eta/2b) Sigma: eta sigma^2/(2 a b)", steps.tolist(), (steps / 2).tolist(),
                       style="dashed")],
        caption="Matching one step's moments makes SGF agree with SGD to first order in eta, not beyond."))
    run.verdict(
        stats.agreement("D solved from 2 D eta = eta^2 Sigma / b equals the lecture's (eta/2b) Sigma",
                        sp.simplify(derived - sgf.lecture_diffusion(2)) == sp.zeros(2, 2), True,
                        test="sympy, generic symmetric Sigma"),
        stats.agreement("with Sigma = I the SGF noise variance 2D is eps = eta/b",
                        sp.simplify(2 * derived.subs({s: (1 if s.name in ("S_00", "S_11") else 0)
                                                      for s in sgf.noise_covariance_symbols(2).free_symbols})
                                    - eta / b * sp.eye(2)) == sp.zeros(2, 2), True, test="sympy"))
