"""Power of the NTK checks against mistakes of the suite's own network (its oracle side): each must pass on
solvers.two_layer and fail when the network's derivatives, initialisation or training are replaced by a known wrong
version (monkeypatched into the module object that the in-process run shares). The training checks also run the
user's ``sgd``; their implementation mutants are in their records (tests/test_power.py)."""

from __future__ import annotations

from typing import Any

import pytest

import sgd_conformance.checks.ntk  # noqa: F401  (shared with the in-process runs)
import sgd_conformance.checks.ntk_training  # noqa: F401
from sgd_conformance.solvers import two_layer
from sgd_conformance.solvers._xp import namespace
from tests.power import assert_caught, run_check

JACOBIAN = "lecture.ntk-jacobian-scale"
LIMIT = "lecture.ntk-limit"
HESSIAN = "lecture.ntk-hessian-scale"

_jacobian, _init, _blocks = two_layer.jacobian, two_layer.init, two_layer.hessian_blocks


def _seed_jacobian(params: two_layer.Params, x: Any, *, activation_name: str, scaling: str = "ntk") -> Any:
    """Mutant: the lecture's df/da_i = n^{-1/2} sigma'(w_i'x)."""
    xp = namespace(params.w, x)
    _, first, _ = two_layer.activation(activation_name, xp)
    _, dw = _jacobian(params, x, activation_name=activation_name, scaling=scaling)
    return two_layer.output_scale(params.a.shape[-1], scaling) * first(two_layer.preactivations(params, x)), dw


def _unscaled_jacobian(params: two_layer.Params, x: Any, *, activation_name: str, scaling: str = "ntk") -> Any:
    """Mutant: the 1/sqrt(n) dropped from the Jacobian."""
    da, dw = _jacobian(params, x, activation_name=activation_name, scaling=scaling)
    root = params.a.shape[-1] ** 0.5
    return da * root, dw * root


def _sigma_in_w_part(params: two_layer.Params, x: Any, *, activation_name: str, scaling: str = "ntk") -> Any:
    """Mutant: sigma in place of sigma' in df/dw_ij."""
    xp = namespace(params.w, x)
    sigma, _, _ = two_layer.activation(activation_name, xp)
    da, _ = _jacobian(params, x, activation_name=activation_name, scaling=scaling)
    pre = two_layer.preactivations(params, x)
    scale = two_layer.output_scale(params.a.shape[-1], scaling)
    return da, (scale * params.a[..., None, :] * sigma(pre))[..., None] * x[:, None, :]


def _unit_variance_init(rng: Any, *, n: int, d: int, batch: tuple[int, ...] = (), a_law: str = "gaussian",
                        w_scale: float | None = None) -> two_layer.Params:
    """Mutant: w ~ N(0, I) where the 1/d formula assumes N(0, I/d)."""
    return _init(rng, n=n, d=d, batch=batch, a_law=a_law, w_scale=1.0)


def _no_mixed_block(params: two_layer.Params, x: Any, *, activation_name: str, scaling: str = "ntk") -> Any:
    """Mutant: the lecture's Hessian, without the mixed a-w block."""
    blocks = _blocks(params, x, activation_name=activation_name, scaling=scaling)
    xp = namespace(blocks)
    keep = xp.ones(blocks.shape[-2:], dtype=blocks.dtype)
    keep[0, 1:] = 0.0
    keep[1:, 0] = 0.0
    return blocks * keep


@pytest.mark.parametrize("node", [JACOBIAN, LIMIT, HESSIAN], ids=["jacobian", "limit", "hessian"])
def test_ntk_checks_pass_on_the_reference_network(node: str) -> None:
    assert run_check(node)["outcome"] == "passed"


@pytest.mark.parametrize(("node", "attribute", "mutant", "signature"), [
    (JACOBIAN, "jacobian", _seed_jacobian, "df/da_i"),
    (JACOBIAN, "jacobian", _unscaled_jacobian, ""),
    (LIMIT, "jacobian", _sigma_in_w_part, "E K_n = K_inf"),
    (LIMIT, "jacobian", _unscaled_jacobian, ""),
    (LIMIT, "init", _unit_variance_init, "E K_n = K_inf"),
    (HESSIAN, "hessian_blocks", _no_mixed_block, "closed form"),
], ids=["jacobian-seed-sigma-prime", "jacobian-no-sqrt-n", "limit-sigma-in-w-part", "limit-no-sqrt-n",
        "limit-w-unit-variance", "hessian-no-mixed-block"])
def test_ntk_checks_catch_their_mutants(monkeypatch: pytest.MonkeyPatch, node: str,
                                        attribute: str, mutant: Any, signature: str) -> None:
    monkeypatch.setattr(two_layer, attribute, mutant)
    result = run_check(node)
    assert_caught(result, mutant.__name__.strip("_"), named=False)
    assert result["outcome"] == "failed" and signature in result["message"]


DUAL = "lecture.ntk-dual-solution"
LAZY = "lecture.ntk-lazy"
MEAN_FIELD = "lecture.mean-field-moves"

_gram, _predict, _train = two_layer.ntk_gram, two_layer.kernel_predict, two_layer.train


def _primal_gram(params: two_layer.Params, x: Any, *, activation_name: str, scaling: str = "ntk") -> Any:
    """Mutant: K built as J'J (p x p) instead of J J' (N x N)."""
    jac = two_layer.flat_jacobian(params, x, activation_name=activation_name, scaling=scaling)
    return namespace(jac).matrix_transpose(jac) @ jac


def _predict_without_offset(params: two_layer.Params, x: Any, targets: Any, x_new: Any, *, activation_name: str,
                            scaling: str = "ntk") -> Any:
    """Mutant: f*(x) = K(x, X) K^-1 R, the f_0(x) offset dropped."""
    return _predict(params, x, targets, x_new, activation_name=activation_name, scaling=scaling) - two_layer.forward(
        params, x_new, activation_name=activation_name, scaling=scaling)


def _swapped_training(params: two_layer.Params, x: Any, targets: Any, *, steps: int, step: Any,
                      activation_name: str, scaling: str = "ntk") -> two_layer.Params:
    """Mutant: trains under the other scaling (mean field where NTK is claimed, and vice versa)."""
    other = "mean_field" if scaling == "ntk" else "ntk"
    return _train(params, x, targets, steps=steps, step=step, activation_name=activation_name, scaling=other)


@pytest.mark.parametrize("node", [DUAL, LAZY, MEAN_FIELD], ids=["dual", "lazy", "mean-field"])
def test_ntk_training_checks_pass_on_the_reference_network(node: str) -> None:
    assert run_check(node)["outcome"] == "passed"


@pytest.mark.parametrize(("node", "attribute", "mutant", "outcome", "signature"), [
    (DUAL, "ntk_gram", _primal_gram, "failed", "shape of K"),
    (DUAL, "kernel_predict", _predict_without_offset, "failed", "f*(x) = f_0(x) + K(x, X)K^-1 R"),
    (LAZY, "train", _swapped_training, "failed", "slope of log ||theta_T - theta_0||"),
    (MEAN_FIELD, "train", _swapped_training, "error", "NaN/inf"),
], ids=["dual-primal-gram", "dual-no-f0-offset", "lazy-mean-field-scaling", "mean-field-ntk-scaling"])
def test_ntk_training_checks_catch_their_mutants(monkeypatch: pytest.MonkeyPatch, node: str, attribute: str,
                                                 mutant: Any, outcome: str, signature: str) -> None:
    """The training checks set the learning rate from the claimed scaling (eta tau_n): the NTK output scale trained
    at the mean-field rate 0.5 n diverges (the reference step returns NaN: an error), the mean-field output scale at
    the NTK rate 0.5 moves the parameters like n^(-1/2) instead of O(1)."""
    monkeypatch.setattr(two_layer, attribute, mutant)
    result = run_check(node)
    assert_caught(result, mutant.__name__.strip("_"), named=False)
    assert result["outcome"] == outcome and signature in result["message"], result["message"]
