r"""The neural tangent kernel of a two-layer network: arc-cosine kernels, the infinite-width K∞, per-neuron
derivatives and Hessian blocks, derived in sympy (and cross-checked by mpmath quadrature).

Network (NTK parameterisation, seed 002): :math:`f(x) = n^{-1/2}\sum_{i=1}^n a_i\,\sigma(w_i^\top x)`,
:math:`w_i \sim N(0, I_d/d)`, :math:`a_i \sim N(0, 1)`. Per neuron, with :math:`z = w_i^\top x`,

.. math:: \partial f/\partial a_i = n^{-1/2}\sigma(z), \qquad \partial f/\partial w_{ik} = n^{-1/2} a_i\sigma'(z)x_k .

The seed writes :math:`\partial f/\partial a_i = n^{-1/2}\sigma'(w_i^\top x)` — a typo kept here as
:data:`SEED_JACOBIAN_A` for contrast (CLAIMS-DETAIL §1.18).

Arc-cosine kernels (Cho & Saul 2009): for :math:`(u, v)` standard normal with correlation :math:`\cos\theta`,
:math:`E[\sigma_k(u)\sigma_k(v)] = J_k(\theta)/(2\pi)` with :math:`\sigma_0 = 1\{\cdot > 0\}`,
:math:`\sigma_1 = \mathrm{relu}`, :math:`J_0 = \pi - \theta`, :math:`J_1 = \sin\theta + (\pi - \theta)\cos\theta`.
:func:`arccos_kernel` *derives* them by the polar substitution :math:`u = r\cos\phi`, :math:`v = r\cos(\phi - \theta)`.
Hence for the ReLU net (Jacot et al. 2018; CLAIMS-DETAIL §1.20)

.. math:: K_\infty(x, x') = \frac{\|x\|\|x'\|}{2\pi d}J_1(\theta) + \frac{x^\top x'}{2\pi}J_0(\theta),
   \qquad \theta = \angle(x, x'),

and :math:`E K_n = K_\infty` for every width n (K_n is a mean of n i.i.d. per-neuron terms).

Hessian (CLAIMS-DETAIL §1.19): block-diagonal over neurons, block :math:`B_i` on :math:`(a_i, w_i)` is
:math:`n^{-1/2}\begin{pmatrix}0 & \sigma'x^\top\\ \sigma'x & a_i\sigma''xx^\top\end{pmatrix}` — the seed omits the
mixed a–w block. Its range lies in span{e_a, (0, x)}, so its norm is that of a 2×2 matrix
(:func:`hessian_block_norm`). Proved in tests/test_theory_ntk.py.
"""

from __future__ import annotations

from functools import cache

import mpmath
import sympy as sp

from sgd_conformance.theory import numeric

theta = sp.Symbol("theta", nonnegative=True)  #: angle between two inputs, in [0, pi]
norm_x = sp.Symbol("norm_x", positive=True)  #: ||x||
norm_y = sp.Symbol("norm_y", positive=True)  #: ||x'||
d = sp.Symbol("d", positive=True, integer=True)  #: input dimension
n = sp.Symbol("n", positive=True, integer=True)  #: width (number of neurons)
z = sp.Symbol("z", real=True)  #: pre-activation w_i'x of one neuron
a_i = sp.Symbol("a_i", real=True)  #: output weight of one neuron
r = sp.Symbol("r", positive=True)  #: ||x|| in the Hessian block

ACTIVATIONS = ("relu", "tanh")

#: Cho & Saul's closed forms, the targets of the derivation in :func:`arccos_kernel`.
ARCCOS_CLOSED: dict[int, sp.Expr] = {0: sp.pi - theta, 1: sp.sin(theta) + (sp.pi - theta) * sp.cos(theta)}


def activation(name: str) -> sp.Expr:
    """sigma(z) as a sympy expression; relu is written (z + |z|)/2 so that it lambdifies on any backend."""
    if name == "relu":
        return (z + sp.Abs(z)) / 2
    if name == "tanh":
        return sp.tanh(z)
    raise ValueError(f"activation {name!r} not in {ACTIVATIONS}")


def _no_sign(expr: sp.Expr) -> sp.Expr:
    """Replace sign(u) by u/|u| (equal for u != 0, a null set), so the expression lambdifies."""
    return expr.replace(sp.sign, lambda u: u / sp.Abs(u))


def derivative(name: str, order: int) -> sp.Expr:
    """sigma^{(order)}(z), differentiated by sympy (relu: sigma' = 1{z > 0}, sigma'' = 0 for z != 0)."""
    expr = _no_sign(sp.diff(activation(name), z, order)).replace(sp.DiracDelta, lambda *_: sp.Integer(0))
    return sp.simplify(expr)


@cache
def arccos_kernel(order: int) -> sp.Expr:
    r"""J_order(theta) = 2 pi E[sigma_k(u) sigma_k(v)] derived by a 2-D Gaussian integral in polar coordinates.

    .. math:: J_k(\theta) = \int_0^\infty r^{2k+1}e^{-r^2/2}\,dr
       \int_{\theta-\pi/2}^{\pi/2}\cos^k\phi\,\cos^k(\phi-\theta)\,d\phi

    (u = r cos phi, v = r cos(phi - theta) are both positive iff phi lies in (theta - pi/2, pi/2)).
    Hypotheses: order in {0, 1}, 0 <= theta <= pi. Equals :data:`ARCCOS_CLOSED` (tests/test_theory_ntk.py).
    """
    if order not in (0, 1):
        raise ValueError(f"arc-cosine kernel of order {order} is not derived here (orders 0 and 1)")
    rad, phi = sp.Symbol("rad", positive=True), sp.Symbol("phi", real=True)
    radial = sp.integrate(rad ** (2 * order + 1) * sp.exp(-rad**2 / 2), (rad, 0, sp.oo))
    integrand = sp.expand_trig((sp.cos(phi) * sp.cos(phi - theta)) ** order)
    angular = sp.integrate(integrand, (phi, theta - sp.pi / 2, sp.pi / 2))
    return sp.simplify(sp.expand_trig(radial * angular))


def arccos_kernel_quadrature(order: int, angle: float, dps: int = 20) -> mpmath.mpf:
    """J_order(angle) by Gaussian quadrature in z1 with mpmath, the z2-integral done by the normal CDF.

    With u = z1, v = cos(angle) z1 + sin(angle) z2 (z1, z2 i.i.d. N(0, 1)) and m = cos(angle) z1, s = sin(angle):
    E[1{v > 0} | z1] = Phi(m/s), E[relu(v) | z1] = m Phi(m/s) + s phi(m/s). The independent cross-check of
    :func:`arccos_kernel` (no polar substitution). Hypothesis: 0 < angle < pi.
    """
    with mpmath.workdps(dps):
        c, s = mpmath.cos(angle), mpmath.sin(angle)

        def conditional(z1: mpmath.mpf) -> mpmath.mpf:
            m = c * z1
            if order == 0:
                return mpmath.ncdf(m / s)
            return z1 * (m * mpmath.ncdf(m / s) + s * mpmath.npdf(m / s))

        return 2 * mpmath.pi * mpmath.quad(lambda z1: mpmath.npdf(z1) * conditional(z1), [0, mpmath.inf])


@cache
def ntk_infinite() -> sp.Expr:
    r"""K∞(x, x') of the two-layer ReLU net with w ~ N(0, I/d), a ~ N(0, 1), in (norm_x, norm_y, theta, d).

    .. math:: K_\infty = E[\mathrm{relu}(w^\top x)\mathrm{relu}(w^\top x')]
       + E[a^2]\,E[1\{w^\top x>0\}1\{w^\top x'>0\}]\,x^\top x'

    with w'x ~ N(0, ||x||^2/d): the first term is (||x|| ||x'||/d) J_1/(2 pi), the second x'x' J_0/(2 pi).
    Source: Jacot et al. 2018; CLAIMS-DETAIL §1.20 (the catalog's formula, reproduced here).
    """
    dot = norm_x * norm_y * sp.cos(theta)
    return norm_x * norm_y / (2 * sp.pi * d) * arccos_kernel(1) + dot * arccos_kernel(0) / (2 * sp.pi)


def neuron_output(name: str, dim: int) -> tuple[sp.Expr, tuple[sp.Symbol, ...], tuple[sp.Symbol, ...]]:
    """One neuron's contribution a sigma(w'x)/sqrt(n) in explicit coordinates: (expr, w symbols, x symbols)."""
    ws = tuple(sp.Symbol(f"w_{k}", real=True) for k in range(dim))
    xs = tuple(sp.Symbol(f"x_{k}", real=True) for k in range(dim))
    pre = sum(wk * xk for wk, xk in zip(ws, xs, strict=True))
    return a_i * activation(name).subs(z, pre) / sp.sqrt(n), ws, xs


@cache
def neuron_jacobian(name: str, dim: int) -> tuple[tuple[sp.Expr, ...], tuple[sp.Symbol, ...]]:
    """(df/da_i, df/dw_i0, ..., df/dw_i(dim-1)) differentiated by sympy, and the argument order
    (a_i, w_0.., x_0.., n) for :func:`theory.numeric.compile`."""
    expr, ws, xs = neuron_output(name, dim)
    grads = tuple(_no_sign(sp.diff(expr, v)) for v in (a_i, *ws))
    return grads, (a_i, *ws, *xs, n)


#: The seed's a-gradient, n^{-1/2} sigma'(w_i'x) — wrong (the derivative of a_i sigma(z) in a_i is sigma(z)).
def seed_jacobian_a(name: str) -> sp.Expr:
    """The seed's formula for df/da_i as a function of z and n (kept to contrast; not a true derivative)."""
    return derivative(name, 1) / sp.sqrt(n)


SEED_JACOBIAN_A = "df/da_i = (1/sqrt(n)) sigma'(w_i'x)"


def hessian_block_norm(name: str) -> sp.Expr:
    r"""||B_i||_2 of one neuron's Hessian block, in (a_i, z, r = ||x||, n).

    On the orthonormal basis {e_a, (0, x/||x||)} of the block's range, B_i acts as
    :math:`M = n^{-1/2}\begin{pmatrix}0 & b\\ b & c\end{pmatrix}`, :math:`b = \sigma' r`, :math:`c = a_i\sigma'' r^2`,
    with eigenvalues :math:`(c \pm \sqrt{c^2 + 4b^2})/(2\sqrt n)`, so
    :math:`\|B_i\|_2 = (|c| + \sqrt{c^2 + 4b^2})/(2\sqrt n)`. ReLU (sigma'' = 0 a.e.): r/sqrt(n) on active neurons.
    The reduction and the eigenvalues are proved against sympy's Hessian in tests/test_theory_ntk.py.
    """
    b, c = derivative(name, 1) * r, a_i * derivative(name, 2) * r**2
    return (sp.Abs(c) + sp.sqrt(c**2 + 4 * b**2)) / (2 * sp.sqrt(n))


def reduced_block(name: str) -> sp.Matrix:
    """The 2×2 matrix M of :func:`hessian_block_norm` (B_i restricted to span{e_a, (0, x/||x||)})."""
    b, c = derivative(name, 1) * r, a_i * derivative(name, 2) * r**2
    return sp.Matrix([[0, b], [b, c]]) / sp.sqrt(n)


@cache
def sup_block_norm(name: str, norm: float, dps: int = 30) -> float:
    """sup over z of sqrt(n) ||B_i||_2 for |a_i| = 1 (Rademacher a) at ||x|| = norm, by mpmath maximisation.

    The exact constant C in ||∇²f||_2 <= C / sqrt(n) (bounded a); relu: C = norm.
    """
    if name == "relu":
        return float(norm)
    expr = hessian_block_norm(name).subs({a_i: 1, r: norm, n: 1})
    g = numeric.mpmath_callable(expr, z)
    with mpmath.workdps(dps):
        grid = [mpmath.mpf(k) / 50 for k in range(1, 400)]
        start = max(grid, key=g)
        best = mpmath.findroot(lambda t: mpmath.diff(g, t), start)
        return float(max(g(best), g(mpmath.mpf(0))))
