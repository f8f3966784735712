"""README.md stays in step with the code: every registered claim has a row, and the two commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from sgd_conformance.checks.harness.claims import LOOP_FAMILIES
from sgd_conformance.checks.harness.run import catches, registry
from sgd_conformance.mutants import bug

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = registry()


def _rows() -> dict[str, list[str]]:
    """README's claims-table rows by claim id: the cells id, family, source, statement, catches, decides on."""
    readme = (ROOT / "README.md").read_text()
    return {m.group(1): [cell.strip() for cell in m.group(0).strip().strip("|").split(" | ")]
            for m in re.finditer(r"^\| `([a-z0-9.-]+)` \|.*\|$", readme, flags=re.M)}


def test_every_registered_claim_has_a_readme_row_that_says_what_it_decides_on_and_can_catch() -> None:
    """The status column is the claim's scope (decides on your FAMILY, theory and reference solvers only, or
    report-only), and "what it can catch in your code" lists the bug class of every implementation mutant its check
    is proven to catch."""
    rows = _rows()
    assert set(REGISTRY) <= set(rows), sorted(set(REGISTRY) - set(rows))
    for claim in REGISTRY.values():
        expected = [claim.family_label, "; ".join(catches(claim)) or "—", claim.scope_label]
        found = [rows[claim.id][1], *rows[claim.id][-2:]]
        assert found == expected, (claim.id, found, expected)


def component_rows() -> dict[str, list[str]]:
    """README's table of the training loop's components: cells component, claims, what they catch."""
    readme = (ROOT / "README.md").read_text()
    return {m.group(1): [cell.strip() for cell in m.group(0).strip().strip("|").split(" | ")]
            for m in re.finditer(r"^\| component `([a-z]+)` \|.*\|$", readme, flags=re.M)}


def test_the_component_table_lists_every_claim_that_runs_a_component_and_what_it_catches() -> None:
    rows = component_rows()
    assert set(rows) == set(LOOP_FAMILIES), sorted(rows)
    for family in LOOP_FAMILIES:
        using = sorted(c.id for c in REGISTRY.values() if family in c.families)
        caught = sorted({bug(f, name) for c in REGISTRY.values() for f, name in c.mutant_families() if f == family})
        assert rows[family][1:] == [", ".join(f"`{i}`" for i in using), "; ".join(caught)], (family, rows[family])


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
