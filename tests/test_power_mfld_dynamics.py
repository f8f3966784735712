"""Power of the mean-field Langevin dynamics checks (family ``sgld``), at ``--profile quick``, seed 0.

Noise-scale bugs of the particle update are implementations under test (``--impl sgld=...``,
sgd_conformance.mutants); each
check must fail on them and pass on the reference and a correct variant. The drift without the mean-field term is a
solver-side mistake (the interaction kappa (m_M - y) dropped from the first variation's gradient): it is monkeypatched
into :mod:`solvers.mfld_particles`, shared with the in-process runs, as tests/test_power_reference.py does for theory.
"""

from __future__ import annotations

from typing import Any

import pytest

import sgd_conformance.checks.mfld_dynamics  # noqa: F401  (shared with the in-process runs)
from sgd_conformance.solvers import mfld_particles
from tests.power import assert_caught, run_check

CHECKS = {
    "kl-dissipation": "mfld.langevin-kl-dissipation",
    "particle-update": "mfld.particle-update",
    "exponential-decay": "mfld.exponential-decay",
    "free-energy": "mfld.free-energy-decreases",
}
INTERACTING = ["particle-update", "exponential-decay", "free-energy"]


def _without_mean_field(self: mfld_particles.MomentMeanField, particles: Any) -> Any:
    """Mutant solver: the interaction kappa (m_M - y) dropped (each particle sees only its own potential)."""
    xp = mfld_particles.namespace(particles)
    shift = self.shift if self.shift is not None else (0.0,) * self.d
    return xp.reshape(xp.asarray(shift, dtype=particles.dtype), (1, 1, self.d)) + 0.0 * particles[:, :1, :]


@pytest.mark.parametrize("check", INTERACTING)
def test_mfld_check_catches_a_drift_without_the_mean_field_term(monkeypatch: pytest.MonkeyPatch, check: str) -> None:
    monkeypatch.setattr(mfld_particles.MomentMeanField, "mean_field", _without_mean_field)
    result = run_check(CHECKS[check])
    assert_caught(result, "without_mean_field", named=False)
    assert result["outcome"] == "failed", result["message"]
