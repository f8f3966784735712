"""Draw a :class:`~reports.model.Figure` as an inline SVG string.

Uses :class:`matplotlib.figure.Figure` directly (no pyplot, so no global figure registry and no GUI backend
is touched); the rc settings are applied in a :func:`matplotlib.rc_context` and restored afterwards. The SVG
is deterministic for a given figure (fixed hash salt, no date metadata), keeps text as text, and has no XML
prolog or doctype so that it can be pasted into an HTML document.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator, Sequence

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure as MplFigure

from reports.model import Figure, Series

STYLES = ("points", "line", "dashed", "step", "hist")
SCALES = ("linear", "log")
SIZE_IN = (5.5, 3.6)
_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "sgd-conformance",
    "font.size": 9,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "axes.titlesize": 9.5,
    "legend.fontsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
}
_NO_METADATA = {"Creator": None, "Date": None, "Format": None, "Type": None}


def figure_svg(fig: Figure) -> str:
    """Return ``fig`` drawn as an ``<svg ...>...</svg>`` string (deterministic for equal input).

    Points that cannot be drawn (non-finite, or non-positive on a log axis) are dropped. Raises
    :class:`ValueError` for an unknown style or scale.
    """
    for scale in (fig.xscale, fig.yscale):
        if scale not in SCALES:
            raise ValueError(f"figure {fig.title!r}: scale {scale!r} is not one of {SCALES}")
    with matplotlib.rc_context(_RC):
        mpl_fig = MplFigure(figsize=SIZE_IN, layout="constrained")
        ax = mpl_fig.add_subplot()
        ax.set_xscale(fig.xscale)
        ax.set_yscale(fig.yscale)
        for series in fig.series:
            _draw(ax, series, xlog=fig.xscale == "log", ylog=fig.yscale == "log")
        ax.set_title(fig.title)
        ax.set_xlabel(fig.xlabel)
        ax.set_ylabel(fig.ylabel)
        if any(series.label for series in fig.series):
            ax.legend(frameon=False)
        buf = io.StringIO()
        mpl_fig.savefig(buf, format="svg", metadata=_NO_METADATA)
    return _inline(buf.getvalue())


def _inline(svg: str) -> str:
    """Drop the prolog/doctype and the (unreferenced, document-wide clashing) ids of ``<g>`` groups."""
    svg = svg[svg.index("<svg"):]
    return re.sub(r'<g id="[^"]*"', "<g", svg).strip()


def _valid(values: np.ndarray, log: bool) -> np.ndarray:
    """Mask of the values that can be placed on a linear (finite) or log (finite and > 0) axis."""
    ok = np.isfinite(values)
    return ok & (values > 0) if log else ok


def _floats(values: Sequence[float] | None) -> np.ndarray:
    """``values`` as a float array; ``None`` entries and strings such as "nan"/"inf" are understood."""
    return np.array([math.nan if v is None else float(v) for v in values or []], dtype=float)


def _draw(ax: Axes, series: Series, *, xlog: bool, ylog: bool) -> None:
    """Draw one series on ``ax`` in its style."""
    if series.style not in STYLES:
        raise ValueError(f"series {series.label!r}: style {series.style!r} is not one of {STYLES}")
    x, y = _floats(series.x), _floats(series.y)
    label = series.label or None
    if series.style == "hist":
        _draw_hist(ax, x, y, label, xlog=xlog, ylog=ylog)
        return
    n = min(x.size, y.size)
    x, y = x[:n], y[:n]
    keep = _valid(x, xlog) & _valid(y, ylog)
    if series.style == "points":
        yerr = None
        if series.yerr is not None:
            err = _floats(series.yerr)[:n]
            err = np.pad(err, (0, n - err.size), constant_values=math.nan)
            yerr = np.where(np.isfinite(err) & (err >= 0), err, math.nan)[keep]
        ax.errorbar(x[keep], y[keep], yerr=yerr, fmt="o", markersize=3.5, elinewidth=0.9, capsize=2,
                    label=label)
    elif series.style == "step":
        ax.step(x[keep], y[keep], where="post", linewidth=1.3, label=label)
    else:
        linestyle = "--" if series.style == "dashed" else "-"
        ax.plot(x[keep], y[keep], linestyle=linestyle, linewidth=1.3, label=label)


def _draw_hist(ax: Axes, edges: np.ndarray, values: np.ndarray, label: str | None, *,
               xlog: bool, ylog: bool) -> None:
    """Step histogram of ``values`` (densities) on bins ``edges`` (``len(values) + 1`` entries).

    Bins with an undrawable edge or value are left out; each run of drawable bins is one outline, in one
    colour and under one legend entry.
    """
    n = min(values.size, max(edges.size - 1, 0))
    values = values[:n]
    ok_edge = _valid(edges[: n + 1], xlog)
    ok = ok_edge[:-1] & ok_edge[1:] & _valid(values, ylog) if n else np.zeros(0, dtype=bool)
    color = None
    for start, stop in _runs(ok):
        patch = ax.stairs(values[start:stop], edges[start:stop + 1], baseline=None if ylog else 0.0,
                          color=color, linewidth=1.3, label=label if color is None else None)
        color = patch.get_edgecolor()


def _runs(mask: np.ndarray) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of each maximal run of True in ``mask``."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    bounds = np.flatnonzero(np.diff(padded))
    yield from zip(bounds[::2].tolist(), bounds[1::2].tolist(), strict=True)
