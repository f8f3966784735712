r"""Stationary Fokker–Planck densities: the Gibbs law of overdamped Langevin dynamics.

For :math:`d\theta = -\nabla L\,dt + \sqrt{2T}\,dW` the Fokker–Planck equation (Itô, constant isotropic noise)
is :math:`\partial_t p = \nabla\cdot(p \nabla L + T \nabla p)`; :math:`p \propto e^{-L/T}` makes the probability
flux :math:`J = -(p\nabla L + T\nabla p)` vanish identically (detailed balance), for *any* smooth L.
The lecture (seed 002) writes the same SDE with noise :math:`\sqrt{\varepsilon}`, i.e. T = eps/2, and the law
:math:`e^{-2L/\varepsilon}`: one statement in two conventions. The seed calls the PDE "Feynman–Kac"; it is the
forward (Fokker–Planck) equation. Source: seed 002; CLAIMS-DETAIL §1.8–1.9.
"""

from __future__ import annotations

from collections.abc import Sequence

import mpmath
import sympy as sp

from theory.numeric import mpmath_callable
from theory.symbols import T, eps


def gibbs_density(loss: sp.Expr, temperature: sp.Expr = T) -> sp.Expr:
    """Unnormalised Gibbs density exp(-L / T)."""
    return sp.exp(-loss / temperature)


def stationary_flux(loss: sp.Expr, coords: Sequence[sp.Symbol], density: sp.Expr,
                    temperature: sp.Expr = T) -> list[sp.Expr]:
    r"""Probability flux :math:`J_i = -(p\,\partial_i L + T\,\partial_i p)` of the Langevin Fokker–Planck equation."""
    return [-(density * sp.diff(loss, c) + temperature * sp.diff(density, c)) for c in coords]


def fokker_planck_residual(loss: sp.Expr, coords: Sequence[sp.Symbol], density: sp.Expr,
                           temperature: sp.Expr = T) -> sp.Expr:
    r"""Stationary residual :math:`\partial_t p = -\nabla\cdot J` (zero iff ``density`` is stationary)."""
    flux = stationary_flux(loss, coords, density, temperature)
    return sp.simplify(-sum(sp.diff(j, c) for j, c in zip(flux, coords, strict=True)))


def gibbs_is_stationary(d: int) -> bool:
    """Proof, for a generic smooth loss L (an undefined sympy function of d variables), that exp(-L/T)
    has zero flux, hence solves the stationary Fokker–Planck equation."""
    coords = sp.symbols(f"q0:{d}", real=True)
    loss = sp.Function("L")(*coords)
    flux = stationary_flux(loss, coords, gibbs_density(loss))
    return all(sp.simplify(j) == 0 for j in flux)


def lecture_convention_agrees() -> bool:
    r"""The lecture's :math:`e^{-2L/\varepsilon}` for noise :math:`\sqrt{\varepsilon}` is the contract's
    :math:`e^{-L/T}` for noise :math:`\sqrt{2T}`: matching the diffusion coefficients gives T = eps/2."""
    (temperature,) = sp.solve(sp.Eq(sp.sqrt(2 * T), sp.sqrt(eps)), T)
    loss = sp.Function("L")(sp.Symbol("q", real=True))
    return sp.simplify(gibbs_density(loss, temperature) - sp.exp(-2 * loss / eps)) == 0


def gibbs_expectation(loss: sp.Expr, var: sp.Symbol, observable: sp.Expr, temperature: float,
                      breakpoints: Sequence[float] = (-1.0, 0.0, 1.0), dps: int = 30) -> float:
    r"""Gibbs expectation :math:`\int f e^{-L/T} dx / \int e^{-L/T} dx` on the real line, by mpmath quadrature.

    ``breakpoints`` split the line at the wells so that tanh-sinh quadrature resolves each one.
    """
    loss_f, obs_f = mpmath_callable(loss, var), mpmath_callable(observable, var)
    with mpmath.workdps(dps):
        beta = 1 / mpmath.mpf(temperature)
        nodes = [-mpmath.inf, *map(mpmath.mpf, breakpoints), mpmath.inf]

        def weight(z: mpmath.mpf) -> mpmath.mpf:
            return mpmath.exp(-beta * loss_f(z))

        z_norm = mpmath.quad(weight, nodes)
        moment = mpmath.quad(lambda z: obs_f(z) * weight(z), nodes)
        return float(moment / z_norm)
