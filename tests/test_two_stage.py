"""The two-stage procedure: a statistical rejection of stage 1 is re-tested on independent streams and decides
nothing alone, an exact rejection fails at once, the stages' levels multiply to the budget, and the suite's budgets add
up to at most 1%."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats as sps

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.claims import REGISTRY, Claim, ClaimRun
from sgd_conformance.checks.harness.run import registry, run_claim

SUITE_TARGET = 0.01


def _register(monkeypatch: pytest.MonkeyPatch, check: Callable[[ClaimRun], None], budget: float = 1e-4) -> str:
    claim = Claim("test.two-stage", "reference", "statement", "hypotheses", "source", budget=budget, check=check,
                  sizes={p: {} for p in ("quick", "standard", "thorough")})
    monkeypatch.setitem(REGISTRY, claim.id, claim)
    return claim.id


def _uniform_decision(run: ClaimRun) -> stats.Decision:
    """A decision whose p-value is one uniform draw of the run's stream: exactly calibrated."""
    u = float(run.stream("u").uniform())
    return stats.Decision("u", "uniform p-value", run.level, u >= run.level, p_value=u)


def test_a_statistical_rejection_of_stage_1_is_retested_and_stage_2_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    def check(run: ClaimRun) -> None:
        p = 1e-6 if run.stage == 1 else 0.5
        run.verdict(stats.Decision("x", "t", run.level, p >= run.level, p_value=p))

    result = run_claim(_register(monkeypatch, check))
    assert result.outcome == "passed" and [s["stage"] for s in result.stages] == [1, 2]
    assert [s["outcome"] for s in result.stages] == ["failed", "passed"] and result.p_value == 0.5
    assert "passed on re-test" in result.message and result.stages[0]["p_value"] == pytest.approx(1e-6)


def test_rejections_in_both_stages_fail_and_the_message_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def check(run: ClaimRun) -> None:
        run.verdict(stats.Decision("x", "t", run.level, False, p_value=1e-6))

    result = run_claim(_register(monkeypatch, check))
    assert result.outcome == "failed" and len(result.stages) == 2
    assert result.message.startswith("FAILED test.two-stage") and "stage 2]" in result.message.splitlines()[0]
    assert "stage 1 rejected too" in result.message


def test_an_exact_rejection_fails_at_once_without_a_retest(monkeypatch: pytest.MonkeyPatch) -> None:
    def check(run: ClaimRun) -> None:
        run.verdict(stats.Decision("x", "t", run.level, False, p_value=1e-6),
                    stats.identity("an identity", 1.0, 2.0, rtol=1e-12, test="exact"))

    result = run_claim(_register(monkeypatch, check))
    assert result.outcome == "failed" and [s["stage"] for s in result.stages] == [1]


def test_one_stage_alone_runs_on_its_own_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    draws: dict[int, float] = {}

    def check(run: ClaimRun) -> None:
        draws[run.stage] = float(run.stream("u").uniform())
        run.verdict(stats.Decision("x", "t", run.level, True, p_value=0.5))

    claim = _register(monkeypatch, check)
    for stage in (1, 2):
        result = run_claim(claim, seed=3, stage=stage)
        assert [s["stage"] for s in result.stages] == [stage]
    assert draws[1] != draws[2]
    with pytest.raises(ValueError, match="stage 3"):
        run_claim(claim, stage=3)


def test_the_stage_levels_bound_a_check_and_multiply_to_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    def greedy(run: ClaimRun) -> None:
        run.verdict(stats.Decision("x", "t", 1.5 * run.level, True, p_value=0.5))

    result = run_claim(_register(monkeypatch, greedy))
    assert result.outcome == "error" and "stage level" in result.message
    claim = REGISTRY["test.two-stage"]
    assert claim.stage_level ** 2 == pytest.approx(claim.budget) and claim.stage_level == pytest.approx(0.01)


def test_the_two_stage_false_alarm_rate_is_the_product_of_the_stage_levels(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exactly calibrated check at budget 0.04 (stage level 0.2) over 600 seeds: stage 1 rejects at 0.2 and the
    claim fails at 0.04 = 0.2^2, so the stages' streams are independent (two-sided binomial tests at 1e-3)."""

    def check(run: ClaimRun) -> None:
        run.verdict(_uniform_decision(run))

    claim = _register(monkeypatch, check, budget=0.04)
    results = [run_claim(claim, seed=seed) for seed in range(600)]
    first = sum(r.stages[0]["outcome"] == "failed" for r in results)
    failed = sum(r.outcome == "failed" for r in results)
    assert sps.binomtest(first, 600, 0.2).pvalue > 1e-3, first
    assert sps.binomtest(failed, 600, 0.04).pvalue > 1e-3, failed
    retested = [r for r in results if len(r.stages) == 2]
    assert len(retested) == first and all(r.stages[0]["p_value"] != r.stages[1]["p_value"] for r in retested)


def test_the_suite_budgets_add_up_to_at_most_one_percent() -> None:
    """The suite-level guarantee: a correct implementation fails some claim with probability at most the sum of the
    claims' budgets (union bound), and that sum is at most 1%."""
    budgets = np.array([claim.budget for claim in registry().values()])
    assert budgets.sum() <= SUITE_TARGET, f"the budgets add up to {budgets.sum():.3g}: lower the default budget"
