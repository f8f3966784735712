r"""Stochastic gradient flow (SGF): the diffusion that matches one SGD step's conditional mean and covariance.

One SGD step :math:`\theta' = \theta - \eta\hat g` with a minibatch of b of the N samples has conditional mean
:math:`-\eta\nabla L` and covariance :math:`\eta^2\phi\,\Sigma`, :math:`\phi = 1/b` with replacement and
:math:`(N-b)/(b(N-1))` without (:mod:`theory.minibatch`). One Euler–Maruyama step of
:math:`d\theta = -\nabla L\,dt + \sqrt{2D}\,dW` over :math:`dt = \eta` has mean :math:`-\eta\nabla L` and covariance
:math:`2D\eta`. Matching them *derives* :math:`D = (\eta/2b)\Sigma` with replacement (the lecture's SGF; with
:math:`\Sigma = I` the noise :math:`\sqrt{\varepsilon}\,dW`, :math:`\varepsilon = \eta/b`) and
:math:`D = \frac{N-b}{N-1}\frac{\eta}{2b}\Sigma` without (the finite-population factor carries over). Moment
matching is exact; SGF approximates SGD only weakly to O(eta) (``sde.sme-weak-order``). Sources: Ruthotto, 'Modern
Theory of Stochastic Gradient Descent' (lecture slides); Li, Tai & E, JMLR 2019.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from sgd_conformance.theory import minibatch
from sgd_conformance.theory.symbols import b, eta


def noise_covariance_symbols(d: int) -> sp.Matrix:
    """A symmetric d x d covariance Sigma with entries S_ij."""
    return sp.Matrix(d, d, lambda i, j: sp.Symbol(f"S_{min(i, j)}{max(i, j)}", real=True))


@cache
def matched_diffusion(d: int = 2, replacement: bool = True) -> sp.Matrix:
    """D solved from 2 D eta = eta^2 phi Sigma (the SGD step's covariance, phi of :mod:`theory.minibatch`), entry by
    entry."""
    sigma = noise_covariance_symbols(d)
    unknown = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"D_{min(i, j)}{max(i, j)}", real=True))
    step_covariance = eta**2 * minibatch.symbolic_covariance_factor(replacement) * sigma
    solution = sp.solve(list(2 * unknown * eta - step_covariance), list(unknown.free_symbols), dict=True)[0]
    return unknown.subs(solution)


def lecture_diffusion(d: int = 2) -> sp.Matrix:
    """The lecture's D = (eta / 2b) Sigma(theta) (minibatches drawn with replacement)."""
    return eta / (2 * b) * noise_covariance_symbols(d)


def finite_population_diffusion(d: int = 2) -> sp.Matrix:
    """The lecture's D times the finite-population factor (N - b)/(N - 1) (minibatches drawn without replacement)."""
    return (minibatch.N - b) / (minibatch.N - 1) * lecture_diffusion(d)


def diffusion(d: int, replacement: bool) -> sp.Matrix:
    """The SGF diffusion of the law: :func:`lecture_diffusion` with replacement, :func:`finite_population_diffusion`
    without."""
    return lecture_diffusion(d) if replacement else finite_population_diffusion(d)
