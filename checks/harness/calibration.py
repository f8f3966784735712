"""Calibration: how often each check raises a false alarm on the reference, and how often it catches each mutant.

Two measurements, each a batch of :func:`sgd_conformance.run_claim` calls spread over worker processes
(``sgd-conformance calibrate`` drives them; no pytest session is involved):

False alarms. Every check runs on the reference solvers at ``--profile quick`` once per seed ``s = B, ..., B+N-1``
(``--seeds N``). A check *rejects at level a* iff its claim p-value ``p`` (the smallest decision p-value rescaled to
the claim budget, :meth:`checks.claims.ClaimRun.claim_p_value`) is below ``a``, or an exact decision (level 0)
rejected. On the reference every rejection is a false alarm, so with ``k`` rejections in ``n`` runs:

* the rate ``k / n`` with its two-sided 95% Clopper-Pearson interval ``[B(0.025; k, n-k+1), B(0.975; k+1, n-k)]``
  (``B(q; a, b)`` the beta quantile; :meth:`scipy.stats.binomtest.proportion_ci` with ``method="exact"``);
* the one-sided binomial p-value of ``H0: rate <= a`` against ``rate > a``: ``P(Bin(n, a) >= k)``;
* the one-sided Kolmogorov-Smirnov test that the p-values are uniform or conservative, ``H0: P(p <= x) <= x`` for
  every ``x``: ``D+ = sup_x (F_n(x) - x)`` with ``F_n`` the empirical CDF of the p-values (``scipy.stats.kstest``,
  ``alternative="greater"``); a large ``D+`` means too many small p-values (an anticonservative check);
* the number of failures at the check's own budget (``outcome == "failed"``); errors and skips apart (not in ``n``).


A claim is flagged ``too_many_false_alarms`` when the binomial p-value, and ``p_values_anticonservative`` when the
KS p-value, is below ``FLAG_LEVEL / K`` with ``K`` the number of claims calibrated in that run (Bonferroni over the
checks, so a run flags a well-calibrated suite with probability at most ``FLAG_LEVEL``). A claim whose runs carry
no p-value at all is of kind ``exact``: no statistical decision, so any failure is flagged ``too_many_false_alarms``
(an exact decision spends no budget). Any error on the reference is flagged ``errors``.

Power. Every implementation mutant that a claim's record names (``@claim(mutants=...)``, the deliberately wrong
implementations of :mod:`sgd_conformance.mutants`) runs through the claim's check once per seed
``s = B, ..., B+M-1``. A run catches the mutant when its outcome is ``failed`` or ``error`` with a message that names
it. Per (claim, mutant): caught in ``k`` of ``M`` seeds; ``misses_mutant`` when more than one seed misses
(``k < M - 1``). Mistakes of the suite's own oracle (``oracle_mutants``) are proven by the package's tests.

The record (``reports/calibration.json``, schema 1) is merged: a run replaces only the parts (``false_alarm`` or
``power``) of the claims it ran, so it can be built family by family.
"""

from __future__ import annotations

import fnmatch
import json
import multiprocessing
import os
import platform
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy
from scipy import stats as sps

from sgd_conformance import mutants
from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.claims import Claim
from sgd_conformance.checks.harness.run import registry, run_claim
from sgd_conformance.reports.model import ClaimResult
from sgd_conformance.reports.render import false_alarm_text

ROOT = Path(__file__).resolve().parents[2]  # the checkout, when there is one
SCHEMA = 1
DEFAULT_LEVEL = 0.05
#: family-wise level of the flags: each flag's test runs at FLAG_LEVEL / (number of claims calibrated)
FLAG_LEVEL = 1e-3
CONFIDENCE = 0.95
QUICK = "quick"
BLAS_ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
#: the test name of a power entry measured by this module (older records name the power test that logged it)
POWER_TEST = "run_claim"


class CalibrationError(RuntimeError):
    """A calibration run produced no data (pytest broke, or no check matched), or its record cannot be merged."""


@dataclass(frozen=True)
class Settings:
    """What one calibration run measures (the CLI's options)."""

    claims: tuple[str, ...] = ()
    seeds: int = 100
    seed_base: int = 1
    mutant_seeds: int = 20
    level: float = DEFAULT_LEVEL
    workers: int = 0  # worker processes; 0: one per core
    false_alarm: bool = True
    power: bool = True


# --- statistics ------------------------------------------------------------------------------------------------


def matches(claim_id: str, globs: Sequence[str]) -> bool:
    """Whether ``claim_id`` matches one of ``globs`` (every id matches when there are none)."""
    return not globs or any(fnmatch.fnmatchcase(claim_id, g) for g in globs)


#: outcomes of a check that ran to its verdict (a report-only measurement that contradicts its claim is not a failure)
RAN = ("passed", "not-confirmed", "failed")


def rejected_at(result: dict[str, Any], level: float) -> bool:
    """Whether the check of ``result`` rejects at ``level``: claim p-value ``p < level``, or an exact decision
    rejected (a failure with no p-value, or a failed decision of level 0)."""
    p = result.get("p_value")
    if p is not None and float(p) < level:
        return True
    exact_rejected = any(d.get("level") == 0 and not d.get("passed") and d.get("enforced", True)
                         for d in result.get("decisions", []))
    return result["outcome"] == "failed" and (p is None or exact_rejected)


def clopper_pearson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Two-sided exact (Clopper-Pearson) interval for a binomial rate at ``confidence``
    (:func:`sgd_conformance.checks.harness.stats.clopper_pearson`)."""
    return stats.clopper_pearson(k, n, 1 - confidence)


def binomial_excess_p(k: int, n: int, level: float) -> float:
    """One-sided p-value of ``rate > level``: ``P(Bin(n, level) >= k)``."""
    return float(sps.binomtest(k, n, level, alternative="greater").pvalue)


def ks_anticonservative(p_values: Sequence[float]) -> tuple[float, float]:
    """``(D+, p)`` of the one-sided KS test of ``H0: P(p <= x) <= x`` (uniform or conservative p-values) against too
    many small p-values: ``D+ = sup_x (F_n(x) - x)``."""
    test = sps.kstest(np.asarray(p_values, dtype=float), "uniform", alternative="greater")
    return float(test.statistic), float(test.pvalue)


def kind_of(results: Sequence[dict[str, Any]]) -> str:
    """``p-value`` if a run carried a claim p-value, ``exact`` if runs concluded without one, else ``untested``."""
    ran = [r for r in results if r["outcome"] in RAN]
    if any(r.get("p_value") is not None for r in ran):
        return "p-value"
    return "exact" if ran else "untested"


def false_alarm_stats(results: Sequence[dict[str, Any]], level: float, flag_level: float) -> dict[str, Any]:
    """False-alarm figures of one claim from its schema-1 results on the reference (see the module docstring)."""
    ran = [r for r in results if r["outcome"] in RAN]
    n, kind = len(ran), kind_of(results)
    failed = sum(r["outcome"] == "failed" for r in ran)
    errors = sum(r["outcome"] == "error" for r in results)
    figures: dict[str, Any] = {
        "n": n, "failed_at_budget": failed, "errors": errors,
        "skipped": sum(r["outcome"] == "skipped" for r in results), "rejections": None, "rate": None, "ci95": None,
        "binomial_p": None, "ks_statistic": None, "ks_p": None, "p_values": 0, "flag_level": flag_level}
    flags = ["errors"] if errors else []
    if kind == "exact" and failed:
        flags.append("too_many_false_alarms")
    if kind == "p-value":
        p_values = [float(r["p_value"]) for r in ran if r.get("p_value") is not None]
        k = sum(rejected_at(r, level) for r in ran)
        statistic, ks_p = ks_anticonservative(p_values)
        figures.update(rejections=k, rate=k / n, ci95=list(clopper_pearson(k, n)),
                       binomial_p=binomial_excess_p(k, n, level), ks_statistic=statistic, ks_p=ks_p,
                       p_values=len(p_values))
        flags += [name for name, p in (("too_many_false_alarms", figures["binomial_p"]),
                                       ("p_values_anticonservative", ks_p)) if p < flag_level]
    return {**figures, "flags": flags}


def false_alarms(results: Iterable[dict[str, Any]], level: float) -> dict[str, dict[str, Any]]:
    """Per claim: ``{"kind", "false_alarm"}``; the flags' level is ``FLAG_LEVEL / K`` over the K claims present."""
    by_claim: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        by_claim.setdefault(result["claim"], []).append(result)
    flag_level = FLAG_LEVEL / max(len(by_claim), 1)
    return {claim: {"kind": kind_of(rs), "false_alarm": false_alarm_stats(rs, level, flag_level)}
            for claim, rs in sorted(by_claim.items())}


def power_table(lines: Iterable[dict[str, Any]], runs: Sequence[int]) -> dict[str, list[dict[str, Any]]]:
    """Per claim: one entry per (test, bug) of the power log, caught in ``k`` of the ``M = len(runs)`` seed runs.

    ``lines`` are :func:`tests.power.assert_caught` log lines tagged with their ``run`` seed. A run is a catch when
    every line of that run caught the mutant; a run with no line (the test broke before asserting) is a miss.
    ``misses_mutant`` iff more than one run missed: ``k < M - 1``.
    """
    verdicts: dict[tuple[str, str, str], dict[int, bool]] = {}
    for line in lines:
        runs_of_key = verdicts.setdefault((line["claim"], line["test"], line["bug"]), {})
        runs_of_key[line["run"]] = runs_of_key.get(line["run"], True) and bool(line["caught"])
    table: dict[str, list[dict[str, Any]]] = {}
    for (claim, test, bug), by_run in sorted(verdicts.items()):
        caught = sum(by_run.get(run, False) for run in runs)
        table.setdefault(claim, []).append({"test": test, "bug": bug, "seeds": len(runs), "caught": caught,
                                            "misses_mutant": caught < len(runs) - 1})
    return table


# --- the record ------------------------------------------------------------------------------------------------


def claim_flags(entry: dict[str, Any]) -> list[str]:
    """The flags of a claim entry: its false-alarm flags and ``misses_mutant`` if any mutant is missed."""
    flags = set((entry.get("false_alarm") or {}).get("flags", []))
    if any(m["misses_mutant"] for m in entry.get("power") or []):
        flags.add("misses_mutant")
    return sorted(flags)


def merge(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """``new`` over ``old``: the claims and parts of ``new`` replace those of ``old``, the others are kept.

    Raises CalibrationError when the two records are at different calibration levels (their rates do not compare).
    """
    if old is None:
        return new
    if old["level"] != new["level"]:
        raise CalibrationError(f"the record is at level {old['level']}, this run at {new['level']}: write it elsewhere")
    claims = {claim: dict(entry) for claim, entry in old["claims"].items()}
    for claim, part in new["claims"].items():
        entry = {**claims.get(claim, {}), **part}
        claims[claim] = {**entry, "flags": claim_flags(entry)}
    return {**new, "commands": _union(old["commands"], new["commands"]),
            "calibrate": _union(old["calibrate"], new["calibrate"]), "claims": dict(sorted(claims.items()))}


def _union(first: Sequence[str], second: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


def claim_entries(claims: Mapping[str, Claim], false_alarm: dict[str, dict[str, Any]] | None,
                  power: dict[str, dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """The claim entries of one run from its parts (each a dict claim -> part fields, or None when not run); a
    report-only claim's kind says so, with the reason its record gives."""
    entries: dict[str, dict[str, Any]] = {}
    for part in (false_alarm, power):
        for claim, fields in (part or {}).items():
            known = claims.get(claim)
            entries.setdefault(claim, {"budget": known.budget if known else None}).update(fields)
            if known is not None and known.report_only and "kind" in fields:
                entries[claim]["kind"] = f"{fields['kind']}; {known.report_only}"
    return {claim: {**entry, "flags": claim_flags(entry)} for claim, entry in sorted(entries.items())}


def power_parts(table: dict[str, list[dict[str, Any]]], scope: Iterable[Claim], run: dict[str, Any]) \
        -> dict[str, dict[str, Any]]:
    """Per claim of ``scope``: its measured mutants and ``run``; a claim with none measured gets the reason its record
    gives, or, when its mutants are all mistakes of the suite's own oracle, a reason that names them."""
    return {claim.id: {"power": table.get(claim.id, []), "power_run": run,
                       "no_mutant_reason": None if table.get(claim.id) else _no_mutant_reason(claim)}
            for claim in scope}


def _no_mutant_reason(claim: Claim) -> str | None:
    if claim.no_mutant_reason:
        return claim.no_mutant_reason
    if claim.oracle_mutants:
        return ("its mutants are mistakes of the suite's own oracle (" + ", ".join(claim.oracle_mutants)
                + "), caught by the package's tests rather than measured over seeds")
    return None


def git_commit(root: Path = ROOT) -> str | None:
    """The commit checked out at ``root``, read from ``.git/HEAD`` (and the ref it names); None without one."""
    git = root / ".git"
    head = git / "HEAD"
    if not head.is_file():
        return None
    text = head.read_text().strip()
    if not text.startswith("ref: "):
        return text
    ref = text.removeprefix("ref: ")
    if (git / ref).is_file():
        return (git / ref).read_text().strip()
    packed = git / "packed-refs"
    for line in packed.read_text().splitlines() if packed.is_file() else []:
        sha, _, name = line.partition(" ")
        if name == ref:
            return sha
    return None


def versions() -> dict[str, str]:
    return {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- running ---------------------------------------------------------------------------------------------------


def registered_claims() -> dict[str, Claim]:
    """Every registered claim."""
    return registry()


def _slim(result: ClaimResult) -> dict[str, Any]:
    """What the statistics read of a result (the figures of thousands of runs would not fit in memory)."""
    decisions = [{"level": d["level"], "passed": d["passed"], "enforced": d["enforced"]} for d in result.decisions]
    return {"claim": result.claim, "outcome": result.outcome, "p_value": result.p_value, "seed": result.seed,
            "message": result.message, "decisions": decisions}


Task = tuple[str, dict[str, str], int]  # (claim id, {family: SPEC}, seed)


def _run_task(task: Task) -> dict[str, Any]:
    claim, impls, seed = task
    return _slim(run_claim(claim, impls, seed=seed, profile=QUICK))


def run_tasks(tasks: Sequence[Task], workers: int) -> list[dict[str, Any]]:
    """The slimmed results of ``tasks``, in their order, on ``workers`` processes (0: one per core; 1: here)."""
    count = workers or os.cpu_count() or 1
    if count == 1 or len(tasks) <= 1:
        return [_run_task(task) for task in tasks]
    os.environ.update(BLAS_ONE_THREAD)  # inherited by the spawned workers: one BLAS thread each
    with ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_run_task, tasks, chunksize=max(1, len(tasks) // (8 * count))))


def run_false_alarms(settings: Settings, scope: Sequence[Claim]) -> list[dict[str, Any]]:
    """The results (slimmed) of the check of every claim of ``scope`` at every seed, on the reference solvers."""
    seeds = range(settings.seed_base, settings.seed_base + settings.seeds)
    results = run_tasks([(claim.id, {}, seed) for claim in scope for seed in seeds], settings.workers)
    if not results:
        raise CalibrationError(f"no check ran (claims {list(settings.claims) or 'all'})")
    return results


def caught(result: dict[str, Any], bug: str) -> bool:
    """Whether a run of the mutant ``bug`` was caught: failed or error, with a message that names it."""
    return result["outcome"] in ("failed", "error") and result["message"].startswith(("FAILED ", "ERROR ")) \
        and bug in result["message"]


def run_power(settings: Settings, scope: Sequence[Claim]) -> list[dict[str, Any]]:
    """One power line per (claim, mutant of its record, seed): ``{test, claim, bug, run, seed, outcome, caught}``."""
    pairs = [(claim, bug, family, name) for claim in scope
             for bug, (family, name) in zip(claim.mutants, claim.mutant_families(), strict=True)]
    runs = mutant_runs(settings)
    tasks = [(claim.id, {family: mutants.spec(family, name)}, seed) for claim, _, family, name in pairs
             for seed in runs]
    results = run_tasks(tasks, settings.workers)
    return [{"test": POWER_TEST, "claim": claim.id, "bug": bug, "run": seed, "seed": seed,
             "outcome": result["outcome"], "caught": caught(result, bug.rpartition(":")[2])}
            for (claim, bug, seed), result in zip(((c, b, s) for c, b, _, _ in pairs for s in runs), results,
                                                  strict=True)]


def mutant_runs(settings: Settings) -> list[int]:
    """The mutant seeds: ``seed_base, ..., seed_base + mutant_seeds - 1``."""
    return list(range(settings.seed_base, settings.seed_base + settings.mutant_seeds))


def calibrate(settings: Settings, invocation: str, old: dict[str, Any] | None = None) -> dict[str, Any]:
    """Measure what ``settings`` asks for and return the record merged over ``old``.

    ``invocation`` is the command line that regenerates this run: each part it writes keeps it, with its date and
    commit (a merged record's parts may come from different runs).
    """
    registered = registered_claims()
    scope = [c for c in registered.values() if matches(c.id, settings.claims)]
    if not scope:
        raise CalibrationError(f"no claim matches {list(settings.claims)}")
    fa_parts = power = None
    if settings.false_alarm:
        fa_parts = false_alarms(run_false_alarms(settings, scope), settings.level)
        for part in fa_parts.values():
            part["false_alarm"].update(_provenance(invocation), profile=QUICK,
                                       seeds={"first": settings.seed_base, "count": settings.seeds})
    if settings.power:
        run = {**_provenance(invocation), "seeds": {"first": settings.seed_base, "count": settings.mutant_seeds}}
        power = power_parts(power_table(run_power(settings, scope), mutant_runs(settings)), scope, run)
    record = {"schema": SCHEMA, "level": settings.level, "created": now(), "commands": [invocation],
              "calibrate": [invocation], "versions": versions(), "git_commit": git_commit(),
              "claims": claim_entries(registered, fa_parts, power)}
    return merge(old, record)


def _provenance(invocation: str) -> dict[str, Any]:
    return {"command": invocation, "date": now(), "git_commit": git_commit()}


def write_record(record: dict[str, Any], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")


# --- the summary -----------------------------------------------------------------------------------------------


def summary(record: dict[str, Any], claims: Iterable[str]) -> str:
    """A plain-text table of ``claims``: false alarms k/n at the level with the CP interval, the KS p-value, the worst
    mutant k/M, and the flags."""
    rows = [("claim", "kind", f"false alarms at {record['level']:g} [95% CI]", "KS p", "worst mutant", "flags")]
    for claim in claims:
        entry = record["claims"][claim]
        rows.append((claim, entry.get("kind") or "", false_alarm_text(entry.get("false_alarm")),
                     _p_cell(entry.get("false_alarm")), _power_cell(entry.get("power")),
                     ", ".join(entry["flags"]) or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def _p_cell(part: dict[str, Any] | None) -> str:
    return "" if part is None or part["ks_p"] is None else f"{part['ks_p']:.3g}"


def _power_cell(power: list[dict[str, Any]] | None) -> str:
    if power is None:
        return "not measured"
    if not power:
        return "no mutant"
    worst = min(power, key=lambda m: m["caught"] / m["seeds"])
    return f"{worst['caught']}/{worst['seeds']} ({worst['bug']})"
