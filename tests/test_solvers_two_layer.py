"""solvers.two_layer: Jacobian and Hessian blocks vs central finite differences of the forward pass; the Gram
matrix vs J J'; scalings; shapes."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from sgd_conformance.solvers import two_layer
from sgd_conformance.solvers.rng import generator
from sgd_conformance.solvers.sgd import gd_step


def _params(name: str, n: int = 7, d: int = 3, a_law: str = "gaussian") -> tuple[two_layer.Params, np.ndarray]:
    rng = generator(0, "tests", name, n, d, a_law)
    return two_layer.init(rng, n=n, d=d, a_law=a_law), rng.standard_normal((4, d))


def _flat(params: two_layer.Params) -> np.ndarray:
    return np.concatenate([params.a, params.w.ravel()])


def _unflat(theta: np.ndarray, n: int, d: int) -> two_layer.Params:
    return two_layer.Params(a=theta[:n], w=theta[n:].reshape(n, d))


@pytest.mark.parametrize("scaling", two_layer.SCALINGS)
@pytest.mark.parametrize("name", two_layer.ACTIVATIONS)
def test_jacobian_matches_central_differences(name: str, scaling: str) -> None:
    params, x = _params(name)
    n, d = params.w.shape
    da, dw = two_layer.jacobian(params, x, activation_name=name, scaling=scaling)
    analytic = np.concatenate([da, dw.reshape(len(x), n * d)], axis=1)
    theta, h = _flat(params), 1e-6
    numeric = np.empty_like(analytic)
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = h
        up = two_layer.forward(_unflat(theta + e, n, d), x, activation_name=name, scaling=scaling)
        down = two_layer.forward(_unflat(theta - e, n, d), x, activation_name=name, scaling=scaling)
        numeric[:, k] = (up - down) / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", two_layer.ACTIVATIONS)
def test_hessian_blocks_match_central_differences_of_the_jacobian(name: str) -> None:
    """Columns of the Hessian by differencing the analytic gradient; off-block (cross-neuron) entries vanish."""
    params, xs = _params(name, n=5)
    x = xs[0]
    n, d = params.w.shape
    theta, h = _flat(params), 1e-6

    def grad(t: np.ndarray) -> np.ndarray:
        da, dw = two_layer.jacobian(_unflat(t, n, d), x[None, :], activation_name=name)
        return np.concatenate([da[0], dw[0].ravel()])

    full = np.empty((theta.size, theta.size))
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = h
        full[:, k] = (grad(theta + e) - grad(theta - e)) / (2 * h)
    blocks = two_layer.hessian_blocks(params, x, activation_name=name)
    assembled = np.zeros_like(full)
    for i in range(n):
        idx = [i, *range(n + i * d, n + (i + 1) * d)]
        assembled[np.ix_(idx, idx)] = blocks[i]
    np.testing.assert_allclose(assembled, full, rtol=1e-6, atol=1e-8)
    assert np.any(np.abs(blocks[:, 0, 1:]) > 0), "the mixed a-w block is present"


def test_hessian_norm_is_max_block_norm() -> None:
    params, xs = _params("tanh", n=6)
    blocks = two_layer.hessian_blocks(params, xs[0], activation_name="tanh")
    expected = max(np.linalg.norm(b, 2) for b in blocks)
    assert two_layer.hessian_norm(params, xs[0], activation_name="tanh") == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", two_layer.ACTIVATIONS)
def test_ntk_gram_is_j_j_transpose(name: str) -> None:
    params, x = _params(name)
    da, dw = two_layer.jacobian(params, x, activation_name=name)
    jac = np.concatenate([da, dw.reshape(len(x), -1)], axis=1)
    np.testing.assert_allclose(two_layer.ntk_gram(params, x, activation_name=name), jac @ jac.T, rtol=1e-12)


def test_mean_field_scaling_is_ntk_over_sqrt_n() -> None:
    params, x = _params("tanh", n=16)
    ntk_f = two_layer.forward(params, x, activation_name="tanh", scaling="ntk")
    mf_f = two_layer.forward(params, x, activation_name="tanh", scaling="mean_field")
    np.testing.assert_allclose(mf_f, ntk_f / 4, rtol=1e-14)


def test_batched_shapes_and_rademacher() -> None:
    rng = generator(0, "tests", "batched")
    params = two_layer.init(rng, n=9, d=2, batch=(3,), a_law="rademacher")
    assert params.a.shape == (3, 9) and params.w.shape == (3, 9, 2)
    assert set(np.unique(params.a)) <= {-1.0, 1.0}
    x = rng.standard_normal((5, 2))
    da, dw = two_layer.jacobian(params, x, activation_name="relu")
    assert da.shape == (3, 5, 9) and dw.shape == (3, 5, 9, 2)
    assert two_layer.ntk_gram(params, x, activation_name="relu").shape == (3, 5, 5)
    assert two_layer.hessian_blocks(params, x[0], activation_name="relu").shape == (3, 9, 3, 3)
    assert two_layer.hessian_norm(params, x[0], activation_name="relu").shape == (3,)


def test_unknown_names_raise() -> None:
    with pytest.raises(ValueError, match="scaling"):
        two_layer.output_scale(4, "lazy")
    with pytest.raises(ValueError, match="activation"):
        two_layer.activation("gelu", np)
    with pytest.raises(ValueError, match="a_law"):
        two_layer.init(generator(0, "x"), n=2, d=2, a_law="uniform")


@pytest.mark.parametrize("name", two_layer.ACTIVATIONS)
def test_flat_jacobian_flatten_and_cross_kernel(name: str) -> None:
    params, x = _params(name)
    n, d = params.w.shape
    jac = two_layer.flat_jacobian(params, x, activation_name=name)
    da, dw = two_layer.jacobian(params, x, activation_name=name)
    np.testing.assert_array_equal(jac, np.concatenate([da, dw.reshape(len(x), n * d)], axis=1))
    np.testing.assert_array_equal(two_layer.flatten(params), _flat(params))
    back = two_layer.unflatten(two_layer.flatten(params), n, d)
    np.testing.assert_array_equal(back.w, params.w)
    np.testing.assert_allclose(two_layer.ntk_cross(params, x, x, activation_name=name),
                               two_layer.ntk_gram(params, x, activation_name=name), rtol=1e-13)


def test_min_norm_step_kernel_predict_and_linearised_gd() -> None:
    params, x = _params("tanh", n=9)
    y = np.array([0.3, -0.5, 1.2, 0.1])
    jac = two_layer.flat_jacobian(params, x, activation_name="tanh")
    resid = y - two_layer.forward(params, x, activation_name="tanh")
    step = two_layer.flatten(two_layer.min_norm_step(params, x, y, activation_name="tanh"))
    np.testing.assert_allclose(step, np.linalg.pinv(jac) @ resid, rtol=1e-9)
    x_new = np.array([[0.2, -1.0, 0.5]])
    expected = two_layer.forward(params, x_new, activation_name="tanh") + two_layer.flat_jacobian(
        params, x_new, activation_name="tanh") @ step
    np.testing.assert_allclose(two_layer.kernel_predict(params, x, y, x_new, activation_name="tanh"), expected,
                               rtol=1e-10)
    lr = 1.0 / np.linalg.eigvalsh(jac @ jac.T)[-1]
    gd = two_layer.linearised_gd(params, x, y, steps=20000, step=partial(gd_step, lr=lr), activation_name="tanh")
    np.testing.assert_allclose(two_layer.flatten(gd), step, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("scaling", two_layer.SCALINGS)
def test_train_hands_the_step_the_mean_loss_gradient(scaling: str) -> None:
    """One step of train with a GD step is theta - eta J'(f - y)/N with J from the analytic Jacobian (the flat
    parameters of the replicate networks are the chains); the batch axis is vectorised."""
    rng = generator(1, "tests", "train")
    params = two_layer.init(rng, n=6, d=3, batch=(2,))
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((2, 5))
    out = two_layer.train(params, x, y, steps=1, step=partial(gd_step, lr=0.1), activation_name="tanh",
                          scaling=scaling)
    jac = two_layer.flat_jacobian(params, x, activation_name="tanh", scaling=scaling)
    err = two_layer.forward(params, x, activation_name="tanh", scaling=scaling) - y
    expected = two_layer.flatten(params) - 0.1 * np.einsum("bip,bi->bp", jac, err) / 5
    np.testing.assert_allclose(two_layer.flatten(out), expected, rtol=1e-12)


def test_time_scale_is_one_under_ntk_and_the_width_under_mean_field() -> None:
    assert (two_layer.time_scale(6, "ntk"), two_layer.time_scale(6, "mean_field")) == (1.0, 6.0)


def test_test_inputs_lie_on_the_sphere_of_radius_sqrt_d_and_keep_their_separation() -> None:
    rng = np.random.default_rng(3)
    x = two_layer.unit_input(rng, 5)
    assert float(x @ x) == pytest.approx(5.0, rel=1e-14)
    points = two_layer.sphere_inputs(rng, 6, 3, separation=0.6)
    np.testing.assert_allclose(np.sum(points**2, axis=1), 3.0, rtol=1e-14)
    cos = np.abs(points @ points.T / 3.0)[np.triu_indices(6, 1)]
    assert np.max(cos) <= np.cos(0.6)
