"""README.md stays in step with the code: every registered claim has a row, and the two commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from sgd_conformance.checks.harness.run import registry

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = registry()


def test_every_registered_claim_has_a_readme_row_marked_checked() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z0-9.-]+)` \|.*\| (\w+) \|$", readme, flags=re.M))
    assert set(REGISTRY) <= set(rows), sorted(set(REGISTRY) - set(rows))
    assert all(rows[c] == "checked" for c in REGISTRY)


def test_registered_claims_carry_id_family_source_hypotheses_and_budget() -> None:
    for claim in REGISTRY.values():
        assert claim.statement and claim.hypotheses and claim.source, claim.id
        assert 0 < claim.budget <= 1e-3, claim.id


def test_readme_gives_the_two_commands_and_the_makefile_has_them() -> None:
    readme, makefile = (ROOT / "README.md").read_text(), (ROOT / "Makefile").read_text()
    for target in ("verify", "test"):
        assert f"make {target}" in readme
        assert re.search(rf"^{target}:", makefile, flags=re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()
