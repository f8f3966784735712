"""The one place that names NumPy and CuPy.

Every solver takes arrays and asks :func:`namespace` for their array-API namespace, so a single code path
serves NumPy on the CPU and CuPy on a GPU. Arrays are float64 and batch-first: ``(chains, d)``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import array_api_compat
import numpy as np

DTYPE_NAME = "float64"
BACKENDS = ("numpy", "cupy")


def namespace(*arrays: Any) -> ModuleType:
    """Array-API namespace of ``arrays`` (``array_api_compat.numpy`` or ``array_api_compat.cupy``)."""
    return array_api_compat.array_namespace(*arrays)


def backend_namespace(backend: str) -> ModuleType:
    """Array-API namespace for a backend name, ``"numpy"`` or ``"cupy"``.

    Raises ``ImportError`` when CuPy (or a GPU) is not available, so callers can skip cleanly.
    """
    if backend == "numpy":
        import array_api_compat.numpy as xnp

        return xnp
    if backend == "cupy":
        import array_api_compat.cupy as xcp
        import cupy  # noqa: F401  (raises ImportError without CuPy)

        return xcp
    raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")


def is_numpy(xp: ModuleType) -> bool:
    """True when ``xp`` is the NumPy namespace."""
    return array_api_compat.is_numpy_namespace(xp)


def to_numpy(x: Any) -> np.ndarray:
    """Host copy of an array from any backend (no copy for NumPy input)."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "get"):  # CuPy
        return x.get()
    return np.asarray(x)


def asarray(x: Any, xp: ModuleType) -> Any:
    """``x`` as a float64 array of namespace ``xp`` (host data is copied to the device)."""
    return xp.asarray(x, dtype=xp.float64)
