"""One array-API code path: the reference solvers run on a strict array-API namespace (no NumPy-only calls),
and, on a GPU, every check gives the same verdict on ``--backend cupy`` as on NumPy (skips without CuPy/GPU)."""

from __future__ import annotations

import numpy as np
import pytest

from solvers import problems, rng, sde, sgd
from tests.gpu import cupy_or_skip
from tests.power import nodeid, run_check
from theory import losses, numeric

CHECKS = [
    ("test_sgld.py", "test_sgld_has_the_exact_gaussian_law_on_a_quadratic"),
    ("test_sgld.py", "test_sgld_step_covers_time_lr"),
    ("test_sgld.py", "test_sgld_samples_the_gibbs_law_as_lr_vanishes"),
    ("test_sgd.py", "test_gd_follows_the_modified_flow_to_second_order"),
    ("test_sgd.py", "test_gd_converges_iff_eta_lambda_max_below_two"),
    ("test_sde_schemes.py", "test_scheme_converges_weakly_to_the_ito_solution"),
    ("test_sde_schemes.py", "test_scheme_converges_strongly_with_order_one_half"),
]


@pytest.mark.parametrize(("module", "check"), CHECKS, ids=[c for _, c in CHECKS])
def test_cupy_backend_gives_the_numpy_verdict(pytester: pytest.Pytester, module: str, check: str) -> None:
    cupy_or_skip()
    on_gpu = run_check(pytester, nodeid(module, check), "--backend", "cupy")
    on_cpu = run_check(pytester, nodeid(module, check))
    assert on_gpu["outcome"] == on_cpu["outcome"] == "passed", on_gpu["message"]
    assert on_gpu["backend"] == "cupy"


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
    """The seed-001 models (structured noise, contract fields, EM step) on array-api-strict equal NumPy."""
    xs = pytest.importorskip("array_api_strict")
    from solvers.lsq_sde import PopulationSDE, TrainingSDE

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
    from solvers import mean_field_net, mfld

    generator = np.random.default_rng(2)
    particles = generator.standard_normal((3, 5, 1))
    problem = mfld.gaussian_case()

    def damped(theta: object, grad: object) -> object:
        return theta - 0.1 * grad

    strict = mfld.evolve(problem, xs.asarray(particles), 4, damped)
    np.testing.assert_allclose(np.asarray(strict), mfld.evolve(problem, particles, 4, damped), rtol=1e-14)
    neurons, inputs = generator.standard_normal((2, 7, 6)), generator.choice([-0.5, 0.5], size=(8, 4))
    labels = generator.choice([-1.0, 1.0], size=8)
    np.testing.assert_allclose(np.asarray(mean_field_net.risk(xs.asarray(neurons), xs.asarray(inputs),
                                                              xs.asarray(labels))),
                               mean_field_net.risk(neurons, inputs, labels), rtol=1e-14)
