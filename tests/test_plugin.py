"""The plugin's public surface: options, usage errors, contract errors with their messages, report files."""

from __future__ import annotations

import fnmatch
import json
import re

import pytest

from tests.power import ROOT, mutant, pytest_args, run_check

GD_STABILITY = "lecture.gd-stability"
#: a NumPy-form SPEC (no torch: an in-process pytester session must not import torch, which cannot be imported twice)
CORRECT_SGD = f"{ROOT / 'tests' / 'mutants' / 'sgd.py'}:gd_correct_variant"


def test_help_lists_the_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--help", "-p", "no:profiling")
    for option in ("impl", "profile", "backend", "seed", "seeds=N", "claims=GLOB", "report-json", "report-html",
                   "timeout"):
        result.stdout.fnmatch_lines([f"*--sgdc-{option}*"])
    for alias, name in (("--impl", "impl"), ("--profile", "profile"), ("--seeds=N", "seeds"),
                        ("--check-timeout", "timeout"), ("--report-html", "report-html")):
        assert re.search(rf"  {alias}\S*\s+alias of --sgdc-{name}\n", result.stdout.str()), alias


@pytest.mark.parametrize(("impl", "message"), [
    ("sgd=no_such_module_xyz:step", "*cannot import 'no_such_module_xyz'*"),
    (f"sgd={ROOT / 'tests' / 'mutants' / 'contract.py'}:missing", "*has no attribute 'missing'*"),
    (f"sgd={ROOT / 'tests' / 'mutants' / 'contract.py'}:not_callable", "*'not_callable' is a int, not callable*"),
    ("sgd=nocolon", "*expected MODULE:ATTR or path/to/file.py:ATTR*"),
    ("adam=mod:fn", "*unknown family 'adam'*"),
    ("sgd", "*expected FAMILY=SPEC*"),
    ("sde=torch:torch.optim:SGD", "*the sde family has no torch form*"),
    ("sgd=missing/file.py:step", "*no such file*"),
    (f"sgd={CORRECT_SGD}(0.9)", "*give keyword arguments only*"),
    (f"sgd={CORRECT_SGD}(lr=__import__('os'))", "*the value of 'lr' is not a literal*"),
    (f"sgd={CORRECT_SGD}(momentum=0.9)", "*unexpected keyword argument 'momentum'*"),
    (f"sgd={CORRECT_SGD}(lr=0.9", "*the arguments must close the SPEC*"),
])
def test_bad_spec_is_a_usage_error_before_any_check(pytester: pytest.Pytester, impl: str, message: str) -> None:
    result = pytester.runpytest_inprocess(*pytest_args(GD_STABILITY), "--impl", impl)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "passed" not in result.stdout.str()


@pytest.mark.parametrize(("bug", "message"), [
    ("raises", "*raises raised ValueError('boom') at step 0*"),
    ("returns_nan", "*returned NaN/inf in 1 of 8 chains at step 0 (first: chain 0)*"),
    ("wrong_shape", "*wrong_shape returned shape (2,) for an input of shape (8, 2)*"),
    ("mutates_input", "*modified its input theta in place*return a new array*"),
    ("float32_result", "*returned dtype float32*expected float64*"),
])
def test_contract_breach_is_an_error_naming_what_the_implementation_did(bug: str,
                                                                         message: str) -> None:
    result = run_check(GD_STABILITY, "--impl", mutant("sgd", bug))
    assert result["outcome"] == "error"
    assert fnmatch.fnmatch(result["message"], message), result["message"]


def test_a_hanging_implementation_is_stopped_at_the_time_budget() -> None:
    result = run_check(GD_STABILITY, "--impl", mutant("sgd", "sleeps"), "--check-timeout", "1")
    assert result["outcome"] == "error"
    assert "did not return within 1 s" in result["message"]


def test_reports_are_written_with_schema_1(pytester: pytest.Pytester) -> None:
    html = pytester.path / "out" / "index.html"
    js = pytester.path / "out" / "results.json"
    result = pytester.runpytest_inprocess(*pytest_args(GD_STABILITY), "--report-json", str(js), "--report-html",
                                          str(html), "--seed", "7")
    assert result.ret == 0
    data = json.loads(js.read_text())
    assert data["schema"] == 1 and data["seed"] == 7 and data["profile"] == "quick"
    (record,) = data["results"]
    for key in ("claim", "family", "implementation", "outcome", "message", "statistic", "p_value", "measured",
                "predicted"):
        assert key in record
    assert record == {**record, "claim": "lecture.gd-stability", "family": "sgd", "implementation": "reference",
                      "outcome": "passed"}
    assert "lecture.gd-stability" in html.read_text()


def test_same_seed_gives_identical_verdicts_and_statistics() -> None:
    node = "sgld.time-scale"
    first, second = run_check(node, "--seed", "3"), run_check(node, "--seed", "3")
    keys = ("outcome", "statistic", "p_value", "measured", "decisions")
    assert {k: first[k] for k in keys} == {k: second[k] for k in keys}
    assert run_check(node, "--seed", "4")["statistic"] != first["statistic"]


def test_results_carry_what_the_profiles_buy() -> None:
    node = "lsq-sde.kernel-component-frozen"
    record = run_check(node)
    assert record["outcome"] == "passed" and "exact at every profile" in record["power"]


def test_parallel_workers_merge_into_one_report(pytester: pytest.Pytester) -> None:
    """Under pytest-xdist the controller collects every worker's results and writes one report with all of them."""
    js = pytester.path / "parallel.json"
    nodes = [GD_STABILITY, "sgld.time-scale"]
    args = [*pytest_args(nodes[0]), "--sgdc-claims", nodes[1], "--pyargs", "sgd_conformance.checks.sgld"]
    result = pytester.runpytest_subprocess(*args, "-n", "2", "-p", "no:cacheprovider", "--report-json", str(js))
    assert result.ret == 0
    data = json.loads(js.read_text())
    assert sorted(r["claim"] for r in data["results"]) == ["lecture.gd-stability", "sgld.time-scale"]
    assert data["counts"]["passed"] == 2 and all(r["decisions"] for r in data["results"])
    parallel = {r["claim"]: r for r in data["results"]}["sgld.time-scale"]
    serial = run_check(nodes[1])
    keys = ("outcome", "statistic", "p_value", "measured")
    assert {k: parallel[k] for k in keys} == {k: serial[k] for k in keys}  # the worker does not change a verdict


def test_the_plugin_loads_light_and_leaves_other_sessions_alone(pytester: pytest.Pytester) -> None:
    """A pytest session of another project, with pytest-profiling beside the plugin: no option clash, no header, no
    numerical library imported by the plugin."""
    pytest.importorskip("pytest_profiling")
    pytester.makepyfile(test_other="""
        import sys
        def test_plugin_imported_nothing_heavy():
            assert not [m for m in ("numpy", "scipy", "sympy", "sgd_conformance.checks.harness.run")
                        if m in sys.modules]
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--profile")
    result.assert_outcomes(passed=1)
    assert "sgd-conformance:" not in result.stdout.str()  # pytest itself lists the plugin; the header is ours


def test_the_suite_runs_beside_pytest_profiling_under_the_prefixed_names(pytester: pytest.Pytester) -> None:
    pytest.importorskip("pytest_profiling")
    result = pytester.runpytest_subprocess(*pytest_args(GD_STABILITY), "--sgdc-profile", "quick", "--sgdc-seed", "2",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["sgd-conformance: reference solvers * profile quick * seed 2"])
