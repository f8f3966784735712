"""Render a :class:`~reports.model.Report` as one self-contained HTML page.

The page has inline CSS and inline SVG figures only: no scripts, fonts, images or links to other
resources, so it can be archived or mailed as a single file. The template is
``reports/templates/report.html`` (jinja2, autoescaped).
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

from reports.model import OUTCOMES, ClaimResult, Figure, Report
from reports.plots import figure_svg

_TEMPLATES = Path(__file__).parent / "templates"
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


def render_html(report: Report) -> str:
    """The HTML page of ``report``."""
    template = _environment().get_template("report.html")
    return template.render(report=report, counts=report.counts(), outcomes=OUTCOMES, results=_views(report))


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
