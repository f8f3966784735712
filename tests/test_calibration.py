"""The calibration: its statistics on synthetic results, the record's merge, the plugin's --seeds and --claims, the
power log of tests/power.py, and the command line."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from sgd_conformance.checks.harness import calibration
from sgd_conformance.checks.harness.calibration import (
    claim_entries,
    clopper_pearson,
    false_alarm_stats,
    false_alarms,
    git_commit,
    merge,
    power_parts,
    power_table,
    rejected_at,
)
from sgd_conformance.checks.harness.claims import Claim
from tests.power import claim_module, mutant, pytest_args, run_check

SGF_MEAN = "lecture.sgf-mean-is-gf"  # ~0.2 s, has a p-value
LEVEL = 0.05


def _result(p: float | None, outcome: str = "passed", claim: str = "x.p", **extra: Any) -> dict[str, Any]:
    return {"claim": claim, "outcome": outcome, "p_value": p, "seed": 0, "decisions": [], **extra}


def _p_results(p_values: np.ndarray, budget: float = 1e-3) -> list[dict[str, Any]]:
    return [_result(float(p), "failed" if p < budget else "passed") for p in p_values]


# --- statistics ------------------------------------------------------------------------------------------------


def test_clopper_pearson_is_the_beta_quantile_interval() -> None:
    low, high = clopper_pearson(3, 100)
    assert low == pytest.approx(stats.beta.ppf(0.025, 3, 98)) and high == pytest.approx(stats.beta.ppf(0.975, 4, 97))
    assert clopper_pearson(0, 50)[0] == 0.0 and clopper_pearson(50, 50)[1] == 1.0


def test_a_check_rejects_at_the_level_by_its_p_value_or_by_a_failed_exact_decision() -> None:
    assert rejected_at(_result(0.01), LEVEL) and not rejected_at(_result(0.06), LEVEL)
    assert rejected_at(_result(None, "failed"), LEVEL) and not rejected_at(_result(None), LEVEL)
    exact_failed = _result(0.9, "failed", decisions=[{"level": 0, "passed": False}, {"level": 1e-3, "passed": True}])
    assert rejected_at(exact_failed, LEVEL)
    assert not rejected_at(_result(0.9, "failed", decisions=[{"level": 1e-3, "passed": False}]), LEVEL)


def test_false_alarm_rate_with_its_interval_and_the_binomial_excess() -> None:
    results = [_result(p) for p in (0.01, 0.2, 0.04, 0.6, 0.5)] + [_result(None, "error"), _result(None, "skipped")]
    part = false_alarm_stats(results, LEVEL, flag_level=1e-3)
    assert (part["n"], part["rejections"], part["errors"], part["skipped"], part["p_values"]) == (5, 2, 1, 1, 5)
    assert part["rate"] == 0.4 and part["ci95"] == pytest.approx(list(clopper_pearson(2, 5)))
    assert part["binomial_p"] == pytest.approx(stats.binom.sf(1, 5, LEVEL))
    assert part["flags"] == ["errors"]


def test_too_many_false_alarms_is_flagged_at_the_bonferroni_level() -> None:
    rng = np.random.default_rng(0)
    uniform, inflated = rng.uniform(size=200), rng.uniform(size=200) * 0.25  # the second rejects 20% at 0.05
    fine = false_alarms([{**r, "claim": "a"} for r in _p_results(uniform)], LEVEL)["a"]
    assert fine["kind"] == "p-value" and fine["false_alarm"]["flags"] == []
    bad = false_alarms([{**r, "claim": c} for c in ("a", "b") for r in _p_results(inflated)], LEVEL)
    assert bad["a"]["false_alarm"]["flag_level"] == pytest.approx(5e-4)
    assert "too_many_false_alarms" in bad["a"]["false_alarm"]["flags"]


def test_ks_flags_anticonservative_p_values_but_not_uniform_or_conservative_ones() -> None:
    u = np.random.default_rng(1).uniform(size=400)
    for p_values, flagged in ((u**2, True), (u, False), (np.sqrt(u), False), (np.minimum(1.0, 3 * u), False)):
        part = false_alarm_stats(_p_results(p_values), LEVEL, flag_level=1e-3)
        assert ("p_values_anticonservative" in part["flags"]) is flagged, part["ks_p"]
    assert false_alarm_stats(_p_results(u**2), LEVEL, 1e-3)["ks_p"] < 1e-10


def test_an_exact_check_has_only_outcome_counts_and_any_failure_is_flagged() -> None:
    clean = false_alarms([_result(None, claim="e")] * 4, LEVEL)["e"]
    assert clean["kind"] == "exact" and clean["false_alarm"]["rate"] is None and clean["false_alarm"]["flags"] == []
    failing = false_alarm_stats([_result(None), _result(None, "failed")], LEVEL, 1e-3)
    assert failing["failed_at_budget"] == 1 and failing["flags"] == ["too_many_false_alarms"]
    assert calibration.kind_of([_result(None, "error")]) == "untested"


def test_a_mutant_is_missed_when_more_than_one_seed_misses_it() -> None:
    def lines(bug: str, caught_runs: set[int], logged: range) -> list[dict[str, Any]]:
        return [{"claim": "c", "test": "t::catch", "bug": bug, "run": r, "caught": r in caught_runs} for r in logged]

    runs = [1, 2, 3, 4, 5]
    table = power_table(lines("all", set(runs), range(1, 6)) + lines("one-miss", {1, 2, 3, 4}, range(1, 6))
                        + lines("two-miss", {1, 2, 3}, range(1, 6)) + lines("not-logged", {1, 2, 3, 4}, range(1, 5)),
                        runs)
    verdicts = {m["bug"]: (m["caught"], m["seeds"], m["misses_mutant"]) for m in table["c"]}
    assert verdicts == {"all": (5, 5, False), "one-miss": (4, 5, False), "two-miss": (3, 5, True),
                        "not-logged": (4, 5, False)}


def _claim(claim_id: str, **record: Any) -> Claim:
    return Claim(claim_id, "reference", "statement", "hypotheses", "source", **record)


def test_claims_without_a_mutant_get_an_empty_power_list_and_the_reason() -> None:
    run = {"command": "calibrate", "date": "today", "seeds": {"first": 1, "count": 2}}
    table = {"with": [{"test": "t", "bug": "b", "seeds": 2, "caught": 0, "misses_mutant": True}]}
    scope = [_claim("with"), _claim("theory.only", no_mutant_reason="a check of the theory alone"),
             _claim("unexplained")]
    parts = power_parts(table, scope, run)
    assert parts["theory.only"]["power"] == [] and parts["theory.only"]["no_mutant_reason"].startswith("a check")
    assert parts["unexplained"]["no_mutant_reason"] is None and parts["with"]["no_mutant_reason"] is None
    entries = claim_entries({"with": _claim("with")}, None, parts)
    assert entries["with"]["flags"] == ["misses_mutant"] and entries["with"]["budget"] == 1e-3


def _record(claims: dict[str, Any], level: float = LEVEL, command: str = "run") -> dict[str, Any]:
    return {"schema": 1, "level": level, "created": "now", "commands": [command], "calibrate": [command],
            "versions": {}, "git_commit": None, "claims": claims}


def test_merge_replaces_only_the_parts_and_claims_a_run_measured() -> None:
    fa: dict[str, list[str]] = {"flags": []}
    old = _record({"a": {"budget": 1e-3, "kind": "p-value", "false_alarm": {"flags": ["errors"]},
                         "power": [{"bug": "b", "misses_mutant": True}], "flags": ["errors", "misses_mutant"]},
                   "b": {"budget": 1e-3, "kind": "exact", "false_alarm": fa, "flags": []}}, command="old")
    new = _record({"a": {"budget": 1e-3, "kind": "p-value", "false_alarm": fa, "flags": []}}, command="new")
    merged = merge(old, new)
    assert merged["claims"]["b"] == old["claims"]["b"]
    assert merged["claims"]["a"]["false_alarm"] == fa and merged["claims"]["a"]["power"] == old["claims"]["a"]["power"]
    assert merged["claims"]["a"]["flags"] == ["misses_mutant"]
    assert merged["commands"] == ["old", "new"] and merge(None, new) == new
    with pytest.raises(calibration.CalibrationError, match="level"):
        merge(old, _record({}, level=0.01))


def test_git_commit_follows_head_to_a_loose_or_packed_ref(tmp_path: Path) -> None:
    assert git_commit(tmp_path) is None
    (tmp_path / ".git" / "refs" / "heads").mkdir(parents=True)
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (tmp_path / ".git" / "packed-refs").write_text("# pack-refs\nabc123 refs/heads/main\n")
    assert git_commit(tmp_path) == "abc123"
    (tmp_path / ".git" / "refs" / "heads" / "main").write_text("def456\n")
    assert git_commit(tmp_path) == "def456"


# --- the plugin's --seeds and --claims -------------------------------------------------------------------------


def test_seeds_runs_a_check_once_per_seed(pytester: pytest.Pytester) -> None:
    js = pytester.path / "seeds.json"
    result = pytester.runpytest_inprocess(*pytest_args(SGF_MEAN), "--seed", "5", "--seeds", "3", "--report-json",
                                          str(js))
    assert result.ret == 0
    records = json.loads(js.read_text())["results"]
    assert [r["seed"] for r in records] == [5, 6, 7] and len({r["p_value"] for r in records}) == 3
    assert [r["nodeid"].rsplit("[", 1)[1] for r in records] == ["seed5]", "seed6]", "seed7]"]
    single = run_check(SGF_MEAN, "--seed", "6")
    assert single["p_value"] == records[1]["p_value"]


def test_claims_deselects_the_checks_of_other_claims(pytester: pytest.Pytester) -> None:
    js = pytester.path / "claims.json"
    result = pytester.runpytest_inprocess("--pyargs", claim_module(SGF_MEAN), "--claims", "lecture.sgf-*",
                                          "--report-json", str(js))
    result.stdout.fnmatch_lines(["*1 passed*deselected*"])
    assert [r["claim"] for r in json.loads(js.read_text())["results"]] == ["lecture.sgf-mean-is-gf"]


def test_the_report_carries_the_calibration_record(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    record = _record({"lecture.sgf-mean-is-gf": {"budget": 1e-3, "flags": []}})
    monkeypatch.setattr("sgd_conformance.reports.model.read_calibration", lambda: record)
    js, html = pytester.path / "r.json", pytester.path / "r.html"
    pytester.runpytest_inprocess(*pytest_args(SGF_MEAN), "--report-json", str(js), "--report-html", str(html))
    assert json.loads(js.read_text())["trust"] == record and 'id="trust"' in html.read_text()


# --- a whole run, in this process -----------------------------------------------------------------------------


def test_calibrate_runs_claims_in_process_and_writes_where_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """False alarms on the reference and the catch rate of each mutant the record names, from an empty folder, with
    no pytest session: the record lands in the current directory by default."""
    from sgd_conformance.cli import main

    monkeypatch.chdir(tmp_path)
    status = main(["calibrate", "--claims", SGF_MEAN, "--seeds", "3", "--mutant-seeds", "2", "-n", "1"])
    record = json.loads((tmp_path / "calibration.json").read_text())
    entry = record["claims"][SGF_MEAN]
    assert entry["false_alarm"]["n"] == 3 and entry["false_alarm"]["seeds"] == {"first": 1, "count": 3}
    mutants = calibration.registered_claims()[SGF_MEAN].mutants
    assert [m["bug"] for m in entry["power"]] == sorted(mutants)
    assert all(m["caught"] == 2 and m["seeds"] == 2 and m["test"] == calibration.POWER_TEST for m in entry["power"])
    assert status == (1 if entry["flags"] else 0) and SGF_MEAN in capsys.readouterr().out


# --- the command line ------------------------------------------------------------------------------------------


def test_calibrate_writes_the_record_prints_the_summary_and_fails_on_a_flag(tmp_path: Path, monkeypatch:
                                                                           pytest.MonkeyPatch,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from sgd_conformance.cli import main

    part = false_alarm_stats(_p_results(np.linspace(0.001, 1, 20)), LEVEL, 1e-3)
    entry = {"budget": 1e-3, "kind": "p-value", "false_alarm": part,
             "power": [{"test": "t", "bug": "sign", "seeds": 20, "caught": 17, "misses_mutant": True}]}
    seen: list[Any] = []

    def fake(settings: calibration.Settings, invocation: str, old: Any) -> dict[str, Any]:
        seen.append((settings, invocation, old))
        return _record(claim_entries({}, {"x.p": entry}, None), command=invocation)

    monkeypatch.setattr(calibration, "calibrate", fake)
    out = tmp_path / "cal.json"
    assert main(["calibrate", "--claims", "x.*", "--seeds", "20", "--skip-power", "--out", str(out)]) == 1
    settings, invocation, old = seen[0]
    assert settings.claims == ("x.*",) and settings.seeds == 20 and not settings.power and old is None
    assert invocation == f"sgd-conformance calibrate --claims 'x.*' --seeds 20 --skip-power --out {out}"
    assert json.loads(out.read_text())["claims"]["x.p"]["flags"] == ["misses_mutant"]
    printed = capsys.readouterr().out
    assert "x.p" in printed and "1/20 [" in printed and "17/20 (sign)" in printed and "misses_mutant" in printed
    with pytest.raises(SystemExit):
        main(["calibrate", "--skip-false-alarm", "--skip-power"])


def test_the_reproduce_line_runs_the_failing_check_again_from_any_directory(pytester: pytest.Pytester) -> None:
    """A failure's "reproduce:" line is a pytest command that gives the same verdict and statistic (run here from an
    empty folder)."""
    failed = run_check(SGF_MEAN, "--impl", mutant("sgd", "gd_lr_times_1_1"), "--seed", "4")
    line = next(t for t in failed["message"].splitlines() if t.strip().startswith("reproduce: pytest "))
    js = pytester.path / "again.json"
    pytester.runpytest_inprocess(*shlex.split(line.split("reproduce: pytest ", 1)[1]), "--report-json", str(js))
    (again,) = json.loads(js.read_text())["results"]
    assert failed["outcome"] == again["outcome"] == "failed" and again["statistic"] == failed["statistic"]


def test_report_only_claims_are_listed_as_such_with_the_reason() -> None:
    """A report-only claim keeps its measured kind and says why its verdict is only a guard."""
    claims = calibration.registered_claims()
    claim = next(c for c in claims.values() if c.report_only)
    entries = claim_entries(claims, {claim.id: {"kind": "exact", "false_alarm": None}}, None)
    assert entries[claim.id]["kind"] == f"exact; {claim.report_only}"
