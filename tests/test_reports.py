"""The HTML report: one self-contained page with every result, its evidence and its figures."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from sgd_conformance.reports.model import ClaimResult, Figure, Report, Series, read_calibration
from sgd_conformance.reports.plots import figure_svg
from sgd_conformance.reports.render import fmt, rate_text, render_html, slugify, write_html

SEED_WORDING = "The lecture calls the PDE 'Feynman–Kac'; it is the Fokker–Planck equation."
MESSAGE = "FAILED sgld.gibbs — reference\n  measured 0.31 < predicted 0.5 & more"


def _loglog() -> Figure:
    lrs = [0.02, 0.01, 0.005, 0.0025]
    return Figure("error against step size", "step size lr", "weak error", xscale="log", yscale="log",
                  series=[Series("SGLD (95% CI)", lrs, [4e-2, 2.1e-2, 9.8e-3, 5.2e-3],
                                 yerr=[4e-3, 2e-3, 1.5e-3, 1e-3]),
                          Series("slope 1", lrs, [2 * lr for lr in lrs], style="dashed")],
                  caption="Weak error is O(lr).")


def _hist() -> Figure:
    edges = [-3.0 + 0.5 * i for i in range(13)]
    dens = [math.exp(-((a + 0.25) ** 2) / 2) / math.sqrt(2 * math.pi) for a in edges[:-1]]
    grid = [-3.0 + 0.1 * i for i in range(61)]
    pdf = [math.exp(-z * z / 2) / math.sqrt(2 * math.pi) for z in grid]
    return Figure("whitened SGLD samples", "z", "density",
                  series=[Series("SGLD", edges, dens, style="hist"),
                          Series("N(0, 1)", grid, pdf, style="line")],
                  caption="Histogram against the standard normal density.")


def synthetic_report() -> Report:
    """Three results: passed with a log-log figure, failed with a histogram, error without figures."""
    common = {"seed": 7, "profile": "quick", "backend": "numpy", "budget": 1e-3}
    passed = ClaimResult(
        claim="sgld.time-scale", family="sgld", implementation="reference", outcome="passed",
        statistic=1.234567, p_value=0.4321, measured=1.01, predicted=1.0, duration_s=0.8123,
        statement="One SGLD step covers time lr.", hypotheses="L = x^2 / 2.", source="Ruthotto, Lecture 4",
        power="quick: a noise-scale bug sits 25 SE away",
        nodeid="checks/sgld.py::test_time_scale[reference]", figures=[_loglog()],
        decisions=[{"what": "slope", "test": "z-test", "level": 1e-3, "passed": True, "statistic": 1.234567,
                    "p_value": 0.4321, "measured": 1.01, "predicted": 1.0, "interval": [0.95, 1.07],
                    "details": {"n": 4000}}], **common)
    failed = ClaimResult(
        claim="lecture.gibbs-stationary", family="sgld", implementation="my_pkg.sgld:step", outcome="failed",
        message=MESSAGE, statistic=5.5, p_value=3.456789e-8, measured=0.31, predicted=0.5, duration_s=2.5,
        statement="exp(-L/T) is stationary.", hypotheses="double well", source="lecture 3",
        seed_wording=SEED_WORDING, nodeid="checks/sgld.py::test_gibbs[my_pkg.sgld:step]",
        figures=[_hist()],
        decisions=[{"what": "mean of L", "test": "t-test", "level": 5e-4, "passed": False, "statistic": 5.5,
                    "p_value": 3.456789e-8, "measured": 0.31, "predicted": 0.5, "interval": None,
                    "details": {}}], **common)
    error = ClaimResult(
        claim="sgd.contract", family="sgd", implementation="my_pkg.sgd:step", outcome="error",
        message="ERROR sgd.contract — the step returned shape (3,), expected (2,)", duration_s=0.01,
        nodeid="checks/sgd.py::test_contract[my_pkg.sgd:step]", **common)
    return Report(results=[passed, failed, error], seed=7, profile="quick", backend="numpy",
                  implementations={"sgd": "my_pkg.sgd:step", "sgld": "my_pkg.sgld:step", "sde": "reference"},
                  versions={"python": "3.11.9", "numpy": "2.1.0"}, started="2025-01-01T00:00:00+00:00",
                  duration_s=3.3, command="pytest checks --seed 7")


@pytest.fixture(scope="module")
def html() -> str:
    return render_html(synthetic_report())


def test_one_document_with_every_result(html: str) -> None:
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert html.count("<html") == 1 and html.rstrip().endswith("</html>")
    for result in synthetic_report().results:
        assert result.claim in html
        assert f'href="#{slugify(result.claim)}--{slugify(result.implementation)}"' in html
    for word in ("passed", "failed", "error", "skipped"):
        assert f'class="badge {word}"' in html
    assert "sgd-conformance verification report" in html


def test_figures_and_seed_wording(html: str) -> None:
    assert html.count("<svg") == 2
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html
    assert "The source's wording" in html
    assert "The lecture calls the PDE &#39;Feynman–Kac&#39;; it is the Fokker–Planck equation." in html


def test_power_by_profile_is_shown(html: str) -> None:
    assert "Power by profile" in html and "quick: a noise-scale bug sits 25 SE away (this run: quick)" in html


def test_text_is_escaped(html: str) -> None:
    assert "measured 0.31 &lt; predicted 0.5 &amp; more" in html
    assert "0.31 < predicted" not in html


def test_numbers_have_four_significant_digits(html: str) -> None:
    assert "1.235" in html and "3.457e-08" in html and "1.234567" not in html
    assert fmt(None) == "" and fmt("inf") == "inf" and fmt(math.nan) == "nan"
    assert fmt([0.95, 1.07]) == "[0.95, 1.07]"
    assert fmt({"n": 4000, "rate": 0.123456}) == "n = 4000; rate = 0.1235"


def test_self_contained(html: str) -> None:
    without_namespaces = re.sub(r'\sxmlns(:\w+)?="[^"]*"', "", html)
    for needle in ("http://", "https://", "src=", "<script", "<link", "@import"):
        assert needle not in without_namespaces


def test_write_html_creates_parents(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "report.html"
    write_html(synthetic_report(), path)
    assert path.read_text(encoding="utf-8") == render_html(synthetic_report())


def test_log_axes_tolerate_zeros_and_nans() -> None:
    bad = [0.0, -1.0, math.nan, math.inf, 1.0, 10.0]
    fig = Figure("bad data", "x", "y", xscale="log", yscale="log",
                 series=[Series("points", bad, bad[::-1], yerr=[1.0, math.nan, -1.0, 0.5, 2.0, 0.1]),
                         Series("line", bad, bad, style="line"),
                         Series("step", bad, bad, style="step"),
                         Series("hist", bad + [100.0], [1.0, 0.0, 2.0, math.nan, 3.0, 0.5], style="hist"),
                         Series("empty", [0.0], [math.nan], style="dashed")])
    assert figure_svg(fig).startswith("<svg")


def test_figure_svg_is_deterministic() -> None:
    assert figure_svg(_loglog()) == figure_svg(_loglog())
    assert figure_svg(_hist()) == figure_svg(_hist())


def test_undrawable_figure_does_not_lose_the_page() -> None:
    report = synthetic_report()
    report.results[0].figures = [Figure("odd", "x", "y", series=[Series("s", [1.0], [1.0], style="bars")])]
    html = render_html(report)
    assert "could not be drawn" in html and "bars" in html


def trust_record() -> dict[str, object]:
    """A calibration record (schema 2): a p-value claim with two mutants (one missed), an exact claim without a
    mutant, and a third-party implementation that was not measured."""
    from sgd_conformance.checks.harness.calibration import merge
    from sgd_conformance.checks.harness.calibration_figures import false_alarm_figures

    def runs(rejected: int, p: float | None = 0.5) -> list[dict[str, object]]:
        return [{"seed": s, "outcome": "failed" if s < rejected else "passed", "p_value": 0.001 if s < rejected else p,
                 "decisions": [{"level": 0.01, "passed": s >= rejected, "enforced": True}]} for s in range(200)]

    seeds = {"seeds": {"first": 1, "count": 200}, "profile": "quick", "fingerprint": "f"}
    statistical = {**false_alarm_figures({1: runs(3), 2: runs(2)}, 0.01, 1e-4, 1e-5), **seeds}
    exact = {**false_alarm_figures({1: runs(0, None)}, 0.01, 1e-4, 1e-5), **seeds}
    power_run = {"seeds": {"first": 1, "count": 20}, "fingerprint": "f"}
    record = {"schema": 2, "created": "2025-01-02T00:00:00+00:00", "git_commit": "abc123", "versions": {},
              "commands": ["sgd-conformance calibrate --claims 'sgld.*'"],
              "suite": {"third_party": {"torch.optim.SGD": {"not_measured": "PyTorch is not installed"}}},
              "claims": {
                  "sgld.time-scale": {
                      "budget": 1e-4, "stage_level": 0.01, "kind": "p-value", "false_alarm": statistical,
                      "power_run": power_run,
                      "power": [{"bug": "sgld_half_speed", "kind": "implementation", "seeds": 20, "caught": 20,
                                 "misses_mutant": False},
                                {"bug": "sgld_noise_sqrt_lr_t", "kind": "implementation", "seeds": 20, "caught": 17,
                                 "misses_mutant": True}]},
                  "sgd.contract": {"budget": 1e-4, "stage_level": 0.01, "kind": "exact", "power": [],
                                   "power_run": power_run, "no_mutant_reason": "checked by <hand>",
                                   "false_alarm": exact}}}
    return merge(None, record)


def test_trust_section_shows_the_calibration() -> None:
    report = synthetic_report()
    report.trust = trust_record()
    html = render_html(report)
    assert 'id="trust"' in html and 'href="#trust"' in html
    assert "sgd-conformance calibrate --claims &#39;sgld.*&#39;" in html
    assert "false alarms: seeds 1–200 (profile quick)" in html and "mutants: seeds 1–20" in html
    assert "3/200 [0.003, 0.043]" in html and "2/200 [0.001, 0.036]" in html and "0/200 [0.000, 0.018]" in html
    assert "sgld_noise_sqrt_lr_t 17/20" in html and '<span class="badge flag">misses_mutant</span>' in html
    assert "checked by &lt;hand&gt;" in html and "PyTorch is not installed" in html
    assert "consistent with &lt;= 1%" in html  # the reference's suite-level row
    assert '<a href="#sgld-time-scale--reference">sgld.time-scale</a>' in html  # a claim of this report links
    assert ("false alarms at the stage level 0.01: stage 1 3/200 [0.003, 0.043], stage 2 2/200 [0.001, 0.036]; the "
            "claim failed at 2/200 [0.001, 0.036] seeds") in html  # the line in the claim's own section
    without_namespaces = re.sub(r'\sxmlns(:\w+)?="[^"]*"', "", html)
    assert "<script" not in without_namespaces and "http" not in without_namespaces
    assert 'id="trust"' not in render_html(synthetic_report())


def test_a_retested_claim_shows_both_stages_evidence() -> None:
    report = synthetic_report()
    passed = report.results[0]
    first = {**passed.decisions[0], "what": "slope in stage 1", "passed": False, "p_value": 1e-4}
    passed.stages = [{"stage": 1, "outcome": "failed", "p_value": 1e-4, "level": 0.01, "decisions": [first]},
                     {"stage": 2, "outcome": "passed", "p_value": 0.4321, "level": 0.01,
                      "decisions": passed.decisions}]
    html = render_html(report)
    assert "<h3>Stage 1</h3>" in html and "<h3>Stage 2 (the re-test)</h3>" in html
    assert "slope in stage 1" in html and "each of the two stages at level 0.01" in html


def test_trust_is_part_of_the_json_twin_and_read_from_the_record_file(tmp_path: Path) -> None:
    report = synthetic_report()
    report.trust = trust_record()
    assert report.to_json()["trust"] == trust_record() and synthetic_report().to_json()["trust"] is None
    path = tmp_path / "calibration.json"
    assert read_calibration(path) is None
    path.write_text(json.dumps(trust_record()))
    assert read_calibration(path) == trust_record()
    assert rate_text(None) == "not measured"


def test_the_command_line_renders_a_report_from_its_json_twin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) \
        -> None:
    """``sgd-conformance report results.json`` redraws the page from the JSON alone (non-finite numbers included)."""
    from sgd_conformance.cli import main
    from sgd_conformance.reports.model import read_json, write_json

    report = synthetic_report()
    report.results[0].statistic = float("inf")
    write_json(report, tmp_path / "results.json")
    assert read_json(tmp_path / "results.json").results[0].statistic == float("inf")
    assert main(["report", str(tmp_path / "results.json")]) == 0
    page = (tmp_path / "index.html").read_text()
    assert all(r.claim in page for r in report.results) and "index.html" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "missing.json")]) == 2
