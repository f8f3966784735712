"""Code fingerprints of claims: the import closure read from source, what an edit changes, and the stale entries of a
calibration record."""

from __future__ import annotations

import re
from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from sgd_conformance import mutants
from sgd_conformance.checks.harness.claims import Claim
from sgd_conformance.checks.harness.fingerprint import (
    EXCLUDED,
    RUNNER,
    CodeIndex,
    claim_fingerprint,
    claim_modules,
    dependencies,
    fingerprints,
    stale,
)
from sgd_conformance.checks.harness.run import registry

PKG = "sgd_conformance"

# A throwaway package tree: two checks, an oracle package, the harness's stats, runner and plugin, a report module
# and a mutant. alpha imports, inside its check, a module by `from package import module` and two excluded modules;
# its oracle imports relatively two levels up; beta imports the oracle package by name and a module relatively.
TREE = {
    "__init__.py": "",
    "checks/__init__.py": "",
    "checks/alpha.py": f"""
def check(run):
    from {PKG}.checks.oracles import exact
    from {PKG}.reports import render
    import {PKG}.checks.harness.plugin
    return exact, render
""",
    "checks/beta.py": f"""
import numpy
from .oracles.other import value
from {PKG}.checks.oracles import CONSTANT
""",
    "checks/oracles/__init__.py": "CONSTANT = 1\n",
    "checks/oracles/exact.py": "from ..harness import stats\n",
    "checks/oracles/other.py": "value = 2\n",
    "checks/harness/__init__.py": "",
    "checks/harness/stats.py": "",
    "checks/harness/run.py": f"from {PKG}.reports.render import show\n",
    "checks/harness/plugin.py": f"from {PKG}.checks import beta\n",
    "reports/__init__.py": "",
    "reports/render.py": "def show(): pass\n",
    "mutants/__init__.py": "",
    "mutants/sgd.py": "def wrong(): pass\n",
}


def _locate(root: Path) -> Callable[[str], Path | None]:
    def locate(module: str) -> Path | None:
        path = root.joinpath(*module.split("."))
        return next((p for p in (path / "__init__.py", path.with_suffix(".py")) if p.is_file()), None)

    return locate


def _claim(claim_id: str, module: str, mutant_names: tuple[str, ...] = ()) -> Claim:
    def check(run: Any) -> None: ...

    check.__module__ = module
    return Claim(claim_id, "sgd", "statement", "hypotheses", "source", mutants=mutant_names, check=check)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name, text in TREE.items():
        path = tmp_path / PKG / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def _index(root: Path) -> CodeIndex:
    return CodeIndex(_locate(root), lambda family, name: f"{PKG}.mutants.{family}")


TREE_CLAIMS = {"a": _claim("a", f"{PKG}.checks.alpha", ("wrong",)), "b": _claim("b", f"{PKG}.checks.beta")}


def test_closure_follows_every_import_form_and_skips_excluded(tree: Path) -> None:
    looked_up: list[str] = []

    def locate(module: str) -> Path | None:
        looked_up.append(module)
        return _locate(tree)(module)

    index = CodeIndex(locate, _index(tree).mutant_module)
    assert dependencies(f"{PKG}.checks.alpha", index) == [f"{PKG}.checks.harness.stats", f"{PKG}.checks.oracles.exact"]
    assert dependencies(f"{PKG}.checks.beta", index) == [f"{PKG}.checks.oracles", f"{PKG}.checks.oracles.other"]
    assert claim_modules(TREE_CLAIMS["a"], index) == sorted([
        f"{PKG}.checks.alpha", f"{PKG}.checks.harness.run", f"{PKG}.checks.harness.stats",
        f"{PKG}.checks.oracles.exact", f"{PKG}.mutants.sgd"])
    # finding a file imports its parent packages only: no name is looked up inside a module that is not a package
    assert all(tree.joinpath(*m.split(".")[:-1]).is_dir() for m in looked_up)


@pytest.mark.parametrize(("edited", "changed"), [
    ("checks/oracles/exact.py", {"a"}),
    ("checks/harness/stats.py", {"a"}),
    ("mutants/sgd.py", {"a"}),
    ("checks/oracles/other.py", {"b"}),
    ("checks/oracles/__init__.py", {"b"}),  # beta names the package; alpha only imports one of its modules
    ("checks/beta.py", {"b"}),
    ("checks/harness/run.py", {"a", "b"}),
    ("reports/render.py", set()),
    ("checks/harness/plugin.py", set()),
    ("checks/__init__.py", set()),
    ("__init__.py", set()),
])
def test_an_edit_changes_exactly_the_fingerprints_of_the_claims_that_depend_on_it(
        tree: Path, edited: str, changed: set[str]) -> None:
    index = _index(tree)
    before = fingerprints(TREE_CLAIMS, index)
    with (tree / PKG / edited).open("a") as file:
        file.write("# edited\n")
    after = fingerprints(TREE_CLAIMS, _index(tree))
    assert {claim_id for claim_id in TREE_CLAIMS if after[claim_id] != before[claim_id]} == changed
    assert fingerprints(TREE_CLAIMS, index) == before  # an index reads each file once


def test_fingerprints_depend_on_bytes_not_paths(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("other_checkout")
    for path in (tree / PKG).rglob("*.py"):
        copy = elsewhere / path.relative_to(tree)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(path.read_bytes())
    assert fingerprints(TREE_CLAIMS, _index(elsewhere)) == fingerprints(TREE_CLAIMS, _index(tree))


@pytest.fixture(scope="module")
def claims() -> dict[str, Claim]:
    return registry()


def test_closure_of_a_check_holds_its_oracle_theory_solvers_and_statistics_and_no_presentation() -> None:
    sgld = set(dependencies(f"{PKG}.checks.sgld"))
    assert {f"{PKG}.checks.oracles.langevin", f"{PKG}.theory.langevin", f"{PKG}.solvers.chains",
            f"{PKG}.solvers.problems", f"{PKG}.checks.harness.stats", f"{PKG}.checks.harness.claims"} <= sgld
    moments = set(dependencies(f"{PKG}.checks.lsq_sde_moments"))
    assert {f"{PKG}.checks.oracles.lsq_sde", f"{PKG}.checks.oracles.moment_equations", f"{PKG}.solvers.lsq_sde",
            f"{PKG}.solvers.sde", f"{PKG}.checks.harness.profiles", f"{PKG}.checks.harness.stats"} <= moments
    for found in (sgld, moments):  # both import reports.model
        assert not {m for m in found if m.startswith(f"{PKG}.reports") or m.endswith((".plugin", ".calibration"))}


def test_every_claim_has_a_fingerprint_of_its_own_code(claims: dict[str, Claim]) -> None:
    found = fingerprints(claims)
    assert set(found) == set(claims)
    assert all(re.fullmatch("[0-9a-f]{16}", value) for value in found.values())
    assert found == fingerprints(claims) == fingerprints(claims, CodeIndex())
    modules = {claim_id: tuple(claim_modules(claim)) for claim_id, claim in claims.items()}
    # the same fingerprint exactly when the same code: claims of one module with the same mutants
    for first in claims:
        for second in claims:
            assert (found[first] == found[second]) == (modules[first] == modules[second]), (first, second)
    for claim_id, claim in claims.items():
        assert {claim.module, RUNNER, f"{PKG}.checks.harness.stats"} <= set(modules[claim_id])
        assert {f"{mutants.__name__}.{mutants.module_of(f, n)}" for f, n in claim.mutant_families()} <= set(
            modules[claim_id])
        assert not [m for m in modules[claim_id] if any(fnmatchcase(m, p) for p in EXCLUDED)]


def test_stale_names_each_claim_to_recalibrate_with_its_reason(claims: dict[str, Claim]) -> None:
    chosen = dict(list(claims.items())[:4])
    fresh, unfingerprinted, changed, missing = chosen
    record = {"claims": {
        fresh: {"fingerprint": claim_fingerprint(chosen[fresh]), "budget": 1e-3},
        unfingerprinted: {"budget": 1e-3},
        changed: {"fingerprint": "0" * 16},
        "retired.claim": {"fingerprint": "0" * 16},
    }}
    assert stale(record, chosen) == {unfingerprinted: "no fingerprint", changed: "code changed",
                                     missing: "no entry", "retired.claim": "no such claim"}
    assert stale({}, chosen) == dict.fromkeys(sorted(chosen), "no entry")
    assert stale({"claims": {k: {"fingerprint": v} for k, v in fingerprints(claims).items()}}, claims) == {}
