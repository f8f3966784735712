"""Power of the heavy-tail checks of the least-squares SDE models: each fails on wrong implementations and passes on
the reference and a correct variant (``--profile quick``, seed 0). The bugs are stated in ``tests/mutants.py``.

- ``lsq-sde.heavy-tail`` (sde): stochastic Heun converges to the Stratonovich solution, whose invariant law is
  t_5 with scale sqrt(1/10) (nu' = 1/(gamma h)); increments multiplied by sqrt(2) double gamma (nu = 3.5).
- ``lsq-sde.sde-vs-sgd-tail-mismatch`` (sgd): a step 1.1 lr moves SGD's stationary E delta^2 from 0.2 to 0.234;
  hidden momentum 0.5 changes the stationary law altogether.
"""

from __future__ import annotations

import pytest

import sgd_conformance.checks.lsq_sde_tails  # noqa: F401  (shared with the in-process runs)
from tests.power import assert_caught, claim_id, mutant, run_check

MODULE = "lsq_sde_tails.py"
CASES = [
    # (check function, family, mutants that must fail, correct variants that must pass)
    ("test_least_squares_sde_has_moments_exactly_below_the_critical_order", "sde",
     ["stochastic_heun", "increments_rescaled"], ["em_correct_variant"]),
    ("test_online_sgd_has_the_kesten_tail_not_the_sde_tail", "sgd", ["gd_lr_times_1_1", "gd_hidden_momentum"],
     ["gd_correct_variant"]),
]
#: the decision that rejects each mutant at quick (a rejection for the right reason, not a contract error)
REJECTED_BY = {"stochastic_heun": "law of delta_T vs Student-t", "increments_rescaled": "Hill statistic H_k",
               "gd_lr_times_1_1": "E delta^2 after 80 online SGD steps", "gd_hidden_momentum": "E delta^2 after 80"}
MUST_FAIL = [pytest.param(f, fam, bug, id=f"{f}-{bug}") for f, fam, bugs, _ in CASES for bug in bugs]
MUST_PASS = [pytest.param(f, fam, ok, id=f"{f}-{ok or 'reference'}") for f, fam, _, oks in CASES
             for ok in [None, *oks]]


@pytest.mark.parametrize(("check", "family", "bug"), MUST_FAIL)
def test_tail_check_catches_mutant(check: str, family: str, bug: str) -> None:
    result = run_check(claim_id(MODULE, check), "--impl", mutant(family, bug))
    assert_caught(result, bug)
    assert result["outcome"] == "failed", result["message"]
    assert result["message"].startswith("FAILED ") and bug in result["message"]
    assert REJECTED_BY[bug] in result["message"]


@pytest.mark.parametrize(("check", "family", "variant"), MUST_PASS)
def test_tail_check_passes_correct_implementation(check: str, family: str,
                                                  variant: str | None) -> None:
    options = ["--impl", mutant(family, variant)] if variant else []
    result = run_check(claim_id(MODULE, check), *options)
    assert result["outcome"] == "passed", result["message"]
