r"""One-step schemes for Itô SDEs :math:`dX = b(X, t)\,dt + \sigma(X, t)\,dW`, the reference of the ``sde`` family,
and the one driver that steps a scheme along Brownian increments supplied by the caller.

Every scheme has the contract's signature ``step(x, t, dt, drift, diffusion, dW) -> x_next`` with
``x`` of shape ``(chains, d)``, ``diffusion(x, t)`` of shape ``(chains, d, m)`` and ``dW`` the ``(chains, m)``
increment of the Brownian path over [t, t + dt] (supplied by the caller so that paths are coupled across
step sizes, see :func:`solvers.rng.coarsen`). Each scheme declares its orders and convention as data.
:func:`drive` runs any such step (the reference scheme, or the implementation under test through the harness
``Runner.sde_step``) over blocks of increments; :func:`integrate` is the one-block case.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from sgd_conformance.solvers._xp import asarray, namespace, to_numpy
from sgd_conformance.solvers.rng import brownian_increments

Field = Callable[[Any, float], Any]
#: ``step(x, t, dt, drift, diffusion, dW) -> x_next``: one step of a scheme (the ``sde`` contract)
Step = Callable[[Any, float, float, Field, Field, Any], Any]
#: ``increments(first, count)``: the ``(count, rows, m)`` Brownian increments of steps first .. first + count - 1
Increments = Callable[[int, int], Any]
#: numbers of Brownian increments per block that the checks draw by default (:func:`block_length`)
BLOCK_FLOATS = 2_000_000


def diffuse(diffusion_value: Any, dW: Any) -> Any:
    r""":math:`\sigma\,\Delta W` for a batch: ``(chains, d, m) x (chains, m) -> (chains, d)``.

    A diffusion of shape ``(1, d, m)`` (additive noise: one matrix for every chain) is one matrix product
    :math:`\Delta W\,\sigma^\top` over the whole ensemble; otherwise a batched matrix-vector product. Neither
    forms the ``(chains, d, m)`` product array (30x slower on the CPU at d = m = 10).
    """
    xp = namespace(diffusion_value, dW)
    if diffusion_value.shape[0] == 1:
        return dW @ xp.matrix_transpose(diffusion_value[0, ...])
    return xp.matmul(diffusion_value, dW[:, :, None])[:, :, 0]


def euler_maruyama(x: Any, t: float, dt: float, drift: Field, diffusion: Field, dW: Any) -> Any:
    r"""Euler–Maruyama: :math:`X_{k+1} = X_k + b(X_k, t_k)\,\Delta t + \sigma(X_k, t_k)\,\Delta W_k`.

    Itô; strong order 1/2 (1 for additive noise), weak order 1 (Kloeden & Platen 1992, Thms 10.2.2, 14.5.1).
    """
    return x + drift(x, t) * dt + diffuse(diffusion(x, t), dW)


euler_maruyama.strong_order = 0.5  # type: ignore[attr-defined]
euler_maruyama.weak_order = 1.0  # type: ignore[attr-defined]
euler_maruyama.convention = "ito"  # type: ignore[attr-defined]


def drive(step: Step, x0: Any, drift: Field, diffusion: Field, increments: Increments, *, steps: int, dt: float,
          block: int, t0: float = 0.0, observe: Callable[[int, Any], None] | None = None) -> Any:
    r"""Step ``x0`` (rows, d) ``steps`` times along the increments the caller supplies; return :math:`X_{steps}`.

    Scheme contract: step k maps :math:`X_k` to :math:`X_{k+1} = \mathrm{step}(X_k, t_k, \Delta t, b, \sigma,
    \Delta W_k)` with :math:`t_k = t_0 + k\,\Delta t` and :math:`\Delta W_k` the ``(rows, m)`` increment of the
    Brownian path over :math:`[t_k, t_k + \Delta t]`, :math:`\Delta W_k \sim N(0, \Delta t\,I_m)` independent over
    k; one call per step advances every row (chain) at once. ``step`` is any such callable: a scheme of this module,
    or the harness ``Runner.sde_step`` that calls the implementation under test.

    Coupling: the scheme never draws noise. The increments come in blocks of ``block`` steps,
    ``increments(first, count)`` for first = 0, block, 2 block, ..., each block typically drawn from its own named
    stream (:func:`brownian_blocks`), so a run is reproducible whatever the scheme, and memory stays bounded at any
    number of steps. Rows given the same increments see the same Brownian path (synchronous coupling: two starts,
    two models, two output scales, two schemes); rows given increments from other streams are independent. The
    block length and the stream names fix every draw: keep them to keep a run's numbers.

    ``observe(k, x_k)`` is called after every step (k = 1 .. steps).
    """
    if block < 1:
        raise ValueError(f"a block of {block} steps")
    x = x0
    for first in range(0, steps, block):
        count = min(block, steps - first)
        dW = increments(first, count)
        for j in range(count):
            k = first + j
            x = step(x, t0 + k * dt, dt, drift, diffusion, dW[j, ...])
            if observe is not None:
                observe(k + 1, x)
    return x


def grid_steps(times: Iterable[float], dt: float) -> list[int]:
    """The steps k of a grid of step ``dt`` at the given times: k = round(t/dt)."""
    return [int(round(float(t) / dt)) for t in times]


def block_length(floats: int, rows: int, m: int) -> int:
    """Steps per block so that one block of ``(steps, rows, m)`` increments holds at most ``floats`` numbers (at
    least one step)."""
    return max(1, floats // (rows * m))


def brownian_blocks(stream: Callable[[int], Any], *, rows: int, m: int, dt: float, xp: Any) -> Increments:
    """``increments(first, count)`` for :func:`drive`: the block starting at step ``first`` is
    :func:`solvers.rng.brownian_increments` of ``rows`` independent paths drawn from ``stream(first)`` (a fresh
    generator per block), as float64 arrays of the namespace ``xp``."""

    def draw(first: int, count: int) -> Any:
        return asarray(brownian_increments(stream(first), steps=count, chains=rows, m=m, dt=dt), xp)

    return draw


class Snapshots(dict[int, Any]):
    """An ``observe`` for :func:`drive` that keeps the state on the host (:func:`solvers._xp.to_numpy`) after each
    step in ``at``, by step."""

    def __init__(self, at: Iterable[int]) -> None:
        super().__init__()
        self.at = frozenset(at)

    def __call__(self, k: int, x: Any) -> None:
        if k in self.at:
            self[k] = to_numpy(x)


class Model(Protocol):
    """An SDE with the contract's fields and its number m of Brownian motions (:mod:`solvers.lsq_sde`,
    :mod:`solvers.lazy_sgld`)."""

    @property
    def brownian_dimension(self) -> int: ...

    def drift(self, x: Any, t: float = 0.0) -> Any: ...

    def diffusion(self, x: Any, t: float = 0.0) -> Any: ...


def simulate(step: Step, model: Model, x0: Any, *, steps: int, dt: float, stream: Callable[[int], Any],
             floats: int = BLOCK_FLOATS, observe: Callable[[int, Any], None] | None = None) -> Any:
    """:func:`drive` of independent chains: every row of ``x0`` gets its own Brownian path, drawn in blocks of at most
    ``floats`` numbers, the block starting at step ``first`` from ``stream(first)`` (:func:`brownian_blocks`)."""
    rows, m = x0.shape[0], model.brownian_dimension
    increments = brownian_blocks(stream, rows=rows, m=m, dt=dt, xp=namespace(x0))
    return drive(step, x0, model.drift, model.diffusion, increments, steps=steps, dt=dt,
                 block=block_length(floats, rows, m), observe=observe)


def integrate(step: Step, x0: Any, drift: Field, diffusion: Field, dW: Any, dt: float, t0: float = 0.0) -> Any:
    """Apply ``step`` along the increments ``dW`` of shape ``(steps, chains, m)``; return X at the end (:func:`drive`
    with one block)."""
    steps = dW.shape[0]
    return drive(step, x0, drift, diffusion, lambda first, count: dW[first:first + count, ...], steps=steps, dt=dt,
                 block=max(1, steps), t0=t0)
