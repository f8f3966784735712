"""Power of the reparameterisation checks (family ``reference``): each must fail when the theory it relies on is
replaced by the mutant named in its claim record, monkeypatched into the module the in-process run
shares, and pass on the derived theory."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest
import sympy as sp

import sgd_conformance.checks.reparameterisation  # noqa: F401  (shared with the in-process runs)
from sgd_conformance.theory import reparam
from tests.power import assert_caught, run_check

HESSIAN = "lecture.hessian-reparam"
IGS = "lecture.igs-invariant"


def test_hessian_check_passes_on_the_derived_law() -> None:
    assert run_check(HESSIAN)["outcome"] == "passed"


def test_hessian_check_catches_the_law_d_h_d(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant: the Hessian transformed as D H D (the chain rule applied the wrong way round)."""
    original = reparam.transformed_hessian

    def wrong(hessian: Any, scales: Any) -> Any:
        inverse = [1 / s for s in scales] if isinstance(hessian, sp.MatrixBase) else 1.0 / scales
        return original(hessian, inverse)

    monkeypatch.setattr(reparam, "transformed_hessian", wrong)
    result = run_check(HESSIAN)
    assert_caught(result, "hessian_d_h_d", named=False)
    assert result["outcome"] == "failed" and "D^-1 Hess L D^-1" in result["message"]


def test_hessian_check_catches_the_law_d_inverse_h_d(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant: D^-1 H D (equal to the law on diagonal Hessians; the ReLU Hessian has off-diagonal blocks)."""
    def wrong(hessian: Any, scales: Any) -> Any:
        if isinstance(hessian, sp.MatrixBase):
            p = hessian.shape[0]
            return sp.Matrix(p, p, lambda i, j: hessian[i, j] * scales[j] / scales[i])
        return hessian * scales[..., None, :] / scales[..., :, None]

    monkeypatch.setattr(reparam, "transformed_hessian", wrong)
    result = run_check(HESSIAN)
    assert_caught(result, "hessian_d_inverse_h_d", named=False)
    assert result["outcome"] == "failed", result["message"]


def test_igs_check_passes_on_the_pseudo_inverse() -> None:
    assert run_check(IGS)["outcome"] == "passed"


def test_igs_check_catches_a_regularised_inverse(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant: F^+ replaced by (F + 1e-3 I)^-1 (a 'damped' Fisher inverse): neither invariant nor 2NL."""
    def wrong(xp: ModuleType, jac: Any) -> Any:
        fisher = reparam.fisher(xp, jac)
        return np.linalg.inv(fisher + 1e-3 * np.eye(fisher.shape[0]))

    monkeypatch.setattr(reparam, "fisher_pseudo_inverse", wrong)
    result = run_check(IGS)
    assert_caught(result, "regularised_fisher_inverse", named=False)
    assert result["outcome"] == "failed" and "IGS" in result["message"]
