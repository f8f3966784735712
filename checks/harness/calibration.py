"""Calibration: how often each check raises a false alarm on the reference, and how often it catches each mutant.

Two measurements, each a pytest run in a subprocess (``python -m sgd_conformance calibrate`` drives them):

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

The seeds run :data:`SEED_CHUNK` at a time (one pytest session each, ``--seed S --seeds 10``).

A claim is flagged ``too_many_false_alarms`` when the binomial p-value, and ``p_values_anticonservative`` when the
KS p-value, is below ``FLAG_LEVEL / K`` with ``K`` the number of claims calibrated in that run (Bonferroni over the
checks, so a run flags a well-calibrated suite with probability at most ``FLAG_LEVEL``). A claim whose runs carry
no p-value at all is of kind ``exact``: no statistical decision, so any failure is flagged ``too_many_false_alarms``
(an exact decision spends no budget). Any error on the reference is flagged ``errors``.

Power. The must-catch tests of ``tests/test_power*.py`` (``-k catch``) run once per seed ``s = B, ..., B+M-1`` with
``SGD_CONFORMANCE_POWER_SEED=s`` (the seed of the check under a mutant) and ``SGD_CONFORMANCE_POWER_LOG`` (where
:func:`tests.power.assert_caught` logs each verdict). Per (claim, test, bug): caught in ``k`` of ``M`` seeds (a seed
whose test logged nothing counts as a miss); ``misses_mutant`` when more than one seed misses (``k < M - 1``).

The record (``reports/calibration.json``, schema 1) is merged: a run replaces only the parts (``false_alarm`` or
``power``) of the claims it ran, so it can be built family by family.
"""

from __future__ import annotations

import fnmatch
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy
from scipy import stats

from sgd_conformance.checks.harness.claims import Claim
from sgd_conformance.checks.harness.run import registry
from sgd_conformance.reports.render import false_alarm_text

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = 1
DEFAULT_LEVEL = 0.05
#: family-wise level of the flags: each flag's test runs at FLAG_LEVEL / (number of claims calibrated)
FLAG_LEVEL = 1e-3
CONFIDENCE = 0.95
QUICK = "quick"
#: seeds per pytest session of the false-alarm run (bounds the controller's memory: results carry their figures)
SEED_CHUNK = 10
BLAS_ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# read by tests/power.py (the same names there)
SEED_VARIABLE = "SGD_CONFORMANCE_POWER_SEED"
CLAIMS_VARIABLE = "SGD_CONFORMANCE_POWER_CLAIMS"
LOG_VARIABLE = "SGD_CONFORMANCE_POWER_LOG"
_PYTEST_BROKE = (2, 3, 4)  # interrupted, internal error, usage error: no data (1 = some test failed is data)

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
    workers: str = "auto"
    mutant_tests: str = "catch"
    false_alarm: bool = True
    power: bool = True


# --- statistics ------------------------------------------------------------------------------------------------


def matches(claim_id: str, globs: Sequence[str]) -> bool:
    """Whether ``claim_id`` matches one of ``globs`` (every id matches when there are none)."""
    return not globs or any(fnmatch.fnmatchcase(claim_id, g) for g in globs)


def rejected_at(result: dict[str, Any], level: float) -> bool:
    """Whether the check of ``result`` rejects at ``level``: claim p-value ``p < level``, or an exact decision
    rejected (a failure with no p-value, or a failed decision of level 0)."""
    p = result.get("p_value")
    if p is not None and float(p) < level:
        return True
    exact_rejected = any(d.get("level") == 0 and not d.get("passed") for d in result.get("decisions", []))
    return result["outcome"] == "failed" and (p is None or exact_rejected)


def clopper_pearson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Two-sided exact (Clopper-Pearson) interval for a binomial rate: ``[B(α/2; k, n-k+1), B(1-α/2; k+1, n-k)]``."""
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
    return float(ci.low), float(ci.high)


def binomial_excess_p(k: int, n: int, level: float) -> float:
    """One-sided p-value of ``rate > level``: ``P(Bin(n, level) >= k)``."""
    return float(stats.binomtest(k, n, level, alternative="greater").pvalue)


def ks_anticonservative(p_values: Sequence[float]) -> tuple[float, float]:
    """``(D+, p)`` of the one-sided KS test of ``H0: P(p <= x) <= x`` (uniform or conservative p-values) against too
    many small p-values: ``D+ = sup_x (F_n(x) - x)``."""
    test = stats.kstest(np.asarray(p_values, dtype=float), "uniform", alternative="greater")
    return float(test.statistic), float(test.pvalue)


def kind_of(results: Sequence[dict[str, Any]]) -> str:
    """``p-value`` if a run carried a claim p-value, ``exact`` if runs concluded without one, else ``untested``."""
    ran = [r for r in results if r["outcome"] in ("passed", "failed")]
    if any(r.get("p_value") is not None for r in ran):
        return "p-value"
    return "exact" if ran else "untested"


def false_alarm_stats(results: Sequence[dict[str, Any]], level: float, flag_level: float) -> dict[str, Any]:
    """False-alarm figures of one claim from its schema-1 results on the reference (see the module docstring)."""
    ran = [r for r in results if r["outcome"] in ("passed", "failed")]
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
    """Per claim of ``scope``: its mutants (``[]`` with the record's ``no_mutant_reason`` when it has none) and
    ``run``."""
    return {claim.id: {"power": table.get(claim.id, []), "power_run": run,
                       "no_mutant_reason": None if table.get(claim.id) else (claim.no_mutant_reason or None)}
            for claim in scope}


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


def _command_line(args: Sequence[str], env: dict[str, str], tmp: Path) -> str:
    """The command as a shell line: environment, ``python -m pytest ...``, the temporary folder shown as ``$TMP``."""
    words = [f"{k}={v}" for k, v in env.items()] + ["python", "-m", "pytest", *args]
    return shlex.join(words).replace(str(tmp), "$TMP")


def _pytest(args: Sequence[str], env: dict[str, str]) -> None:
    """``python -m pytest args`` in the repository with ``env`` added; failed tests are data, a broken run is not."""
    status = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=ROOT, env={**os.environ, **env},
                            check=False).returncode
    if status in _PYTEST_BROKE:
        raise CalibrationError(f"pytest {' '.join(args)} exited with status {status} (see its output above)")


def seed_chunks(first: int, count: int, size: int = SEED_CHUNK) -> list[tuple[int, int]]:
    """``(first seed, count)`` of consecutive runs of at most ``size`` seeds covering ``first, ..., first+count-1``."""
    return [(start, min(size, first + count - start)) for start in range(first, first + count, size)]


def _slim(result: dict[str, Any]) -> dict[str, Any]:
    """What the statistics read of a schema-1 result (the figures of thousands of runs would not fit in memory)."""
    decisions = [{"level": d["level"], "passed": d["passed"]} for d in result.get("decisions", [])]
    return {k: result[k] for k in ("claim", "outcome", "p_value", "seed")} | {"decisions": decisions}


def run_false_alarms(settings: Settings, tmp: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The results (slimmed) of every check at every seed on the reference, and the command lines that made them:
    one pytest session per :data:`SEED_CHUNK` seeds, each with ``--seeds``."""
    out = tmp / "false_alarm.json"
    results: list[dict[str, Any]] = []
    commands = []
    for first, count in seed_chunks(settings.seed_base, settings.seeds):
        args = ["checks", "-p", "no:cacheprovider", "-q", "--profile", QUICK, "--seed", str(first), "--seeds",
                str(count), "-n", settings.workers, *[w for g in settings.claims for w in ("--claims", g)],
                "--report-json", str(out)]
        out.unlink(missing_ok=True)
        _pytest(args, BLAS_ONE_THREAD)
        results += [_slim(r) for r in json.loads(out.read_text())["results"]] if out.is_file() else []
        commands.append(_command_line(args, BLAS_ONE_THREAD, tmp))
    if not results:
        raise CalibrationError(f"no check ran (claims {list(settings.claims) or 'all'})")
    return results, commands


def run_power(settings: Settings, tmp: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The power-log lines of the must-catch tests at each mutant seed (tagged ``run``), and the command lines.
    With ``--claims`` the power tests of other claims skip (``SGD_CONFORMANCE_POWER_CLAIMS``)."""
    tests = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_power*.py"))
    args = [*tests, "-p", "no:cacheprovider", "-q", "-n", settings.workers, "-k", settings.mutant_tests]
    lines: list[dict[str, Any]] = []
    commands = []
    for run in mutant_runs(settings):
        log = tmp / f"power-seed{run}"
        log.mkdir()
        env = {**BLAS_ONE_THREAD, SEED_VARIABLE: str(run), LOG_VARIABLE: str(log)}
        if settings.claims:
            env[CLAIMS_VARIABLE] = " ".join(settings.claims)
        _pytest(args, env)
        lines += [{**json.loads(text), "run": run} for path in sorted(log.glob("*.jsonl"))
                  for text in path.read_text().splitlines() if text.strip()]
        commands.append(_command_line(args, env, tmp))
    return lines, commands


def mutant_runs(settings: Settings) -> list[int]:
    """The mutant seeds: ``seed_base, ..., seed_base + mutant_seeds - 1``."""
    return list(range(settings.seed_base, settings.seed_base + settings.mutant_seeds))


def calibrate(settings: Settings, invocation: str, old: dict[str, Any] | None = None) -> dict[str, Any]:
    """Measure what ``settings`` asks for and return the record merged over ``old``.

    ``invocation`` is the command line that regenerates this run: each part it writes keeps it, with its date and
    commit (a merged record's parts may come from different runs).
    """
    registered = registered_claims()
    commands: list[str] = []
    fa_parts = power = None
    with tempfile.TemporaryDirectory(prefix="sgd-calibration-") as folder:
        if settings.false_alarm:
            results, fa_commands = run_false_alarms(settings, Path(folder))
            fa_parts = false_alarms(results, settings.level)
            for part in fa_parts.values():
                part["false_alarm"].update(_provenance(invocation), profile=QUICK,
                                           seeds={"first": settings.seed_base, "count": settings.seeds})
            commands += fa_commands
        if settings.power:
            lines, power_commands = run_power(settings, Path(folder))
            run = {**_provenance(invocation), "seeds": {"first": settings.seed_base, "count": settings.mutant_seeds}}
            scope = [c for c in registered.values() if matches(c.id, settings.claims)]
            power = power_parts(power_table(lines, mutant_runs(settings)), scope, run)
            commands += power_commands
    record = {"schema": SCHEMA, "level": settings.level, "created": now(), "commands": commands,
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
