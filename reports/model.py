"""The report model: plain records that are the JSON twin of the HTML report.

No pytest and no HTML here. ``checks`` fills :class:`ClaimResult` records; :mod:`reports.render` draws
them. Schema 1 (the public contract): ``{"schema": 1, "results": [{claim, family, implementation, outcome,
message, statistic, p_value, measured, predicted, ...}], "trust": {...} | null, ...}``, where ``trust`` is the
calibration record (``reports/calibration.json``, written by :mod:`checks.calibration`) when one exists.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = 1
#: ``not-confirmed``: a report-only measurement contradicts the claim while its guards held (not a failure)
OUTCOMES = ("passed", "not-confirmed", "failed", "error", "skipped")
#: what a verdict decides on (:attr:`sgd_conformance.checks.harness.claims.Claim.scope`)
SCOPES = ("implementation", "reference", "report-only")
#: the calibration record: measured false-alarm rate and power of every check (``python -m sgd_conformance calibrate``)
CALIBRATION = Path(__file__).parent / "calibration.json"


@dataclass
class Series:
    """One line or set of points of a figure. ``yerr`` are half-widths of intervals (or None)."""

    label: str
    x: list[float]
    y: list[float]
    yerr: list[float] | None = None
    style: str = "points"  # "points" | "line" | "dashed" | "step" | "hist"


@dataclass
class Figure:
    """A figure as data: the renderer draws it, the JSON keeps it (so a report can be redrawn)."""

    title: str
    xlabel: str
    ylabel: str
    series: list[Series]
    xscale: str = "linear"
    yscale: str = "linear"
    caption: str = ""


@dataclass
class ClaimResult:
    """Result of one check on one implementation."""

    claim: str
    family: str
    implementation: str
    outcome: str
    message: str = ""
    statistic: float | None = None
    p_value: float | None = None
    measured: float | None = None
    predicted: float | None = None
    budget: float | None = None
    scope: str = ""
    decides_on: str = ""
    report_only: str = ""
    statement: str = ""
    hypotheses: str = ""
    source: str = ""
    seed_wording: str = ""
    power: str = ""
    mutants: list[str] = field(default_factory=list)
    catches: list[str] = field(default_factory=list)
    oracle_mutants: list[str] = field(default_factory=list)
    nodeid: str = ""
    seed: int | None = None
    profile: str = ""
    backend: str = ""
    duration_s: float | None = None
    decisions: list[dict[str, Any]] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    #: each stage run: ``{stage, outcome, p_value, level, duration_s, decisions}`` (stage 2 only after a statistical
    #: rejection of stage 1); ``decisions``, ``p_value`` and ``figures`` above are the last stage's
    stages: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> ClaimResult:
        """Inverse of ``dataclasses.asdict`` (how parallel workers hand their results to the controller)."""
        figures = [Figure(**{**f, "series": [Series(**s) for s in f["series"]]}) for f in record.get("figures", [])]
        return cls(**{**record, "figures": figures})


@dataclass
class Report:
    """A whole run: header facts, the results and the calibration record (``trust``, None when uncalibrated)."""

    results: list[ClaimResult]
    seed: int
    profile: str
    backend: str
    implementations: dict[str, str]
    versions: dict[str, str]
    started: str
    duration_s: float
    command: str = ""
    trust: dict[str, Any] | None = None

    def counts(self) -> dict[str, int]:
        return {o: sum(r.outcome == o for r in self.results) for o in OUTCOMES}

    def to_json(self) -> dict[str, Any]:
        return _finite({"schema": SCHEMA, **asdict(self), "counts": self.counts()})


def scope_summary(results: list[ClaimResult]) -> list[str]:
    """Lines saying what the verdicts decided on, and the report-only claims whose measurement contradicts them."""
    decided = [r for r in results if r.scope == "implementation"]
    families = sorted({r.family for r in decided})
    by_family = " · ".join(f"{f} {sum(r.family == f for r in decided)}" for f in families)
    lines = [f"decided on the implementation under test: {len(decided)} ({by_family or 'none'}); "
             f"theory and reference solvers only: {sum(r.scope == 'reference' for r in results)}; "
             f"report-only: {sum(r.scope == 'report-only' for r in results)}"]
    retested = [r for r in results if len(r.stages) > 1]
    if retested:
        passed = [r.claim for r in retested if r.outcome in ("passed", "not-confirmed")]
        lines.append(f"re-tested on independent streams after a statistical rejection in stage 1: {len(retested)} "
                     f"({len(passed)} passed on re-test" + (f": {', '.join(passed)}" if passed else "") + ")")
    for r in results:
        if r.outcome == "not-confirmed":
            measured = r.message.splitlines()[1:2] or [""]
            lines.append(f"not confirmed (report-only, not a failure): {r.claim}: {measured[0].strip()}")
    return lines


def _finite(obj: Any) -> Any:
    """Replace non-finite floats by strings so the JSON is valid ("inf", "-inf", "nan")."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def write_json(report: Report, path: str | Path) -> None:
    """Write the JSON twin of ``report`` to ``path`` (parents created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_json(), indent=2, default=_json_default) + "\n")


def read_json(path: str | Path) -> Report:
    """The report whose JSON twin :func:`write_json` wrote to ``path`` (non-finite numbers restored)."""
    data = _restore(json.loads(Path(path).read_text()))
    if data.get("schema") != SCHEMA:
        raise ValueError(f"{path}: schema {data.get('schema')!r}, expected {SCHEMA}")
    fields = {k: v for k, v in data.items() if k not in ("schema", "counts")}
    return Report(**{**fields, "results": [ClaimResult.from_dict(r) for r in data["results"]]})


_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def _restore(obj: Any) -> Any:
    """Inverse of :func:`_finite`."""
    if isinstance(obj, str) and obj in _NON_FINITE:
        return _NON_FINITE[obj]
    if isinstance(obj, dict):
        return {k: _restore(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_restore(v) for v in obj]
    return obj


def read_calibration(path: str | Path = CALIBRATION) -> dict[str, Any] | None:
    """The calibration record at ``path``, or None when there is none."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None


def results_to_text(results: list[ClaimResult]) -> str:
    """Results as JSON text (non-finite floats kept), for handing them between processes."""
    return json.dumps([asdict(r) for r in results], default=_json_default)


def results_from_text(text: str) -> list[ClaimResult]:
    """Inverse of :func:`results_to_text`."""
    return [ClaimResult.from_dict(record) for record in json.loads(text)]


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"cannot serialise {type(obj).__name__}")
