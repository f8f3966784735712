"""Every check has power: it fails on wrong implementations and passes on the reference and a correct variant.

Each mutant's bug is stated in its docstring in ``tests/mutants.py``. Runs at ``--profile quick``, seed 0.
"""

from __future__ import annotations

import importlib.util

import pytest

from tests.power import ROOT, assert_caught, claim_id, mutant, run_check

SGLD = "sgld.py"
SGD = "sgd.py"
SDE = "sde_schemes.py"
CONTRACT = "contract.py"

CASES = [
    # (check module, check function, family, mutants that must fail, correct variants that must pass)
    (CONTRACT, "test_sgd_implementation_honours_the_contract", "sgd", ["gd_hidden_momentum", "mutates_input"],
     ["gd_correct_variant"]),
    (CONTRACT, "test_sgld_implementation_honours_the_contract", "sgld", ["sgld_global_rng", "sgld_in_place"],
     ["sgld_correct_variant"]),
    (CONTRACT, "test_sde_implementation_honours_the_contract", "sde", ["ignores_increments", "em_in_place"],
     ["em_correct_variant"]),
    (SGLD, "test_sgld_has_the_exact_gaussian_law_on_a_quadratic", "sgld",
     ["sgld_noise_sqrt_lr_t", "sgld_noise_proportional_to_lr", "sgld_shared_noise", "sgld_half_speed"],
     ["sgld_correct_variant"]),
    (SGLD, "test_sgld_step_covers_time_lr", "sgld", ["sgld_half_speed", "sgld_noise_sqrt_lr_t"],
     ["sgld_correct_variant"]),
    (SGLD, "test_sgld_samples_the_gibbs_law_as_lr_vanishes", "sgld",
     ["sgld_noise_sqrt_lr_t", "sgld_noise_proportional_to_lr", "sgld_shared_noise"], ["sgld_correct_variant"]),
    (SGLD, "test_sgld_puts_the_gibbs_mass_on_the_flat_basin", "sgld",
     ["sgld_noise_sqrt_lr_t", "sgld_noise_proportional_to_lr"], ["sgld_correct_variant"]),
    (SGLD, "test_sgld_mean_loss_has_the_exact_finite_step_equipartition", "sgld",
     ["sgld_noise_sqrt_lr_t", "sgld_noise_proportional_to_lr", "sgld_half_speed"], ["sgld_correct_variant"]),
    (SGD, "test_sgd_stationary_variance_is_not_a_function_of_eta_over_b", "sgd",
     ["gd_lr_times_1_1", "gd_hidden_momentum", "gd_stale_gradient"], ["gd_correct_variant"]),
    (SGD, "test_sgd_stationary_law_is_not_the_gibbs_law", "sgd", ["gd_lr_times_1_1", "gd_hidden_momentum"],
     ["gd_correct_variant"]),
    (SGD, "test_gd_only_converges_to_minima_with_eta_sharpness_at_most_two", "sgd",
     ["gd_half_step", "gd_hidden_momentum"], ["gd_correct_variant"]),
    (SGD, "test_mean_of_sgd_is_gd_on_least_squares", "sgd", ["gd_lr_times_1_1", "gd_hidden_momentum"],
     ["gd_correct_variant"]),
    (SGD, "test_gd_converges_to_the_minimum_norm_interpolant", "sgd",
     ["gd_weight_decay", "gd_diagonal_preconditioning"], ["gd_correct_variant"]),
    (SGD, "test_shuffled_sgd_follows_the_minibatch_modified_loss", "sgd",
     ["gd_hidden_momentum", "gd_stale_gradient", "gd_lr_times_1_1"], ["gd_correct_variant"]),
    (SGD, "test_gd_follows_the_modified_flow_to_second_order", "sgd",
     ["gd_hidden_momentum", "gd_lr_times_1_1", "gd_stale_gradient"], ["gd_correct_variant"]),
    (SGD, "test_gd_converges_iff_eta_lambda_max_below_two", "sgd",
     ["gd_hidden_momentum", "gd_double_gradient", "gd_lr_times_1_1"], ["gd_correct_variant"]),
    (SDE, "test_multiplicative_sde_reaches_the_ito_fokker_planck_law", "sde",
     ["stochastic_heun", "increments_rescaled", "endpoint_diffusion"], ["em_correct_variant"]),
    (SDE, "test_scheme_converges_weakly_to_the_ito_solution", "sde",
     ["stochastic_heun", "endpoint_diffusion", "increments_rescaled"], ["em_correct_variant"]),
    (SDE, "test_scheme_converges_strongly_with_order_one_half", "sde",
     ["stochastic_heun", "endpoint_diffusion", "increments_scaled_by_h"], ["em_correct_variant"]),
]

MUST_FAIL = [pytest.param(m, f, fam, bug, id=f"{f}-{bug}") for m, f, fam, bugs, _ in CASES for bug in bugs]
MUST_PASS = [pytest.param(m, f, fam, ok, id=f"{f}-{ok or 'reference'}")
             for m, f, fam, _, oks in CASES for ok in [None, *oks]]


@pytest.mark.parametrize(("module", "check", "family", "bug"), MUST_FAIL)
def test_check_catches_mutant(module: str, check: str, family: str, bug: str) -> None:
    result = run_check(claim_id(module, check), "--impl", mutant(family, bug))
    assert_caught(result, bug)


def test_failure_names_the_likely_cause_of_a_known_noise_bug() -> None:
    result = run_check(claim_id(SGLD, "test_sgld_has_the_exact_gaussian_law_on_a_quadratic"),
                       "--impl", mutant("sgld", "sgld_noise_sqrt_lr_t"))
    assert "likely cause: noise scale sqrt(lr T) instead of sqrt(2 lr T) (known mutant)" in result["message"]


@pytest.mark.parametrize(("module", "check", "family", "variant"), MUST_PASS)
def test_check_passes_correct_implementation(module: str, check: str, family: str,
                                             variant: str | None) -> None:
    options = ["--impl", mutant(family, variant)] if variant else []
    result = run_check(claim_id(module, check), *options)
    assert result["outcome"] == "passed", result["message"]
    assert result["implementation"] == (options[1].split("=", 1)[1] if variant else "reference")


def _require_torch() -> None:
    """Skip without torch (its import is left to the adapter, as in a user's run)."""
    if importlib.util.find_spec("torch") is None:
        pytest.skip("PyTorch is not installed (pip install 'sgd-conformance[torch]')")


def test_torch_sgd_passes_the_sgd_checks() -> None:
    _require_torch()
    checks = ((SGD, "test_gd_follows_the_modified_flow_to_second_order"),
              (SGD, "test_gd_converges_iff_eta_lambda_max_below_two"),
              (CONTRACT, "test_sgd_implementation_honours_the_contract"))
    for module, check in checks:
        result = run_check(claim_id(module, check), "--impl", "sgd=torch:torch.optim:SGD")
        assert result["outcome"] == "passed", result["message"]


def test_stability_check_catches_torch_sgd_with_momentum(pytester: pytest.Pytester) -> None:
    _require_torch()
    factory = pytester.makepyfile(momentum_sgd="""
        import torch
        def SGD(params, lr):
            return torch.optim.SGD(params, lr=lr, momentum=0.5)
    """)
    result = run_check(claim_id(SGD, "test_gd_converges_iff_eta_lambda_max_below_two"),
                       "--impl", f"sgd=torch:{factory.stem}:SGD")
    assert_caught(result, factory.stem)
    assert result["outcome"] == "failed", result["message"]


def test_torch_sgld_optimizer_passes_the_exact_law_check() -> None:
    _require_torch()
    result = run_check(claim_id(SGLD, "test_sgld_has_the_exact_gaussian_law_on_a_quadratic"),
                       "--impl", f"sgld=torch:{ROOT / 'tests' / 'torch_impls.py'}:SGLD")
    assert result["outcome"] == "passed", result["message"]
