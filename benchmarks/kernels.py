"""The benchmarked ensembles, each built for any array-API namespace (NumPy on the CPU, CuPy on a GPU).

A :class:`Kernel` is ``steps`` steps of an ensemble of ``chains`` paths that draws its own Gaussian noise, as a
real run does (``m`` normals per path-step), through the suite's one code path: the same builder serves the CPU
table (``benchmarks/test_kernels.py``) and the GPU table (``benchmarks/test_gpu_kernels.py``).
``bytes_per_path_step`` is the memory traffic of the step's array operations as written (each operation reads its
inputs and writes its output once, float64): it turns a GPU's measured copy bandwidth into a bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from sgd_conformance.solvers import lsq_sde, mfld_particles, rng, sde, sgld, two_layer
from sgd_conformance.solvers._xp import asarray
from sgd_conformance.solvers.problems import Quadratic
from sgd_conformance.theory import losses, numeric

SEED = 20240608
Build = Callable[[ModuleType, int], Callable[[], Any]]


@dataclass(frozen=True)
class Kernel:
    """An ensemble: ``chains`` paths on the CPU (``gpu_chains`` on a GPU), ``steps`` steps, ``m`` normals per
    path-step (the limit draws ``(chains, m)`` per step)."""

    label: str
    chains: int
    gpu_chains: int
    steps: int
    m: int
    build: Build
    bytes_per_path_step: float

    def name(self, chains: int) -> str:
        return f"{self.label}, {_count(chains)} chains"


def _count(n: int) -> str:
    for size, suffix in ((10**6, "M"), (10**3, "k")):
        if n >= size and n % size == 0:
            return f"{n // size}{suffix}"
    return str(n)


def _generator(xp: ModuleType, name: str) -> Any:
    return rng.generator(SEED, "benchmark", name, xp=xp)


# --- Euler–Maruyama on OU, d = 10, the sde contract's (chains, d, m) diffusion (additive: one (1, d, d) matrix) ----
OU_D, OU_STEPS, OU_DT, OU_SIGMA = 10, 50, 0.01, 0.5


def _em_ou(xp: ModuleType, chains: int) -> Callable[[], Any]:
    generator = _generator(xp, "ou")
    x0 = generator.standard_normal(size=(chains, OU_D))
    sigma = asarray(OU_SIGMA * np.eye(OU_D)[None, :, :], xp)

    def drift(x: Any, t: float) -> Any:
        return -x

    def diffusion(x: Any, t: float) -> Any:
        return sigma

    def run() -> Any:
        x = x0
        scale = math.sqrt(OU_DT)
        for k in range(OU_STEPS):
            dW = scale * generator.standard_normal(size=(chains, OU_D))
            x = sde.euler_maruyama(x, k * OU_DT, OU_DT, drift, diffusion, dW)
        return x

    return run


# --- SGLD on a quadratic (d = 10) and on the double well (d = 1) -----------------------------------------------------
SGLD_STEPS, SGLD_LR, SGLD_T, QUAD_D = 20, 0.01, 0.5, 10


def _sgld_quadratic(xp: ModuleType, chains: int) -> Callable[[], Any]:
    generator = _generator(xp, "sgld-quadratic")
    problem = Quadratic(H=np.diag(np.linspace(0.5, 2.0, QUAD_D)))
    theta0 = generator.standard_normal(size=(chains, QUAD_D))

    def run() -> Any:
        theta = theta0
        for _ in range(SGLD_STEPS):
            theta = sgld.sgld_step(theta, problem.grad(theta), SGLD_LR, SGLD_T, generator)
        return theta

    return run


def _sgld_double_well(xp: ModuleType, chains: int) -> Callable[[], Any]:
    generator = _generator(xp, "sgld-double-well")
    loss, coords = losses.double_well()
    grad = numeric.gradient(loss, coords)
    theta0 = generator.standard_normal(size=(chains, 1))

    def run() -> Any:
        theta = theta0
        for _ in range(SGLD_STEPS):
            theta = sgld.sgld_step(theta, grad(xp, theta), SGLD_LR, SGLD_T, generator)
        return theta

    return run


# --- Multiplicative-noise least-squares SDE (training model), d = 20, n = 50 -----------------------------------------
LSQ_D, LSQ_N, LSQ_STEPS, LSQ_DT, LSQ_GAMMA = 20, 50, 50, 0.01, 0.05


def lsq_model() -> lsq_sde.TrainingSDE:
    """The benchmarked least-squares problem (fixed data)."""
    generator = np.random.default_rng(7)
    features = generator.standard_normal((LSQ_N, LSQ_D)) / math.sqrt(LSQ_D)
    targets = features @ generator.standard_normal(LSQ_D) + 0.1 * generator.standard_normal(LSQ_N)
    return lsq_sde.TrainingSDE(features=features, targets=targets, gamma=LSQ_GAMMA)


def _lsq(xp: ModuleType, chains: int) -> Callable[[], Any]:
    generator = _generator(xp, "lsq")
    model = lsq_model()
    theta0 = generator.standard_normal(size=(chains, LSQ_D))

    def run() -> Any:
        theta = theta0
        scale = math.sqrt(LSQ_DT)
        for k in range(LSQ_STEPS):
            dW = scale * generator.standard_normal(size=(chains, LSQ_N))
            theta = model.step(theta, k * LSQ_DT, LSQ_DT, dW)
        return theta

    return run


# --- Mean-field Langevin particle step: replicas of 1 000 particles, d = 1 -------------------------------------------
MF_PARTICLES, MF_STEPS = 1_000, 20


def _mfld(xp: ModuleType, chains: int) -> Callable[[], Any]:
    generator = _generator(xp, "mfld")
    problem = mfld_particles.gaussian_case()
    particles0 = generator.standard_normal(size=(chains // MF_PARTICLES, MF_PARTICLES, problem.d))
    step = mfld_particles.langevin_step(temperature=0.5, lr=0.01, rng=generator)

    def run() -> Any:
        return mfld_particles.evolve(problem, particles0, MF_STEPS, step)

    return run


# --- Empirical NTK Gram matrix: replicate networks of width 256, d = 10, 64 inputs -----------------------------------
NTK_WIDTH, NTK_D, NTK_INPUTS = 256, 10, 64


def _ntk(xp: ModuleType, chains: int) -> Callable[[], Any]:
    generator = _generator(xp, "ntk")
    params = two_layer.init(generator, n=NTK_WIDTH, d=NTK_D, batch=(chains,))
    x = generator.standard_normal(size=(NTK_INPUTS, NTK_D))

    def run() -> Any:
        return two_layer.ntk_gram(params, x, activation_name="tanh")

    return run


_F = 8.0  # bytes per float64
KERNELS = [
    # EM: normals (w), * sqrt dt (r w), drift -x (r w), * dt (r w), + (r r w), dW sigma' (r w), + (r r w)
    Kernel("EM, OU d=10", 10_000, 10**6, OU_STEPS, OU_D, _em_ou, 14 * _F * OU_D),
    # SGLD: grad theta H (r w), lr * (r w), - (r r w), normals (w), * (r w), + (r r w)
    Kernel("SGLD, quadratic d=10", 100_000, 10**6, SGLD_STEPS, QUAD_D, _sgld_quadratic, 13 * _F * QUAD_D),
    Kernel("SGLD, double well d=1", 100_000, 10**6, SGLD_STEPS, 1, _sgld_double_well, 20 * _F),
    Kernel("LSQ SDE d=20 n=50", 2_000, 10**6, LSQ_STEPS, LSQ_N, _lsq, 4 * _F * LSQ_N + 16 * _F * LSQ_D),
    Kernel("MFLD step, 1000 particles/replica d=1", 100_000, 10**6, MF_STEPS, 1, _mfld, 20 * _F),
    # One "path-step" here is one replicate network's Gram matrix; the limit draws as many normals as the
    # Jacobian has entries (inputs x width x (d + 1)), i.e. the size of the data the kernel must produce.
    Kernel("NTK Gram, n=256 d=10 N=64", 100, 1_000, 1, NTK_INPUTS * NTK_WIDTH * (NTK_D + 1), _ntk,
           3 * _F * NTK_INPUTS * NTK_WIDTH * (NTK_D + 1)),
]
