"""Calibration: how often each check raises a false alarm on correct implementations, stage by stage and as the
two-stage procedure, how often the whole suite does, and how often each check catches each of its mutants.

``sgd-conformance calibrate`` drives it; every measurement is a batch of independent tasks
``(claim id, {family: SPEC}, seed, stage)`` (stage 0: the two-stage procedure) that
:mod:`sgd_conformance.checks.harness.engine` spreads over worker processes or a Dask cluster, journaling each
finished task so that an interrupted calibration resumes. No pytest session is involved. The figures are defined in
:mod:`sgd_conformance.checks.harness.calibration_figures`.

Parts of the record (``reports/calibration.json``, schema 2), each measured at ``--profile quick``:

* ``false_alarm`` (per claim): stage 1 on the reference at seeds ``B, ..., B+N-1`` (``--seeds N``), then stage 2 at
  the same seeds for the claims whose runs carry p-values (an exact claim is never re-tested). Stage ``j`` at seed
  ``s`` is what the two-stage procedure would run there, so the same data give each stage's rate at its level, the
  claim's two-stage failure rate, and the suite-level rate.
* ``power`` (per claim): every implementation mutant its record names, through the two-stage procedure, at seeds
  ``B, ..., B+M-1`` (``--mutant-seeds M``). The mistakes of the suite's own oracle are listed apart
  (``oracle_mutants``): the package's tests prove them.
* ``suite`` (the record): the reference's suite-level rate, recomputed from the claims' entries on every merge, and
  the suite-level rate of correct third-party implementations (:data:`THIRD_PARTY`): every claim that runs the
  family, through the two-stage procedure, at the same seeds.

Every claim entry carries the fingerprint of the code its verdict depends on
(:mod:`sgd_conformance.checks.harness.fingerprint`); ``calibrate --stale`` re-measures the claims whose code changed.
The record is merged: a run replaces only the parts of the claims it ran.
"""

from __future__ import annotations

import fnmatch
import json
import platform
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy

from sgd_conformance import mutants
from sgd_conformance.checks.harness import calibration_figures as figures
from sgd_conformance.checks.harness import engine, fingerprint
from sgd_conformance.checks.harness.claims import STAGES, Claim
from sgd_conformance.checks.harness.run import registry, run_claim
from sgd_conformance.reports.model import ClaimResult
from sgd_conformance.reports.render import TRUST_SCHEMA, rate_text, suite_rows

ROOT = Path(__file__).resolve().parents[2]  # the checkout, when there is one
SCHEMA = TRUST_SCHEMA
QUICK = "quick"
#: correct implementations written by others, whose suite-level false-alarm rate the record measures:
#: name -> (family, SPEC)
THIRD_PARTY = {"torch.optim.SGD": ("sgd", "torch:torch.optim:SGD"),
               "NumPy SGLD, another style": ("sgld", f"{mutants.__name__}.sgld:{mutants.CORRECT['sgld']}")}


class CalibrationError(RuntimeError):
    """A calibration run produced no data, or its record cannot be merged."""


@dataclass(frozen=True)
class Settings:
    """What one calibration run measures (the CLI's options)."""

    claims: tuple[str, ...] = ()
    seeds: int = 200
    seed_base: int = 1
    mutant_seeds: int = 20
    false_alarm: bool = True
    power: bool = True
    third_party: bool = True
    #: the names of :data:`THIRD_PARTY` to measure (all when empty)
    third_party_names: tuple[str, ...] = ()
    engine: engine.Engine = field(default_factory=engine.Engine)


def matches(claim_id: str, globs: Sequence[str]) -> bool:
    """Whether ``claim_id`` matches one of ``globs`` (every id matches when there are none)."""
    return not globs or any(fnmatch.fnmatchcase(claim_id, g) for g in globs)


# --- tasks -----------------------------------------------------------------------------------------------------


def run_task(task: Sequence[Any]) -> dict[str, Any]:
    """The slimmed result of one task ``(claim id, {family: SPEC}, seed, stage, code fingerprint)`` at ``--profile
    quick``; stage 0 runs the two-stage procedure. The fingerprint only keys the task (a journaled result of other
    code is not reused). A module-level function, so worker processes can import it."""
    claim, impls, seed, stage = task[:4]
    return slim(run_claim(claim, impls, seed=seed, profile=QUICK, stage=stage or None), stage)


def slim(result: ClaimResult, stage: int) -> dict[str, Any]:
    """What the figures read of a result: outcome, stage p-value, the decisions' levels and verdicts, the message's
    first line (it names the implementation), the stages that ran."""
    decisions = [{"level": d["level"], "passed": d["passed"], "enforced": d["enforced"]} for d in result.decisions]
    return {"claim": result.claim, "outcome": result.outcome, "p_value": result.p_value, "seed": result.seed,
            "stage": stage, "message": result.message.split("\n", 1)[0], "decisions": decisions,
            "stages": [[s["stage"], s["outcome"], s["p_value"]] for s in result.stages],
            "duration_s": result.duration_s}


def _run(tasks: Sequence[tuple[str, dict[str, str], int, int]], settings: Settings) -> list[dict[str, Any]]:
    prints = fingerprint.fingerprints(registry())
    return engine.run([[*task, prints[task[0]]] for task in tasks], run_task, settings.engine)


def _seeds(settings: Settings) -> list[int]:
    return list(range(settings.seed_base, settings.seed_base + settings.seeds))


def mutant_runs(settings: Settings) -> list[int]:
    """The mutant seeds: ``seed_base, ..., seed_base + mutant_seeds - 1``."""
    return list(range(settings.seed_base, settings.seed_base + settings.mutant_seeds))


def run_false_alarms(settings: Settings, scope: Sequence[Claim]) -> dict[str, dict[int, list[dict[str, Any]]]]:
    """Per claim and stage, the results on the reference at every seed: stage 1 for every claim, stage 2 for the
    claims whose stage-1 runs carry a p-value."""
    seeds = _seeds(settings)
    first = _run([(claim.id, {}, seed, 1) for claim in scope for seed in seeds], settings)
    by_claim: dict[str, dict[int, list[dict[str, Any]]]] = {claim.id: {1: []} for claim in scope}
    for result in first:
        by_claim[result["claim"]][1].append(result)
    statistical = [claim for claim in scope if figures.kind_of(by_claim[claim.id][1]) == "p-value"]
    for result in _run([(claim.id, {}, seed, 2) for claim in statistical for seed in seeds], settings):
        by_claim[result["claim"]].setdefault(2, []).append(result)
    return by_claim


def false_alarm_parts(results: Mapping[str, Mapping[int, Sequence[dict[str, Any]]]],
                      claims: Mapping[str, Claim]) -> dict[str, dict[str, Any]]:
    """Per claim: ``{"kind", "false_alarm"}``; the flags' level is ``FLAG_LEVEL / (2K)`` over the K claims."""
    flag_level = figures.FLAG_LEVEL / (len(STAGES) * max(len(results), 1))
    parts = {}
    for claim_id, by_stage in sorted(results.items()):
        claim = claims[claim_id]
        part = figures.false_alarm_figures(by_stage, claim.stage_level, claim.budget, flag_level)
        parts[claim_id] = {"kind": part["kind"], "false_alarm": part}
    return parts


def run_power(settings: Settings, scope: Sequence[Claim]) -> list[dict[str, Any]]:
    """One power line per (claim, mutant of its record, seed): ``{claim, bug, run, outcome, caught}``."""
    pairs = [(claim, bug, family, name) for claim in scope
             for bug, (family, name) in zip(claim.mutants, claim.mutant_families(), strict=True)]
    runs = mutant_runs(settings)
    keys = [(claim.id, bug, name, seed) for claim, bug, _, name in pairs for seed in runs]
    results = _run([(claim.id, {family: mutants.spec(family, name)}, seed, 0) for claim, _, family, name in pairs
                    for seed in runs], settings)
    return [{"claim": claim, "bug": bug, "run": seed, "outcome": result["outcome"],
             "caught": figures.caught(result, name), "duration_s": result.get("duration_s")}
            for (claim, bug, name, seed), result in zip(keys, results, strict=True)]


def power_parts(table: Mapping[str, list[dict[str, Any]]], scope: Iterable[Claim], run: dict[str, Any]) \
        -> dict[str, dict[str, Any]]:
    """Per claim of ``scope``: its measured mutants, its oracle mutants (listed apart) and ``run``; a claim with no
    implementation mutant gets the reason its record gives, or one that names its oracle mutants."""
    return {claim.id: {"power": table.get(claim.id, []), "power_run": run, "oracle_mutants": list(claim.oracle_mutants),
                       "no_mutant_reason": None if table.get(claim.id) else _no_mutant_reason(claim)}
            for claim in scope}


def _no_mutant_reason(claim: Claim) -> str | None:
    if claim.no_mutant_reason:
        return claim.no_mutant_reason
    if claim.oracle_mutants:
        return ("its mutants are mistakes of the suite's own oracle (" + ", ".join(claim.oracle_mutants)
                + "), caught by the package's tests rather than measured over seeds")
    return None


def run_third_party(settings: Settings, claims: Mapping[str, Claim], invocation: str) -> dict[str, dict[str, Any]]:
    """The suite-level false-alarm rate of each correct implementation of :data:`THIRD_PARTY` (one whose SPEC cannot
    be imported, e.g. torch missing, is recorded as not measured, with the reason)."""
    from sgd_conformance.checks.harness.impl import UsageError, resolve

    seeds, out = _seeds(settings), dict[str, dict[str, Any]]()
    for name, (family, spec) in THIRD_PARTY.items():
        if settings.third_party_names and name not in settings.third_party_names:
            continue
        try:
            resolve(family, spec)
        except UsageError as exc:
            out[name] = {"family": family, "spec": spec, "not_measured": str(exc)}
            continue
        scope = sorted(claim.id for claim in claims.values() if family in claim.families)
        results = _run([(claim, {family: spec}, seed, 0) for claim in scope for seed in seeds], settings)
        failing: dict[int, list[str]] = {}
        for result in results:
            if result["outcome"] in ("failed", "error"):
                failing.setdefault(result["seed"], []).append(result["claim"])
        prints = fingerprint.fingerprints({claim: claims[claim] for claim in scope})
        out[name] = {"family": family, "spec": spec, "claims": len(scope), "fingerprints": prints,
                     **figures.suite_rate(len(failing), len(seeds)), "seconds_per_run": figures.mean_seconds(results),
                     "seeds": {"first": settings.seed_base, "count": settings.seeds},
                     "failing": {str(seed): sorted(c) for seed, c in sorted(failing.items())},
                     **_provenance(invocation)}
    return out


# --- the record ------------------------------------------------------------------------------------------------


def claim_flags(entry: Mapping[str, Any]) -> list[str]:
    """The flags of a claim entry: its false-alarm flags and ``misses_mutant`` if any mutant is missed."""
    flags = set((entry.get("false_alarm") or {}).get("flags", []))
    if any(m["misses_mutant"] for m in entry.get("power") or []):
        flags.add("misses_mutant")
    return sorted(flags)


def _finish(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry with its flags, and its ``fingerprint``: the code fingerprint both parts were measured on (None when
    they differ or one is missing: the entry is stale)."""
    prints = {(part or {}).get("fingerprint") for part in (entry.get("false_alarm"), entry.get("power_run"))}
    common = prints.pop() if len(prints) == 1 else None
    return {**entry, "fingerprint": common, "flags": claim_flags(entry)}


def merge(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """``new`` over ``old``: the claims and parts of ``new`` replace those of ``old``, the others are kept; the
    reference's suite-level rate is recomputed from the merged entries. Raises CalibrationError when ``old`` is of
    another schema (its figures do not compare: write the new record elsewhere, or remove the old one)."""
    if old is not None and old.get("schema") != SCHEMA:
        raise CalibrationError(f"the record is of schema {old.get('schema')}, this run writes schema {SCHEMA}: remove "
                               "it or write elsewhere (--out)")
    old = old or {"claims": {}, "commands": [], "suite": {}}
    claims = {claim: dict(entry) for claim, entry in old["claims"].items()}
    for claim, part in new["claims"].items():
        claims[claim] = _finish({**claims.get(claim, {}), **part})
    suite = {**old.get("suite", {}), **{k: v for k, v in new.get("suite", {}).items() if k != "reference"}}
    third = {**old.get("suite", {}).get("third_party", {}), **new.get("suite", {}).get("third_party", {})}
    suite = {**suite, "reference": figures.suite_figures(claims), "third_party": third}
    return {**new, "commands": list(dict.fromkeys([*old["commands"], *new["commands"]])),
            "claims": dict(sorted(claims.items())), "suite": suite,
            "power_counts": figures.power_counts(claims)}


def claim_entries(claims: Mapping[str, Claim], *parts: Mapping[str, dict[str, Any]] | None) \
        -> dict[str, dict[str, Any]]:
    """The claim entries of one run from its parts (each ``{claim: part fields}``, or None when not run); a
    report-only claim's kind says so, with the reason its record gives."""
    entries: dict[str, dict[str, Any]] = {}
    for part in parts:
        for claim, fields in (part or {}).items():
            known = claims.get(claim)
            entry = entries.setdefault(claim, {"budget": known.budget if known else None,
                                               "stage_level": known.stage_level if known else None})
            entry.update(fields)
            if known is not None and known.report_only and "kind" in fields:
                entry["kind"] = f"{fields['kind']}; {known.report_only}"
    return dict(sorted(entries.items()))


def stale_claims(record: Mapping[str, Any] | None, claims: Mapping[str, Claim] | None = None) -> dict[str, str]:
    """The registered claims whose record entry is missing or was measured on other code, with the reason
    (:func:`sgd_conformance.checks.harness.fingerprint.stale`)."""
    claims = claims or registry()
    found = fingerprint.stale(record or {"claims": {}}, claims)
    return {claim: reason for claim, reason in found.items() if claim in claims}


def stale_third_party(record: Mapping[str, Any] | None, claims: Mapping[str, Claim] | None = None) -> list[str]:
    """The implementations of :data:`THIRD_PARTY` whose suite-level rate is missing from the record or was measured
    on other code (the fingerprints of the claims it ran differ from the current claims of its family)."""
    claims = claims or registry()
    parts = ((record or {}).get("suite") or {}).get("third_party") or {}
    stale = []
    for name, (family, _) in THIRD_PARTY.items():
        part = parts.get(name)
        current = fingerprint.fingerprints({c.id: c for c in claims.values() if family in c.families})
        if part is None or (not part.get("not_measured") and part.get("fingerprints") != current):
            stale.append(name)
    return stale


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


def _provenance(invocation: str) -> dict[str, Any]:
    return {"command": invocation, "date": now(), "git_commit": git_commit()}


def calibrate(settings: Settings, invocation: str, old: dict[str, Any] | None = None) -> dict[str, Any]:
    """Measure what ``settings`` asks for and return the record merged over ``old``.

    ``invocation`` is the command line that regenerates this run: each part it writes keeps it, with its date,
    commit and the code fingerprint of its claim.
    """
    start = time.perf_counter()
    registered = registry()
    scope = [c for c in registered.values() if matches(c.id, settings.claims)]
    if not scope:
        raise CalibrationError(f"no claim matches {list(settings.claims)}")
    prints = fingerprint.fingerprints({c.id: c for c in scope})
    fa_parts = power = None
    if settings.false_alarm:
        fa_parts = false_alarm_parts(run_false_alarms(settings, scope), registered)
        for claim, part in fa_parts.items():
            part["false_alarm"].update(_provenance(invocation), profile=QUICK, fingerprint=prints[claim],
                                       seeds={"first": settings.seed_base, "count": settings.seeds})
    if settings.power:
        run = {**_provenance(invocation), "seeds": {"first": settings.seed_base, "count": settings.mutant_seeds}}
        table = figures.power_table(run_power(settings, scope), mutant_runs(settings))
        power = {claim: {**part, "power_run": {**run, "fingerprint": prints[claim]}}
                 for claim, part in power_parts(table, scope, run).items()}
    third = run_third_party(settings, registered, invocation) if settings.third_party else {}
    run_facts = {**_provenance(invocation), "wall_s": round(time.perf_counter() - start, 1),
                 "workers": settings.engine.scheduler or settings.engine.worker_count()}
    record = {"schema": SCHEMA, "profile": QUICK, "created": now(), "commands": [invocation], "versions": versions(),
              "last_run": run_facts,
              "git_commit": git_commit(), "claims": claim_entries(registered, fa_parts, power),
              "suite": {"third_party": third}}
    return merge(old, record)


def write_record(record: dict[str, Any], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")


# --- the summary -----------------------------------------------------------------------------------------------


def summary(record: Mapping[str, Any], claims: Iterable[str]) -> str:
    """A plain-text table of ``claims`` (each stage's false alarms k/n at its level with the CP interval, the claim's
    failures, the worst mutant, the flags) and the suite-level rates."""
    rows = [("claim", "kind", "s/run", "stage 1 [95% CI]", "stage 2 [95% CI]", "failed", "worst mutant", "flags")]
    for claim in claims:
        entry = record["claims"][claim]
        part = entry.get("false_alarm") or {}
        stages = part.get("stages", {})
        seconds = (stages.get("1") or {}).get("seconds_per_run")
        rows.append((claim, (entry.get("kind") or "").split(";")[0], "-" if seconds is None else f"{seconds:.2f}",
                     rate_text(stages.get("1")),
                     rate_text(stages.get("2")), rate_text(part.get("claim")), _power_cell(entry.get("power")),
                     ", ".join(entry["flags"]) or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join([*lines, *suite_lines(dict(record.get("suite") or {}))])


def suite_lines(suite: dict[str, Any]) -> list[str]:
    """The suite-level rates, one line each: the reference's and each third-party implementation's."""
    return [f"suite on {row.name}: failed at {row.rate} of the seeds (binomial p = {row.binomial_p:.3g}): {row.verdict}"
            if row.binomial_p is not None else f"suite on {row.name}: {row.verdict}" for row in suite_rows(suite)]


def _power_cell(power: list[dict[str, Any]] | None) -> str:
    if power is None:
        return "not measured"
    if not power:
        return "no mutant"
    worst = min(power, key=lambda m: m["caught"] / m["seeds"])
    return f"{worst['caught']}/{worst['seeds']} ({worst['bug']})"
