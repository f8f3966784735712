"""Hypothesis, the way the checks use it: derandomised generation of problems, no shrinking, no database.

Statistical checks split their false-alarm budget over the examples, so the number of examples must be
known in advance and the same on every run; shrinking would re-run statistical tests on new draws.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings


def derandomised(examples: int) -> settings:
    """Settings for ``examples`` generated examples (explicit ``@example`` cases run in addition)."""
    return settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                    phases=[Phase.explicit, Phase.generate], report_multiple_bugs=False,
                    suppress_health_check=list(HealthCheck))
