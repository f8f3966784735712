"""Messages for failed claims, in the suite's one grammar::

    FAILED <claim> — <implementation> [<family> · <backend> · seed <seed>]
      <what> = <measured> (CI lo–hi), theory <predicted>; observed/theory = <ratio>
      test: <test>; level <level> of the false-alarm budget <budget>
      reproduce: pytest --pyargs sgd_conformance.checks --sgdc-claims <claim> --sgdc-impl <family>=<spec>
                 --sgdc-seed <seed> --sgdc-profile <profile>
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from sgd_conformance.checks.harness.stats import Decision

if TYPE_CHECKING:
    from sgd_conformance.checks.harness.claims import ClaimRun


def fmt(value: float | None) -> str:
    """A number to 4 significant digits."""
    return "—" if value is None else f"{value:.4g}"


def listed(values: Sequence[float]) -> str:
    """The values as text, "a, b, c"."""
    return ", ".join(f"{v:g}" for v in values)


def describe(decision: Decision) -> str:
    """One line: what was measured, its interval, what theory predicts, and their ratio."""
    if decision.measured is None and decision.predicted is None:
        return decision.what
    line = f"{decision.what} = {fmt(decision.measured)}"
    if decision.interval is not None:
        confidence = f"{100 * (1 - decision.level):.6g}% CI " if decision.level > 0 else "CI "
        line += f" ({confidence}{fmt(decision.interval[0])} to {fmt(decision.interval[1])})"
    if decision.predicted is not None:
        line += f", theory {fmt(decision.predicted)}"
        if decision.measured is not None and decision.predicted not in (0.0, None):
            line += f"; observed/theory = {decision.measured / decision.predicted:.4g}"
    if decision.p_value is not None:
        line += f"; p = {decision.p_value:.3g}"
    return line


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
    family = run.claim.family
    lines = [f"FAILED {run.claim.id} — {run.implementation} [{family} · {run.backend} · seed {run.seed}]"]
    for d in rejected[:SHOWN]:
        lines.append(f"  {describe(d)}")
        cause = likely_cause(d)
        if cause:
            lines.append(f"  likely cause: {cause}")
        level = f"level {d.level:.3g} of the false-alarm budget {run.budget:.3g}" if d.level else "exact check"
        lines.append(f"  test: {d.test}; {level}")
    if len(rejected) > SHOWN:
        lines.append(f"  ... and {len(rejected) - SHOWN} more rejected decisions (all are in the report)")
    lines.append(f"  reproduce: {reproduce_command(run)}")
    return "\n".join(lines)


def reproduce_command(run: ClaimRun) -> str:
    """The command that runs this check again, from any directory (the canonical option names, which no other
    plugin can take)."""
    impl = f" --sgdc-impl {run.claim.family}={run.implementation}" if run.implementation != "reference" else ""
    return (f"pytest --pyargs sgd_conformance.checks --sgdc-claims {run.claim.id}{impl} --sgdc-seed {run.seed} "
            f"--sgdc-profile {run.profile} --sgdc-backend {run.backend}")
