"""The layers stay apart, so they cannot drift again: read from every module's imports.

- ``theory``: symbolic (sympy, mpmath); ``theory/numeric.py`` is the one lambdify site (it may hand back array-API
  functions).
- ``checks/oracles``: the exact numeric oracles (NumPy, SciPy, mpmath) built on the theory.
- ``solvers``: NumPy/CuPy through the array API; never the checks, the theory or sympy.
- ``reports``: renders data; imports nothing else of the suite.
- ``checks/harness``: runs claims; never a check module.
- check modules: never another check module (what two checks share lives in oracles, solvers or the harness).
- ``tests/mutants``: NumPy only, like a user's implementation.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STDLIB = set(sys.stdlib_module_names) | {"__future__"}
NUMERIC = {"numpy", "scipy", "mpmath", "array_api_compat"}


@dataclass(frozen=True)
class Layer:
    folder: str
    package: str
    third_party: frozenset[str]
    internal: tuple[str, ...]


LAYERS = [
    Layer("theory", "sgd_conformance.theory", frozenset({"sympy", "mpmath"}), ("sgd_conformance.theory",)),
    Layer("checks/oracles", "sgd_conformance.checks.oracles", frozenset(NUMERIC | {"sympy"}),
          ("sgd_conformance.theory", "sgd_conformance.solvers", "sgd_conformance.checks.oracles")),
    Layer("solvers", "sgd_conformance.solvers", frozenset({"numpy", "array_api_compat", "cupy"}),
          ("sgd_conformance.solvers",)),
    Layer("reports", "sgd_conformance.reports", frozenset({"matplotlib", "jinja2", "markupsafe", "numpy"}),
          ("sgd_conformance.reports",)),
    Layer("checks/harness", "sgd_conformance.checks.harness",
          frozenset(NUMERIC | {"pytest", "hypothesis", "torch", "dask", "distributed"}),
          ("sgd_conformance.checks.harness", "sgd_conformance.solvers", "sgd_conformance.reports",
           "sgd_conformance.mutants", "sgd_conformance.checks.oracles")),
    Layer("tests/mutants", "sgd_conformance.mutants", frozenset({"numpy"}), ("sgd_conformance.mutants",)),
]
#: the one module of theory that may hand back array-API functions (lambdify)
LAMBDIFY_SITE = ROOT / "theory" / "numeric.py"


def imports(path: Path, package: str) -> list[tuple[str, tuple[str, ...]]]:
    """Every import of ``path`` as ``(module, names)``: ``names`` empty for ``import module``, else what ``from module
    import ...`` takes (each may be a submodule); relative imports resolved against ``package``."""
    found: list[tuple[str, tuple[str, ...]]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            found.append((module, tuple(alias.name for alias in node.names)))
    return found


def breaches(layer: Layer, path: Path) -> list[str]:
    third_party = set(layer.third_party) | ({"array_api_compat"} if path == LAMBDIFY_SITE else set())

    def allowed(name: str) -> bool:
        top = name.split(".")[0]
        return (top in STDLIB or top in third_party
                or any(name == p or name.startswith(p + ".") for p in layer.internal))

    return sorted(module for module, names in imports(path, layer.package)
                  if not allowed(module) and not (names and all(allowed(f"{module}.{n}") for n in names)))


@pytest.mark.parametrize("layer", LAYERS, ids=[layer.folder for layer in LAYERS])
def test_each_layer_imports_only_what_it_may(layer: Layer) -> None:
    found = {str(p.relative_to(ROOT)): breaches(layer, p) for p in sorted((ROOT / layer.folder).glob("*.py"))}
    assert not {path: names for path, names in found.items() if names}


def test_check_modules_do_not_import_each_other() -> None:
    modules = {p.stem for p in (ROOT / "checks").glob("*.py") if p.stem != "__init__"}
    found = {}
    for path in sorted((ROOT / "checks").glob("*.py")):
        names = [f"{m}.{n}" for m, ns in imports(path, "sgd_conformance.checks") for n in (ns or ("",))]
        others = [n for n in names if n.startswith("sgd_conformance.checks.") and n.split(".")[2] in modules]
        if others:
            found[path.name] = others
    assert not found


def test_lambdify_is_called_in_one_place() -> None:
    sources = [p for folder in ("theory", "solvers", "checks", "reports") for p in (ROOT / folder).rglob("*.py")]
    callers = sorted(str(p.relative_to(ROOT)) for p in sources if "lambdify(" in p.read_text())
    assert callers == [str(LAMBDIFY_SITE.relative_to(ROOT))]
