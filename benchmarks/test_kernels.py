"""Kernel benchmarks (``make bench``): path-steps per second, against this machine's normal-drawing limit and torchsde.

Every kernel runs ``steps`` steps of an ensemble of ``chains`` paths, drawing its own Gaussian noise as a real run
does. In the same run the *limit* benchmark draws the same number of normals with
``numpy.random.Generator.standard_normal`` (same per-step shape, ``steps`` calls), and, where torchsde is installed,
the same ensemble is integrated by ``torchsde.sdeint`` (CPU torch, method "euler", same dt and steps). No
wall-clock time is asserted: :mod:`benchmarks.table` turns the JSON of one run into ratios inside that run.

Each benchmark records in ``extra_info``: ``kernel`` (the row of the table), ``role`` (``ours``, ``limit`` or
``torchsde``), ``path_steps`` (chains x steps per round) and ``normals`` (normals drawn per round).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import array_api_compat.numpy as xnp
import numpy as np
import pytest

from solvers import lsq_sde, mfld, sde, sgld, two_layer
from solvers.problems import Quadratic
from theory import losses, numeric

ROUNDS = 5


@dataclass(frozen=True)
class Kernel:
    """An ensemble: ``chains`` paths, ``steps`` steps, ``m`` normals per path-step (limit draws ``(chains, m)``)."""

    name: str
    chains: int
    steps: int
    m: int
    build: Callable[[], Callable[[], Any]]

    @property
    def path_steps(self) -> int:
        return self.chains * self.steps

    @property
    def normals(self) -> int:
        return self.chains * self.steps * self.m


def _rng() -> np.random.Generator:
    return np.random.default_rng(20240608)


# --- Euler–Maruyama on OU, d = 10, general (chains, d, m) diffusion as in the sde contract -------------------------
OU_D, OU_CHAINS, OU_STEPS, OU_DT, OU_SIGMA = 10, 10_000, 50, 0.01, 0.5


def _em_ou() -> Callable[[], Any]:
    rng = _rng()
    x0 = rng.standard_normal((OU_CHAINS, OU_D))
    sigma = OU_SIGMA * np.eye(OU_D)[None, :, :]

    def drift(x: Any, t: float) -> Any:
        return -x

    def diffusion(x: Any, t: float) -> Any:
        return sigma

    def run() -> Any:
        x = x0
        sq = math.sqrt(OU_DT)
        for k in range(OU_STEPS):
            dW = sq * rng.standard_normal((OU_CHAINS, OU_D))
            x = sde.euler_maruyama(x, k * OU_DT, OU_DT, drift, diffusion, dW)
        return x

    return run


# --- SGLD on a quadratic (d = 10) and on the double well (d = 1), 100 000 chains ------------------------------------
SGLD_CHAINS, SGLD_STEPS, SGLD_LR, SGLD_T = 100_000, 20, 0.01, 0.5
QUAD_D = 10


def _sgld_quadratic() -> Callable[[], Any]:
    rng = _rng()
    problem = Quadratic(H=np.diag(np.linspace(0.5, 2.0, QUAD_D)))
    theta0 = rng.standard_normal((SGLD_CHAINS, QUAD_D))

    def run() -> Any:
        theta = theta0
        for _ in range(SGLD_STEPS):
            theta = sgld.sgld_step(theta, problem.grad(theta), SGLD_LR, SGLD_T, rng)
        return theta

    return run


def _sgld_double_well() -> Callable[[], Any]:
    rng = _rng()
    loss, coords = losses.double_well()
    grad = numeric.gradient(loss, coords)
    theta0 = rng.standard_normal((SGLD_CHAINS, 1))

    def run() -> Any:
        theta = theta0
        for _ in range(SGLD_STEPS):
            theta = sgld.sgld_step(theta, grad(xnp, theta), SGLD_LR, SGLD_T, rng)
        return theta

    return run


# --- Multiplicative-noise least-squares SDE (training model), d = 20, n = 50, 2 000 chains -------------------------
LSQ_D, LSQ_N, LSQ_CHAINS, LSQ_STEPS, LSQ_DT, LSQ_GAMMA = 20, 50, 2_000, 50, 0.01, 0.05


def _lsq_model() -> lsq_sde.TrainingSDE:
    rng = np.random.default_rng(7)
    features = rng.standard_normal((LSQ_N, LSQ_D)) / math.sqrt(LSQ_D)
    targets = features @ rng.standard_normal(LSQ_D) + 0.1 * rng.standard_normal(LSQ_N)
    return lsq_sde.TrainingSDE(features=features, targets=targets, gamma=LSQ_GAMMA)


def _lsq() -> Callable[[], Any]:
    rng = _rng()
    model = _lsq_model()
    theta0 = rng.standard_normal((LSQ_CHAINS, LSQ_D))

    def run() -> Any:
        theta = theta0
        sq = math.sqrt(LSQ_DT)
        for k in range(LSQ_STEPS):
            dW = sq * rng.standard_normal((LSQ_CHAINS, LSQ_N))
            theta = model.step(theta, k * LSQ_DT, LSQ_DT, dW)
        return theta

    return run


# --- Mean-field Langevin particle step: 100 replicas x 1 000 particles, d = 1 ---------------------------------------
MF_REPLICAS, MF_PARTICLES, MF_STEPS = 100, 1_000, 20


def _mfld() -> Callable[[], Any]:
    rng = _rng()
    problem = mfld.gaussian_case()
    particles0 = rng.standard_normal((MF_REPLICAS, MF_PARTICLES, problem.d))
    step = mfld.langevin_step(temperature=0.5, lr=0.01, rng=rng)

    def run() -> Any:
        return mfld.evolve(problem, particles0, MF_STEPS, step)

    return run


# --- Empirical NTK Gram matrix: 100 replicate networks, width 256, d = 10, 64 inputs --------------------------------
NTK_NETS, NTK_WIDTH, NTK_D, NTK_INPUTS = 100, 256, 10, 64


def _ntk() -> Callable[[], Any]:
    rng = _rng()
    params = two_layer.init(rng, n=NTK_WIDTH, d=NTK_D, batch=(NTK_NETS,))
    x = rng.standard_normal((NTK_INPUTS, NTK_D))

    def run() -> Any:
        return two_layer.ntk_gram(params, x, activation_name="tanh")

    return run


KERNELS = [
    Kernel("EM, OU d=10, 10k chains", OU_CHAINS, OU_STEPS, OU_D, _em_ou),
    Kernel("SGLD, quadratic d=10, 100k chains", SGLD_CHAINS, SGLD_STEPS, QUAD_D, _sgld_quadratic),
    Kernel("SGLD, double well d=1, 100k chains", SGLD_CHAINS, SGLD_STEPS, 1, _sgld_double_well),
    Kernel("LSQ SDE d=20 n=50, 2k chains", LSQ_CHAINS, LSQ_STEPS, LSQ_N, _lsq),
    Kernel("MFLD step, 100x1000 particles d=1", MF_REPLICAS * MF_PARTICLES, MF_STEPS, 1, _mfld),
    # One "path-step" here is one replicate network's Gram matrix; the limit draws as many normals as the
    # Jacobian has entries (inputs x width x (d + 1)), i.e. the size of the data the kernel must produce.
    Kernel("NTK Gram, 100 nets n=256 d=10 N=64", NTK_NETS, 1, NTK_INPUTS * NTK_WIDTH * (NTK_D + 1), _ntk),
]
IDS = [k.name for k in KERNELS]


def _record(benchmark: Any, kernel: Kernel, role: str) -> None:
    benchmark.group = kernel.name
    benchmark.extra_info.update(kernel=kernel.name, role=role, path_steps=kernel.path_steps, normals=kernel.normals,
                                threads=os.environ.get("OMP_NUM_THREADS", "default"))


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_ours(benchmark: Any, kernel: Kernel) -> None:
    _record(benchmark, kernel, "ours")
    run = kernel.build()
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
    y0 = torch.from_numpy(_rng().standard_normal((OU_CHAINS, OU_D)))
    ts = torch.tensor([0.0, OU_STEPS * OU_DT], dtype=torch.float64)

    def run() -> Any:
        with torch.no_grad():
            return torchsde.sdeint(model, y0, ts, method="euler", dt=OU_DT, adaptive=False)[-1].numpy()

    return run


def _lsq_torchsde() -> Callable[[], Any]:
    torch, torchsde = _torchsde()
    data = _lsq_model()
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
    theta0 = torch.from_numpy(_rng().standard_normal((LSQ_CHAINS, LSQ_D)))
    ts = torch.tensor([0.0, LSQ_STEPS * LSQ_DT], dtype=torch.float64)

    def run() -> Any:
        with torch.no_grad():
            return torchsde.sdeint(model, theta0, ts, method="euler", dt=LSQ_DT, adaptive=False)[-1].numpy()

    return run


TORCHSDE = [(KERNELS[0], _ou_torchsde), (KERNELS[3], _lsq_torchsde)]


@pytest.mark.parametrize(("kernel", "build"), TORCHSDE, ids=[k.name for k, _ in TORCHSDE])
def test_torchsde(benchmark: Any, kernel: Kernel, build: Callable[[], Callable[[], Any]]) -> None:
    run = build()
    _record(benchmark, kernel, "torchsde")
    out = benchmark.pedantic(run, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert np.all(np.isfinite(out))
