"""The figures of a calibration: false-alarm rates per stage and of the two-stage procedure, the suite-level rate, and
the power table, from slimmed results (:func:`sgd_conformance.checks.harness.calibration.run_task`).

False alarms. On the reference every rejection is a false alarm. Each stage ``j`` of a claim runs once per seed ``s``
(``stage=j``, independent streams); the stage *rejects* iff its p-value ``p_j`` (the smallest decision p-value
rescaled to the stage level ``a``, :meth:`~sgd_conformance.checks.harness.claims.ClaimRun.claim_p_value`) is below
``a``, or an enforced exact decision (level 0) failed. With ``k`` rejections in ``n`` runs of a stage:

* the rate ``k / n`` with its two-sided 95% Clopper-Pearson interval;
* the one-sided binomial p-value of ``H0: rate <= a`` against ``rate > a``: ``P(Bin(n, a) >= k)``;
* the one-sided Kolmogorov-Smirnov test that the p-values are uniform or conservative, ``H0: P(p <= x) <= x``
  (``D+ = sup_x (F_n(x) - x)``; a large ``D+`` means too many small p-values).

The claim *fails* at seed ``s`` (what a user's run at that seed would conclude, since stage 2's streams do not depend
on whether it runs) iff stage 1 rejected an exact decision, or both stages rejected; its rate is compared with the
claim's budget ``a^2`` by the same binomial test. The *suite* fails at seed ``s`` iff any claim fails there: its rate
over the seeds that every claim's entry covers, with its interval and the binomial test of ``H0: rate <= 1%``.

Flags (Bonferroni over the ``K`` claims of a run and the two stages, so a run flags a well-calibrated suite with
probability at most ``FLAG_LEVEL``): ``too_many_false_alarms`` (a stage's binomial p-value below
``FLAG_LEVEL / (2K)``, or any failure of an exact claim), ``p_values_anticonservative`` (a stage's KS p-value below
it), ``errors`` (any error on the reference).

Power. A mutant run is *caught* when the two-stage procedure's outcome is ``failed`` or ``error`` with a message that
names the mutant; ``misses_mutant`` when more than one of the ``M`` seeds misses (``k < M - 1``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats as sps

from sgd_conformance.checks.harness import stats

FLAG_LEVEL = 1e-3
CONFIDENCE = 0.95
#: the suite-level false-alarm target: a correct implementation fails the suite in at most 1% of runs
SUITE_TARGET = 0.01
#: the level of the test of a suite-level rate against its target (one-sided binomial)
SUITE_TEST_LEVEL = 0.05
#: outcomes of a check that ran to its verdict (a report-only measurement that contradicts its claim is not a failure)
RAN = ("passed", "not-confirmed", "failed")


def clopper_pearson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Two-sided exact (Clopper-Pearson) interval for a binomial rate at ``confidence``."""
    return stats.clopper_pearson(k, n, 1 - confidence)


def binomial_excess_p(k: int, n: int, level: float) -> float:
    """One-sided p-value of ``rate > level``: ``P(Bin(n, level) >= k)``."""
    return float(sps.binomtest(k, n, level, alternative="greater").pvalue)


def ks_anticonservative(p_values: Sequence[float]) -> tuple[float, float]:
    """``(D+, p)`` of the one-sided KS test of ``H0: P(p <= x) <= x`` against too many small p-values."""
    test = sps.kstest(np.asarray(p_values, dtype=float), "uniform", alternative="greater")
    return float(test.statistic), float(test.pvalue)


def exact_rejection(result: Mapping[str, Any]) -> bool:
    """Whether a failed run failed without statistical evidence alone: an enforced exact decision (level 0) failed,
    or the check ended without a verdict (no decision); such a failure is not re-tested."""
    if result["outcome"] != "failed":
        return False
    rejected = [d for d in result.get("decisions", []) if d.get("enforced", True) and not d["passed"]]
    return not rejected or any(d["level"] == 0 for d in rejected)


def rejected(result: Mapping[str, Any]) -> bool:
    """Whether a stage run rejected (its outcome is ``failed``: a decision below its level, or an exact failure)."""
    return bool(result["outcome"] == "failed")


def rate_figures(k: int, n: int, level: float) -> dict[str, Any]:
    """``k`` events in ``n`` runs against ``level``: the rate, its 95% CP interval and the binomial p-value."""
    if n == 0:
        return {"n": 0, "k": k, "rate": None, "ci95": None, "binomial_p": None, "level": level}
    return {"n": n, "k": k, "rate": k / n, "ci95": list(clopper_pearson(k, n)),
            "binomial_p": binomial_excess_p(k, n, level), "level": level}


def stage_figures(results: Sequence[Mapping[str, Any]], level: float) -> dict[str, Any]:
    """The false-alarm figures of one stage: its rejections against the stage level and the KS test of its
    p-values."""
    ran = [r for r in results if r["outcome"] in RAN]
    p_values = [float(r["p_value"]) for r in ran if r.get("p_value") is not None]
    ks_statistic, ks_p = ks_anticonservative(p_values) if p_values else (None, None)
    return {**rate_figures(sum(rejected(r) for r in ran), len(ran), level), "p_values": len(p_values),
            "ks_statistic": ks_statistic, "ks_p": ks_p, "seconds_per_run": mean_seconds(results)}


def mean_seconds(results: Iterable[Mapping[str, Any]]) -> float | None:
    """The mean time of the runs (one worker on one core with one BLAS thread: CPU-seconds per run)."""
    times = [float(r["duration_s"]) for r in results if r.get("duration_s") is not None]
    return float(np.mean(times)) if times else None


def kind_of(results: Iterable[Mapping[str, Any]]) -> str:
    """``p-value`` if a run carried a stage p-value, ``exact`` if runs concluded without one, else ``untested``."""
    ran = [r for r in results if r["outcome"] in RAN]
    if any(r.get("p_value") is not None for r in ran):
        return "p-value"
    return "exact" if ran else "untested"


def claim_failures(by_stage: Mapping[int, Sequence[Mapping[str, Any]]]) -> tuple[list[int], list[int]]:
    """``(seeds, failed)``: the seeds at which the two-stage outcome is known, and those at which the claim fails (an
    exact rejection in stage 1, or rejections in both stages). Without stage-2 runs only stage-1 exact failures and
    seeds where stage 1 did not reject are known."""
    first = {r["seed"]: r for r in by_stage.get(1, []) if r["outcome"] in RAN}
    second = {r["seed"]: r for r in by_stage.get(2, []) if r["outcome"] in RAN}
    known, failed = [], []
    for seed, r1 in sorted(first.items()):
        if not rejected(r1) or exact_rejection(r1):
            known.append(seed)
            failed += [seed] if rejected(r1) else []
        elif seed in second:
            known.append(seed)
            failed += [seed] if rejected(second[seed]) else []
    return known, failed


def false_alarm_figures(by_stage: Mapping[int, Sequence[Mapping[str, Any]]], stage_level: float, budget: float,
                        flag_level: float) -> dict[str, Any]:
    """The false-alarm part of one claim's entry from its results on the reference, by stage."""
    everything = [r for rs in by_stage.values() for r in rs]
    kind = kind_of(everything)
    errors = sum(r["outcome"] == "error" for r in everything)
    seeds, failed = claim_failures(by_stage)
    figures: dict[str, Any] = {
        "kind": kind, "errors": errors, "skipped": sum(r["outcome"] == "skipped" for r in everything),
        "stage_level": stage_level, "budget": budget, "flag_level": flag_level,
        "stages": {str(stage): stage_figures(rs, stage_level) for stage, rs in sorted(by_stage.items())},
        "claim": {**rate_figures(len(failed), len(seeds), budget), "seeds": _ranges(seeds), "failed_seeds": failed}}
    flags = ["errors"] if errors else []
    if kind == "exact" and failed:
        flags.append("too_many_false_alarms")
    for part in figures["stages"].values() if kind == "p-value" else ():
        if part["binomial_p"] is not None and part["binomial_p"] < flag_level:
            flags.append("too_many_false_alarms")
        if part["ks_p"] is not None and part["ks_p"] < flag_level:
            flags.append("p_values_anticonservative")
    return {**figures, "flags": sorted(set(flags))}


def _ranges(seeds: Sequence[int]) -> list[list[int]]:
    """Sorted seeds as inclusive ranges ``[[first, last], ...]`` (the record stays short)."""
    out: list[list[int]] = []
    for seed in sorted(seeds):
        if out and seed == out[-1][1] + 1:
            out[-1][1] = seed
        else:
            out.append([seed, seed])
    return out


def expand(ranges: Sequence[Sequence[int]]) -> set[int]:
    """The seeds of inclusive ranges written by :func:`_ranges`."""
    return {seed for first, last in ranges for seed in range(first, last + 1)}


def suite_figures(entries: Mapping[str, Mapping[str, Any]]) -> dict[str, Any] | None:
    """The suite-level false-alarm rate on the reference from the claims' entries: over the seeds that every claim's
    false-alarm part covers, the fraction at which some claim fails; the failing claims by seed; and the union bound
    ``sum of budgets`` it must not exceed in expectation. None when a claim has no false-alarm part."""
    parts = {claim: entry.get("false_alarm") for claim, entry in entries.items()}
    if not parts or any(part is None or "claim" not in part for part in parts.values()):
        return None
    common = set.intersection(*(expand(part["claim"]["seeds"]) for part in parts.values() if part))
    failing: dict[int, list[str]] = {}
    for claim, part in sorted(parts.items()):
        for seed in part["claim"]["failed_seeds"] if part else ():
            if seed in common:
                failing.setdefault(seed, []).append(claim)
    bound = sum(float(entry.get("budget") or 0.0) for entry in entries.values())
    return {**suite_rate(len(failing), len(common)), "claims": len(parts), "seeds": _ranges(sorted(common)),
            "failing": {str(seed): claims for seed, claims in sorted(failing.items())}, "union_bound": bound}


def suite_rate(k: int, n: int) -> dict[str, Any]:
    """A suite-level rate: ``k`` failing runs in ``n``, tested against :data:`SUITE_TARGET`; ``exceeds_target`` iff
    the one-sided binomial test rejects at :data:`SUITE_TEST_LEVEL`."""
    figures = rate_figures(k, n, SUITE_TARGET)
    exceeds = figures["binomial_p"] is not None and figures["binomial_p"] < SUITE_TEST_LEVEL
    return {**figures, "target": SUITE_TARGET, "test_level": SUITE_TEST_LEVEL, "exceeds_target": exceeds}


def caught(result: Mapping[str, Any], bug: str) -> bool:
    """Whether a run of the mutant ``bug`` was caught: failed or error, with a message that names it."""
    message = str(result["message"])
    return result["outcome"] in ("failed", "error") and message.startswith(("FAILED ", "ERROR ")) and bug in message


def power_table(lines: Iterable[Mapping[str, Any]], runs: Sequence[int]) -> dict[str, list[dict[str, Any]]]:
    """Per claim: one entry per mutant, caught in ``k`` of the ``M = len(runs)`` seed runs (a run with no line is a
    miss); ``misses_mutant`` iff ``k < M - 1``."""
    verdicts: dict[tuple[str, str], dict[int, bool]] = {}
    seconds: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for line in lines:
        by_run = verdicts.setdefault((line["claim"], line["bug"]), {})
        by_run[line["run"]] = by_run.get(line["run"], True) and bool(line["caught"])
        seconds.setdefault((line["claim"], line["bug"]), []).append(line)
    table: dict[str, list[dict[str, Any]]] = {}
    for (claim, bug), by_run in sorted(verdicts.items()):
        k = sum(by_run.get(run, False) for run in runs)
        table.setdefault(claim, []).append({"bug": bug, "kind": "implementation", "seeds": len(runs), "caught": k,
                                            "misses_mutant": k < len(runs) - 1,
                                            "seconds_per_run": mean_seconds(seconds[claim, bug])})
    return table


def power_counts(entries: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Power counted apart: implementation mutants measured over seeds (pairs, distinct mutants, pairs caught in
    every seed) and the mistakes of the suite's own oracle (proved by the package's tests)."""
    measured = [(claim, m) for claim, entry in entries.items() for m in entry.get("power") or []]
    oracle = sorted({name for entry in entries.values() for name in entry.get("oracle_mutants") or []})
    return {"implementation": {"pairs": len(measured), "mutants": len({m["bug"] for _, m in measured}),
                               "caught_every_seed": sum(m["caught"] == m["seeds"] for _, m in measured),
                               "missed": sorted(f"{claim}: {m['bug']}" for claim, m in measured
                                                if m["misses_mutant"])},
            "oracle": {"mutants": len(oracle), "claims": sum(bool(e.get("oracle_mutants")) for e in entries.values()),
                       "proved_by": "the package's tests (tests/test_power*.py), one deterministic run each"}}
