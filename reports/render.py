"""Render a :class:`~reports.model.Report` as one self-contained HTML page.

The page has inline CSS and inline SVG figures only: no scripts, fonts, images or links to other
resources, so it can be archived or mailed as a single file. The template is
``reports/templates/report.html`` (jinja2, autoescaped). When the report carries the calibration record
(``report.trust``) the page has a Trust section: the suite-level false-alarm rates, each check's measured false-alarm
rate per stage and as the two-stage procedure, and its power.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from sgd_conformance.reports.model import OUTCOMES, ClaimResult, Figure, Report
from sgd_conformance.reports.plots import figure_svg

_TEMPLATES = Path(__file__).parent / "templates"
#: the schema of the calibration record the Trust section reads (an older record is not shown)
TRUST_SCHEMA = 2
_MAX_ITEMS = 12


@dataclass
class FigureView:
    """A drawn figure: its SVG, or why it could not be drawn."""

    title: str
    caption: str
    svg: Markup | None
    error: str = ""


@dataclass
class ResultView:
    """One result with what the template needs beside it: its anchor and its drawn figures."""

    result: ClaimResult
    anchor: str
    figures: list[FigureView]


@dataclass
class TrustRow:
    """One claim of the calibration record as the page shows it."""

    claim: str
    anchor: str | None
    budget: float | None
    stage_level: float | None
    kind: str
    stages: list[str]
    failed: str
    ks_p: float | None
    mutants: list[dict[str, Any]]
    no_mutant: str
    flags: list[str]
    line: str


@dataclass
class SuiteRow:
    """A suite-level false-alarm rate: on the reference or on a correct third-party implementation."""

    name: str
    claims: int | None
    rate: str
    binomial_p: float | None
    verdict: str


@dataclass
class TrustView:
    """The calibration record: when and on which code it was measured, its seeds, the suite-level rates, one row per
    claim, and the commands that regenerate it."""

    created: str
    git_commit: str | None
    seeds: list[str]
    suite: list[SuiteRow]
    power: dict[str, Any]
    commands: list[str]
    rows: list[TrustRow]

    def of(self, claim: str) -> TrustRow | None:
        return next((row for row in self.rows if row.claim == claim), None)


def render_html(report: Report) -> str:
    """The HTML page of ``report``."""
    template = _environment().get_template("report.html")
    views = _views(report)
    anchors = {v.result.claim: v.anchor for v in reversed(views)}
    trust = _trust(report.trust, anchors) if report.trust and report.trust.get("schema") == TRUST_SCHEMA else None
    return template.render(report=report, counts=report.counts(), outcomes=OUTCOMES, results=views, trust=trust)


def write_html(report: Report, path: str | Path) -> None:
    """Write the HTML page of ``report`` to ``path`` (parents created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["num"] = fmt
    return env


def _views(report: Report) -> list[ResultView]:
    """Results with unique anchors and drawn figures, in report order."""
    seen: dict[str, int] = {}
    views = []
    for result in report.results:
        anchor = f"{slugify(result.claim)}--{slugify(result.implementation)}"
        seen[anchor] = seen.get(anchor, 0) + 1
        if seen[anchor] > 1:
            anchor = f"{anchor}-{seen[anchor]}"
        views.append(ResultView(result, anchor, [_draw(fig) for fig in result.figures]))
    return views


def _trust(record: dict[str, Any], anchors: dict[str, str]) -> TrustView:
    """The view of a calibration record (schema 2, :mod:`checks.harness.calibration`); ``anchors`` link claims to
    their sections."""
    rows = [_trust_row(claim, entry, anchors.get(claim)) for claim, entry in record["claims"].items()]
    seeds = dict.fromkeys(text for _, entry in record["claims"].items() for text in _seed_texts(entry))
    return TrustView(created=record.get("created", ""), git_commit=record.get("git_commit"), seeds=list(seeds),
                     suite=suite_rows(record.get("suite") or {}), power=record.get("power_counts") or {},
                     commands=record.get("commands", []), rows=rows)


def suite_rows(suite: dict[str, Any]) -> list[SuiteRow]:
    """The suite-level rates of a calibration record: the reference's, then each third-party implementation's."""
    named = [("reference", suite.get("reference")), *(suite.get("third_party") or {}).items()]
    return [_suite_row(name, part) for name, part in named]


def _suite_row(name: str, part: dict[str, Any] | None) -> SuiteRow:
    if not part or not part.get("n"):
        reason = (part or {}).get("not_measured") or "not measured"
        return SuiteRow(name, None, "", None, reason)
    verdict = "exceeds 1%" if part["exceeds_target"] else "consistent with <= 1%"
    return SuiteRow(name, part.get("claims"), rate_text(part), part["binomial_p"], verdict)


def _trust_row(claim: str, entry: dict[str, Any], anchor: str | None) -> TrustRow:
    part, power = entry.get("false_alarm") or {}, entry.get("power")
    no_mutant = ""
    if power == []:
        no_mutant = entry.get("no_mutant_reason") or "no registered mutant"
    stages = [rate_text((part.get("stages") or {}).get(str(stage))) for stage in (1, 2)]
    ks = [s["ks_p"] for s in (part.get("stages") or {}).values() if s.get("ks_p") is not None]
    mutants = power or []
    caught = ", ".join(f"{m['bug']} {m['caught']}/{m['seeds']}" for m in mutants) or no_mutant or "not measured"
    flags = list(entry.get("flags", []))
    level = entry.get("stage_level")
    line = (f"false alarms at the stage level {fmt(level)}: stage 1 {stages[0]}, stage 2 {stages[1]}; the claim "
            f"failed at {rate_text(part.get('claim'))} seeds (budget {fmt(entry.get('budget'))}); mutants caught: "
            f"{caught}" + (f"; flags: {', '.join(flags)}" if flags else "") + ".")
    return TrustRow(claim=claim, anchor=anchor, budget=entry.get("budget"), stage_level=level,
                    kind=entry.get("kind") or "", stages=stages, failed=rate_text(part.get("claim")),
                    ks_p=min(ks) if ks else None, mutants=mutants, no_mutant=no_mutant, flags=flags, line=line)


def _seed_texts(entry: dict[str, Any]) -> list[str]:
    """How the parts of a claim entry were seeded, e.g. ``false alarms: seeds 1–200 (profile quick)``."""
    texts = []
    part, run = entry.get("false_alarm"), entry.get("power_run")
    if part and part.get("seeds"):
        texts.append(f"false alarms: {_seed_range(part['seeds'])} (profile {part.get('profile', '')})")
    if run and run.get("seeds"):
        texts.append(f"mutants: {_seed_range(run['seeds'])}")
    return texts


def _seed_range(seeds: dict[str, int]) -> str:
    return f"seeds {seeds['first']}–{seeds['first'] + seeds['count'] - 1}"


def rate_text(part: dict[str, Any] | None) -> str:
    """A measured rate as ``k/n [low, high]`` (95% Clopper–Pearson), or ``not measured``."""
    if not part or not part.get("n"):
        return "not measured"
    low, high = part["ci95"]
    return f"{part['k']}/{part['n']} [{low:.3f}, {high:.3f}]"


def _draw(fig: Figure) -> FigureView:
    """Draw ``fig``; a figure that cannot be drawn is reported on the page rather than losing the page."""
    try:
        return FigureView(fig.title, fig.caption, Markup(figure_svg(fig)))
    except (ValueError, TypeError) as exc:
        return FigureView(fig.title, fig.caption, None, f"{type(exc).__name__}: {exc}")


def slugify(text: str) -> str:
    """Lower-case ASCII letters and digits joined by single hyphens (an HTML id / URL fragment)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def fmt(value: Any) -> str:
    """A value as shown in the report: floats with 4 significant digits, strings as given, None blank."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int):  # bool included: True / False
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return "; ".join(f"{k} = {fmt(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        items = [fmt(v) for v in value[:_MAX_ITEMS]]
        more = [f"… {len(value) - _MAX_ITEMS} more"] if len(value) > _MAX_ITEMS else []
        return "[" + ", ".join(items + more) + "]"
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return fmt(value.tolist())
    return str(value)
