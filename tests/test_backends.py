"""GPU parity: every check gives the same verdict on ``--backend cupy`` as on NumPy (skips without CuPy/GPU)."""

from __future__ import annotations

import pytest

from tests.power import nodeid, run_check

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
    cupy = pytest.importorskip("cupy")
    if cupy.cuda.runtime.getDeviceCount() < 1:
        pytest.skip("no CUDA device")
    on_gpu = run_check(pytester, nodeid(module, check), "--backend", "cupy")
    on_cpu = run_check(pytester, nodeid(module, check))
    assert on_gpu["outcome"] == on_cpu["outcome"] == "passed", on_gpu["message"]
    assert on_gpu["backend"] == "cupy"
