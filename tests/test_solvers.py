"""Proofs about the reference solvers (:mod:`solvers`): exact, seeded and shape-level facts.

* random streams are reproducible from (seed, labels) and differ by label and by seed; golden draws pin them;
* ``coarsen`` returns exactly the sums of consecutive fine increments and rejects a non-divisible factor;
  ``brownian_increments`` are sqrt(dt) times the stream's standard normals (exactly), with variance dt;
* ``sgld_step`` at temperature 0 is ``gd_step`` (the T -> 0 degenerate limit), leaves its input alone, and
  reproduces a recorded golden array bit for bit;
* one Euler–Maruyama step on GBM is x + mu x dt + sigma x dW exactly; the scheme declares its orders and
  convention; ``integrate`` with zero diffusion is explicit Euler; ``chains.iterate`` observes k = 0..steps;
* ``Quadratic`` validates H and has the right shapes; ``random_spd`` has the requested spectrum;
* the same code paths run on CuPy arrays (skipped without CuPy and a GPU).
"""

from __future__ import annotations

import math
from typing import Any

import array_api_compat.numpy as xnp
import numpy as np
import pytest

from sgd_conformance.solvers import _xp, chains, lsq_sde, problems, rng, sde, sgd, sgld
from tests.gpu import cupy_or_skip

SEED = 20240611


# --------------------------------------------------------------------------------------------- rng


def test_generator_streams_are_reproducible() -> None:
    first = rng.generator(SEED, "claim-1", 0).standard_normal(1000)
    again = rng.generator(SEED, "claim-1", 0).standard_normal(1000)
    np.testing.assert_array_equal(first, again)


OTHER_STREAMS = [(SEED, ("claim-1", 1)), (SEED, ("claim-2", 0)), (SEED, (0, "claim-1")),
                 (SEED + 1, ("claim-1", 0)), (SEED, ("claim-1",))]


@pytest.mark.parametrize(("seed", "labels"), OTHER_STREAMS)
def test_generator_streams_differ_by_label_and_seed(seed: int, labels: tuple[object, ...]) -> None:
    reference = rng.generator(SEED, "claim-1", 0).standard_normal(64)
    other = rng.generator(seed, *labels).standard_normal(64)
    assert not np.any(reference == other)


def test_generator_golden_draws() -> None:
    """Pins the (seed, labels) -> stream map (SHA-256 words into SeedSequence, PCG64, NumPy's normals)."""
    draws = rng.generator(7, "claim", 3).standard_normal(3)
    np.testing.assert_array_equal(draws, [2.3620028099119916, 0.5208972000833512, 0.9053645506149789])


def test_seed_sequence_entropy_is_seed_and_label_words() -> None:
    ss = rng.seed_sequence(5, "a", 1)
    assert ss.entropy[-1] == 5
    assert len(ss.entropy) == 9
    assert list(ss.entropy) == list(rng.seed_sequence(5, "a", 1).entropy)
    assert list(ss.entropy[:-1]) != list(rng.seed_sequence(5, "a", 2).entropy[:-1])


@pytest.mark.parametrize(("first", "second"), [
    ((0,), (2**32,)),                     # the whole seed is used, not its low 32 bits
    ((0, 1, 2), (0, "1", "2")),           # labels are typed
    ((0, "a\x1fb"), (0, "a", "b")),       # and delimited unambiguously
])
def test_distinct_seeds_and_labels_give_distinct_streams(first: tuple[object, ...], second: tuple[object, ...]) -> None:
    a, b = rng.generator(*first).standard_normal(8), rng.generator(*second).standard_normal(8)
    assert not np.array_equal(a, b)


def test_negative_seed_is_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        rng.seed_sequence(-1)


def test_brownian_increments_are_scaled_standard_normals() -> None:
    dt = 0.01
    dW = rng.brownian_increments(rng.generator(SEED, "bm"), steps=6, chains=4, m=3, dt=dt)
    assert dW.shape == (6, 4, 3)
    assert dW.dtype == np.float64
    normals = rng.generator(SEED, "bm").standard_normal(size=(6, 4, 3))
    np.testing.assert_array_equal(dW, normals * float(np.sqrt(dt)))


def test_brownian_increments_have_variance_dt() -> None:
    """2 million draws: the sample variance's relative standard error is 0.1%; the margin is 3% (30 SE)."""
    dt = 0.04
    dW = rng.brownian_increments(rng.generator(SEED, "bm-var"), steps=1000, chains=500, m=4, dt=dt)
    assert abs(dW.mean()) < 0.03 * math.sqrt(dt)
    assert dW.var() == pytest.approx(dt, rel=0.03)
    coarse = rng.coarsen(dW, 10)
    assert coarse.var() == pytest.approx(10 * dt, rel=0.03)


@pytest.mark.parametrize("factor", [1, 2, 3, 4, 6, 12])
def test_coarsen_sums_consecutive_increments_exactly(factor: int) -> None:
    dW = rng.brownian_increments(rng.generator(SEED, "coarsen"), steps=12, chains=5, m=2, dt=0.1)
    coarse = rng.coarsen(dW, factor)
    assert coarse.shape == (12 // factor, 5, 2)
    for j in range(12 // factor):
        manual = dW[j * factor].copy()
        for i in range(1, factor):
            manual = manual + dW[j * factor + i]
        np.testing.assert_array_equal(coarse[j], manual)
    # the coarse path ends where the fine one does
    np.testing.assert_allclose(coarse.sum(axis=0), dW.sum(axis=0), rtol=1e-13, atol=1e-15)


def test_coarsen_twice_is_coarsen_once() -> None:
    dW = rng.brownian_increments(rng.generator(SEED, "coarsen2"), steps=16, chains=3, m=1, dt=0.1)
    np.testing.assert_allclose(rng.coarsen(rng.coarsen(dW, 2), 2), rng.coarsen(dW, 4), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("factor", [5, 7, 24])
def test_coarsen_rejects_a_non_divisible_factor(factor: int) -> None:
    dW = np.zeros((12, 2, 1))
    with pytest.raises(ValueError, match="not divisible"):
        rng.coarsen(dW, factor)


# ------------------------------------------------------------------------------------- sgd / sgld


def _state(chains_: int = 4, d: int = 3) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(11)
    return g.standard_normal((chains_, d)), g.standard_normal((chains_, d))


def test_gd_step_is_theta_minus_lr_grad() -> None:
    theta, grad = _state()
    np.testing.assert_array_equal(sgd.gd_step(theta, grad, 0.3), theta - 0.3 * grad)


@pytest.mark.parametrize("lr", [1e-3, 0.1, 1.5])
def test_sgld_at_zero_temperature_is_gd(lr: float) -> None:
    theta, grad = _state()
    out = sgld.sgld_step(theta, grad, lr, 0.0, rng.generator(SEED, "T0"))
    np.testing.assert_array_equal(out, sgd.gd_step(theta, grad, lr))


def test_steps_do_not_mutate_their_inputs() -> None:
    theta, grad = _state()
    theta_copy, grad_copy = theta.copy(), grad.copy()
    out = sgld.sgld_step(theta, grad, 0.1, 2.0, rng.generator(SEED, "mutate"))
    sgd.gd_step(theta, grad, 0.1)
    np.testing.assert_array_equal(theta, theta_copy)
    np.testing.assert_array_equal(grad, grad_copy)
    assert out is not theta and not np.shares_memory(out, theta)


def test_sgld_step_golden_values() -> None:
    """Recorded once; any change to the step formula, the noise draw or the stream map changes these bits."""
    theta = np.array([[1.0, -2.0], [0.5, 0.25]])
    grad = np.array([[0.1, 0.2], [-0.3, 0.4]])
    out = sgld.sgld_step(theta, grad, 0.1, 0.5, rng.generator(2024, "golden", "sgld"))
    golden = np.array([[1.4716227373602417, -2.059819280902377], [0.6270091680117087, 0.437430469028132]])
    assert np.array_equal(out, golden)
    # and it is the documented formula with the stream's normals
    xi = rng.generator(2024, "golden", "sgld").standard_normal(size=(2, 2))
    assert np.array_equal(out, theta - 0.1 * grad + math.sqrt(2 * 0.1 * 0.5) * xi)


def test_sgld_noise_has_variance_two_lr_temperature_and_is_fresh_per_chain() -> None:
    lr, temp = 0.05, 0.7
    theta = np.zeros((400_000, 2))
    out = sgld.sgld_step(theta, theta, lr, temp, rng.generator(SEED, "noise"))
    assert not np.any(out[0] == out[1])
    # 800k draws: relative SE of the variance 0.16%; margin 3%
    assert out.var() == pytest.approx(2 * lr * temp, rel=0.03)
    assert abs(np.corrcoef(out[:, 0], out[:, 1])[0, 1]) < 0.02


# ------------------------------------------------------------------------------------------- sde


MU, SIGMA = 0.3, 0.8


def _gbm_drift(x: Any, t: float) -> Any:
    return MU * x


def _gbm_diffusion(x: Any, t: float) -> Any:
    return (SIGMA * x)[:, :, None]


def test_euler_maruyama_on_gbm_is_one_explicit_step() -> None:
    x = np.random.default_rng(1).uniform(0.5, 2.0, size=(6, 1))
    dt = 0.01
    dW = rng.brownian_increments(rng.generator(SEED, "em"), steps=1, chains=6, m=1, dt=dt)[0]
    out = sde.euler_maruyama(x, 0.0, dt, _gbm_drift, _gbm_diffusion, dW)
    assert out.shape == (6, 1)
    np.testing.assert_array_equal(out, x + MU * x * dt + SIGMA * x * dW)


def test_euler_maruyama_declares_its_orders_and_convention() -> None:
    assert sde.euler_maruyama.strong_order == 0.5
    assert sde.euler_maruyama.weak_order == 1.0
    assert sde.euler_maruyama.convention == "ito"


def test_diffuse_is_a_batched_matrix_vector_product() -> None:
    g = np.random.default_rng(2)
    sig, dW = g.standard_normal((5, 3, 4)), g.standard_normal((5, 4))
    np.testing.assert_allclose(sde.diffuse(sig, dW), np.einsum("cdm,cm->cd", sig, dW), rtol=1e-14, atol=1e-15)


def test_integrate_with_zero_diffusion_is_explicit_euler() -> None:
    def drift(x: Any, t: float) -> Any:
        return -x + np.sin(t)

    def no_noise(x: Any, t: float) -> Any:
        return np.zeros((*x.shape, 2))

    x0 = np.random.default_rng(3).standard_normal((4, 3))
    dt, steps, t0 = 0.05, 20, 0.3
    dW = rng.brownian_increments(rng.generator(SEED, "zero-diffusion"), steps=steps, chains=4, m=2, dt=dt)
    out = sde.integrate(sde.euler_maruyama, x0, drift, no_noise, dW, dt, t0=t0)
    x = x0
    for k in range(steps):
        x = x + drift(x, t0 + k * dt) * dt
    np.testing.assert_array_equal(out, x)


def test_integrate_passes_the_grid_times_and_increments_in_order() -> None:
    seen: list[tuple[float, np.ndarray]] = []

    def recorder(x: Any, t: float, dt: float, drift: Any, diffusion: Any, dW: Any) -> Any:
        seen.append((t, dW))
        return x + dW

    dW = rng.brownian_increments(rng.generator(SEED, "order"), steps=5, chains=2, m=1, dt=0.1)
    out = sde.integrate(recorder, np.zeros((2, 1)), _gbm_drift, _gbm_diffusion, dW, 0.1, t0=1.0)
    assert [t for t, _ in seen] == [1.0 + k * 0.1 for k in range(5)]
    for k, (_, inc) in enumerate(seen):
        np.testing.assert_array_equal(inc, dW[k])
    np.testing.assert_allclose(out, dW.sum(axis=0), rtol=1e-14)


@pytest.mark.parametrize("block", [1, 3, 7, 100])
def test_drive_steps_every_block_in_order_and_observes_every_step(block: int) -> None:
    """The block length only says how the increments are fetched: the steps, their times and increments are those of
    one pass over the concatenated blocks."""
    seen: list[tuple[float, np.ndarray]] = []
    observed: list[int] = []

    def recorder(x: Any, t: float, dt: float, drift: Any, diffusion: Any, dW: Any) -> Any:
        seen.append((t, dW))
        return x + dW

    def increments(first: int, count: int) -> np.ndarray:
        return rng.brownian_increments(rng.generator(SEED, "drive", first), steps=count, chains=2, m=1, dt=0.1)

    out = sde.drive(recorder, np.zeros((2, 1)), _gbm_drift, _gbm_diffusion, increments, steps=7, dt=0.1, block=block,
                    observe=lambda k, x: observed.append(k))
    assert [t for t, _ in seen] == [k * 0.1 for k in range(7)] and observed == list(range(1, 8))
    firsts = range(0, 7, block)
    expected = np.concatenate([increments(first, min(block, 7 - first)) for first in firsts])
    np.testing.assert_array_equal(np.stack([inc for _, inc in seen]), expected)
    np.testing.assert_allclose(out, expected.sum(axis=0), rtol=1e-14)


def test_drive_on_brownian_blocks_is_the_coupled_reference_path() -> None:
    """brownian_blocks draws block k from stream(first step of k); simulate gives every row its own path and
    Snapshots keeps the states at the asked steps."""
    model = lsq_sde.TrainingSDE(np.array([[1.0], [2.0]]), np.array([1.0, 2.0]), 0.5)
    x0 = np.full((3, 1), 2.0)

    def stream(first: int) -> Any:
        return rng.generator(SEED, "blocks", first)

    snapshots = sde.Snapshots([2, 5])
    out = sde.simulate(sde.euler_maruyama, model, x0, steps=5, dt=0.01, stream=stream, floats=12, observe=snapshots)
    assert sde.block_length(12, 3, 2) == 2 and sorted(snapshots) == [2, 5]
    dW = np.concatenate([rng.brownian_increments(stream(first), steps=min(2, 5 - first), chains=3, m=2, dt=0.01)
                         for first in (0, 2, 4)])
    np.testing.assert_array_equal(out, sde.integrate(sde.euler_maruyama, x0, model.drift, model.diffusion, dW, 0.01))
    np.testing.assert_array_equal(snapshots[5], out)


# ---------------------------------------------------------------------------------------- chains


@pytest.mark.parametrize("steps", [0, 1, 7])
def test_iterate_observes_every_iterate_from_zero_to_steps(steps: int) -> None:
    observed: list[tuple[int, np.ndarray]] = []
    theta0 = np.ones((3, 2))

    def step(theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        return sgd.gd_step(theta, grad, 0.5)

    def observe(k: int, theta: np.ndarray) -> None:
        observed.append((k, theta.copy()))

    out = chains.iterate(step, lambda th: th, theta0, steps, observe=observe)
    assert [k for k, _ in observed] == list(range(steps + 1))
    for k, th in observed:
        np.testing.assert_array_equal(th, 0.5**k * theta0)
    np.testing.assert_array_equal(out, 0.5**steps * theta0)
    np.testing.assert_array_equal(chains.iterate(step, lambda th: th, theta0, steps), out)  # observe optional


# -------------------------------------------------------------------------------------- problems


def test_quadratic_rejects_non_symmetric_or_non_positive_definite_h() -> None:
    with pytest.raises(ValueError, match="symmetric"):
        problems.Quadratic(np.array([[2.0, 1.0], [0.0, 2.0]]))
    with pytest.raises(ValueError, match="positive definite"):
        problems.Quadratic(np.array([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="positive definite"):
        problems.Quadratic(np.array([[1.0, 2.0], [2.0, 1.0]]))  # eigenvalues 3, -1


def test_quadratic_grad_loss_and_constants() -> None:
    h = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 3.0]])
    q = problems.Quadratic(h)
    theta = np.random.default_rng(4).standard_normal((7, 3))
    grad, loss = q.grad(theta), q.loss(theta)
    assert grad.shape == (7, 3)
    assert loss.shape == (7,)
    np.testing.assert_allclose(grad, (h @ theta.T).T, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(loss, 0.5 * np.einsum("ci,ij,cj->c", theta, h, theta), rtol=1e-13)
    eigenvalues = np.linalg.eigvalsh(h)
    assert q.d == 3
    assert q.lambda_min == pytest.approx(eigenvalues[0], rel=1e-14)
    assert q.lambda_max == pytest.approx(eigenvalues[-1], rel=1e-14)


def test_random_spd_has_the_requested_spectrum_and_is_symmetric() -> None:
    wanted = np.logspace(-1, 1, 10)
    h = problems.random_spd(np.random.default_rng(5), wanted)
    assert h.shape == (10, 10)
    np.testing.assert_allclose(np.linalg.eigvalsh(h), wanted, rtol=1e-12)
    assert np.array_equal(h, h.T)  # exactly: Quadratic requires it
    problems.Quadratic(h)  # accepted
    np.testing.assert_array_equal(h, problems.random_spd(np.random.default_rng(5), wanted))
    assert not np.allclose(h, problems.random_spd(np.random.default_rng(6), wanted))


# -------------------------------------------------------------------------------------------- _xp


def test_numpy_namespace_helpers() -> None:
    x = np.arange(3.0)
    assert _xp.is_numpy(_xp.namespace(x))
    assert _xp.backend_namespace("numpy") is xnp
    with pytest.raises(ValueError, match="unknown backend"):
        _xp.backend_namespace("jax")
    assert _xp.to_numpy(x) is x
    y = _xp.asarray([1, 2], xnp)
    assert y.dtype == np.float64


# -------------------------------------------------------------------------------------------- GPU




def test_sgld_and_euler_maruyama_run_on_cupy_arrays() -> None:
    cupy = cupy_or_skip()
    xcp = _xp.backend_namespace("cupy")
    theta_h, grad_h = _state()
    theta, grad = cupy.asarray(theta_h), cupy.asarray(grad_h)
    g = rng.generator(SEED, "gpu", xp=xcp)
    out = sgld.sgld_step(theta, grad, 0.1, 0.5, g)
    assert isinstance(out, cupy.ndarray)
    assert out.shape == theta.shape and out.dtype == cupy.float64
    cold = sgld.sgld_step(theta, grad, 0.1, 0.0, g)
    np.testing.assert_array_equal(cupy.asnumpy(cold), sgd.gd_step(theta_h, grad_h, 0.1))
    # reproducible on the device too
    again = sgld.sgld_step(theta, grad, 0.1, 0.5, rng.generator(SEED, "gpu", xp=xcp))
    np.testing.assert_array_equal(cupy.asnumpy(out), cupy.asnumpy(again))

    x_h = np.random.default_rng(1).uniform(0.5, 2.0, size=(6, 1))
    dW_h = rng.brownian_increments(rng.generator(SEED, "em"), steps=1, chains=6, m=1, dt=0.01)[0]
    x, dW = cupy.asarray(x_h), cupy.asarray(dW_h)
    step = sde.euler_maruyama(x, 0.0, 0.01, _gbm_drift, _gbm_diffusion, dW)
    assert isinstance(step, cupy.ndarray)
    on_cpu = sde.euler_maruyama(x_h, 0.0, 0.01, _gbm_drift, _gbm_diffusion, dW_h)
    np.testing.assert_allclose(cupy.asnumpy(step), on_cpu, rtol=1e-15, atol=1e-15)
    inc = rng.brownian_increments(rng.generator(SEED, "gpu-bm", xp=xcp), steps=8, chains=3, m=1, dt=0.01)
    final = sde.integrate(sde.euler_maruyama, cupy.ones((3, 1)), _gbm_drift, _gbm_diffusion, inc, 0.01)
    assert isinstance(final, cupy.ndarray) and final.shape == (3, 1)
    assert isinstance(rng.coarsen(inc, 4), cupy.ndarray)


def test_ula_grid_density_reproduces_the_exact_ar1_variance() -> None:
    """On L = a x^2/2 the chain is AR(1): its stationary variance is T / (a (1 - lr a / 2)) (theory.langevin)."""
    from sgd_conformance.checks.oracles.langevin import stationary_density_on_grid

    curvature, lr, temperature = 2.0, 0.1, 0.5
    grid = np.linspace(-4, 4, 1601)
    p = stationary_density_on_grid(lambda z: curvature * z, lr, temperature, grid)
    assert abs(p.sum() - 1) < 1e-12 and p.min() > -1e-12
    variance = float(np.sum(p * grid**2))
    assert abs(variance - temperature / (curvature * (1 - lr * curvature / 2))) < 1e-6
