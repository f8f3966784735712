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
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.container import Container
from matplotlib.figure import Figure as MplFigure

from sgd_conformance.reports.model import Figure, Series

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
        ax.set(xscale=fig.xscale, yscale=fig.yscale, title=fig.title, xlabel=fig.xlabel, ylabel=fig.ylabel)
        xlog, ylog = fig.xscale == "log", fig.yscale == "log"
        handles, labels = [], []
        for series in fig.series:
            handle = _draw(ax, series, xlog=xlog, ylog=ylog)
            if handle is not None and series.label:
                handles.append(handle)
                labels.append(series.label)
        if handles:  # in series order (matplotlib would put error bars after lines)
            ax.legend(handles, labels, frameon=False)
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


def _draw(ax: Axes, series: Series, *, xlog: bool, ylog: bool) -> Artist | Container | None:
    """Draw one series on ``ax`` in its style; return its legend handle (None if nothing was drawable)."""
    if series.style not in STYLES:
        raise ValueError(f"series {series.label!r}: style {series.style!r} is not one of {STYLES}")
    x, y = _floats(series.x), _floats(series.y)
    if series.style == "hist":
        return _draw_hist(ax, x, y, xlog=xlog, ylog=ylog)
    n = min(x.size, y.size)
    x, y = x[:n], y[:n]
    keep = _valid(x, xlog) & _valid(y, ylog)
    if series.style == "points":
        yerr = None
        if series.yerr is not None:
            err = _floats(series.yerr)[:n]
            err = np.pad(err, (0, n - err.size), constant_values=math.nan)
            yerr = np.where(np.isfinite(err) & (err >= 0), err, math.nan)[keep]
        return ax.errorbar(x[keep], y[keep], yerr=yerr, fmt="o", markersize=3.5, elinewidth=0.9, capsize=2)
    if series.style == "step":
        return ax.step(x[keep], y[keep], where="post", linewidth=1.3)[0]
    linestyle = "--" if series.style == "dashed" else "-"
    return ax.plot(x[keep], y[keep], linestyle=linestyle, linewidth=1.3)[0]


def _draw_hist(ax: Axes, edges: np.ndarray, values: np.ndarray, *, xlog: bool, ylog: bool) -> Artist | None:
    """Step histogram of ``values`` (densities) on bins ``edges`` (``len(values) + 1`` entries).

    Bins with an undrawable edge or value are left out; each run of drawable bins is one outline, in one
    colour; the first is the legend handle.
    """
    n = min(values.size, max(edges.size - 1, 0))
    values = values[:n]
    ok_edge = _valid(edges[: n + 1], xlog)
    ok = ok_edge[:-1] & ok_edge[1:] & _valid(values, ylog) if n else np.zeros(0, dtype=bool)
    patches: list[Artist] = []
    for start, stop in _runs(ok):
        colour = {"edgecolor": patches[0].get_edgecolor()} if patches else {}  # first: next in the cycle
        patches.append(ax.stairs(values[start:stop], edges[start:stop + 1], baseline=None if ylog else 0.0,
                                 linewidth=1.3, **colour))
    return patches[0] if patches else None


def _runs(mask: np.ndarray) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of each maximal run of True in ``mask``."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    bounds = np.flatnonzero(np.diff(padded))
    yield from zip(bounds[::2].tolist(), bounds[1::2].tolist(), strict=True)
