"""The calibration: its figures on synthetic results (each stage, the two-stage failures, the suite-level rate, the
power table), the record's merge and fingerprints, the plugin's --seeds and --claims, and the command line."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from sgd_conformance.checks.harness import calibration, fingerprint
from sgd_conformance.checks.harness import calibration_figures as figures
from sgd_conformance.checks.harness.calibration import claim_entries, git_commit, merge, power_parts
from sgd_conformance.checks.harness.calibration_figures import (
    claim_failures,
    clopper_pearson,
    false_alarm_figures,
    power_table,
    stage_figures,
    suite_figures,
    suite_rate,
)
from sgd_conformance.checks.harness.claims import Claim
from sgd_conformance.checks.harness.run import registry
from tests.power import claim_module, mutant, pytest_args, run_check

SGF_MEAN = "lecture.sgf-mean-is-gf"  # ~0.1 s, has a p-value
A = 0.01  # the stage level at the default budget 1e-4
STATISTICAL = [{"level": A, "passed": False, "enforced": True}]
EXACT = [{"level": 0.0, "passed": False, "enforced": True}]


def _result(p: float | None, outcome: str = "passed", claim: str = "x.p", seed: int = 0, **extra: Any) \
        -> dict[str, Any]:
    return {"claim": claim, "outcome": outcome, "p_value": p, "seed": seed, "decisions": [], "message": "", **extra}


def _stage(p_values: np.ndarray, claim: str = "x.p") -> list[dict[str, Any]]:
    """Stage runs at seeds 0, 1, ... with these p-values (a p-value below A rejects, statistically)."""
    return [_result(float(p), "failed" if p < A else "passed", claim, seed,
                    decisions=STATISTICAL if p < A else []) for seed, p in enumerate(p_values)]


# --- figures ---------------------------------------------------------------------------------------------------


def test_clopper_pearson_is_the_beta_quantile_interval() -> None:
    low, high = clopper_pearson(3, 100)
    assert low == pytest.approx(stats.beta.ppf(0.025, 3, 98)) and high == pytest.approx(stats.beta.ppf(0.975, 4, 97))
    assert clopper_pearson(0, 50)[0] == 0.0 and clopper_pearson(50, 50)[1] == 1.0


def test_a_stage_rate_has_its_interval_the_binomial_excess_and_the_ks_test() -> None:
    results = _stage(np.array([0.001, 0.2, 0.004, 0.6, 0.5])) + [_result(None, "error"), _result(None, "skipped")]
    part = stage_figures(results, A)
    assert (part["n"], part["k"], part["p_values"]) == (5, 2, 5) and part["rate"] == 0.4
    assert part["ci95"] == pytest.approx(list(clopper_pearson(2, 5)))
    assert part["binomial_p"] == pytest.approx(stats.binom.sf(1, 5, A))
    assert part["ks_p"] == pytest.approx(stats.kstest([0.001, 0.2, 0.004, 0.6, 0.5], "uniform",
                                                      alternative="greater").pvalue)


def test_a_claim_fails_on_an_exact_rejection_or_on_rejections_in_both_stages() -> None:
    first = [_result(0.5, seed=0), _result(0.001, "failed", seed=1, decisions=STATISTICAL),
             _result(0.001, "failed", seed=2, decisions=STATISTICAL), _result(None, "failed", seed=3, decisions=EXACT),
             _result(0.001, "failed", seed=4, decisions=STATISTICAL), _result(None, "failed", seed=5)]
    second = [_result(0.002, "failed", seed=1, decisions=STATISTICAL), _result(0.3, seed=2),
              _result(0.004, "failed", seed=3, decisions=STATISTICAL)]
    known, failed = claim_failures({1: first, 2: second})
    # seed 4: stage 1 rejected on statistics and stage 2 did not run, so its outcome is unknown; seed 5 ended
    # without a decision (not re-tested); seed 3's stage-2 run does not matter (exact)
    assert known == [0, 1, 2, 3, 5] and failed == [1, 3, 5]


def test_too_many_false_alarms_in_a_stage_is_flagged_at_the_bonferroni_level() -> None:
    rng = np.random.default_rng(0)
    uniform, inflated = rng.uniform(size=400), rng.uniform(size=400) * 0.25  # the second rejects 4% at 0.01
    fine = false_alarm_figures({1: _stage(uniform), 2: _stage(rng.uniform(size=400))}, A, A * A, 1e-4)
    assert fine["kind"] == "p-value" and fine["flags"] == [] and fine["claim"]["n"] == 400
    bad = false_alarm_figures({1: _stage(uniform), 2: _stage(inflated)}, A, A * A, 1e-4)
    assert bad["stages"]["2"]["binomial_p"] < 1e-4 and "too_many_false_alarms" in bad["flags"]
    parts = calibration.false_alarm_parts({"a": {1: _stage(uniform)}, "b": {1: _stage(uniform)}},
                                          {"a": _claim("a"), "b": _claim("b")})
    assert parts["a"]["false_alarm"]["flag_level"] == pytest.approx(1e-3 / (2 * 2))


def test_ks_flags_anticonservative_p_values_but_not_uniform_or_conservative_ones() -> None:
    u = np.random.default_rng(1).uniform(size=400)
    for p_values, flagged in ((u**2, True), (u, False), (np.sqrt(u), False), (np.minimum(1.0, 3 * u), False)):
        part = false_alarm_figures({1: _stage(p_values)}, A, A * A, 1e-3)
        assert ("p_values_anticonservative" in part["flags"]) is flagged, part["stages"]["1"]["ks_p"]


def test_an_exact_claim_is_flagged_by_any_failure_and_an_error_by_itself() -> None:
    clean = false_alarm_figures({1: [_result(None, seed=s) for s in range(4)]}, A, A * A, 1e-3)
    assert clean["kind"] == "exact" and clean["flags"] == [] and clean["claim"]["k"] == 0
    failing = false_alarm_figures({1: [_result(None), _result(None, "failed", seed=1, decisions=EXACT)]}, A, A * A,
                                  1e-3)
    assert failing["claim"]["failed_seeds"] == [1] and failing["flags"] == ["too_many_false_alarms"]
    assert false_alarm_figures({1: [_result(None, "error")]}, A, A * A, 1e-3)["flags"] == ["errors"]
    assert figures.kind_of([_result(None, "error")]) == "untested"


def _entry(failed: list[int], seeds: tuple[int, int] = (1, 200), budget: float = 1e-4) -> dict[str, Any]:
    return {"budget": budget, "false_alarm": {"claim": {"seeds": [list(seeds)], "failed_seeds": failed}}}


def test_the_suite_fails_at_a_seed_where_any_claim_fails_over_the_seeds_every_claim_covers() -> None:
    suite = suite_figures({"a": _entry([3, 150]), "b": _entry([3, 7]), "c": _entry([190], seeds=(1, 180))})
    assert suite is not None and (suite["k"], suite["n"], suite["claims"]) == (3, 180, 3)
    assert suite["failing"] == {"3": ["a", "b"], "7": ["b"], "150": ["a"]} and suite["seeds"] == [[1, 180]]
    assert suite["union_bound"] == pytest.approx(3e-4) and not suite["exceeds_target"]
    assert suite_figures({"a": _entry([]), "b": {"budget": 1e-4}}) is None


def test_a_suite_rate_exceeds_its_target_when_the_one_sided_binomial_test_rejects_at_five_percent() -> None:
    assert stats.binom.sf(4, 200, 0.01) > 0.05 > stats.binom.sf(5, 200, 0.01)
    assert not suite_rate(5, 200)["exceeds_target"] and suite_rate(6, 200)["exceeds_target"]
    assert suite_rate(0, 200)["ci95"] == pytest.approx([0.0, stats.beta.ppf(0.975, 1, 200)])


def test_a_mutant_is_missed_when_more_than_one_seed_misses_it() -> None:
    def lines(bug: str, caught_runs: set[int], logged: range) -> list[dict[str, Any]]:
        return [{"claim": "c", "bug": bug, "run": r, "caught": r in caught_runs} for r in logged]

    runs = [1, 2, 3, 4, 5]
    table = power_table(lines("all", set(runs), range(1, 6)) + lines("one-miss", {1, 2, 3, 4}, range(1, 6))
                        + lines("two-miss", {1, 2, 3}, range(1, 6)) + lines("not-logged", {1, 2, 3, 4}, range(1, 5)),
                        runs)
    verdicts = {m["bug"]: (m["caught"], m["seeds"], m["misses_mutant"], m["kind"]) for m in table["c"]}
    assert verdicts == {"all": (5, 5, False, "implementation"), "one-miss": (4, 5, False, "implementation"),
                        "two-miss": (3, 5, True, "implementation"), "not-logged": (4, 5, False, "implementation")}


def test_a_mutant_is_caught_only_by_a_failure_or_error_that_names_it() -> None:
    assert figures.caught({"outcome": "failed", "message": "FAILED c — mutants/sgd.py:sign [...]"}, "sign")
    assert not figures.caught({"outcome": "failed", "message": "FAILED c — reference [...]"}, "sign")
    assert not figures.caught({"outcome": "passed", "message": ""}, "sign")


# --- the record ------------------------------------------------------------------------------------------------


def _claim(claim_id: str, **record: Any) -> Claim:
    return Claim(claim_id, "reference", "statement", "hypotheses", "source", **record)


def test_claims_without_an_implementation_mutant_get_the_reason_and_oracle_mutants_are_listed_apart() -> None:
    run = {"command": "calibrate", "date": "today", "seeds": {"first": 1, "count": 2}}
    table = {"with": [{"bug": "b", "kind": "implementation", "seeds": 2, "caught": 0, "misses_mutant": True}]}
    scope = [_claim("with"), _claim("theory.only", no_mutant_reason="a check of the theory alone"),
             _claim("oracle", oracle_mutants=("wrong_sign",)), _claim("unexplained")]
    parts = power_parts(table, scope, run)
    assert parts["theory.only"]["power"] == [] and parts["theory.only"]["no_mutant_reason"].startswith("a check")
    assert parts["oracle"]["oracle_mutants"] == ["wrong_sign"] and "wrong_sign" in parts["oracle"]["no_mutant_reason"]
    assert parts["unexplained"]["no_mutant_reason"] is None and parts["with"]["no_mutant_reason"] is None
    entries = claim_entries({"with": _claim("with")}, None, parts)
    assert entries["with"]["budget"] == 1e-4 and entries["with"]["stage_level"] == pytest.approx(0.01)
    counts = figures.power_counts(merge(None, _record(entries))["claims"])
    assert counts["implementation"]["pairs"] == 1 and counts["implementation"]["missed"] == ["with: b"]
    assert counts["oracle"] == {**counts["oracle"], "mutants": 1, "claims": 1}


def _record(claims: dict[str, Any], command: str = "run", schema: int = calibration.SCHEMA) -> dict[str, Any]:
    return {"schema": schema, "created": "now", "commands": [command], "versions": {}, "git_commit": None,
            "claims": claims, "suite": {"third_party": {}}}


def test_merge_replaces_only_the_parts_and_claims_a_run_measured_and_recomputes_the_suite() -> None:
    fa = {"flags": [], "fingerprint": "f1", "claim": {"seeds": [[1, 10]], "failed_seeds": []}}
    old = _record({"a": {"budget": 1e-4, "false_alarm": {**fa, "flags": ["errors"], "fingerprint": "f0"},
                         "power": [{"bug": "b", "seeds": 2, "caught": 0, "misses_mutant": True}],
                         "power_run": {"fingerprint": "f0"}},
                   "b": {"budget": 1e-4, "false_alarm": {**fa, "claim": {"seeds": [[1, 10]], "failed_seeds": [4]}}}},
                  command="old")
    old = merge(None, old)
    assert old["claims"]["a"]["fingerprint"] == "f0" and old["claims"]["b"]["fingerprint"] is None
    new = _record({"a": {"budget": 1e-4, "false_alarm": fa}}, command="new")
    merged = merge(old, new)
    assert merged["claims"]["b"] == old["claims"]["b"]
    assert merged["claims"]["a"]["false_alarm"] == fa and merged["claims"]["a"]["power"] == old["claims"]["a"]["power"]
    # the power part was measured on other code: the entry's fingerprint is unknown (stale)
    assert merged["claims"]["a"]["flags"] == ["misses_mutant"] and merged["claims"]["a"]["fingerprint"] is None
    assert merged["commands"] == ["old", "new"]
    assert merged["suite"]["reference"]["failing"] == {"4": ["b"]} and merged["suite"]["reference"]["n"] == 10
    with pytest.raises(calibration.CalibrationError, match="schema"):
        merge({**old, "schema": 1}, new)


def test_the_record_is_stale_for_the_claims_whose_code_fingerprint_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    claims = {c: registry()[c] for c in (SGF_MEAN, "contract.sgd")}
    prints = fingerprint.fingerprints(claims)
    record = _record({SGF_MEAN: {"fingerprint": prints[SGF_MEAN]}, "contract.sgd": {"fingerprint": "0" * 16}})
    assert calibration.stale_claims(record, claims) == {"contract.sgd": fingerprint.CODE_CHANGED}
    monkeypatch.setattr(calibration, "THIRD_PARTY", {"another GD": ("sgd", "x:y"), "absent": ("sgld", "x:z")})
    sgd_claims = {c: claim for c, claim in claims.items() if "sgd" in claim.families}
    record["suite"]["third_party"] = {"another GD": {"fingerprints": fingerprint.fingerprints(sgd_claims)}}
    assert calibration.stale_third_party(record, claims) == ["absent"]
    record["suite"]["third_party"]["another GD"]["fingerprints"] = {}
    assert calibration.stale_third_party(record, claims) == ["another GD", "absent"]


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
    record = merge(None, _record({"lecture.sgf-mean-is-gf": {"budget": 1e-4, "stage_level": 0.01}}))
    monkeypatch.setattr("sgd_conformance.reports.model.read_calibration", lambda: record)
    js, html = pytester.path / "r.json", pytester.path / "r.html"
    pytester.runpytest_inprocess(*pytest_args(SGF_MEAN), "--report-json", str(js), "--report-html", str(html))
    assert json.loads(js.read_text())["trust"] == record and 'id="trust"' in html.read_text()


# --- a whole run, in this process -----------------------------------------------------------------------------


def test_calibrate_runs_both_stages_the_mutants_and_a_third_party_implementation(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """False alarms on the reference in both stages, the catch rate of each mutant the record names, and the suite on
    a correct third-party implementation, from an empty folder, in this process: the record lands in the current
    directory by default, with the claim's code fingerprint, and the journal is gone once the record is written."""
    from sgd_conformance.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(calibration, "THIRD_PARTY", {"another GD": ("sgd", mutant("sgd", "gd_correct_variant")
                                                                    .partition("=")[2])})
    status = main(["calibrate", "--claims", SGF_MEAN, "--seeds", "3", "--mutant-seeds", "2", "-n", "1"])
    record = json.loads((tmp_path / "calibration.json").read_text())
    entry = record["claims"][SGF_MEAN]
    part = entry["false_alarm"]
    assert part["stages"]["1"]["n"] == part["stages"]["2"]["n"] == 3 and part["seeds"] == {"first": 1, "count": 3}
    assert entry["fingerprint"] == fingerprint.fingerprints({SGF_MEAN: registry()[SGF_MEAN]})[SGF_MEAN]
    assert [m["bug"] for m in entry["power"]] == sorted(registry()[SGF_MEAN].mutants)
    assert all(m["caught"] == 2 and m["seeds"] == 2 for m in entry["power"])
    third = record["suite"]["third_party"]["another GD"]
    assert third["n"] == 3 and third["claims"] == sum("sgd" in c.families for c in registry().values())
    assert record["suite"]["reference"]["n"] == 3 and not (tmp_path / "calibration.json.journal").exists()
    printed = capsys.readouterr().out
    assert status == (1 if entry["flags"] or third["exceeds_target"] else 0) and SGF_MEAN in printed
    assert "suite on another GD" in printed


# --- the command line ------------------------------------------------------------------------------------------


def test_calibrate_writes_the_record_prints_the_summary_and_fails_on_a_flag(tmp_path: Path, monkeypatch:
                                                                           pytest.MonkeyPatch,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from sgd_conformance.cli import main

    u = np.linspace(0.0, 1, 20)
    part = false_alarm_figures({1: _stage(u), 2: _stage(u[::-1])}, A, A * A, 1e-3)
    entry = {"budget": 1e-4, "kind": "p-value", "false_alarm": part,
             "power": [{"bug": "sign", "kind": "implementation", "seeds": 20, "caught": 17, "misses_mutant": True}]}
    seen: list[Any] = []

    def fake(settings: calibration.Settings, invocation: str, old: Any) -> dict[str, Any]:
        seen.append((settings, invocation, old))
        return merge(None, _record(claim_entries({}, {"x.p": entry}), command=invocation))

    monkeypatch.setattr(calibration, "calibrate", fake)
    out = tmp_path / "cal.json"
    assert main(["calibrate", "--claims", "x.*", "--seeds", "20", "--skip-power", "--out", str(out)]) == 1
    settings, invocation, old = seen[0]
    assert settings.claims == ("x.*",) and settings.seeds == 20 and not settings.power and old is None
    assert settings.engine.journal == Path(f"{out}.journal")
    main(["calibrate", "--skip-false-alarm", "--skip-power", "--third-party", "torch.optim.SGD", "--out", str(out)])
    assert seen[1][0].third_party_names == ("torch.optim.SGD",) and seen[1][0].third_party
    assert invocation == f"sgd-conformance calibrate --claims 'x.*' --seeds 20 --skip-power --out {out}"
    assert json.loads(out.read_text())["claims"]["x.p"]["flags"] == ["misses_mutant"]
    printed = capsys.readouterr().out
    assert "x.p" in printed and "1/20 [" in printed and "17/20 (sign)" in printed and "misses_mutant" in printed
    with pytest.raises(SystemExit):
        main(["calibrate", "--skip-false-alarm", "--skip-power", "--skip-third-party"])
    with pytest.raises(SystemExit):
        main(["calibrate", "--stale", "--claims", "x.*"])


def test_calibrate_stale_measures_only_the_claims_whose_code_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from sgd_conformance.cli import main

    out = tmp_path / "cal.json"
    out.write_text(json.dumps(_record({})))
    monkeypatch.setattr(calibration, "stale_claims", lambda record: {"x.p": "code changed"})
    monkeypatch.setattr(calibration, "stale_third_party", lambda record: [])
    seen: list[calibration.Settings] = []
    monkeypatch.setattr(calibration, "calibrate", lambda settings, invocation, old: seen.append(settings) or old)
    assert main(["calibrate", "--stale", "--skip-third-party", "--out", str(out)]) == 0
    assert seen[0].claims == ("x.p",) and seen[0].false_alarm and seen[0].power
    assert "stale: x.p (code changed)" in capsys.readouterr().out
    monkeypatch.setattr(calibration, "stale_claims", lambda record: {})
    assert main(["calibrate", "--stale", "--skip-third-party", "--out", str(out)]) == 0 and len(seen) == 1


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
    claims = registry()
    claim = next(c for c in claims.values() if c.report_only)
    entries = claim_entries(claims, {claim.id: {"kind": "exact", "false_alarm": None}})
    assert entries[claim.id]["kind"] == f"exact; {claim.report_only}"
