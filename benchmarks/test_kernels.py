"""CPU kernel benchmarks (``make bench``): path-steps per second, against this machine's normal-drawing limit and
torchsde.

Every kernel of :mod:`benchmarks.kernels` runs on NumPy with its CPU ensemble size. In the same run the *limit*
benchmark draws the same number of normals with ``numpy.random.Generator.standard_normal`` (same per-step shape,
``steps`` calls), and, where torchsde is installed, the same ensemble is integrated by ``torchsde.sdeint`` (CPU
torch, method "euler", same dt and steps). No wall-clock time is asserted: :mod:`benchmarks.table` turns the JSON
of one run into ratios inside that run.

Each benchmark records in ``extra_info``: ``kernel`` (the row of the table), ``role`` (``ours``, ``limit`` or
``torchsde``), ``path_steps`` (chains x steps per round) and ``normals`` (normals drawn per round).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import array_api_compat.numpy as xnp
import numpy as np
import pytest

from benchmarks.kernels import (
    KERNELS,
    LSQ_D,
    LSQ_DT,
    LSQ_GAMMA,
    LSQ_N,
    LSQ_STEPS,
    OU_D,
    OU_DT,
    OU_SIGMA,
    OU_STEPS,
    Kernel,
    lsq_model,
)

ROUNDS = 5
IDS = [k.name(k.chains) for k in KERNELS]


def _rng() -> np.random.Generator:
    return np.random.default_rng(20240608)


def _record(benchmark: Any, kernel: Kernel, role: str) -> None:
    name = kernel.name(kernel.chains)
    benchmark.group = name
    benchmark.extra_info.update(kernel=name, role=role, path_steps=kernel.chains * kernel.steps,
                                normals=kernel.chains * kernel.steps * kernel.m,
                                threads=os.environ.get("OMP_NUM_THREADS", "default"))


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_ours(benchmark: Any, kernel: Kernel) -> None:
    _record(benchmark, kernel, "ours")
    run = kernel.build(xnp, kernel.chains)
    out = benchmark.pedantic(run, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_limit(benchmark: Any, kernel: Kernel) -> None:
    """``standard_normal`` drawing the kernel's normals: ``steps`` draws of shape ``(chains, m)``."""
    _record(benchmark, kernel, "limit")
    rng = _rng()
    shape, steps = (kernel.chains, kernel.m), kernel.steps

    def run() -> Any:
        for _ in range(steps):
            out = rng.standard_normal(shape)
        return out

    benchmark.pedantic(run, rounds=ROUNDS, iterations=1, warmup_rounds=1)


# --- The same ensembles on torchsde.sdeint (CPU, method "euler", same dt and steps, float64) ------------------------

def _torchsde() -> tuple[Any, Any]:
    torch = pytest.importorskip("torch")
    torchsde = pytest.importorskip("torchsde")
    return torch, torchsde


def _ou_torchsde() -> Callable[[], Any]:
    torch, torchsde = _torchsde()

    class OU(torch.nn.Module):
        noise_type, sde_type = "general", "ito"

        def __init__(self) -> None:
            super().__init__()
            self.sigma = OU_SIGMA * torch.eye(OU_D, dtype=torch.float64)

        def f(self, t: Any, y: Any) -> Any:
            return -y

        def g(self, t: Any, y: Any) -> Any:
            return self.sigma.expand(y.shape[0], OU_D, OU_D)

    model = OU()
    y0 = torch.from_numpy(_rng().standard_normal((KERNELS[0].chains, OU_D)))
    ts = torch.tensor([0.0, OU_STEPS * OU_DT], dtype=torch.float64)

    def run() -> Any:
        with torch.no_grad():
            return torchsde.sdeint(model, y0, ts, method="euler", dt=OU_DT, adaptive=False)[-1].numpy()

    return run


def _lsq_torchsde() -> Callable[[], Any]:
    torch, torchsde = _torchsde()
    data = lsq_model()
    x = torch.from_numpy(data.features)
    y = torch.from_numpy(data.targets)
    n, scale = LSQ_N, math.sqrt(LSQ_GAMMA / LSQ_N)

    class LSQ(torch.nn.Module):
        noise_type, sde_type = "general", "ito"

        def f(self, t: Any, theta: Any) -> Any:
            return -((theta @ x.T - y) @ x) / n

        def g(self, t: Any, theta: Any) -> Any:
            r = theta @ x.T - y
            columns = r[:, :, None] * x[None, :, :] - ((r @ x) / n)[:, None, :]
            return scale * columns.permute(0, 2, 1)

    model = LSQ()
    theta0 = torch.from_numpy(_rng().standard_normal((KERNELS[3].chains, LSQ_D)))
    ts = torch.tensor([0.0, LSQ_STEPS * LSQ_DT], dtype=torch.float64)

    def run() -> Any:
        with torch.no_grad():
            return torchsde.sdeint(model, theta0, ts, method="euler", dt=LSQ_DT, adaptive=False)[-1].numpy()

    return run


TORCHSDE = [(KERNELS[0], _ou_torchsde), (KERNELS[3], _lsq_torchsde)]


@pytest.mark.parametrize(("kernel", "build"), TORCHSDE, ids=[k.name(k.chains) for k, _ in TORCHSDE])
def test_torchsde(benchmark: Any, kernel: Kernel, build: Callable[[], Callable[[], Any]]) -> None:
    run = build()
    _record(benchmark, kernel, "torchsde")
    out = benchmark.pedantic(run, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert np.all(np.isfinite(out))
