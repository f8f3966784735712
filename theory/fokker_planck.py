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

from sgd_conformance.theory.numeric import mpmath_callable
from sgd_conformance.theory.symbols import T, eps


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
    r"""Gibbs expectation :math:`\int f e^{-L/T} dx / \int e^{-L/T} dx` on the real line, by mpmath quadrature."""
    return expectation_1d(gibbs_density(loss, sp.Float(temperature, dps)), var, observable, breakpoints, dps)


def expectation_1d(density: sp.Expr, var: sp.Symbol, observable: sp.Expr,
                   breakpoints: Sequence[float] = (-1.0, 0.0, 1.0), dps: int = 30) -> float:
    r""":math:`\int f p\,dx / \int p\,dx` over the real line for an unnormalised density p (mpmath quadrature;
    ``breakpoints`` split the line where p has its mass, so that tanh-sinh quadrature resolves it)."""
    density_f, obs_f = mpmath_callable(density, var), mpmath_callable(observable, var)
    with mpmath.workdps(dps):
        nodes = [-mpmath.inf, *map(mpmath.mpf, breakpoints), mpmath.inf]
        norm = mpmath.quad(density_f, nodes)
        return float(mpmath.quad(lambda z: obs_f(z) * density_f(z), nodes) / norm)


def invariant_density_1d(drift: sp.Expr, diffusion_squared: sp.Expr, var: sp.Symbol) -> sp.Expr:
    r"""Unnormalised invariant density of the scalar Itô SDE :math:`dX = b\,dt + \sigma\,dW`:

    .. math:: p(x) \propto \sigma(x)^{-2} \exp\Big(\int^x \frac{2 b}{\sigma^2}\Big),

    the zero-flux solution of :math:`0 = -\partial_x(b p) + \tfrac12\partial_x^2(\sigma^2 p)` (CLAIMS-DETAIL §9.4).
    """
    return sp.simplify(sp.exp(sp.integrate(2 * drift / diffusion_squared, var)) / diffusion_squared)


def ito_flux_1d(drift: sp.Expr, diffusion_squared: sp.Expr, density: sp.Expr, var: sp.Symbol) -> sp.Expr:
    r"""Probability flux of the Itô Fokker–Planck equation, :math:`J = b p - \tfrac12 \partial_x(\sigma^2 p)`:
    with :math:`g = -b` and :math:`D = \sigma^2/2` this is the lecture's :math:`-[g p + \nabla\cdot(D p)]`."""
    return sp.simplify(drift * density - sp.diff(diffusion_squared * density, var) / 2)


def seed_form_flux_1d(drift: sp.Expr, diffusion_squared: sp.Expr, density: sp.Expr, var: sp.Symbol) -> sp.Expr:
    r"""The seed's flux :math:`-[g p + D \nabla p]`: right for constant D only (it drops :math:`p\,\nabla D`)."""
    return sp.simplify(drift * density - diffusion_squared / 2 * sp.diff(density, var))


def seed_form_invariant_density_1d(drift: sp.Expr, diffusion_squared: sp.Expr, var: sp.Symbol) -> sp.Expr:
    r"""Zero flux of the seed's form, :math:`b p - (\sigma^2/2) p' = 0`: :math:`p \propto \exp(\int 2b/\sigma^2)`,
    the Itô density times :math:`\sigma^2` (wrong unless sigma is constant)."""
    return sp.simplify(sp.exp(sp.integrate(2 * drift / diffusion_squared, var)))


def student_t_parameters(density: sp.Expr, var: sp.Symbol) -> tuple[sp.Expr, sp.Expr]:
    r"""(nu, scale) of a density of the form :math:`C (\alpha x^2 + \beta)^{-\kappa}`, i.e. a scaled Student-t:
    :math:`\nu = 2\kappa - 1`, scale :math:`c = \sqrt{\beta/(\alpha\nu)}`, so that it is
    :math:`\propto (1 + x^2/(\nu c^2))^{-(\nu+1)/2}`."""
    (term,) = [f for f in sp.Mul.make_args(density) if isinstance(f, sp.Pow) and f.base.has(var)]
    base = sp.expand(term.base)
    alpha, beta = base.coeff(var, 2), base.subs(var, 0)
    if sp.simplify(base - alpha * var**2 - beta) != 0:
        raise ValueError(f"{density} is not of the form C (alpha x^2 + beta)^-kappa")
    nu = sp.simplify(-2 * term.exp - 1)
    return nu, sp.sqrt(beta / (alpha * nu))
