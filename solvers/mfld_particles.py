r"""The MFLD particle system: mean-field Langevin dynamics with M particles, batched over independent replicas, and
the moment functionals it is run on in the dynamics checks (closed-form Gaussian laws).

.. math:: x_j \leftarrow x_j - \eta\,\nabla_x \frac{\delta F}{\delta\mu}(\hat\mu_M)(x_j) + \sqrt{2\lambda\eta}\,\xi_j,
          \qquad \hat\mu_M = \frac1M\sum_{j=1}^M \delta_{x_j},\quad \xi_j \sim N(0, I_d)

is the Euler–Maruyama step of :math:`d\theta = -\nabla\frac{\delta F}{\delta q}(q_t)(\theta)\,dt + \sqrt{2\lambda}\,dW`
(Nitanda, Wu & Suzuki 2022; the Chainani & Zhang slides), whose law minimises :math:`L(q) = F(q) + \lambda\int q\log
q`. Convention
(the suite's): temperature T = lambda, eta is the whole time step. For each particle the update *is* one SGLD step
at temperature lambda with the mean-field gradient, so :func:`evolve` takes any ``step(theta, grad)`` of the
``sgld`` contract on the flattened batch ``(replicas * M, d)``.

Arrays: particles ``(replicas, M, d)``, float64; the interaction is an array reduction over the particle axis
(no Python loop over particles); one array-API code path serves NumPy and CuPy.

Problems (moment functionals): :math:`F(q) = \tfrac\kappa2|m_q - y|^2 + c\cdot m_q + \tfrac a2 E_q|\theta|^2`, so
:math:`\frac{\delta F}{\delta q}(\theta) = \kappa(m_q - y)\cdot\theta + c\cdot\theta + \tfrac a2|\theta|^2` and the
mean-field drift is :math:`-\kappa(m_q - y) - c - a\theta`. The closed-form Gaussian case of ``mfld.sandwich`` /
``mfld.exponential-decay`` is
kappa = 1, c = 0, a = 2 lambda' (:math:`F = \tfrac12(m_q - y)^2 + \lambda' E_q\theta^2`); the non-interacting
quadratic is kappa = 0 (F linear in q). Source: Nitanda, Wu & Suzuki, AISTATS 2022; the Chainani & Zhang slides.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sgd_conformance.solvers._xp import namespace

Step = Callable[[Any, Any], Any]


class MeanFieldProblem(Protocol):
    """What :func:`evolve` needs of a problem: the mean-field drift of every particle at its replica's empirical
    measure."""

    def gradient(self, particles: Any) -> Any:
        r""":math:`\nabla_x\frac{\delta F}{\delta\mu}(\hat\mu_M)(x_j)`, shape ``(replicas, M, d)``."""


@dataclass(frozen=True)
class MomentMeanField:
    r""":math:`F(q) = \tfrac\kappa2|m_q - y|^2 + c\cdot m_q + \tfrac a2 E_q|\theta|^2` (d = len(y)).

    ``interaction`` is kappa (0: non-interacting, F linear in q), ``shift`` is c, ``curvature`` is a > 0.
    """

    target: tuple[float, ...] = (1.0,)
    curvature: float = 1.0
    interaction: float = 1.0
    shift: tuple[float, ...] | None = None

    @property
    def d(self) -> int:
        return len(self.target)

    def _vector(self, values: tuple[float, ...] | None, xp: Any, like: Any) -> Any:
        data = values if values is not None else (0.0,) * self.d
        return xp.reshape(xp.asarray(data, dtype=like.dtype), (1, 1, self.d))

    def mean_field(self, particles: Any) -> Any:
        r"""The interaction :math:`\kappa(m_{\hat\mu} - y) + c`, shape ``(replicas, 1, d)``: one reduction per
        replica over its own particles."""
        xp = namespace(particles)
        centre = xp.mean(particles, axis=1, keepdims=True)
        return self.interaction * (centre - self._vector(self.target, xp, particles)) + self._vector(
            self.shift, xp, particles)

    def gradient(self, particles: Any) -> Any:
        r""":math:`\nabla_x\frac{\delta F}{\delta\mu}(\hat\mu_M)(x_j) = \kappa(m_M - y) + c + a x_j` for every particle,
        shape ``(replicas, M, d)``, each replica at its own empirical measure."""
        return self.mean_field(particles) + self.curvature * particles

    def free_energy(self, mean: Any, variance: Any, temperature: float) -> Any:
        r""":math:`L(q) = F(q) + \lambda E_q\log q` at :math:`q = N(m, vI_d)` (entropy :math:`\tfrac d2\log(2\pi e v)`),
        for arrays ``mean (..., d)`` and ``variance (...)``."""
        xp = namespace(mean)
        target = xp.asarray(self.target, dtype=mean.dtype)
        shift = xp.asarray(self.shift if self.shift is not None else (0.0,) * self.d, dtype=mean.dtype)
        second = xp.sum(mean**2, axis=-1) + self.d * variance
        energy = (0.5 * self.interaction * xp.sum((mean - target) ** 2, axis=-1) + xp.sum(shift * mean, axis=-1)
                  + 0.5 * self.curvature * second)
        return energy - temperature * 0.5 * self.d * (xp.log(2 * math.pi * variance) + 1.0)


def gaussian_case(target: float = 1.0, lam_reg: float = 0.25) -> MomentMeanField:
    r"""The closed-form case :math:`F(q) = \tfrac12(m_q - y)^2 + \lambda' E_q\theta^2` in d = 1."""
    return MomentMeanField(target=(target,), curvature=2 * lam_reg, interaction=1.0)


def non_interacting(curvature: float = 1.0, shift: float = 0.0) -> MomentMeanField:
    r""":math:`F(q) = E_q[c\theta + a\theta^2/2]` in d = 1: every particle moves alone in the potential
    :math:`c\theta + a\theta^2/2`."""
    return MomentMeanField(target=(0.0,), curvature=curvature, interaction=0.0, shift=(shift,))


def langevin_step(temperature: float, lr: float, rng: Any) -> Step:
    """The reference particle update on a flat batch (the ``sgld`` contract's reference, bound to its parameters)."""

    def step(theta: Any, grad: Any) -> Any:
        return theta - lr * grad + math.sqrt(2.0 * lr * temperature) * rng.standard_normal(size=theta.shape)

    return step


def evolve(problem: MeanFieldProblem, particles: Any, steps: int, step: Step,
           observe: Callable[[int, Any], None] | None = None) -> Any:
    """Run ``steps`` MFLD steps from ``particles`` ``(replicas, M, d)``; ``step(theta, grad)`` updates the flat batch
    ``(replicas * M, d)`` (one call per time step for the whole batch). ``observe(k, particles_k)`` sees k = 0..steps.
    """
    xp = namespace(particles)
    shape = particles.shape
    flat = (shape[0] * shape[1], shape[2])
    if observe is not None:
        observe(0, particles)
    for k in range(1, steps + 1):
        grad = problem.gradient(particles)
        particles = xp.reshape(step(xp.reshape(particles, flat), xp.reshape(grad, flat)), shape)
        if observe is not None:
            observe(k, particles)
    return particles
