"""theory.ntk (numpy only as a test oracle): the derived arc-cosine kernels vs Cho & Saul and vs mpmath
quadrature; K∞ special cases; the Hessian block reduction vs sympy's Hessian of a symbolic neuron."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from sgd_conformance.theory import ntk


@pytest.mark.parametrize("order", [0, 1])
def test_derived_arccos_kernel_is_cho_and_saul(order: int) -> None:
    assert sp.simplify(ntk.arccos_kernel(order) - ntk.ARCCOS_CLOSED[order]) == 0


@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("angle", [0.3, 1.0, 2.0, 3.0])
def test_arccos_kernel_matches_quadrature(order: int, angle: float) -> None:
    closed = ntk.ARCCOS_CLOSED[order].subs(ntk.theta, sp.Float(angle, 30))
    assert mpmath.almosteq(ntk.arccos_kernel_quadrature(order, angle), mpmath.mpf(sp.N(closed, 25)), rel_eps=1e-15)


def test_ntk_infinite_on_the_diagonal() -> None:
    """theta = 0: K∞(x, x) = ||x||^2 (1/(2d) + 1/2) (E relu(z)^2 = Var z / 2, P(z > 0) = 1/2)."""
    diag = ntk.ntk_infinite().subs({ntk.theta: 0, ntk.norm_y: ntk.norm_x})
    assert sp.simplify(diag - ntk.norm_x**2 * (1 / (2 * ntk.d) + sp.Rational(1, 2))) == 0


def test_ntk_infinite_at_opposite_inputs_vanishes() -> None:
    """theta = pi: relu(z) relu(-z) = 0 and 1{z > 0} 1{-z > 0} = 0."""
    assert sp.simplify(ntk.ntk_infinite().subs(ntk.theta, sp.pi)) == 0


@pytest.mark.parametrize("name", ntk.ACTIVATIONS)
def test_neuron_jacobian_a_part_is_sigma_not_the_seeds_sigma_prime(name: str) -> None:
    grads, _ = ntk.neuron_jacobian(name, 3)
    _, ws, xs = ntk.neuron_output(name, 3)
    pre = sum(w * x for w, x in zip(ws, xs, strict=True))
    assert sp.simplify(grads[0] - ntk.activation(name).subs(ntk.z, pre) / sp.sqrt(ntk.n)) == 0
    seed = ntk.seed_jacobian_a(name).subs(ntk.z, pre)
    point = {ws[0]: 0.3, ws[1]: -0.2, ws[2]: 0.9, xs[0]: 1.1, xs[1]: 0.4, xs[2]: 0.7, ntk.n: 9}
    assert abs(float((grads[0] - seed).subs(point))) > 1e-3


@pytest.mark.parametrize("name", ["tanh"])
def test_hessian_block_reduces_to_the_2x2_matrix(name: str) -> None:
    """Sympy's Hessian of a neuron in (a, w_0, w_1) has the block form (mixed block included) and its nonzero
    eigenvalues are those of :func:`theory.ntk.reduced_block` at r = ||x||."""
    expr, ws, xs = ntk.neuron_output(name, 2)
    hess = sp.hessian(expr, (ntk.a_i, *ws))
    pre = sum(w * x for w, x in zip(ws, xs, strict=True))
    point = {ntk.a_i: sp.Rational(7, 10), ws[0]: sp.Rational(3, 10), ws[1]: -sp.Rational(1, 2),
             xs[0]: sp.Rational(6, 5), xs[1]: sp.Rational(4, 5), ntk.n: 16}
    assert hess[0, 0] == 0
    mixed = ntk.derivative(name, 1).subs(ntk.z, pre) * xs[0] / sp.sqrt(ntk.n)
    assert float((hess[0, 1] - mixed).subs(point).evalf(30)) == pytest.approx(0.0, abs=1e-25)
    eig_full = np.linalg.eigvalsh(np.array(hess.subs(point).evalf(30), dtype=float))
    norm = sp.sqrt(point[xs[0]] ** 2 + point[xs[1]] ** 2)
    small = ntk.reduced_block(name).subs({ntk.a_i: point[ntk.a_i], ntk.z: pre.subs(point), ntk.r: norm,
                                          ntk.n: 16}).evalf(30)
    eig_small = np.linalg.eigvalsh(np.array(small, dtype=float))
    assert eig_full[0] == pytest.approx(eig_small[0], rel=1e-12)
    assert eig_full[-1] == pytest.approx(eig_small[-1], rel=1e-12)
    assert abs(eig_full[1]) < 1e-14
    closed = ntk.hessian_block_norm(name).subs({ntk.a_i: point[ntk.a_i], ntk.z: pre.subs(point), ntk.r: norm,
                                                ntk.n: 16})
    assert float(closed) == pytest.approx(max(abs(e) for e in eig_small), rel=1e-12)


def test_relu_block_norm_is_norm_over_sqrt_n_when_active() -> None:
    expr = ntk.hessian_block_norm("relu").subs({ntk.z: 1, ntk.r: 3, ntk.n: 4, ntk.a_i: 5})
    assert sp.simplify(expr) == sp.Rational(3, 2)


def test_sup_block_norm_tanh_matches_the_catalogue() -> None:
    """CLAIMS-DETAIL §1.19: tanh + Rademacher a at ||x||^2 = 5: sqrt(n) norm -> 4.399."""
    assert ntk.sup_block_norm("tanh", 5**0.5) == pytest.approx(4.3993312, rel=1e-7)
