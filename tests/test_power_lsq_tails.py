"""Power of the heavy-tail checks of the least-squares SDE models: each fails on wrong implementations and passes on
the reference and a correct variant (``--profile quick``, seed 0). The bugs are
stated in :mod:`sgd_conformance.mutants`.

- ``lsq-sde.heavy-tail`` (sde): stochastic Heun converges to the Stratonovich solution, whose invariant law is
  t_5 with scale sqrt(1/10) (nu' = 1/(gamma h)); increments multiplied by sqrt(2) double gamma (nu = 3.5).
- ``lsq-sde.sde-vs-sgd-tail-mismatch`` (sgd): a step 1.1 lr moves SGD's stationary E delta^2 from 0.2 to 0.234;
  hidden momentum 0.5 changes the stationary law altogether; gradient-norm clipping at 100 leaves every chain at
  lr = 0.25 untouched (the second moment passes) and is caught by the tail at lr = 1 alone.
"""

from __future__ import annotations

import pytest

import sgd_conformance.checks.lsq_sde_tails  # noqa: F401  (shared with the in-process runs)
from tests.power import mutant, run_check

#: the decision that rejects each mutant at quick, in one of the two stages (a rejection for the right reason, not a
#: contract error)
REJECTED_BY = {"stochastic_heun": "law of delta_T vs Student-t", "increments_rescaled": "Hill statistic H_k",
               "gd_lr_times_1_1": "E delta^2 after 80 online SGD steps", "gd_hidden_momentum": "E delta^2 after 80",
               "sgd_clipped_at_100": "Hill statistic H_k of |delta_300| at lr = 1"}
HEAVY_TAIL = "lsq-sde.heavy-tail"
KESTEN = "lsq-sde.sde-vs-sgd-tail-mismatch"
CHECK_OF = {"stochastic_heun": (HEAVY_TAIL, "sde"), "increments_rescaled": (HEAVY_TAIL, "sde"),
            "gd_lr_times_1_1": (KESTEN, "sgd"), "gd_hidden_momentum": (KESTEN, "sgd"),
            "sgd_clipped_at_100": (KESTEN, "sgd")}


@pytest.mark.parametrize("bug", list(REJECTED_BY))
def test_tail_check_rejects_each_mutant_by_the_decision_built_for_it(bug: str) -> None:
    check, family = CHECK_OF[bug]
    result = run_check(check, "--impl", mutant(family, bug))
    assert result["outcome"] == "failed", result["message"]
    assert result["message"].startswith("FAILED ") and bug in result["message"]
    rejected = [d["what"] for stage in result["stages"] for d in stage["decisions"] if not d["passed"]]
    assert any(REJECTED_BY[bug] in what for what in rejected), rejected


def test_clipping_passes_the_second_moment_and_fails_the_tail_only() -> None:
    """The tail decision's own catch: no other decision of the claim rejects the clipped step."""
    result = run_check(KESTEN, "--impl", mutant("sgd", "sgd_clipped_at_100"))
    rejected = [d["what"] for d in result["decisions"] if not d["passed"]]
    assert rejected and all(w.startswith(("Hill statistic H_k", "distance of H_k - bias")) for w in rejected), rejected
