r"""Stochastic gradient flow (SGF): the diffusion that matches one SGD step's conditional mean and covariance.

One SGD step with a minibatch of b samples drawn with replacement has conditional mean :math:`-\eta\nabla L` and
covariance :math:`\eta^2\Sigma/b` (:mod:`theory.minibatch`). One Euler–Maruyama step of
:math:`d\theta = -\nabla L\,dt + \sqrt{2D}\,dW` over :math:`dt = \eta` has mean :math:`-\eta\nabla L` and covariance
:math:`2D\eta`. Matching them *derives* :math:`D = (\eta/2b)\Sigma` (the lecture's SGF), and with
:math:`\Sigma = I` the noise :math:`\sqrt{\varepsilon}\,dW`, :math:`\varepsilon = \eta/b`. Moment matching is exact;
SGF approximates SGD only weakly to O(eta) (``sde.sme-weak-order``). Source: seed 002; CLAIMS-DETAIL §1.6.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from sgd_conformance.theory.symbols import b, eta


def noise_covariance_symbols(d: int) -> sp.Matrix:
    """A symmetric d x d covariance Sigma with entries S_ij."""
    return sp.Matrix(d, d, lambda i, j: sp.Symbol(f"S_{min(i, j)}{max(i, j)}", real=True))


@cache
def matched_diffusion(d: int = 2) -> sp.Matrix:
    """D solved from 2 D eta = eta^2 Sigma / b, entry by entry."""
    sigma = noise_covariance_symbols(d)
    unknown = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"D_{min(i, j)}{max(i, j)}", real=True))
    solution = sp.solve(list(2 * unknown * eta - eta**2 * sigma / b), list(unknown.free_symbols), dict=True)[0]
    return unknown.subs(solution)


def lecture_diffusion(d: int = 2) -> sp.Matrix:
    """The lecture's D = (eta / 2b) Sigma(theta)."""
    return eta / (2 * b) * noise_covariance_symbols(d)
