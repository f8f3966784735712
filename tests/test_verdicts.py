"""What a verdict decides on, and that it tells the truth: the scope of every claim, report-only measurements that
read "not confirmed" (never "passed"), messages that show the numbers that differ, and the float64 contract reported
as its own breach."""

from __future__ import annotations

import fnmatch

import numpy as np
import pytest

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.assertions import describe, rounding_note
from sgd_conformance.checks.harness.claims import ClaimFailed, ClaimRun
from sgd_conformance.checks.harness.impl import Guard, Runner, reference
from sgd_conformance.checks.harness.run import registry
from sgd_conformance.reports.model import ClaimResult, Report, scope_summary
from sgd_conformance.reports.render import render_html
from tests.power import mutant, run_check

CLAIMS = registry()


def _run(claim_id: str) -> ClaimRun:
    return ClaimRun(claim=CLAIMS[claim_id], implementation="reference", seed=0, profile="quick", backend="numpy",
                    nodeid="")


def test_every_claim_has_one_of_the_three_scopes_and_a_label_that_names_the_family() -> None:
    for claim in CLAIMS.values():
        assert claim.scope in ("implementation", "reference", "report-only"), claim.id
        if claim.scope == "implementation":
            assert claim.scope_label.startswith(f"decides on your {claim.family}"), claim.id
        if claim.family == "reference":
            assert claim.scope != "implementation", claim.id
    assert CLAIMS["mfld.annealing"].scope == "report-only"
    assert CLAIMS["lecture.edge-of-stability"].scope_label == "decides on your sgd; part report-only"


def test_a_reported_measurement_spends_no_budget_and_does_not_fail_the_claim() -> None:
    run = _run("mfld.annealing")
    contradicting = stats.reported(stats.at_least("annealed lower", -1.0, 0.0, test="t"))
    run.verdict(stats.at_most("guard", 0.5, 1.0, test="g"),
                stats.reported(stats.mean_exceeds("x", [1.0, 1.1, 0.9], 0.0, 1.0, test="big level")), contradicting)
    assert run.contradicted() == [contradicting]
    assert run.headline() == contradicting and run.claim_p_value() is None


def test_a_failing_guard_still_fails_a_report_only_claim() -> None:
    with pytest.raises(ClaimFailed, match="FAILED mfld.annealing"):
        _run("mfld.annealing").verdict(stats.at_most("guard", 2.0, 1.0, test="g"))


def test_only_a_claim_with_a_report_only_part_may_report_without_enforcing() -> None:
    with pytest.raises(ValueError, match="no report-only part"):
        _run("sgld.time-scale").verdict(stats.reported(stats.at_least("x", 1.0, 0.0, test="t")))


def test_a_report_only_claim_whose_measurement_contradicts_it_reads_not_confirmed() -> None:
    """Annealing as the slides state it is contradicted at quick (the fixed small temperature ends lower): the claim
    is neither passed nor failed."""
    result = run_check("mfld.annealing")
    assert result["outcome"] == "not-confirmed", result["message"]
    assert result["message"].startswith("NOT CONFIRMED mfld.annealing")
    assert result["scope"] == "report-only" and result["decides_on"].startswith("report-only")
    assert any(not d["enforced"] and not d["passed"] for d in result["decisions"])


def test_the_summary_and_the_report_say_what_each_verdict_decided_on() -> None:
    common = {"implementation": "reference", "budget": 1e-3}
    results = [ClaimResult(claim="a", family="sgd", outcome="passed", scope="implementation",
                           decides_on="decides on your sgd", catches=["step size 1.1 lr"], mutants=["gd_lr_times_1_1"],
                           **common),
               ClaimResult(claim="b", family="reference", outcome="passed", scope="reference",
                           decides_on="theory and reference solvers only", **common),
               ClaimResult(claim="c", family="sgld", outcome="not-confirmed", scope="report-only",
                           decides_on="report-only", message="NOT CONFIRMED c\n  F = -1, theory 0", **common)]
    lines = scope_summary(results)
    assert lines[0] == ("decided on the implementation under test: 1 (sgd 1); theory and reference solvers only: 1; "
                        "report-only: 1")
    assert lines[1] == "not confirmed (report-only, not a failure): c: F = -1, theory 0"
    results[1].stages = [{"stage": stage, "outcome": outcome, "p_value": p, "level": 0.01, "decisions": []}
                         for stage, outcome, p in ((1, "failed", 0.001), (2, "passed", 0.5))]
    assert scope_summary(results)[1] == ("re-tested on independent streams after a statistical rejection in stage 1: 1 "
                                         "(1 passed on re-test: b)")
    html = render_html(Report(results=results, seed=0, profile="quick", backend="numpy", implementations={},
                              versions={}, started="", duration_s=1.0))
    assert '<span class="badge not-confirmed">not confirmed</span>' in html
    assert "theory and reference solvers only" in html and "What it can catch in your code" in html
    assert "step size 1.1 lr" in html


def test_a_failure_never_prints_two_equal_numbers_and_names_float32_rounding() -> None:
    close = stats.identity("contraction factor", 0.34140001, 0.3414, 1e-8, test="rtol 1e-8")
    assert describe(close) == "contraction factor = 0.34140001, theory 0.3414; relative difference 2.93e-08"
    assert "float32 rounding" in (rounding_note(close) or "")
    far = stats.identity("contraction factor", 0.5, 0.3414, 1e-8, test="rtol 1e-8")
    assert "observed/theory = 1.465" in describe(far) and rounding_note(far) is None


@pytest.mark.parametrize("claim", ["contract.sgd", "lecture.gd-stability"])
def test_float32_arithmetic_is_reported_as_that_breach(claim: str) -> None:
    result = run_check(claim, "--impl", mutant("sgd", "float32_arithmetic"))
    assert result["outcome"] == "error"
    assert fnmatch.fnmatch(result["message"], "*computes in float32*requires float64 arithmetic*"), result["message"]


def test_a_float64_step_from_float32_valued_inputs_is_not_taken_for_float32_arithmetic() -> None:
    """The probe waits for inputs that are not float32 numbers: theta = 0 and an integer gradient at step 0 give a
    result of float32 numbers in any arithmetic."""
    runner = Runner(Guard(impl=reference("sgd"), budget_s=10.0, profile="quick"), lr=0.5)
    theta = runner.step(np.zeros((4, 2)), np.ones((4, 2)))
    runner.step(theta + 0.1, np.full((4, 2), 1 / 3))
    assert runner.guard.precision_known


def test_not_confirmed_is_no_pytest_failure_and_the_summary_lists_it(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--pyargs", "sgd_conformance.checks", "--sgdc-claims", "mfld.annealing",
                                          "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*sgd-conformance*", "*report-only: 1*",
                                 "not confirmed (report-only, not a failure): mfld.annealing: *"])


def test_the_dynamic_claims_decide_on_the_users_sgd() -> None:
    for claim in ("lecture.ntk-lazy", "lecture.mean-field-moves", "lecture.ntk-dual-solution", "sde.sme-weak-order"):
        assert CLAIMS[claim].scope_label == "decides on your sgd", claim
        assert CLAIMS[claim].mutants, claim


def test_an_integrator_that_reads_another_time_fails_at_least_two_sde_checks() -> None:
    shifted = [c.id for c in CLAIMS.values() if "coefficients_at_t_plus_1000_dt" in c.mutants]
    assert len(shifted) >= 2 and all(CLAIMS[c].family == "sde" for c in shifted)
    for claim in shifted[:2]:
        result = run_check(claim, "--impl", mutant("sde", "coefficients_at_t_plus_1000_dt"))
        assert result["outcome"] == "failed", result["message"]
