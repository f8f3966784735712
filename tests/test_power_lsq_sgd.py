"""Power of ``lsq-sde.variance-reduction`` (family ``sgd``): it fails on SGD steps that ignore a schedule, scale the
step or hide momentum, and passes on the reference and a correct variant. Runs at ``--profile quick``, seed 0; each
mutant's bug is stated in its docstring in ``tests/mutants.py``."""

from __future__ import annotations

import pytest

import sgd_conformance.checks.lsq_sde_sgd  # noqa: F401  (shared with the in-process runs)
from tests.power import assert_caught, claim_id, mutant, run_check

CHECK = claim_id("lsq_sde_sgd.py", "test_sgd_noise_floor_is_order_gamma_and_averaging_or_decaying_steps_remove_it")
MUST_FAIL = ["gd_frozen_lr", "gd_lr_times_1_1", "gd_hidden_momentum", "gd_stale_gradient"]
MUST_PASS = [None, "gd_correct_variant"]


@pytest.mark.parametrize("bug", MUST_FAIL)
def test_variance_reduction_check_catches_mutant(bug: str) -> None:
    result = run_check(CHECK, "--impl", mutant("sgd", bug))
    assert_caught(result, bug)


@pytest.mark.parametrize("variant", MUST_PASS, ids=lambda v: v or "reference")
def test_variance_reduction_check_passes_correct_sgd(variant: str | None) -> None:
    options = ("--impl", mutant("sgd", variant)) if variant else ()
    result = run_check(CHECK, *options)
    assert result["outcome"] == "passed", result["message"]
