r"""Numeric oracles of the tails of online SGD and of the Euler–Maruyama chain of the least-squares SDE: Kesten–Goldie
tail indices by quadrature and root finding, and Hill's estimator with its exact law under a known distribution.

**Kesten–Goldie.** A 1-D chain :math:`\delta' = A\delta + B` has the stationary tail :math:`P(|\delta| > x) \sim
Cx^{-\alpha}` with :math:`E|A|^\alpha = 1` (Goldie 1991, Thm 4.1): online SGD (:func:`sgd_tail_index`,
:math:`A = 1 - (\gamma/b)\sum_{j\le b} x_j^2`) and the Euler–Maruyama chain of the SDE (:func:`em_tail_index`, from
the closed form :func:`sgd_conformance.theory.tails.gaussian_absolute_moment`); the symbolic side (the SDE's critical
moment, the even-moment equations and maps) is :mod:`sgd_conformance.theory.tails`.

**Hill.** :func:`hill_oracle` gives the exact mean, sd and skewness of the Hill statistic of N i.i.d. draws of a
known law, from the order-statistics representation :math:`F(X_{(N-k)}) \sim \mathrm{Beta}(N-k, k+1)` and, given
:math:`X_{(N-k)} = u`, k i.i.d. draws of :math:`X \mid X > u`; it removes the finite-k bias of Hill (large for
Student-t) from a test of the tail. Sources: Hill (1975); Goldie (1991); CLAIMS-DETAIL §4.8, §9.4, §9.6. Proved in
tests/test_theory_tails.py.

**Online SGD's iterate.** :func:`online_sgd_iterate_law` computes the law of 1-D online SGD's iterate after k steps
without sampling (Gaussian given the features, its variance a perpetuity whose survival is iterated on a grid), the
law under which :meth:`IterateLaw.hill` gives Hill's exact mean and sd (tests/test_theory_kesten_iterate_law.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import mpmath
import numpy as np
from scipy import integrate, interpolate, optimize, special
from scipy import stats as sps

from sgd_conformance.theory.tails import gaussian_absolute_moment

# --- Kesten–Goldie tail indices -----------------------------------------------------------------------------------


def _positive_root(log_moment: Callable[[float], float], guess: float) -> float:
    """The root alpha > 0 of log E|A|^alpha = 0 (convex in alpha, zero at 0, negative slope E log|A| there)."""
    hi = guess
    while log_moment(hi) < 0:
        hi *= 2
    lo = hi / 2
    while log_moment(lo) > 0 and lo > 1e-6:
        lo /= 2
    return float(optimize.brentq(log_moment, lo, hi, xtol=1e-13, rtol=1e-14))


@cache
def em_tail_index(curvature: float, growth: float, gamma_: float, dt: float) -> float:
    r"""Tail index of the Euler–Maruyama chain :math:`\delta' = (1 - h\,dt)\delta + \sqrt{\gamma(v\delta^2 + 2w\delta
    + c)}\,\Delta W`: for large :math:`|\delta|` it is :math:`\delta' = A\delta + O(1)`, :math:`|A| \overset{d}{=}
    |1 - h\,dt + \sqrt{\gamma v\,dt}\,Z|` (Goldie 1991), so alpha solves :math:`E|A|^\alpha = 1`; it tends to
    :math:`1 + 2h/(\gamma v)` as dt -> 0."""
    mean, sd = 1 - curvature * dt, (gamma_ * growth * dt) ** 0.5

    def log_moment(alpha: float) -> float:
        return float(mpmath.log(gaussian_absolute_moment(mean, sd, alpha)))

    return _positive_root(log_moment, 1 + 2 * curvature / (gamma_ * growth))


def sgd_multiplier_moment(power: float, gamma_: float, batch: int = 1, curvature: float = 1.0) -> float:
    r""":math:`E|1 - (\gamma h/b)\chi^2_b|^\alpha` by quadrature in log scale, split at the zero
    :math:`y_0 = b/(\gamma h)` of the multiplier (a cusp) and around the peak of the integrand beyond it."""
    slope = gamma_ * curvature / batch
    zero = 1 / slope
    log_norm = (batch / 2) * np.log(2) + special.gammaln(batch / 2)

    def log_integrand(y: float) -> float:
        return power * np.log(abs(1 - slope * y)) + (batch / 2 - 1) * np.log(y) - y / 2 - log_norm

    peak = optimize.minimize_scalar(lambda y: -log_integrand(y), bounds=(zero * (1 + 1e-12), zero + 20 * (
        2 * power + batch + 10)), method="bounded")
    top = max(-peak.fun, log_integrand(min(zero / 2, 1.0)), 0.0)
    width = 4 * np.sqrt(2 * power + batch) + 4
    cuts = sorted({0.0, zero, max(zero, peak.x - width), peak.x, peak.x + width})

    def f(y: float) -> float:
        return 0.0 if y in (0.0, zero) else float(np.exp(log_integrand(y) - top))

    total = sum(integrate.quad(f, a_, b_, limit=200, epsabs=0, epsrel=1e-12)[0]
                for a_, b_ in zip(cuts[:-1], cuts[1:], strict=True))
    total += integrate.quad(f, cuts[-1], np.inf, limit=200, epsabs=0, epsrel=1e-12)[0]
    return float(np.exp(top) * total)


def sgd_multiplier_moment_mp(power: float, gamma_: float, batch: int = 1, curvature: float = 1.0,
                             dps: int = 30) -> mpmath.mpf:
    """The same expectation by mpmath tanh-sinh quadrature (an independent oracle, slower)."""
    with mpmath.workdps(dps):
        slope = mpmath.mpf(gamma_) * curvature / batch
        half = mpmath.mpf(batch) / 2
        norm = 2**half * mpmath.gamma(half)

        def f(y: mpmath.mpf) -> mpmath.mpf:
            return abs(1 - slope * y) ** power * y ** (half - 1) * mpmath.exp(-y / 2) / norm

        zero = 1 / slope
        return mpmath.quad(f, [0, zero, 2 * zero, zero + 4 * power + 4 * batch, mpmath.inf])


def sgd_log_multiplier_mean(gamma_: float, batch: int = 1, curvature: float = 1.0) -> float:
    """E log|A|: negative iff online SGD has a stationary law (Kesten)."""
    slope = gamma_ * curvature / batch
    law = sps.chi2(batch)

    def f(y: float) -> float:
        return float(np.log(abs(1 - slope * y)) * law.pdf(y))

    return float(sum(integrate.quad(f, a_, b_, limit=200)[0] for a_, b_ in ((0, 1 / slope), (1 / slope, np.inf))))


@cache
def sgd_tail_index(gamma_: float, batch: int = 1, curvature: float = 1.0) -> float:
    r"""Kesten–Goldie tail index of 1-D online SGD: the root :math:`\alpha > 0` of
    :math:`E|1 - (\gamma h/b)\chi^2_b|^\alpha = 1` (Gaussian features x ~ N(0, h))."""
    if sgd_log_multiplier_mean(gamma_, batch, curvature) >= 0:
        raise ValueError(f"E log|A| >= 0 at gamma h = {gamma_ * curvature}, b = {batch}: no stationary law")
    return _positive_root(lambda a_: float(np.log(sgd_multiplier_moment(a_, gamma_, batch, curvature))),
                          1 + batch / (gamma_ * curvature))




# --- Hill's estimator and its exact law under a known distribution ---------------------------------------------


def hill_estimator(sample: np.ndarray, k: int) -> float:
    r"""Hill (1975): :math:`H_k = \frac1k\sum_{i=1}^k \log X_{(N-i+1)} - \log X_{(N-k)}` of positive draws;
    1/H estimates the tail index."""
    top = np.sort(np.asarray(sample, dtype=float))[-(k + 1):]
    return float(np.mean(np.log(top[1:])) - np.log(top[0]))


@dataclass(frozen=True)
class HillOracle:
    """Exact moments of the Hill statistic H_k of n i.i.d. draws (skewness: the normal approximation's error)."""

    mean: float
    sd: float
    skewness: float
    n: int
    k: int


def hill_oracle(log_survival: Callable[[np.ndarray], np.ndarray], inverse_survival: Callable[[np.ndarray], np.ndarray],
                log_slope: Callable[[np.ndarray], np.ndarray], n: int, k: int, nodes: int = 32,
                laguerre: int = 100) -> HillOracle:
    r"""Mean, sd and skewness of :math:`H_k` for n i.i.d. draws of a continuous positive law with survival S.

    With :math:`U = X_{(n-k)}`, :math:`S(U) \sim \mathrm{Beta}(k+1, n-k)` and, given U = u, H is the mean of k
    i.i.d. copies of :math:`Y = \log(X/u) \mid X > u`, whose raw moments are
    :math:`E Y^j = j\int_0^\infty y^{j-1}S(ue^y)\,dy/S(u)`. Then :math:`EH = E e_1(U)`,
    :math:`\mathrm{Var}\,H = E\,\mathrm{Var}(Y\mid U)/k + \mathrm{Var}\,e_1(U)`, and the third cumulant by the law of
    total cumulance. Outer expectation: Gauss–Hermite in the normal score of the Beta law; inner integrals:
    Gauss–Laguerre in :math:`\lambda(u)y`, :math:`\lambda(u) = -d\log S/d\log x` (``log_slope``), accurate when u lies
    in the tail (lambda(u) >= 1, checked)."""
    z, weights = special.roots_hermitenorm(nodes)
    weights = weights / np.sqrt(2 * np.pi)
    threshold_law = sps.beta(k + 1, n - k)
    survival = np.where(z <= 0, threshold_law.ppf(sps.norm.cdf(z)), threshold_law.isf(sps.norm.sf(z)))
    u = inverse_survival(survival)
    rate = log_slope(u)
    if np.any(rate < 1):
        raise ValueError(f"threshold in the bulk (log-slope {rate.min():.3g} < 1): choose k/n smaller")
    t_nodes, t_weights = special.roots_laguerre(laguerre)
    y = t_nodes[:, None] / rate[None, :]
    log_x = np.minimum(np.log(u)[None, :] + y, 700.0)
    ratio = np.exp(log_survival(np.exp(log_x)) - log_survival(u)[None, :] + t_nodes[:, None])
    e1, e2, e3 = ((j + 1) * np.sum(t_weights[:, None] * y**j * ratio, axis=0) / rate for j in range(3))
    var_y = e2 - e1**2
    third_y = e3 - 3 * e1 * e2 + 2 * e1**3
    mean = weights @ e1
    within = weights @ var_y / k
    variance = within + weights @ (e1 - mean) ** 2
    third = (weights @ third_y / k**2 + 3 * weights @ ((e1 - mean) * (var_y / k - within))
             + weights @ (e1 - mean) ** 3)
    return HillOracle(float(mean), float(np.sqrt(variance)), float(third / variance**1.5), n, k)


@cache
def student_t_hill_oracle(nu: float, n: int, k: int) -> HillOracle:
    """:func:`hill_oracle` for |T|, T ~ t_nu (Hill is scale-free, so this serves any scale c T)."""
    def log_survival(q: np.ndarray) -> np.ndarray:
        return np.log(2) + sps.t.logsf(q, nu)

    def log_slope(q: np.ndarray) -> np.ndarray:
        return q * 2 * sps.t.pdf(q, nu) / np.exp(log_survival(q))

    return hill_oracle(log_survival, lambda r: sps.t.isf(r / 2, nu), log_slope, n, k)


# --- the law of 1-D online SGD's iterate after k steps, numerically exact --------------------------------------


@dataclass(frozen=True)
class IterateLaw:
    r"""The law of :math:`|\delta_k|` of 1-D online SGD (:func:`online_sgd_iterate_law`): survival, its inverse and
    its log-slope on a log grid of |delta| (cubic spline of log S in log y), continued above the grid by the
    Kesten–Goldie power :math:`S(y) \propto y^{-\alpha}`; :meth:`hill` is Hill's exact law under it."""

    log_y: np.ndarray
    log_s: np.ndarray
    alpha: float

    def _spline(self) -> interpolate.CubicSpline:
        return interpolate.CubicSpline(self.log_y, self.log_s)

    def log_survival(self, q: np.ndarray) -> np.ndarray:
        """log P(|delta_k| > q)."""
        lq = np.log(q)
        top = self.log_y[-1]
        return np.where(lq > top, self.log_s[-1] - self.alpha * (lq - top), self._spline()(np.minimum(lq, top)))

    def survival(self, q: np.ndarray) -> np.ndarray:
        return np.exp(self.log_survival(q))

    def log_slope(self, q: np.ndarray) -> np.ndarray:
        """-d log S / d log q."""
        lq = np.log(q)
        top = self.log_y[-1]
        return np.where(lq > top, self.alpha, -self._spline()(np.minimum(lq, top), 1))

    def inverse_survival(self, r: np.ndarray) -> np.ndarray:
        """The q with P(|delta_k| > q) = r (for r in the grid's range)."""
        return np.exp(interpolate.CubicSpline(self.log_s[::-1], self.log_y[::-1])(np.log(r)))

    def hill(self, n: int, k: int) -> HillOracle:
        r""":func:`hill_oracle` under this law. Hill's statistic is equivariant under powers,
        :math:`H_k(X^p) = p\,H_k(X)`, so the oracle is evaluated for :math:`|\delta|^{1/2}` (log-slope 2 alpha > 1
        where alpha is near 1, the Laguerre rule's condition) and scaled back; the quadrature is unchanged by it."""
        power = 0.5
        oracle = hill_oracle(lambda q: self.log_survival(q ** (1 / power)),
                             lambda r: self.inverse_survival(r) ** power,
                             lambda q: self.log_slope(q ** (1 / power)) / power, n, k)
        return HillOracle(oracle.mean / power, oracle.sd / power, oracle.skewness, n, k)


def _clustered(start: np.ndarray, end: np.ndarray, toward_end: bool, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on [start, end] per row after x = end - (end - start) tau^2 (or from start):
    clustered at the end where the integrand has a square-root or cusp singularity."""
    tau, weights = special.roots_legendre(nodes)
    tau, weights = (tau + 1) / 2, weights / 2
    length = (end - start)[:, None]
    offset = length * tau[None, :] ** 2
    return (end[:, None] - offset if toward_end else start[:, None] + offset), 2 * length * tau * weights


@cache
def online_sgd_iterate_law(gamma_: float, steps: int, curvature: float = 1.0, noise: float = 1.0,
                           grid: int = 800, nodes: int = 32) -> IterateLaw:
    r"""The law of :math:`\delta_k` of 1-D online SGD :math:`\delta' = (1 - \gamma x^2)\delta + \gamma x\xi` from
    :math:`\delta_0 = 0`, :math:`x \sim N(0, h)`, :math:`\xi \sim N(0, s^2)`, computed without sampling.

    Given the features, :math:`\delta_k` is centred Gaussian with variance :math:`V_k`, and
    :math:`V_{k+1} = (1 - \gamma h z^2)^2 V_k + \gamma^2 h s^2 z^2` with a fresh :math:`z \sim N(0, 1)`: a 1-D
    perpetuity, whose survival obeys :math:`G_{k+1}(v) = E\,G_k\big((v - \gamma^2hs^2z^2)/(1 - \gamma hz^2)^2\big)`
    (:math:`G_k = 1` at negative arguments), iterated from :math:`G_1(v) = P(\gamma^2hs^2z^2 > v)` on a log grid
    of v (1e-16 to 1e60; log G interpolated linearly in log v, continued above the grid by the Kesten power
    :math:`v^{-\alpha/2}`), the expectation by Gauss–Legendre on pieces split at :math:`z^2 = 1/(\gamma h)` (A = 0, a
    cusp) and at the edge :math:`\gamma^2hs^2z^2 = v` (a square root), z <= 14. Then
    :math:`P(|\delta_k| > y) = E\,2\bar\Phi(y/\sqrt{V_k}) = \int G_k(e^u)\,\varphi(ye^{-u/2})\,ye^{-u/2}\,du`
    (integration by parts). Accuracy of the defaults: in the tail, which Hill reads, at gamma h = 1 Hill's mean is
    within 4e-5 of a grid of 6400 and 96 nodes (< 0.01 of its sd at N = 4e5), and the survival within Monte Carlo
    error of 1e6 simulated chains; the bulk is good to ~2e-3 relative (kinks of the law of V converge slowly in the
    grid: at gamma h = 0.25, E delta_80^2 is 1.6e-3 below the exact recursion) (tests/
    test_theory_kesten_iterate_law.py). alpha is the Kesten root :func:`sgd_tail_index`."""
    alpha = sgd_tail_index(gamma_, 1, curvature)
    g, c = gamma_ * curvature, gamma_ * noise * curvature**0.5
    u = np.linspace(np.log(1e-16), np.log(1e60), grid)
    edge, cusp = np.sqrt(np.exp(u)) / c, 1 / np.sqrt(g)
    far = cusp + 14.0  # phi(z) < 1e-44 beyond
    first = np.minimum(edge, cusp)  # [0, first]: up to the edge or the cusp
    split = edge > cusp  # then [cusp, mid] and [mid, top]: the cusp at one end, the edge (or nothing) at the other
    mid = np.where(split, np.minimum((cusp + edge) / 2, far), first)
    top = np.where(split, np.minimum(edge, far), first)
    pieces = [_clustered(np.zeros(grid), first, True, nodes), _clustered(first, mid, False, nodes),
              _clustered(mid, top, True, nodes)]
    z = np.concatenate([p[0] for p in pieces], axis=1)
    weights = np.concatenate([p[1] for p in pieces], axis=1) * 2 * sps.norm.pdf(z)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 where the edge meets the cusp: G = 1 there
        argument = np.log(np.maximum((np.exp(u)[:, None] - (c * z) ** 2) / (1 - g * z**2) ** 2, 1e-300))
    inside, above = argument > u[0], argument > u[-1]
    beyond = 2 * sps.norm.sf(edge)  # z beyond the edge: the argument is negative, G = 1
    log_g = np.log(2) + sps.norm.logsf(edge)
    for _ in range(steps - 1):
        values = np.where(above, log_g[-1] - alpha / 2 * (argument - u[-1]), np.interp(argument, u, log_g))
        log_g = np.log(np.maximum(beyond + np.sum(weights * np.where(inside, np.exp(values), 1.0), axis=1), 1e-300))
    survival = np.exp(log_g)
    du = u[1] - u[0]
    extended = np.concatenate([u, u[-1] + du * np.arange(1, 4000)])
    g_ext = np.concatenate([survival, survival[-1] * np.exp(-alpha / 2 * (extended[grid:] - u[-1]))])
    trapezoid = np.full(extended.size, du)
    trapezoid[[0, -1]] = du / 2
    log_y = np.linspace(np.log(1e-3), np.log(1e12), 600)
    scaled = np.exp(log_y)[:, None] * np.exp(-extended / 2)[None, :]
    s_delta = (sps.norm.pdf(scaled) * scaled * g_ext) @ trapezoid + 2 * sps.norm.sf(np.exp(log_y - u[0] / 2))
    return IterateLaw(log_y, np.log(np.maximum(s_delta, 1e-300)), alpha)
