r"""The SDE models of least-squares SGD of seed 001 (Schertzer & Pillaud-Vivien, arXiv 2407.02322), derived.

Training loss (n samples, rows :math:`x_i^\top` of X): :math:`L(\theta) = \frac{1}{2n}\sum_i r_i^2`,
:math:`r_i = x_i^\top\theta - y_i`, per-sample gradients :math:`g_i = r_i x_i` (derived from the per-sample loss),
:math:`\nabla L = \frac1n\sum_i g_i`. One single-sample SGD step with step gamma has conditional mean
:math:`-\gamma\nabla L` and covariance :math:`\gamma^2\Sigma(\theta)`, :math:`\Sigma = \frac1n\sum_i g_ig_i^\top -
\nabla L\nabla L^\top`. The SDE model (time t = k gamma, Itô; Li, Tai & E) is

.. math:: d\theta = -\nabla L(\theta)\,dt + \sqrt\gamma\,\sigma(\theta)\,dB,\qquad
          \sigma(\theta) = n^{-1/2}\,[\,g_i(\theta) - \nabla L(\theta)\,]_{i=1..n} \in \mathbb R^{d\times n},

with n scalar Brownian motions: :math:`\sigma\sigma^\top = \Sigma` exactly and sigma is affine in theta (proved below),
so no matrix square root is ever formed. Population (online) model, :math:`x \sim N(0, H)`,
:math:`y = x^\top\theta^* + \xi`, :math:`\mathrm{Var}\,\xi = s^2`, :math:`\delta = \theta - \theta^*`: by Isserlis,
:math:`\Sigma(\delta) = H\delta\delta^\top H + (\delta^\top H\delta + s^2) H`.

Source: seed 001; CLAIMS-DETAIL §5 (4.1–4.3), §9.3.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from sgd_conformance.theory.sgd_moments import isserlis_fourth_moment
from sgd_conformance.theory.symbols import coordinates


@dataclass(frozen=True)
class TrainingModel:
    """The training-loss model on symbolic data: ``features`` (n x d), ``targets`` (n), state ``theta`` (d)."""

    features: sp.Matrix
    targets: sp.Matrix
    theta: sp.Matrix
    loss: sp.Expr
    per_sample_gradients: tuple[sp.Matrix, ...]
    gradient: sp.Matrix
    covariance: sp.Matrix
    factor: sp.Matrix


@cache
def training_model(n: int, d: int) -> TrainingModel:
    """Drift, covariance and affine square root of the training-loss model, derived from the per-sample loss."""
    features = sp.Matrix(n, d, lambda i, j: sp.Symbol(f"x_{i}_{j}", real=True))
    targets = sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"y_{i}", real=True))
    theta = sp.Matrix(coordinates(d))
    per_sample_losses = [(features[i, :] * theta)[0, 0] - targets[i] for i in range(n)]
    per_sample_losses = [r**2 / 2 for r in per_sample_losses]
    per_sample = tuple(sp.Matrix([sp.diff(loss, c) for c in theta]) for loss in per_sample_losses)
    loss = sum(per_sample_losses) / n
    gradient = sp.Matrix([sp.diff(loss, c) for c in theta])
    covariance = sum((g * g.T for g in per_sample), sp.zeros(d, d)) / n - gradient * gradient.T
    factor = sp.Matrix.hstack(*[(g - gradient) for g in per_sample]) / sp.sqrt(n)
    return TrainingModel(features, targets, theta, loss, per_sample, gradient, covariance, factor)


def factor_reproduces_covariance(n: int, d: int) -> bool:
    r""":math:`\sigma\sigma^\top - \Sigma \equiv 0` as polynomials in the data and theta."""
    model = training_model(n, d)
    return sp.expand(model.factor * model.factor.T - model.covariance) == sp.zeros(d, d)


def factor_is_affine(n: int, d: int) -> bool:
    """Every second derivative of the factor in theta vanishes."""
    model = training_model(n, d)
    return all(sp.diff(entry, u, v) == 0 for entry in model.factor for u in model.theta for v in model.theta)


def uncentred_covariance(n: int, d: int) -> sp.Matrix:
    r"""The uncentred second moment :math:`\frac1n\sum_i g_ig_i^\top` (the known mistake: no
    :math:`-\nabla L\nabla L^\top`)."""
    model = training_model(n, d)
    return model.covariance + model.gradient * model.gradient.T


@cache
def population_covariance(d: int) -> tuple[sp.Matrix, sp.Matrix, sp.Symbol, sp.Matrix]:
    r"""(Sigma(delta), H, s, delta) of the online model, derived: the gradient of one fresh sample is
    :math:`g = x x^\top\delta - x\xi` with mean :math:`H\delta`; Isserlis gives
    :math:`E[x x^\top\delta\delta^\top x x^\top]`, independence of xi gives :math:`s^2 H`."""
    curvature = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"H_{min(i, j)}{max(i, j)}", real=True))
    noise = sp.Symbol("s", positive=True)
    delta = sp.Matrix(coordinates(d, "delta"))
    mean = curvature * delta
    second = isserlis_fourth_moment(curvature, delta * delta.T) + noise**2 * curvature
    return sp.expand(second - mean * mean.T), curvature, noise, delta


def population_covariance_closed_form_agrees(d: int) -> bool:
    r"""The derived population covariance equals :math:`H\delta\delta^\top H + (\delta^\top H\delta + s^2) H`."""
    sigma_, h, s, delta = population_covariance(d)
    closed = h * delta * delta.T * h + ((delta.T * h * delta)[0, 0] + s**2) * h
    return sp.expand(sigma_ - closed) == sp.zeros(d, d)
