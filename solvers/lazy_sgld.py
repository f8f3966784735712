r"""SGLD with multiplicative, state-dependent noise on the two-layer network under lazy output scaling (Oberweis &
Cayci, TMLR 2026, arXiv 2510.21245).

Model (Chizat–Oyallon–Bach scaling, derived in :mod:`theory.lazy_training`): the network
:math:`h(\omega) = (f(x_1), \dots, f(x_n))` of :mod:`solvers.two_layer` (the suite's one network; parameters
:math:`\omega = (a, \mathrm{vec}\,W)` in the order of :func:`solvers.two_layer.flatten`), output scale
:math:`\alpha` (``alpha_scale``), scaled outputs :math:`u = \alpha(h(\omega) - h(\omega_0))`, residuals
:math:`e = u - y` and loss :math:`L_\alpha(\omega) = \alpha^{-2}R(u) = \frac{1}{2n\alpha^2}\sum_i e_i^2`. Per-sample
gradients :math:`\nabla\ell_i = \alpha^{-1}e_i\nabla h_i(\omega)`, :math:`\nabla L_\alpha = \frac1n\sum_i\nabla\ell_i`,
and SGLD in Itô form

.. math:: d\omega = -\nabla L_\alpha(\omega)\,dt + \sqrt\eta\,\sigma_\alpha(\omega)\,dB,\qquad
          \sigma_\alpha = n^{-1/2}\,[\nabla\ell_i - \nabla L_\alpha]_{i=1..n} \in \mathbb R^{p\times n},

with n scalar Brownian motions: :math:`\sigma_\alpha\sigma_\alpha^\top = \Sigma_\alpha` (the per-sample gradient
covariance) exactly, so no matrix square root is formed. Drift and noise are O(1/alpha) and the noise vanishes at
interpolation (e = 0).

Rows of one batch may carry different output scales (``alpha_scale`` of shape ``(rows,)``), so that every alpha runs
in one call of the integrator per time step on the same Brownian increments; rows flagged ``linearised`` run the
linearised network :math:`h_0 + J_0(\omega - \omega_0)` (the lazy limit; with it the function-space SDE is
:math:`de = -\frac1nK_0e\,dt + \sqrt\eta\,n^{-1/2}\sum_i(e_ik_i - K_0e/n)\,dB^i`, alpha-free,
:math:`K_0 = J_0J_0^\top`).
The fields ``drift(x, t)`` (rows, p) and ``diffusion(x, t)`` (rows, p, n) are the ``sde`` contract's. One array-API
code path for NumPy and CuPy. :func:`simulate` steps a :class:`Stack` with any ``sde`` step on increments shared
across its blocks (:func:`solvers.sde.drive`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sgd_conformance.solvers import sde, two_layer
from sgd_conformance.solvers._xp import asarray, namespace


def antisymmetric_init(half: two_layer.Params) -> two_layer.Params:
    """Doubling init: neurons (a_j, w_j) followed by (-a_j, w_j), so that h(omega_0) = 0 (up to rounding); host
    arrays."""
    return two_layer.Params(a=np.concatenate([half.a, -half.a], axis=-1), w=np.concatenate([half.w, half.w], axis=-2))


@dataclass(frozen=True)
class LazySGLD:
    """The lazy SGLD model on ``inputs`` (n, d) and ``targets`` (n,) from ``init`` (omega_0, host arrays a (m,),
    w (m, d)); ``alpha_scale`` is a scalar or one value per row of the batch it is applied to; ``linearised`` runs
    the linearised network h_0 + J_0 (omega - omega_0) (the lazy limit)."""

    init: two_layer.Params
    inputs: np.ndarray
    targets: np.ndarray
    eta: float
    alpha_scale: np.ndarray | float
    linearised: bool = False
    activation_name: str = "tanh"
    _omega0: np.ndarray = field(init=False, repr=False)
    _h0: np.ndarray = field(init=False, repr=False)
    _j0: np.ndarray = field(init=False, repr=False)
    _last: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        kw = {"activation_name": self.activation_name}
        object.__setattr__(self, "_omega0", np.asarray(two_layer.flatten(self.init), dtype=float))
        object.__setattr__(self, "_h0", np.asarray(two_layer.forward(self.init, self.inputs, **kw), dtype=float))
        object.__setattr__(self, "_j0", np.asarray(two_layer.flat_jacobian(self.init, self.inputs, **kw),
                                                   dtype=float))
        object.__setattr__(self, "_last", {})

    @property
    def n(self) -> int:
        return self.inputs.shape[0]

    @property
    def p(self) -> int:
        return self._omega0.size

    @property
    def brownian_dimension(self) -> int:
        return self.n

    @property
    def omega0(self) -> np.ndarray:
        """omega_0 = flatten(init), shape (p,)."""
        return self._omega0

    @property
    def jacobian0(self) -> np.ndarray:
        """J_0 = dh/d omega at omega_0, shape (n, p)."""
        return self._j0

    @property
    def kernel0(self) -> np.ndarray:
        """K_0 = J_0 J_0' (the empirical NTK at initialisation), shape (n, n)."""
        return self._j0 @ self._j0.T

    def _row(self, value: Any, x: Any) -> Any:
        """A per-row parameter as a (rows, 1) column on the namespace of x."""
        xp = namespace(x)
        column = xp.reshape(asarray(np.broadcast_to(np.asarray(value, dtype=float), (x.shape[0],)), xp), (-1, 1))
        return column

    def outputs(self, x: Any) -> tuple[Any, Any]:
        """(h(omega) - h(omega_0), J(omega)) per row, shapes (rows, n) and (rows, n, p); the linearised model gives
        (J_0(omega - omega_0), J_0)."""
        xp = namespace(x)
        if self.linearised:
            j0 = asarray(self._j0, xp)
            return (x - asarray(self._omega0, xp)) @ j0.T, xp.broadcast_to(j0[None, :, :], (x.shape[0], *j0.shape))
        kw = {"activation_name": self.activation_name}
        inputs = asarray(self.inputs, xp)
        params = two_layer.unflatten(x, self.init.a.shape[-1], self.inputs.shape[1])
        shift = two_layer.forward(params, inputs, **kw) - asarray(self._h0, xp)
        return shift, two_layer.flat_jacobian(params, inputs, **kw)

    def residuals(self, x: Any) -> Any:
        """e = alpha (h(omega) - h(omega_0)) - y per row, (rows, n)."""
        shift, _ = self.outputs(x)
        return self._row(self.alpha_scale, x) * shift - asarray(self.targets, namespace(x))

    def loss(self, x: Any) -> Any:
        """L_alpha = |e|^2 / (2 n alpha^2) per row, (rows,)."""
        xp = namespace(x)
        e = self.residuals(x)
        return xp.sum(e * e, axis=1) / (2 * self.n) / self._row(self.alpha_scale, x)[:, 0] ** 2

    def sample_gradients(self, x: Any) -> Any:
        """Per-sample gradients grad l_i = alpha^-1 e_i grad h_i, (rows, n, p). The last state's value is kept, so
        that drift and diffusion at one state (an Euler–Maruyama step) evaluate the network once; it is reused only
        for a state with the same values (compared entrywise: an implementation may write into its input)."""
        xp = namespace(x)
        last = self._last
        if last.get("xp") is xp and last["shape"] == x.shape and bool(xp.all(last["copy"] == x)):
            return last["value"]
        shift, jac = self.outputs(x)
        alpha = self._row(self.alpha_scale, x)
        e = alpha * shift - asarray(self.targets, xp)
        value = (e / alpha)[:, :, None] * jac
        last.update(xp=xp, shape=x.shape, copy=xp.asarray(x, copy=True), value=value)
        return value

    def drift(self, x: Any, t: float = 0.0) -> Any:
        """-grad L_alpha = -(1/n) sum_i grad l_i, (rows, p)."""
        xp = namespace(x)
        return -xp.mean(self.sample_gradients(x), axis=1)

    def diffusion(self, x: Any, t: float = 0.0) -> Any:
        """sqrt(eta) sigma_alpha: column i is sqrt(eta/n) (grad l_i - grad L_alpha), (rows, p, n)."""
        xp = namespace(x)
        g = self.sample_gradients(x)
        columns = g - xp.mean(g, axis=1, keepdims=True)
        return (self.eta / self.n) ** 0.5 * xp.permute_dims(columns, (0, 2, 1))

    def noise(self, x: Any, dW: Any) -> Any:
        """sqrt(eta) sigma_alpha dW from the per-sample structure, (rows, p)."""
        xp = namespace(x)
        g = self.sample_gradients(x)
        centred = dW - xp.mean(dW, axis=1, keepdims=True)
        return (self.eta / self.n) ** 0.5 * xp.sum(g * centred[:, :, None], axis=1)

    def step(self, x: Any, t: float, dt: float, dW: Any) -> Any:
        """One Euler–Maruyama step (equal to :func:`solvers.sde.euler_maruyama` on these fields)."""
        return x + self.drift(x) * dt + self.noise(x, dW)

    def kernel(self, x: Any) -> Any:
        """K(omega) = J(omega) J(omega)' per row (the NTK of h, not of alpha h), (rows, n, n)."""
        xp = namespace(x)
        _, jac = self.outputs(x)
        return jac @ xp.matrix_transpose(jac)

    def scaled_deviation(self, x: Any) -> Any:
        """alpha (omega - omega_0) per row, (rows, p): O(1) in the lazy regime."""
        return self._row(self.alpha_scale, x) * (x - asarray(self._omega0, namespace(x)))

    def start(self, rows: int, xp: Any) -> Any:
        """omega_0 repeated for ``rows`` chains, (rows, p)."""
        return xp.tile(asarray(self._omega0, xp)[None, :], (rows, 1))


@dataclass(frozen=True)
class Stack:
    """Several models on consecutive blocks of rows of one batch (``rows[k]`` rows for ``models[k]``), so that one
    integrator call per time step advances all of them on one array of Brownian increments. All models share n."""

    models: tuple[LazySGLD, ...]
    rows: tuple[int, ...]

    @property
    def brownian_dimension(self) -> int:
        return self.models[0].n

    def _blocks(self, x: Any) -> list[Any]:
        edges = np.cumsum((0, *self.rows))
        if int(edges[-1]) != x.shape[0]:
            raise ValueError(f"a stack of {int(edges[-1])} rows applied to {x.shape[0]} rows")
        return [x[int(a):int(b), ...] for a, b in zip(edges[:-1], edges[1:], strict=True)]

    def _concat(self, name: str, x: Any) -> Any:
        xp = namespace(x)
        return xp.concat([getattr(m, name)(block) for m, block in zip(self.models, self._blocks(x), strict=True)],
                         axis=0)

    def drift(self, x: Any, t: float = 0.0) -> Any:
        return self._concat("drift", x)

    def diffusion(self, x: Any, t: float = 0.0) -> Any:
        return self._concat("diffusion", x)

    def split(self, x: Any) -> list[Any]:
        """The blocks of ``x``, one per model."""
        return self._blocks(x)

    def start(self, xp: Any) -> Any:
        """omega_0 of each model repeated for its rows, stacked: (sum of rows, p)."""
        return xp.concat([m.start(r, xp) for m, r in zip(self.models, self.rows, strict=True)], axis=0)

    def share(self, dW: Any) -> Any:
        """Increments for the stacked rows from ``dW`` (steps, chains, n), chains >= every block's rows: row c of
        every block gets chain c's increments (the same Brownian path for every model: synchronous coupling)."""
        xp = namespace(dW)
        return xp.concat([dW[:, :r, :] for r in self.rows], axis=1)


def simulate(step: sde.Step, stack: Stack, *, chains: int, steps: int, dt: float, stream: Callable[[int], Any],
             xp: Any, observe: Callable[[int, list[Any]], None], floats: int = sde.BLOCK_FLOATS) -> Any:
    """``steps`` steps of ``step`` (e.g. the harness ``Runner.sde_step``) on the stacked models from omega_0, one call
    per step for all rows (:func:`solvers.sde.drive`); returns the final state.

    The increments of ``chains`` independent paths are drawn in blocks of at most ``floats`` numbers, the block
    starting at step ``first`` from ``stream(first)``, and shared across the stack (:meth:`Stack.share`: block k has
    ``stack.rows[k] <= chains`` rows, row c of every block on path c). ``observe(step, blocks)`` after every step,
    with the state split into the stack's blocks."""
    n = stack.brownian_dimension
    draw = sde.brownian_blocks(stream, rows=chains, m=n, dt=dt, xp=xp)
    return sde.drive(step, stack.start(xp), stack.drift, stack.diffusion,
                     lambda first, count: stack.share(draw(first, count)), steps=steps, dt=dt,
                     block=sde.block_length(floats, chains, n), observe=lambda k, x: observe(k, stack.split(x)))
