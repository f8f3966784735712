r"""Exact oracles of the least-squares SDE checks (Schertzer & Pillaud-Vivien (JMLR 2026, arXiv 2407.02322)): the fixed
test problems and what the theory says about them exactly.

Training-loss model (:mod:`theory.lsq_sde`, :mod:`solvers.lsq_sde`), Itô:
:math:`d\theta = -\nabla L\,dt + \sqrt\gamma\,\sigma(\theta)\,dB`, :math:`\sigma(\theta) = n^{-1/2}[r_ix_i -
\nabla L]_i`. Around a centre :math:`\theta_c` the drift is linear and :math:`\sigma\sigma^\top` quadratic in
:math:`\delta = \theta - \theta_c`, so the first and second moments solve a closed linear ODE
(:class:`checks.oracles.moment_equations.LinearMomentModel`); everything below evaluates that model, or the symbolic
model,
on the problems' data: decay rates (spectral abscissae of the second-moment operator), moment paths (matrix
exponentials of its generator) and the exact moment map of one single-sample SGD step.

Each problem's data are fixed (drawn once at seed 0 from a stream named after its claim), so that the numbers the
claims' hypotheses quote hold; ``--seed`` moves the Brownian paths and the SGD samples only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp
from scipy.linalg import expm

from sgd_conformance.checks.oracles.moment_equations import (
    LinearMomentModel,
    QuadraticCovariance,
    training_moment_model,
)
from sgd_conformance.solvers.lsq_sde import PopulationSDE, TrainingSDE
from sgd_conformance.solvers.rng import generator
from sgd_conformance.theory import lsq_sde

DATA_SEED = 0  #: the problems are fixed; --seed moves the noise only


def fixed_data(claim_id: str, n: int, d: int) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    """Gaussian features (n, d) and targets (n,) of a claim's fixed problem, and the stream for its other constants."""
    rng = generator(DATA_SEED, claim_id, "data")
    return rng.standard_normal((n, d)), rng.standard_normal(n), rng


# --- the symbolic model at the data ----------------------------------------------------------------------------------


def training_values(model: lsq_sde.TrainingModel, features: np.ndarray, targets: np.ndarray,
                    theta: np.ndarray) -> dict[sp.Symbol, float]:
    """The substitution that puts ``features``, ``targets`` and ``theta`` into the symbolic training model."""
    values = dict(zip(model.features, features.reshape(-1), strict=True))
    values |= dict(zip(model.targets, targets, strict=True))
    return values | dict(zip(model.theta, theta, strict=True))


def evaluate(matrix: sp.Matrix, values: dict[sp.Symbol, float]) -> np.ndarray:
    """A symbolic matrix at ``values``, as floats."""
    return np.array(matrix.subs(values).evalf(), dtype=float)


# --- problems with exact decay rates ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    r"""A training-loss problem: data, a centre (:math:`\theta^*_0` or :math:`\theta_{LS}`), a basis U of
    range X', :math:`H = X^\top X/n`, mu (its smallest eigenvalue on range X') and the constants K of
    :func:`sharp_k`."""

    features: np.ndarray
    targets: np.ndarray
    centre: np.ndarray
    basis: np.ndarray
    curvature: np.ndarray
    mu: float
    k_sharp: float
    k_max: float

    def model(self, gamma: float) -> TrainingSDE:
        return TrainingSDE(self.features, self.targets, gamma)

    def moments(self, gamma: float, noiseless: bool = False) -> LinearMomentModel:
        """Moment model around the centre; ``noiseless`` drops the labels (the model of a synchronous difference)."""
        targets = 0 * self.targets if noiseless else self.targets
        centre = 0 * self.centre if noiseless else self.centre
        return training_moment_model(self.features, targets, gamma, centre)

    def rate(self, gamma: float) -> float:
        r"""Exact decay rate of :math:`E|\delta_t|^2` of the noiseless model on range X' (minus the spectral
        abscissa of its second-moment operator)."""
        return self.moments(gamma, noiseless=True).second_moment_decay_rate(self.basis)

    def bound(self, gamma: float) -> float:
        r"""The derived rate :math:`(2 - \gamma K)\mu` (valid for :math:`\gamma < 2/K`)."""
        return (2 - gamma * self.k_sharp) * self.mu


def sharp_k(features: np.ndarray) -> tuple[float, float]:
    r"""(sharp K, max_i |x_i|^2): the smallest K with :math:`\frac1n\sum_i|x_i|^2x_ix_i^\top \preceq KH`, i.e. the
    largest generalised eigenvalue on range X', and the paper's K = max_i |x_i|^2 (equal when the rows are
    linearly independent: both matrices are then diagonal in the dual basis of the rows)."""
    n = features.shape[0]
    basis = np.linalg.svd(features, full_matrices=False)[2].T
    weights = np.sum(features**2, axis=1)
    curvature = basis.T @ (features.T @ features / n) @ basis
    fourth = basis.T @ (features.T @ (weights[:, None] * features) / n) @ basis
    w, v = np.linalg.eigh(curvature)
    root = v @ np.diag(w**-0.5) @ v.T
    return float(np.linalg.eigvalsh(root @ fourth @ root).max()), float(weights.max())


def _problem(features: np.ndarray, targets: np.ndarray, centre: np.ndarray) -> Problem:
    n = features.shape[0]
    basis = np.linalg.svd(features, full_matrices=False)[2].T
    curvature = features.T @ features / n
    mu = float(np.linalg.eigvalsh(basis.T @ curvature @ basis).min())
    return Problem(features, targets, centre, basis, curvature, mu, *sharp_k(features))


@cache
def interpolation_problem() -> Problem:
    """X 4 x 6 with rows N(0, I), y = X theta* (so Ker X != {0}, y in range X); centre theta*."""
    rng = generator(0, "lsq-sde.noiseless-exponential", "problem")
    features = rng.standard_normal((4, 6))
    theta_star = rng.standard_normal(6)
    return _problem(features, features @ theta_star, theta_star)


@cache
def noisy_problem() -> Problem:
    """X 6 x 2 with rows N(0, I), y = X 1 + 2 N(0, I) (Ker X = {0}, y not in range X); centre theta_LS. The label
    noise sets the stationary spread (sd 0.23 and 0.70), which independently driven copies keep apart."""
    rng = generator(0, "lsq-sde", "noisy problem")
    features = rng.standard_normal((6, 2))
    targets = features @ np.ones(2) + 2.0 * rng.standard_normal(6)
    return _problem(features, targets, np.linalg.lstsq(features, targets, rcond=None)[0])


POPULATION_CURVATURE = np.array([[1.0, 0.3, 0.0], [0.3, 0.6, 0.1], [0.0, 0.1, 0.3]])


def population_moments(curvature: np.ndarray, gamma: float) -> LinearMomentModel:
    """Moment model of the noiseless online SDE (:class:`solvers.lsq_sde.PopulationSDE`, s = 0), its covariance
    read off the solver's diffusion field by polarisation (exact: it is quadratic in delta)."""
    model = PopulationSDE(curvature, 0.0, gamma)

    def covariance(delta: np.ndarray) -> np.ndarray:
        s = model.diffusion(delta[None, :])[0]
        return s @ s.T / gamma

    d = curvature.shape[0]
    return LinearMomentModel(curvature, np.zeros(d), QuadraticCovariance.from_function(covariance, d), gamma)


def leading_eigenmatrix(moments: LinearMomentModel, basis: np.ndarray) -> np.ndarray:
    r"""The PSD eigenmatrix P (trace 1) of the second-moment operator on range U at its leading eigenvalue: from
    :math:`E\delta_0\delta_0^\top = UPU^\top`, :math:`E|\delta_t|^2 = e^{-\mathrm{rate}\,t}` exactly (Krein–Rutman:
    the PSD cone is invariant)."""
    values, vectors = np.linalg.eig(moments.second_moment_operator(basis))
    r = basis.shape[1]
    lead = vectors[:, int(np.argmax(values.real))].real.reshape(r, r)
    lead = (lead + lead.T) / 2
    return lead / np.trace(lead)


# --- moment paths and maps -------------------------------------------------------------------------------------------


def moment_path(model: LinearMomentModel, step: float, points: int, m0: np.ndarray,
                second0: np.ndarray) -> np.ndarray:
    """Exact M(t) = E delta_t delta_t' at t = 0, step, ..., (points - 1) step, shape (points, d, d): one propagator
    expm(G step) of the moment generator applied repeatedly to z(0) = (1, m0, vec second0) (the
    z(t) = e^(Gt) z(0) of :meth:`LinearMomentModel.moments`)."""
    d = model.d
    propagator = expm(model.generator() * step)
    z = np.concatenate([[1.0], m0, second0.reshape(-1)])
    zs = [z]
    for _ in range(points - 1):
        zs.append(propagator @ zs[-1])
    return np.stack(zs)[:, 1 + d:].reshape(-1, d, d)


def sgd_moment_map(features: np.ndarray, targets: np.ndarray, gamma: float, centre: np.ndarray) -> np.ndarray:
    r"""The exact moment map of one single-sample SGD step, by averaging over the n samples, on z = (1, m, vec M).

    With :math:`\delta = \theta - \theta_c`, :math:`r^c_i = x_i^\top\theta_c - y_i`, the step with sample i is
    :math:`\delta' = (I - \gamma x_ix_i^\top)\delta - \gamma r^c_ix_i`, so
    :math:`m' = \frac1n\sum_i(A_im - \gamma r^c_ix_i)` and
    :math:`M' = \frac1n\sum_i(A_iMA_i^\top - \gamma r^c_i(A_imx_i^\top + x_im^\top A_i^\top)
    + \gamma^2r^{c2}_ix_ix_i^\top)`, :math:`A_i = I - \gamma x_ix_i^\top`. Written from the data alone (no covariance,
    no factor). Moments are symmetric: compare maps on the image of :func:`symmetriser` only."""
    n, d = features.shape
    residuals = features @ centre - targets
    size = 1 + d + d * d
    out = np.zeros((size, size))
    for j in range(size):
        z = np.zeros(size)
        z[j] = 1.0
        one, m, second = z[0], z[1:1 + d], z[1 + d:].reshape(d, d)
        m_next, second_next = np.zeros(d), np.zeros((d, d))
        for x, r in zip(features, residuals, strict=True):
            a = np.eye(d) - gamma * np.outer(x, x)
            m_next += (a @ m - one * gamma * r * x) / n
            am = a @ m
            second_next += (a @ second @ a.T - gamma * r * (np.outer(am, x) + np.outer(x, am))
                            + one * gamma**2 * r**2 * np.outer(x, x)) / n
        out[:, j] = np.concatenate([[one], m_next, second_next.reshape(-1)])
    return out


def symmetriser(d: int) -> np.ndarray:
    """The projection of z = (1, m, vec M) onto symmetric M (identity on 1 and m)."""
    size = 1 + d + d * d
    out = np.eye(size)
    swap = np.arange(d * d).reshape(d, d).T.reshape(-1)
    block = 0.5 * (np.eye(d * d) + np.eye(d * d)[swap])
    out[1 + d:, 1 + d:] = block
    return out


# --- symbolic: the 1-D stationary variance (a derivation, to move to theory.lsq_sde) ---------------------------------


def one_dimensional_stationary_variance() -> tuple[sp.Expr, bool]:
    r"""From the symbolic training model with d = 1, n = 3: at :math:`\theta_{LS} + \delta`,
    :math:`\nabla L = h\delta` and :math:`\Sigma = a_0 + a_1\delta + a_2\delta^2` (a polynomial in delta), so the
    stationary :math:`M = E\delta^2` (with :math:`E\delta = 0`) solves :math:`0 = -2hM + \gamma(a_0 + a_2M)`, i.e.
    :math:`M = \gamma a_0/(2h - \gamma a_2)`. Returns that M and whether :math:`a_0 = c_0`, :math:`a_2 = v` hold
    identically in the data (so that M is the 1-D variance :math:`\gamma c_0/(2h - \gamma v)` of
    ``lsq-sde.invariant-mean``)."""
    n = 3
    model = lsq_sde.training_model(n, 1)
    x, y, theta = list(model.features), list(model.targets), model.theta[0]
    gamma, second, delta, a0, a2, h = sp.symbols("gamma M delta a_0 a_2 h", real=True)
    derived = sp.solve(-2 * h * second + gamma * (a0 + a2 * second), second)[0]
    h_data = sum(xi**2 for xi in x) / n
    v_data = sum(xi**4 for xi in x) / n - h_data**2
    theta_ls = sum(xi * yi for xi, yi in zip(x, y, strict=True)) / sum(xi**2 for xi in x)
    c0_data = sum((xi * theta_ls - yi) ** 2 * xi**2 for xi, yi in zip(x, y, strict=True)) / n
    sigma2 = sp.Poly(sp.expand(model.covariance[0, 0].subs(theta, theta_ls + delta)), delta)
    identities = (model.gradient[0].subs(theta, theta_ls + delta) - h_data * delta,
                  sigma2.coeff_monomial(1) - c0_data, sigma2.coeff_monomial(delta**2) - v_data)
    return derived, all(sp.cancel(e) == 0 for e in identities)
