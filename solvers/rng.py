"""Seeded random streams and Brownian increments coupled across step sizes.

No global RNG anywhere in the suite: every stream is derived from ``(seed, claim id, *labels)`` through
:class:`numpy.random.SeedSequence`, so each check reproduces on its own, whatever runs before it and on
whichever worker. On CuPy the same seed material seeds ``cupy.random.Generator``.
"""

from __future__ import annotations

import hashlib
from types import ModuleType
from typing import Any

import numpy as np

from sgd_conformance.solvers._xp import is_numpy, namespace


def _label_words(labels: tuple[object, ...]) -> list[int]:
    """32-bit words of a SHA-256 of the labels, each tagged with its type and length (so that ``(1, 2)``,
    ``("1", "2")`` and ``("1\x1f2",)`` differ); stable across runs and Python versions."""
    text = "".join(f"{type(label).__name__}:{len(repr(label))}:{label!r};" for label in labels)
    digest = hashlib.sha256(text.encode()).digest()
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 32, 4)]


def seed_sequence(seed: int, *labels: object) -> np.random.SeedSequence:
    """SeedSequence for the stream named by ``labels`` (e.g. the claim id and an example index).

    The whole seed is used (any non-negative integer), so seeds that differ by 2^32 give different streams.
    """
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    return np.random.SeedSequence([*_label_words(labels), int(seed)])


def generator(seed: int, *labels: object, xp: ModuleType | None = None) -> Any:
    """A ``Generator`` for the stream ``(seed, *labels)`` on the backend of ``xp`` (NumPy by default)."""
    ss = seed_sequence(seed, *labels)
    if xp is None or is_numpy(xp):
        return np.random.Generator(np.random.PCG64(ss))
    import cupy

    return cupy.random.Generator(cupy.random.XORWOW(int(ss.generate_state(1, np.uint64)[0])))


def normal(rng: Any, shape: tuple[int, ...]) -> Any:
    """Standard normal float64 block of ``shape`` from ``rng`` (NumPy or CuPy generator)."""
    return rng.standard_normal(size=shape)


def brownian_increments(rng: Any, *, steps: int, chains: int, m: int, dt: float) -> Any:
    r"""Brownian increments on the finest grid, shape ``(steps, chains, m)``.

    .. math:: \Delta W_k = W_{(k+1)\,dt} - W_{k\,dt} \sim N(0, dt\, I_m), \text{ independent over } k.
    """
    return normal(rng, (steps, chains, m)) * float(np.sqrt(dt))


def coarsen(dW: Any, factor: int) -> Any:
    r"""Increments of the same Brownian path on a grid ``factor`` times coarser.

    .. math:: \Delta W^{(\text{coarse})}_j = \sum_{i=0}^{f-1} \Delta W_{jf + i}

    This is the coupling used to measure orders: every step size sees one and the same path.
    ``dW`` has shape ``(steps, chains, m)`` with ``steps`` divisible by ``factor``.
    """
    steps = dW.shape[0]
    if steps % factor:
        raise ValueError(f"{steps} fine steps are not divisible by the coarsening factor {factor}")
    xp = namespace(dW)
    return xp.sum(xp.reshape(dW, (steps // factor, factor, *dW.shape[1:])), axis=1)
