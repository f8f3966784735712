"""Messages for failed claims, in the suite's one grammar::

    FAILED <claim> — <implementation> [<family> · <backend> · seed <seed> · stage <stage>]
      <what> = <measured> (CI lo–hi), theory <predicted>; observed/theory = <ratio>
      test: <test>; level <level> of the stage level <a> (false-alarm budget a^2 over both stages)
      reproduce: pytest --pyargs sgd_conformance.checks --sgdc-claims <claim> --sgdc-impl <family>=<spec>
                 --sgdc-seed <seed> --sgdc-profile <profile>
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import numpy as np

from sgd_conformance.checks.harness.stats import Decision

if TYPE_CHECKING:
    from sgd_conformance.checks.harness.claims import ClaimRun


def fmt(value: float | None) -> str:
    """A number to 4 significant digits."""
    return "—" if value is None else f"{value:.4g}"


def listed(values: Sequence[float]) -> str:
    """The values as text, "a, b, c"."""
    return ", ".join(f"{v:g}" for v in values)


def distinct(measured: float, predicted: float) -> tuple[str, str]:
    """Both numbers to 4 significant digits, or to as many more as it takes to tell them apart (up to 17), so a
    failure never prints two equal numbers."""
    for digits in range(4, 18):
        shown = f"{measured:.{digits}g}", f"{predicted:.{digits}g}"
        if shown[0] != shown[1] or measured == predicted:
            break
    return shown


#: unit roundoff of float32 and float64
EPS32, EPS64 = float(np.finfo(np.float32).eps) / 2, float(np.finfo(np.float64).eps) / 2


def describe(decision: Decision) -> str:
    """One line: what was measured, its interval, what theory predicts, and their ratio (or, where the ratio would
    print as 1, their relative difference)."""
    if decision.measured is None and decision.predicted is None:
        return decision.what
    measured, predicted = decision.measured, decision.predicted
    shown_m, shown_p = distinct(measured, predicted) if measured is not None and predicted is not None \
        else (fmt(measured), fmt(predicted))
    line = f"{decision.what} = {shown_m}"
    if decision.interval is not None:
        confidence = f"{100 * (1 - decision.level):.6g}% CI " if decision.level > 0 else "CI "
        line += f" ({confidence}{fmt(decision.interval[0])} to {fmt(decision.interval[1])})"
    if predicted is not None:
        line += f", theory {shown_p}"
        if measured is not None and predicted != 0.0:
            ratio = measured / predicted
            line += (f"; observed/theory = {ratio:.4g}" if f"{ratio:.4g}" != "1" or ratio == 1
                     else f"; relative difference {abs(measured - predicted) / abs(predicted):.3g}")
    if decision.p_value is not None:
        line += f"; p = {decision.p_value:.3g}"
    return line


def rounding_note(decision: Decision) -> str | None:
    """For a failed exact comparison whose relative residual sits at float32 rounding (between 0.1 and 1000 float32
    unit roundoffs, far above float64's): say that the implementation computes in float32."""
    measured, predicted = decision.measured, decision.predicted
    if decision.level > 0 or decision.passed or measured is None or predicted is None or predicted == 0.0:
        return None
    residual = abs(measured - predicted) / abs(predicted)
    if 0.1 * EPS32 <= residual <= 1e3 * EPS32:
        return (f"relative residual {residual:.2g} is at float32 rounding (unit roundoff {EPS32:.2g}; float64's is "
                f"{EPS64:.2g}): your implementation computes in float32, and the contract requires float64 arithmetic")
    return None


SHOWN = 3  #: rejected decisions spelled out in a failure message; the report lists all of them


def likely_cause(decision: Decision) -> str | None:
    """The known bug whose signature ratio (measured/predicted) lies in the decision's interval, if any."""
    signatures = cast("dict[float, str]", decision.details.get("signatures") or {})
    if decision.interval is None or decision.predicted is None:
        return None
    lo, hi = decision.interval
    for ratio, cause in signatures.items():
        if lo <= ratio * decision.predicted <= hi:
            return f"{cause} (known mutant)"
    return None


def failure_message(run: ClaimRun, rejected: list[Decision]) -> str:
    """The whole failure report of a check, one block per rejected decision (the first few)."""
    family = run.claim.family_label
    lines = [f"FAILED {run.claim.id} — {run.implementation} [{family} · {run.backend} · seed {run.seed} · stage "
             f"{run.stage}]"]
    for d in rejected[:SHOWN]:
        lines.append(f"  {describe(d)}")
        cause = likely_cause(d)
        if cause:
            lines.append(f"  likely cause: {cause}")
        note = rounding_note(d)
        if note:
            lines.append(f"  note: {note}")
        level = (f"level {d.level:.3g} of the stage level {run.level:.3g}" if d.level
                 else "exact check (no correct implementation fails it: no re-test)")
        lines.append(f"  test: {d.test}; {level}")
    if len(rejected) > SHOWN:
        lines.append(f"  ... and {len(rejected) - SHOWN} more rejected decisions (all are in the report)")
    lines.append(f"  reproduce: {reproduce_command(run)}")
    return "\n".join(lines)


def not_confirmed_message(run: ClaimRun) -> str:
    """Why a report-only claim reads "not confirmed": its measurements that contradict it (its guards held)."""
    reason = run.claim.report_only or run.claim.reported_part
    lines = [f"NOT CONFIRMED {run.claim.id} — {run.implementation} [{run.claim.family_label} · {run.backend} · seed "
             f"{run.seed}]: the measurement contradicts the claim (report-only, not a failure: {reason})"]
    lines += [f"  {describe(d)}\n  test: {d.test}" for d in run.contradicted()]
    return "\n".join(lines)


def reproduce_command(run: ClaimRun) -> str:
    """The command that runs this check again, from any directory (the canonical option names, which no other
    plugin can take)."""
    impl = "".join(f" --sgdc-impl {shlex.quote(f'{family}={spec}')}" for family, spec in run.user_specs().items())
    return (f"pytest --pyargs sgd_conformance.checks --sgdc-claims {run.claim.id}{impl} --sgdc-seed {run.seed} "
            f"--sgdc-profile {run.profile} --sgdc-backend {run.backend}")
