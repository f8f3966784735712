r"""SGD under a local Łojasiewicz (PL) condition with machine-learning noise (seed 003: An & Lu, arXiv 2304.09221).

**Setting.** :math:`\theta_{k+1} = \theta_k - \eta\nabla f(\theta_k, \xi_k)`,
:math:`\nabla f = \nabla F + \sqrt{\sigma F}\,Z` ("machine-learning noise"), :math:`E Z = 0`, :math:`E|Z|^2 \le 1`;
on :math:`B(\theta_0, r)`: local PL :math:`|\nabla F|^2 \ge \mu_{pl}F`, :math:`F \ge 0`, and :math:`C_L`-smoothness
(the descent lemma :math:`F(\theta') \le F(\theta) + \nabla F\cdot(\theta' - \theta) + \tfrac{C_L}2|\theta' - \theta|^2`
on the segments a step can take), which with :math:`F \ge 0` gives :math:`|\nabla F|^2 \le 2C_LF`.

**One step** (:func:`derived_contraction_factor`). The conditional expectation of the descent lemma is
:math:`F - \eta G + \tfrac{C_L\eta^2}2(G + \sigma F\,E|Z|^2)`, :math:`G = |\nabla F|^2`. Bounding term by term, as the
paper does — :math:`-\eta G \le -\eta\mu_{pl}F`, :math:`\tfrac{C_L\eta^2}2G \le C_L^2\eta^2F`, :math:`E|Z|^2 \le 1` —
gives the factor quoted by the seed,

.. math:: \rho(\eta) = 1 - \eta\mu_{pl} + \tfrac{\eta^2}2C_L(2C_L + \sigma),

:math:`\rho < 1` iff :math:`\eta < 2\mu_{pl}/(C_L(2C_L + \sigma))`, best at :math:`\eta^* = \mu_{pl}/(C_L(2C_L +
\sigma))` with :math:`\rho_{min} = 1 - \mu_{pl}^2/(2C_L(2C_L + \sigma))`. On :math:`F = \tfrac h2|\theta|^2`
(:math:`\mu_{pl} = 2h`, :math:`C_L = h`) the exact factor is :math:`(1 - \eta h)^2 + \eta^2h\sigma E|Z|^2/2`
(:func:`quadratic_factor`, whatever the law of Z beyond its first two moments), equal to :math:`\rho` when
:math:`E|Z|^2 = 1`: the bound is attained (CLAIMS-DETAIL §6 5.1, §9.15).

**Staying in the ball** (:func:`exit_probability_bound`). With :math:`a_k = E[F(\theta_k)1_{E_k}] \le \rho^kF_0`
(:math:`E_k` = "theta_0 .. theta_k in the ball"), one step moves at most
:math:`\eta(\sqrt{2C_LF} + \sqrt{\sigma F}|Z|)` and :math:`E|Z| \le 1`, so by Jensen the expected path length inside
the ball is at most :math:`\eta(\sqrt{2C_L} + \sqrt\sigma)\sqrt{F_0}\sum_k\rho^{k/2} =
\eta(\sqrt{2C_L} + \sqrt\sigma)\sqrt{F_0}/(1 - \sqrt\rho)` (:func:`path_length_bound`); leaving the ball needs a
path of length >= r, so by Markov :math:`P(\exists k: \theta_k \notin B(\theta_0, r)) \le
\eta(\sqrt{2C_L} + \sqrt\sigma)\sqrt{F_0}/(r(1 - \sqrt\rho))`. The seed's form ("... < F(θ0)((√(2C_L) + √σ)η*√ρ/(1 −
√ρ) + ρ²M0(1 − ρ))") is garbled and carries a term of the paper's extra structural assumption (M0) that cannot be
reconstructed. On the event of staying, :math:`F(\theta_k) \to 0` (:math:`E[F_k1_{E_k}] \le \rho^kF_0`) and the path
length is finite, so :math:`\theta_k` converges to a zero of F in the closed ball: a global minimum.

**How loose the exit bound is.** It is Markov's inequality on the path length, and an exit is a rare event that the
path length does not see: on the isotropic quadratic :math:`|\theta_k|^2` is a supermartingale, every chain that stays
still travels at least :math:`|\theta_0|` (to the minimum), and leaving :math:`B(\theta_0, r)` with r well above
:math:`|\theta_0|` needs a run of noise draws that make :math:`|\theta|` grow several-fold. On the line (d = 1,
:math:`Z = \pm1`) the chain is :math:`\theta_k = \theta_0\prod_{j<k}M_j` with :math:`M_j` the two multipliers
:math:`1 - \eta h \mp \eta\sqrt{\sigma h/2}` (:func:`line_multipliers`) drawn with probability 1/2 each: when both are
positive the chain leaves :math:`B(\theta_0, r)` (r >= theta_0) only through :math:`\theta_0 + r`, and the probability
that it does within K steps is that of a lattice random walk in :math:`\log\theta` crossing a barrier, exact by
dynamic programming (:func:`checks.oracles.lojasiewicz.line_exit_probability`). Over every step size and noise level
with both multipliers positive and a bound <= 0.7 it is at most 5.4e-4 (tests/test_power_lojasiewicz.py), and
simulation over d in {1, 2, 3}, eta h in [0.05, 1.6], sigma/h in [0.25, 32], r/|theta_0| in [1, 6] finds no exit
frequency above 5e-4 with a bound <= 0.95: wherever exits happen at all the bound is loose by three orders of
magnitude, and no test problem of this noise oracle (|Z| = 1) makes it tight.

**The ring** :math:`F = (|\theta|^2 - 1)^2/2` (non-convex; minima: the unit sphere): :math:`|\nabla F|^2 = 8sF`
(s = |theta|^2) and Hessian eigenvalues :math:`2(s - 1)` (tangential) and :math:`6s - 2` (radial), derived by
:func:`ring_pl_ratio` and :func:`ring_hessian_eigenvalues`; :func:`ring_constants` gives
:math:`\mu_{pl} = 8\min_B s` on the ball and :math:`C_L = \max|{\rm eig}|` on the ball enlarged by a margin that
bounds one step (with |Z| = 1 the step is bounded, :func:`ring_step_bound`).

**Bounded noise and Robbins–Monro steps** (the paper's negative argument, §4; the seed overstates it). On
:math:`F = h\theta^2/2` with :math:`\nabla f = h\theta + \sigma Z`, :math:`E Z = 0`, :math:`E Z^2 = 1`, and
:math:`\eta_k = \gamma/(k + n_0)^q`: :math:`m_{k+1} = (1 - \eta_kh)^2m_k + \eta_k^2\sigma^2` exactly
(:func:`bounded_noise_moment_map`, :math:`m = E\theta^2`); for 1/2 < q < 1 the dominant balance
(:func:`bounded_noise_leading_term`) gives :math:`m_k \sim \gamma\sigma^2/(2h)\,(k + n_0)^{-q}`, i.e.
:math:`E F(\theta_k) \sim (\sigma^2/4)\eta_k \propto k^{-q}` — algebraic, never geometric (for q = 1 the exponent is
:math:`\min(1, 2\gamma h)`). The relative correction is :math:`q/(2\gamma h)\,(k + n_0)^{q-1}`: slow. The paper's
path-length argument then needs :math:`\sum_k\eta_kE|\sigma Z| = \sigma\sum_k\eta_k`, which diverges for q <= 1, so it
yields no positive probability of staying in the ball; it does not show that SGD fails: with
:math:`\sum\eta_k = \infty`, :math:`\sum\eta_k^2 < \infty` (q in (1/2, 1]) Robbins–Monro SGD converges almost surely on
strongly convex problems (:func:`robbins_monro_series`).

Source: seed 003 (quoted contraction inequality, "paper §3"; the garbled escape bound; "bounded noise with
Robbins–Monro step sizes cannot guarantee convergence"); An & Lu, arXiv 2304.09221 (only the abstract, and the TeX
source's commented-out abstract, could be read: the numbered theorems, Thm 3.1 included, were not available, so every
statement here is derived; CLAIMS-DETAIL §6 5.1–5.4, §9.15); Robbins & Monro (1951). Proved in
tests/test_theory_lojasiewicz.py.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from sgd_conformance.theory.symbols import coordinates, eta, k, sigma

mu_pl = sp.Symbol("mu_pl", positive=True)  #: local PL constant: |grad F|^2 >= mu_pl F on the ball (An & Lu's alpha)
C_L = sp.Symbol("C_L", positive=True)  #: smoothness constant on the ball (descent lemma)
h = sp.Symbol("h", positive=True)  #: curvature of the quadratic F = h |theta|^2 / 2 (the catalog's mu in 5.4)
m2 = sp.Symbol("m2", positive=True)  #: E|Z|^2 of the noise direction
r = sp.Symbol("r", positive=True)  #: radius of the ball B(theta_0, r)
F0 = sp.Symbol("F0", positive=True)  #: F(theta_0)
rho = sp.Symbol("rho", positive=True)  #: one-step contraction factor
s = sp.Symbol("s", nonnegative=True)  #: |theta|^2 on the ring
gamma = sp.Symbol("gamma", positive=True)  #: Robbins–Monro scale: eta_k = gamma / (k + n0)^q
n0 = sp.Symbol("n0", positive=True)  #: Robbins–Monro offset
q = sp.Symbol("q", positive=True)  #: Robbins–Monro exponent
m = sp.Symbol("m", nonnegative=True)  #: second moment E theta^2 (1-D)
x = sp.Symbol("x", positive=True)  #: 1 / (k + n0), the small parameter of the Robbins–Monro asymptotics

_F = sp.Symbol("F", positive=True)  #: the value F(theta_k)
_G = sp.Symbol("G", nonnegative=True)  #: |grad F(theta_k)|^2


def noise_expectation(expr: sp.Expr, z: tuple[sp.Symbol, ...], second: sp.Matrix) -> sp.Expr:
    """E over Z of a polynomial of degree <= 2 in ``z``, for E Z = 0 and E Z Z' = ``second``."""
    total = sp.Integer(0)
    for monomial, coefficient in sp.Poly(sp.expand(expr), *z).terms():
        degree = sum(monomial)
        if degree == 0:
            total += coefficient
        elif degree == 2:
            i, j = [index for index, power in enumerate(monomial) for _ in range(power)]
            total += coefficient * second[i, j]
        elif degree > 2:
            raise ValueError(f"{expr} has degree {degree} > 2 in the noise")
    return total


def _noise(d: int) -> tuple[tuple[sp.Symbol, ...], sp.Matrix]:
    """Noise symbols z_i and a general symmetric second-moment matrix S (tr S = E|Z|^2)."""
    z = coordinates(d, "z")
    second = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"S_{min(i, j)}{max(i, j)}", real=True))
    return z, second


def _trace_to_m2(expr: sp.Expr, second: sp.Matrix) -> sp.Expr:
    """Substitute tr S = m2 (eliminate the last diagonal entry)."""
    d = second.shape[0]
    return sp.expand(expr.subs(second[d - 1, d - 1], m2 - sum(second[i, i] for i in range(d - 1))))


@cache
def descent_lemma_expectation(d: int = 2) -> sp.Expr:
    r""":math:`E[F + \nabla F\cdot\Delta + \tfrac{C_L}2|\Delta|^2]`, :math:`\Delta = -\eta(g + \sqrt{\sigma F}Z)`,
    in F, G = |g|^2 and m2 = E|Z|^2 (derived in d dimensions with a general noise covariance)."""
    g = coordinates(d, "g")
    z, second = _noise(d)
    step = [-eta * (g[i] + sp.sqrt(sigma * _F) * z[i]) for i in range(d)]
    upper = _F + sum(g[i] * step[i] for i in range(d)) + C_L / 2 * sum(c**2 for c in step)
    expected = _trace_to_m2(noise_expectation(upper, z, second), second)
    squares = sum(c**2 for c in g)
    return sp.expand(expected.subs(g[d - 1] ** 2, _G - (squares - g[d - 1] ** 2)))


@cache
def derived_contraction_factor() -> sp.Expr:
    """rho derived from :func:`descent_lemma_expectation` by the paper's term-wise bounds: a negative coefficient of G
    takes G >= mu_pl F (PL), a positive one G <= 2 C_L F (smoothness and F >= 0); E|Z|^2 <= 1 (its coefficient is
    >= 0)."""
    expected = descent_lemma_expectation()
    coefficient_g = expected.coeff(_G)
    rest = sp.expand(expected - coefficient_g * _G)
    if not sp.expand(rest.coeff(m2)).is_nonnegative:
        raise ArithmeticError("the coefficient of E|Z|^2 is not non-negative")
    bound = rest.subs(m2, 1)
    for term in sp.Add.make_args(sp.expand(coefficient_g)):
        bound += term * (mu_pl * _F if term.is_negative else 2 * C_L * _F)
    return sp.expand(sp.simplify(bound / _F))


def contraction_factor() -> sp.Expr:
    """The seed's (An & Lu's) factor 1 - eta mu_pl + (eta^2/2) C_L (2 C_L + sigma), as quoted."""
    return 1 - eta * mu_pl + eta**2 / 2 * C_L * (2 * C_L + sigma)


@cache
def largest_contracting_step() -> sp.Expr:
    """The positive root of rho(eta) = 1: rho < 1 iff 0 < eta < 2 mu_pl / (C_L (2 C_L + sigma))."""
    roots = [root for root in sp.solve(sp.Eq(derived_contraction_factor(), 1), eta) if root != 0]
    (root,) = roots
    return sp.simplify(root)


@cache
def optimal_step() -> tuple[sp.Expr, sp.Expr]:
    """(eta*, rho(eta*)): the minimiser of rho in eta, mu_pl / (C_L (2 C_L + sigma)), and
    1 - mu_pl^2 / (2 C_L (2 C_L + sigma))."""
    factor = derived_contraction_factor()
    (best,) = sp.solve(sp.diff(factor, eta), eta)
    return sp.simplify(best), sp.simplify(factor.subs(eta, best))


@cache
def quadratic_factor(d: int = 3) -> sp.Expr:
    r"""Exact :math:`E[F(\theta')]/F(\theta)` for :math:`F = \tfrac h2|\theta|^2` and
    :math:`\theta' = \theta - \eta(h\theta + \sqrt{\sigma F}Z)`, E Z = 0, general E ZZ' of trace m2:
    :math:`(1 - \eta h)^2 + \eta^2h\sigma m_2/2` (independent of theta and of the law of Z beyond E|Z|^2)."""
    theta = coordinates(d)
    z, second = _noise(d)
    loss = h / 2 * sum(c**2 for c in theta)
    after = [theta[i] - eta * (h * theta[i] + sp.sqrt(sigma * loss) * z[i]) for i in range(d)]
    expected = _trace_to_m2(noise_expectation(h / 2 * sum(c**2 for c in after), z, second), second)
    return sp.factor(sp.simplify(expected / loss))


@cache
def quadratic_constants(d: int = 3) -> tuple[sp.Expr, sp.Expr]:
    """(mu_pl, C_L) of F = (h/2)|theta|^2: |grad F|^2 / F = 2h everywhere, Hessian h I."""
    theta = coordinates(d)
    loss = h / 2 * sum(c**2 for c in theta)
    grad = [sp.diff(loss, c) for c in theta]
    ratio = sp.simplify(sum(g**2 for g in grad) / loss)
    eigenvalues = set(sp.hessian(loss, theta).eigenvals())
    (curvature,) = eigenvalues
    return ratio, curvature


@cache
def line_multipliers() -> tuple[sp.Expr, sp.Expr]:
    r"""The two values of :math:`\theta'/\theta` for SGD with machine-learning noise on :math:`F = h\theta^2/2` in
    d = 1 with Z = -1, +1 (theta > 0): :math:`1 - \eta h + \eta\sqrt{\sigma h/2}` and :math:`1 - \eta h -
    \eta\sqrt{\sigma h/2}` (a theta < 0 flips Z's sign, which has the same law), sorted (smaller first)."""
    theta = sp.Symbol("theta", positive=True)
    loss = h * theta**2 / 2
    after = [theta - eta * (sp.diff(loss, theta) + sp.sqrt(sigma * loss) * z) for z in (1, -1)]
    return tuple(sp.simplify(sp.expand(a / theta)) for a in after)  # type: ignore[return-value]


def ring_loss(d: int = 2) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    """F = (|theta|^2 - 1)^2 / 2 and its coordinates."""
    theta = coordinates(d)
    return (sum(c**2 for c in theta) - 1) ** 2 / 2, theta


def _in_s(expr: sp.Expr, theta: tuple[sp.Symbol, ...]) -> sp.Expr:
    """Rewrite a function of |theta|^2 in s (eliminating theta_0^2)."""
    rest = sum(c**2 for c in theta[1:])
    return sp.simplify(sp.expand(expr).subs(theta[0] ** 2, s - rest))


@cache
def ring_pl_ratio(d: int = 2) -> sp.Expr:
    """|grad F|^2 / F on the ring, in s = |theta|^2: 8 s."""
    loss, theta = ring_loss(d)
    grad_sq = sum(sp.diff(loss, c) ** 2 for c in theta)
    return _in_s(sp.cancel(grad_sq / loss), theta)


@cache
def ring_hessian_eigenvalues() -> tuple[sp.Expr, sp.Expr]:
    """Eigenvalues of the ring's Hessian in R^2, in s: (2 (s - 1), 6 s - 2) (tangential, radial)."""
    loss, theta = ring_loss(2)
    hessian = sp.hessian(loss, theta)
    trace = _in_s(hessian.trace(), theta)
    determinant = sp.factor(_in_s(hessian.det(), theta))
    lam = sp.Symbol("lam")
    roots = sp.solve(lam**2 - trace * lam + determinant, lam)
    return tuple(sorted((sp.factor(root) for root in roots), key=lambda e: float(e.subs(s, 2))))  # type: ignore


def ring_step_bound() -> sp.Expr:
    """Largest step / eta on the ring with |Z| = 1, in s: |grad F| + sqrt(sigma F) = |s - 1| (2 sqrt(s) +
    sqrt(sigma/2))."""
    return sp.sqrt(ring_pl_ratio() * _ring_value()) + sp.sqrt(sigma * _ring_value())


def ring_largest_step(s_range: tuple[sp.Expr, sp.Expr], sigma_value: sp.Expr) -> sp.Expr:
    """Max of :func:`ring_step_bound` over s in ``s_range`` (exact: sympy's maximum on each side of s = 1)."""
    from sympy.calculus.util import maximum

    bound = ring_step_bound().subs(sigma, sp.nsimplify(sigma_value))
    lo, hi = s_range
    pieces = [(1 - s, sp.Interval(lo, sp.Min(hi, 1))), (s - 1, sp.Interval(sp.Max(lo, 1), hi))]
    return sp.Max(*(maximum(bound.subs(sp.Abs(s - 1), side), s, interval)
                    for side, interval in pieces if not interval.is_empty))


def _ring_value() -> sp.Expr:
    return (s - 1) ** 2 / 2


def ring_constants(norm0: sp.Expr, radius: sp.Expr, margin: sp.Expr) -> dict[str, sp.Expr]:
    """Local constants of the ring on B(theta_0, radius), |theta_0| = norm0 > radius: mu_pl = min of 8 s on the ball;
    C_L = max |Hessian eigenvalue| on the ball enlarged by ``margin`` (the segments of one step); grad_ratio = max of
    |grad F|^2 / F on the ball (must be <= 2 C_L). The eigenvalues are linear in s, so extremes sit at the ends of
    the s-range; ``s_range`` is that of the ball itself."""
    norm0, radius, margin = (sp.nsimplify(v) for v in (norm0, radius, margin))
    if not norm0 > radius:
        raise ValueError("the ball must not contain the origin (mu_pl = 0 there)")
    s_lo, s_hi = (norm0 - radius) ** 2, (norm0 + radius) ** 2
    wide = (sp.Max(norm0 - radius - margin, 0) ** 2, (norm0 + radius + margin) ** 2)
    ratio = ring_pl_ratio()
    curvature = sp.Max(*(abs(e.subs(s, end)) for e in ring_hessian_eigenvalues() for end in wide))
    return {"mu_pl": ratio.subs(s, s_lo), "C_L": curvature, "grad_ratio": ratio.subs(s, s_hi),
            "s_range": (s_lo, s_hi)}


def exit_probability_bound() -> sp.Expr:
    """P(the chain ever leaves B(theta_0, r)) <= eta (sqrt(2 C_L) + sqrt(sigma)) sqrt(F0) / (r (1 - sqrt(rho)))."""
    return path_length_bound() / r


def path_length_bound() -> sp.Expr:
    """E[path length inside the ball] <= eta (sqrt(2 C_L) + sqrt(sigma)) sqrt(F0) sum_k rho^(k/2) (summed by sympy)."""
    series = sp.summation(rho ** (k / 2), (k, 0, sp.oo))
    closed = series.args[0][0] if isinstance(series, sp.Piecewise) else series
    return eta * (sp.sqrt(2 * C_L) + sp.sqrt(sigma)) * sp.sqrt(F0) * sp.simplify(closed)


def robbins_monro_step() -> sp.Expr:
    """eta_k = gamma / (k + n0)^q."""
    return gamma / (k + n0) ** q


@cache
def bounded_noise_moment_map() -> sp.Expr:
    """E theta'^2 for theta' = theta - eta (h theta + sigma Z), E Z = 0, E Z^2 = 1, in m = E theta^2:
    (1 - eta h)^2 m + eta^2 sigma^2."""
    theta, z = sp.Symbol("theta", real=True), sp.Symbol("z", real=True)
    after = theta - eta * (h * theta + sigma * z)
    expected = noise_expectation(after**2, (z,), sp.Matrix([[1]]))
    return sp.expand(expected.subs(theta**2, m))


@cache
def bounded_noise_fixed_point() -> sp.Expr:
    """Stationary E theta^2 at a fixed step: eta sigma^2 / (h (2 - eta h)) (E F = h m / 2 -> eta sigma^2 / 4)."""
    (fixed,) = sp.solve(sp.Eq(m, bounded_noise_moment_map()), m)
    return sp.factor(fixed)


@cache
def bounded_noise_leading_term(q_value: sp.Rational) -> sp.Expr:
    r"""The constant c of :math:`m_k \sim c\,(k + n_0)^{-q}` under Robbins–Monro steps, 1/2 < q < 1: with
    x = 1/(k + n0) and the ansatz :math:`m_k = cx^q`, the recursion residual
    :math:`cx^q(1 + x)^{-q} - (1 - \gamma hx^q)^2cx^q - \gamma^2\sigma^2x^{2q}` is
    :math:`(2\gamma hc - \gamma^2\sigma^2)x^{2q} + o(x^{2q})` (the lag term is O(x^(1+q)), smaller since q < 1), so
    :math:`c = \gamma\sigma^2/(2h)` and :math:`E F_k = hm_k/2 \sim (\sigma^2/4)\eta_k`."""
    if not sp.Rational(1, 2) < q_value < 1:
        raise ValueError("the dominant balance needs 1/2 < q < 1")
    c = sp.Symbol("c", positive=True)
    step = gamma * x**q_value
    residual = c * (x / (1 + x)) ** q_value - bounded_noise_moment_map().subs({eta: step, m: c * x**q_value})
    leading = sp.limit(sp.simplify(residual / x ** (2 * q_value)), x, 0)
    (constant,) = sp.solve(leading, c)
    return sp.simplify(constant)


def bounded_noise_asymptotic_loss() -> sp.Expr:
    """E F(theta_k) ~ (sigma^2 / 4) eta_k (from :func:`bounded_noise_leading_term`, any 1/2 < q < 1)."""
    return sigma**2 / 4 * robbins_monro_step()


def robbins_monro_series(q_value: sp.Rational) -> dict[str, bool]:
    """Convergence of sum eta_k (the paper's path-length series with bounded noise: sigma sum eta_k) and of
    sum eta_k^2 (Robbins–Monro's condition), for gamma = n0 = 1 (the constants do not matter)."""
    step = robbins_monro_step().subs({gamma: 1, n0: 1, q: q_value})
    return {"sum eta_k": bool(sp.Sum(step, (k, 0, sp.oo)).is_convergent()),
            "sum eta_k^2": bool(sp.Sum(step**2, (k, 0, sp.oo)).is_convergent())}
