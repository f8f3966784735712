"""One array-API code path: the reference solvers run on a strict array-API namespace (no NumPy-only calls),
and, on a GPU, every check gives the same verdict on ``--backend cupy`` as on NumPy (skips without CuPy/GPU)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sgd_conformance.checks.harness.run import check_modules
from sgd_conformance.solvers import problems, rng, sde, sgd
from sgd_conformance.theory import losses, numeric
from tests.gpu import cupy_or_skip

CHECK_MODULES = check_modules()


def _verdicts(pytester: pytest.Pytester, module: str, *options: str) -> dict[str, dict]:
    """Every check of ``module`` at ``--profile quick``: its result record by claim id."""
    report = pytester.path / f"results{len(options)}.json"
    pytester.runpytest_inprocess("--pyargs", module, "--report-json", str(report), "-p", "no:cacheprovider",
                                 *options)
    return {r["claim"]: r for r in json.loads(Path(report).read_text())["results"]}


@pytest.mark.parametrize("module", CHECK_MODULES)
def test_cupy_backend_gives_the_numpy_verdict_on_every_check(pytester: pytest.Pytester, module: str) -> None:
    """Each check module at ``--profile quick`` on ``--backend cupy`` and on NumPy: the same claims, the same
    outcome for each (the streams differ: CuPy draws with its own generator, so statistics differ, verdicts not)."""
    cupy_or_skip()
    on_gpu = _verdicts(pytester, module, "--backend", "cupy")
    on_cpu = _verdicts(pytester, module)
    assert on_gpu.keys() == on_cpu.keys()
    differ = {claim: (on_gpu[claim]["outcome"], on_cpu[claim]["outcome"], on_gpu[claim]["message"])
              for claim in on_cpu if on_gpu[claim]["outcome"] != on_cpu[claim]["outcome"]}
    assert not differ, differ
    assert {r["backend"] for r in on_gpu.values()} == {"cupy"}


def test_reference_solvers_use_only_the_array_api() -> None:
    """array-api-strict rejects anything outside the standard, so this run proves the code path is generic."""
    xs = pytest.importorskip("array_api_strict")
    theta = xs.asarray(np.array([[1.0, -0.5], [0.25, 2.0]]))
    quadratic = problems.Quadratic(np.array([[2.0, 0.5], [0.5, 1.0]]))
    step = sgd.gd_step(theta, quadratic.grad(theta), 0.1)
    np.testing.assert_allclose(np.asarray(step), np.asarray(theta) - 0.1 * np.asarray(theta) @ quadratic.H)
    loss, coords = losses.backward_error_test_loss()
    grad = numeric.gradient(loss, coords)(xs, theta)
    np.testing.assert_allclose(np.asarray(grad), numeric.gradient(loss, coords)(np, np.asarray(theta)), rtol=1e-15)
    dW = xs.asarray(np.random.default_rng(0).standard_normal((8, 2, 1)))
    coarse = rng.coarsen(dW, 4)
    x_end = sde.integrate(sde.euler_maruyama, theta, lambda x, t: -x, lambda x, t: x[:, :, None], coarse, 0.25)
    assert x_end.shape == (2, 2)


def test_least_squares_sde_models_use_only_the_array_api() -> None:
    """The least-squares SDE models (Schertzer & Pillaud-Vivien) (structured noise, contract fields, EM step) on
    array-api-strict equal NumPy."""
    xs = pytest.importorskip("array_api_strict")
    from sgd_conformance.solvers.lsq_sde import PopulationSDE, TrainingSDE

    generator = np.random.default_rng(1)
    models = (TrainingSDE(generator.standard_normal((5, 3)), generator.standard_normal(5), 0.2),
              PopulationSDE(np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.1], [0.0, 0.1, 0.5]]), 0.7, 0.2))
    for model in models:
        theta = generator.standard_normal((4, 3))
        dW = generator.standard_normal((4, model.brownian_dimension)) * 0.1
        strict = model.step(xs.asarray(theta), 0.0, 0.01, xs.asarray(dW))
        np.testing.assert_allclose(np.asarray(strict), model.step(theta, 0.0, 0.01, dW), rtol=1e-14)
        np.testing.assert_allclose(np.asarray(model.diffusion(xs.asarray(theta))), model.diffusion(theta), rtol=1e-14)


def test_mean_field_solvers_use_only_the_array_api() -> None:
    """The MFLD particle solver (replicas, M, d) and the mean-field network run on array-api-strict as on NumPy."""
    xs = pytest.importorskip("array_api_strict")
    from sgd_conformance.solvers import mean_field_classifier as mfc
    from sgd_conformance.solvers import mfld_particles

    generator = np.random.default_rng(2)
    particles = generator.standard_normal((3, 5, 1))
    problem = mfld_particles.gaussian_case()

    def damped(theta: object, grad: object) -> object:
        return theta - 0.1 * grad

    strict = mfld_particles.evolve(problem, xs.asarray(particles), 4, damped)
    np.testing.assert_allclose(np.asarray(strict), mfld_particles.evolve(problem, particles, 4, damped), rtol=1e-14)
    neurons, inputs = generator.standard_normal((2, 7, 6)), generator.choice([-0.5, 0.5], size=(8, 4))
    labels = generator.choice([-1.0, 1.0], size=8)
    np.testing.assert_allclose(np.asarray(mfc.risk(xs.asarray(neurons), xs.asarray(inputs),
                                                              xs.asarray(labels))),
                               mfc.risk(neurons, inputs, labels), rtol=1e-14)
