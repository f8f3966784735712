r"""Free energy of mean-field Langevin dynamics and the proximal Gibbs law: the Gaussian closed forms.

Convention (Nitanda, Wu & Suzuki 2022; CLAIMS-DETAIL §3 and §8): for a functional F of a probability density q,

.. math::  L(q) = F(q) + \lambda \int q \log q, \qquad p_q \propto \exp(-\tfrac1\lambda\,\delta F/\delta q(q)),

the MFLD is :math:`d\theta = -\nabla\,\delta F/\delta q(q_t)(\theta)\,dt + \sqrt{2\lambda}\,dW` (temperature
:math:`T = \lambda`), and :math:`\delta L/\delta q = \delta F/\delta q + \lambda(\log q + 1) = \lambda\log(q/p_q)
+ \text{const}`. LSI(:math:`\alpha`) for p: :math:`KL(q\|p) \le (1/2\alpha) E_q|\nabla\log(q/p)|^2`; it implies the
Poincaré inequality :math:`Var_p f \le (1/\alpha) E_p|f'|^2`, so the spectral gap of the generator bounds
:math:`\alpha` from above.

Here the Gaussian closed forms (sympy, §9.12): F(q) = ½(m_q − y)² + λ'E_qθ²; the two sandwich gaps are squares in
m − m*. The 1-D grid problem of CLAIMS-DETAIL §2.2 and the LSI constants (§9.13) are numeric oracles:
:mod:`checks.oracles.free_energy`.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

# ------------------------------------------------------------------------------------------- Gaussian closed forms

m, v, y_sym = sp.symbols("m v y", real=True)
lam_sym, lam_reg_sym = sp.symbols("lambda lambda_r", positive=True)


def gaussian_kl(m1: sp.Expr, v1: sp.Expr, m2: sp.Expr, v2: sp.Expr) -> sp.Expr:
    """KL(N(m1, v1) ‖ N(m2, v2)) in one dimension."""
    return (sp.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / v2 - 1) / 2


def gaussian_free_energy(mean: sp.Expr, var: sp.Expr) -> sp.Expr:
    """L(N(m, v)) for F(q) = ½(m_q − y)² + λ' E_q θ², with ∫q log q = −½ log(2πe v)."""
    return (mean - y_sym) ** 2 / 2 + lam_reg_sym * (var + mean**2) - lam_sym * sp.log(2 * sp.pi * sp.E * var) / 2


def gaussian_minimiser() -> tuple[sp.Expr, sp.Expr]:
    """(m*, v*) = (y/(1 + 2λ'), λ/(2λ'))."""
    return y_sym / (1 + 2 * lam_reg_sym), lam_sym / (2 * lam_reg_sym)


def gaussian_proximal_gibbs(mean: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    r"""p_q for q with mean m: δF/δq = (m − y)θ + λ'θ², so p_q = N(−(m − y)/(2λ'), λ/(2λ'))."""
    return -(mean - y_sym) / (2 * lam_reg_sym), lam_sym / (2 * lam_reg_sym)


@cache
def gaussian_sandwich_residuals() -> tuple[sp.Expr, sp.Expr]:
    r"""The two identities of CLAIMS-DETAIL §2.3 as residuals that must simplify to 0, for q = N(m, v):
    gap − λKL(q‖q*) − ½(m − m*)² and λKL(q‖p_q) − gap − (1 + 2λ')(m − m*)²/(4λ')."""
    m_star, v_star = gaussian_minimiser()
    p_mean, p_var = gaussian_proximal_gibbs(m)
    gap = gaussian_free_energy(m, v) - gaussian_free_energy(m_star, v_star)
    lower = lam_sym * gaussian_kl(m, v, m_star, v_star)
    upper = lam_sym * gaussian_kl(m, v, p_mean, p_var)
    return (sp.simplify(sp.expand_log(gap - lower - (m - m_star) ** 2 / 2, force=True)),
            sp.simplify(sp.expand_log(upper - gap - (1 + 2 * lam_reg_sym) * (m - m_star) ** 2
                                      / (4 * lam_reg_sym), force=True)))
