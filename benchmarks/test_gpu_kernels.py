"""GPU kernel benchmarks (``--backend cupy``'s solvers at 10^6 chains): rate, one CPU core, the bandwidth bound.

Every kernel of :mod:`benchmarks.kernels` runs through the same array-API code path on CuPy with its GPU ensemble
size (``gpu_chains``), each round ending with a device synchronisation. In the same run:

- ``limit``: ``cupy.random.Generator.standard_normal`` drawing the kernel's normals;
- ``cpu``: the same kernel and ensemble on NumPy (one BLAS thread: ``make bench-gpu`` sets it), i.e. one CPU core;
- ``copy``: a device-to-device copy of 2^28 float64 (4 GiB read + written), whose rate turns
  ``Kernel.bytes_per_path_step`` (the traffic of the step's array operations as written) into a bandwidth bound.

Skips cleanly without CuPy or a CUDA device (CI never has one).
"""

from __future__ import annotations

import os
from typing import Any

import array_api_compat.numpy as xnp
import pytest

from benchmarks.kernels import KERNELS, Kernel

ROUNDS = 3
COPY_FLOATS = 2**28


@pytest.fixture(scope="module")
def cupy() -> Any:
    from tests.gpu import cupy_or_skip

    return cupy_or_skip()


def _record(benchmark: Any, kernel: Kernel, role: str, chains: int) -> None:
    name = kernel.name(chains)
    benchmark.group = name
    benchmark.extra_info.update(kernel=name, role=role, path_steps=chains * kernel.steps,
                                bytes_per_path_step=kernel.bytes_per_path_step,
                                threads=os.environ.get("OMP_NUM_THREADS", "default"))


def _synchronised(cupy: Any, run: Any) -> Any:
    def timed() -> Any:
        out = run()
        cupy.cuda.Device().synchronize()
        return out

    return timed


@pytest.mark.parametrize("kernel", KERNELS, ids=[k.label for k in KERNELS])
def test_gpu_ours(benchmark: Any, cupy: Any, kernel: Kernel) -> None:
    import array_api_compat.cupy as xcp

    _record(benchmark, kernel, "ours", kernel.gpu_chains)
    out = benchmark.pedantic(_synchronised(cupy, kernel.build(xcp, kernel.gpu_chains)), rounds=ROUNDS,
                             iterations=1, warmup_rounds=1)
    assert bool(cupy.all(cupy.isfinite(out)))


@pytest.mark.parametrize("kernel", KERNELS, ids=[k.label for k in KERNELS])
def test_gpu_limit(benchmark: Any, cupy: Any, kernel: Kernel) -> None:
    _record(benchmark, kernel, "limit", kernel.gpu_chains)
    generator = cupy.random.default_rng(0)
    shape = (kernel.gpu_chains, kernel.m)

    def run() -> Any:
        for _ in range(kernel.steps):
            out = generator.standard_normal(size=shape)
        return out

    benchmark.pedantic(_synchronised(cupy, run), rounds=ROUNDS, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("kernel", KERNELS[:1], ids=[k.label for k in KERNELS[:1]])
def test_gpu_cpu_core(benchmark: Any, cupy: Any, kernel: Kernel) -> None:
    """The same ensemble on NumPy: the "one CPU core" baseline of the GPU speed-up (Euler–Maruyama)."""
    _record(benchmark, kernel, "cpu", kernel.gpu_chains)
    benchmark.pedantic(kernel.build(xnp, kernel.gpu_chains), rounds=1, iterations=1, warmup_rounds=0)


def test_gpu_copy_bandwidth(benchmark: Any, cupy: Any) -> None:
    source = cupy.ones(COPY_FLOATS, dtype=cupy.float64)
    target = cupy.empty_like(source)
    name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    benchmark.extra_info.update(role="copy", bytes=2 * 8 * COPY_FLOATS,
                                device=name.decode() if isinstance(name, bytes) else str(name))
    benchmark.pedantic(_synchronised(cupy, lambda: cupy.copyto(target, source)), rounds=5, iterations=1,
                       warmup_rounds=1)
