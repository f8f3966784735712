"""Claims about mean-field two-layer networks (family ``reference``), on the suite's one network
:mod:`solvers.two_layer` in mean-field scaling, against :mod:`theory.mean_field`."""

from __future__ import annotations

import numpy as np

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.oracles.mean_field import potential_gradient
from sgd_conformance.reports.model import Figure, Series
from sgd_conformance.solvers import two_layer
from sgd_conformance.theory import mean_field

STEP = 1e-5  # central differences: truncation ~ STEP^2 |R'''| ~ 1e-10, rounding ~ eps |R| / STEP ~ 1e-11


def _risk(params: two_layer.Params, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """R_n = mean over the data of (y - f(x))^2, for every leading batch of ``params``."""
    f = two_layer.forward(params, x, activation_name="tanh", scaling="mean_field")
    return np.mean((y - f) ** 2, axis=-1)


def _finite_difference_gradient(params: two_layer.Params, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Central differences of R_n in every parameter, all perturbed copies in one batched forward pass:
    shape (n, d + 1) with columns (a_j, w_j)."""
    n, d = params.w.shape
    flat = np.concatenate([params.a[:, None], params.w], axis=1).reshape(-1)
    shifts = STEP * np.eye(flat.size)
    both = np.concatenate([flat + shifts, flat - shifts]).reshape(2 * flat.size, n, d + 1)
    risks = _risk(two_layer.Params(a=both[..., 0], w=both[..., 1:]), x, y)
    return ((risks[: flat.size] - risks[flat.size:]) / (2 * STEP)).reshape(n, d + 1)


@claim(
    "lecture.mean-field-particle-identity", family="reference",
    statement="For f = (1/n) sum_j sigma_*(x; theta_j): R_n = R_# + (2/n) sum_j V(theta_j) + (1/n^2) sum_ij U(theta_i, "
              "theta_j) and n grad_(theta_j) R_n = 2 grad Psi(theta_j; rho_n), Psi = V + int U d rho; so particle GD "
              "with time scaled by n/2, d theta_j/dt = -(n/2) grad R_n = -grad Psi, is the mean-field PDE "
              "d_t rho = div(rho grad Psi) (plus beta^-1 Laplacian with sqrt(2/beta) noise).",
    hypotheses="symbolic: n = 3 scalar particles, tanh units, an empirical data law of 2 points; numeric: the suite's "
               "two-layer tanh net in mean-field scaling, n = 50, d = 3, 20 data points, central differences "
               "(step 1e-5) against grad Psi built from U and V, rtol 1e-7.",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) (mean-field PDE, with noise); "
           "Chainani & Zhang, 'Mean field Langevin dynamics: convergence analysis and sparse parity learning' (slides, "
           "Yale, 2025) (particle equation); Mei, Montanari & Nguyen, PNAS 2018; derived here.",
    seed_wording="The Chainani & Zhang slides write d theta_j/dt = M grad_(theta_j) R_M = -grad Psi; the left side has "
                 "the wrong sign (it ascends the risk) and, with Mei's R, the factor is M/2.",
    oracle_mutants=("ntk_scale_as_mean_field",),
)
def particle_gradient_is_the_mean_field_potential_gradient(run: ClaimRun) -> None:
    """Symbolic identities for n = 3; numeric identity on a 50-particle mean-field net; the slides' sign (Chainani &
    Zhang) ascends."""
    rng = run.stream(on_backend=False)
    n, d, points = 50, 3, 20
    params = two_layer.init(rng, n=n, d=d)
    x = rng.standard_normal((points, d))
    y = np.sin(x @ rng.standard_normal(d))
    finite_difference = n * _finite_difference_gradient(params, x, y)
    potential = 2 * potential_gradient(params, x, y)
    seed_velocity = finite_difference  # the slide's d theta_j/dt = n grad_(theta_j) R_n
    ascent = float(np.sum(seed_velocity * finite_difference / n))  # dR_n/dt along it: > 0 means ascent
    run.figure(Figure(
        title="n grad_(theta_j) R_n (finite differences) against 2 grad Psi(theta_j; rho_n)", xlabel="2 grad Psi",
        ylabel="n grad R_n", series=[Series("parameters (a_j, w_j)", potential.ravel().tolist(),
                                            finite_difference.ravel().tolist()),
                                     Series("identity", [float(potential.min()), float(potential.max())],
                                            [float(potential.min()), float(potential.max())], style="dashed")],
        caption="Every particle moves in the gradient of the same potential Psi(.; rho_n): the mean-field picture."))
    run.verdict(
        stats.agreement("n dR_n/dtheta_j = 2 dPsi/dtheta(theta_j) for n = 3 symbolic particles",
                        mean_field.particle_identity_holds(3), True, test="sympy"),
        stats.agreement("R_n = R_# + (2/n) sum V + (1/n^2) sum U", mean_field.risk_decomposition_holds(3), True,
                        test="sympy"),
        stats.identity("n grad R_n vs 2 grad Psi (50 particles, 200 parameters)", finite_difference, potential,
                       rtol=0.0, atol=1e-7 * float(np.max(np.abs(potential))),
                       test="central differences (step 1e-5) against the U, V formula"),
        stats.agreement("the slide's d theta/dt = n grad R_n increases the risk", ascent > 0, True,
                        test="dR/dt = grad R . theta-dot along the slide's flow"))
