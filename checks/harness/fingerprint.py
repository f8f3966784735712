"""Code fingerprints of claims: which code a claim's calibration entry describes, and whether that code still ships.

A claim's calibrated false-alarm rate and power are properties of the code its verdict depends on: its check module
(which holds its record and sample sizes), every module of the package that the check imports, directly or not (its
problems, oracles, theory, reference solvers, statistics, the claim machinery), the runner that turns what the check
raises into an outcome (:data:`RUNNER`), and the mutants its record names, whose code decides the power part.
:func:`claim_fingerprint` hashes exactly that code: the first :data:`DIGITS` hex digits (64 bits) of the SHA-256 of
the sorted lines ``MODULE SHA256(file bytes)`` over those modules (:func:`claim_modules`). It reads file contents
only (no paths, modification times or machine), so every checkout of the same code gives the same fingerprint; it
changes when one of those files changes by a byte (a comment or a docstring included: conservative), and not when
any other file does. Third-party code is not covered (the record names its versions).

The import graph is read from source with :mod:`ast`, never by importing the modules: every ``import`` and
``from ... import`` anywhere in a file counts (inside functions and ``if TYPE_CHECKING:`` blocks too). ``import a.b``
names the module ``a.b``; ``from a import b`` names ``a.b`` when ``a`` is a package with a module ``b``, else ``a``;
relative imports are resolved against the importing module's package. A package's ``__init__`` counts only where it
is named, not because one of its modules is imported. Only the package's own modules count, and :data:`EXCLUDED`
ones (presentation and tooling, which never change a verdict) are neither counted nor followed. A file is found with
:func:`importlib.util.find_spec`, which imports the parent packages (light) but never the module itself. An import
whose name is computed at run time (``importlib.import_module(name)``) is not seen; the harness imports the
reference solvers statically (:mod:`~sgd_conformance.checks.harness.impl`), so they are covered.

A :class:`CodeIndex` reads and parses each file once; the module-level functions share one index for the life of the
process, so a process sees the code as it was when it first fingerprinted it (fingerprint before a long run, and the
fingerprint describes the code that ran). A fresh index sees later edits.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sgd_conformance import mutants

if TYPE_CHECKING:
    from sgd_conformance.checks.harness.claims import Claim

PACKAGE = "sgd_conformance"
#: modules (:func:`fnmatch.fnmatchcase` patterns) that present or drive verdicts but never change one: the report
#: (``reports`` and below), the top-level package and its command line, and the harness's pytest plugin,
#: calibration (and its figures), engine, this module, and ``assertions`` (the text of failure messages; the verdict
#: is decided in ``claims`` and ``run``). They are not hashed, and their imports are not followed.
EXCLUDED = (
    PACKAGE, f"{PACKAGE}.cli", f"{PACKAGE}.__main__", f"{PACKAGE}.reports", f"{PACKAGE}.reports.*",
    *(f"{PACKAGE}.checks.harness.{name}" for name in ("plugin", "calibration", "calibration_figures", "engine",
                                                      "fingerprint", "assertions")),
)
#: the module that runs every check and decides its outcome from what the check raises: part of every claim's code
RUNNER = f"{PACKAGE}.checks.harness.run"
DIGITS = 16  #: hex digits of a fingerprint (64 bits of the SHA-256)
#: the reasons :func:`stale` gives
NO_ENTRY, NO_FINGERPRINT, CODE_CHANGED, NO_SUCH_CLAIM = "no entry", "no fingerprint", "code changed", "no such claim"


def source_file(module: str) -> Path | None:
    """The source file of ``module`` (a package's ``__init__.py``), or None when there is no such Python module."""
    try:
        spec = find_spec(module)
    except (ImportError, ValueError):  # a parent that is missing or not a package; an empty name
        return None
    if spec is None or not spec.has_location or spec.origin is None or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


def mutant_module(family: str, name: str) -> str:
    """The module that holds the mutant ``name`` of ``family`` (:func:`sgd_conformance.mutants.module_of`)."""
    return f"{mutants.__name__}.{mutants.module_of(family, name)}"


def inside(module: str) -> bool:
    """Whether ``module`` is the package or one of its modules."""
    return module == PACKAGE or module.startswith(PACKAGE + ".")


def counted(module: str) -> bool:
    """Whether ``module`` is code of the package that can change a verdict (not :data:`EXCLUDED`)."""
    return inside(module) and not any(fnmatchcase(module, pattern) for pattern in EXCLUDED)


@dataclass(frozen=True)
class _Source:
    digest: str  #: SHA-256 of the file's bytes
    imports: frozenset[str]  #: the counted modules it names


class CodeIndex:
    """The package's import graph and file hashes, each file read and parsed once.

    ``locate`` maps a dotted module name to its source file (None when there is none) and ``mutant_module`` a mutant
    ``(family, name)`` to the module that holds it; the defaults find the installed package.
    """

    def __init__(self, locate: Callable[[str], Path | None] = source_file,
                 mutant_module: Callable[[str, str], str] = mutant_module) -> None:
        self.locate = locate
        self.mutant_module = mutant_module
        self._files: dict[str, Path | None] = {}
        self._sources: dict[str, _Source] = {}

    def file(self, module: str) -> Path | None:
        """The source file of ``module`` (cached)."""
        if module not in self._files:
            self._files[module] = self.locate(module)
        return self._files[module]

    def digest(self, module: str) -> str:
        """SHA-256 (hex) of the bytes of ``module``'s file."""
        return self._source(module).digest

    def imports(self, module: str) -> frozenset[str]:
        """The counted modules that ``module``'s source imports directly."""
        return self._source(module).imports

    def closure(self, roots: Iterable[str]) -> set[str]:
        """``roots`` and every counted module they import, directly or not."""
        seen: set[str] = set()
        todo = list(roots)
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo.extend(self.imports(module) - seen)
        return seen

    def _source(self, module: str) -> _Source:
        if module not in self._sources:
            path = self.file(module)
            if path is None:
                raise LookupError(f"no source file for module {module!r}")
            data = path.read_bytes()
            names = self._named(module, path, ast.parse(data, filename=str(path)))
            self._sources[module] = _Source(hashlib.sha256(data).hexdigest(),
                                            frozenset(n for n in names if counted(n) and self.file(n) is not None))
        return self._sources[module]

    def _named(self, module: str, path: Path, tree: ast.Module) -> set[str]:
        """The modules that the import statements of ``module`` (parsed from ``path``) name."""
        names: set[str] = set()
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
                if inside(base):  # only then look for its modules (finding one imports its parent packages)
                    names.update(self._from(base, alias.name) for alias in node.names)
        return names

    def _from(self, base: str, name: str) -> str:
        """What ``from base import name`` names: the module ``base.name`` where ``base`` is a package that has it,
        else ``base``."""
        path = self.file(base)
        is_package = path is not None and path.name == "__init__.py"
        return f"{base}.{name}" if is_package and name != "*" and self.file(f"{base}.{name}") else base


#: the index the module-level functions share (see the module docstring)
PROCESS_INDEX = CodeIndex()


def dependencies(module: str, index: CodeIndex = PROCESS_INDEX) -> list[str]:
    """The counted modules that ``module`` imports, directly or not, sorted (``module`` itself not included)."""
    return sorted(index.closure(index.imports(module)) - {module})


def claim_modules(claim: Claim, index: CodeIndex = PROCESS_INDEX) -> list[str]:
    """The modules whose code the calibration of ``claim`` describes, sorted: its check module, :data:`RUNNER`, the
    modules of the mutants its record names, and everything those import (see the module docstring)."""
    if not claim.module:
        raise ValueError(f"claim {claim.id!r} has no check")
    roots = [claim.module, RUNNER, *(index.mutant_module(family, name) for family, name in claim.mutant_families())]
    return sorted(index.closure(roots))


def claim_fingerprint(claim: Claim, index: CodeIndex = PROCESS_INDEX) -> str:
    """The fingerprint of ``claim``'s code: the first :data:`DIGITS` hex digits of the SHA-256 of the lines
    ``MODULE SHA256(file bytes)`` over :func:`claim_modules`."""
    lines = "".join(f"{module} {index.digest(module)}\n" for module in claim_modules(claim, index))
    return hashlib.sha256(lines.encode()).hexdigest()[:DIGITS]


def fingerprints(claims: Mapping[str, Claim], index: CodeIndex = PROCESS_INDEX) -> dict[str, str]:
    """``{id: fingerprint}`` of ``claims``."""
    return {claim_id: claim_fingerprint(claim, index) for claim_id, claim in claims.items()}


def stale(record: Mapping[str, Any], claims: Mapping[str, Claim], index: CodeIndex = PROCESS_INDEX) -> dict[str, str]:
    """The claims to re-calibrate, by id (sorted), each with why: :data:`NO_ENTRY` (the record's ``claims`` has none),
    :data:`NO_FINGERPRINT` (its entry has no ``"fingerprint"``: none recorded, or its parts were measured on different
    code) or :data:`CODE_CHANGED` (the fingerprint differs
    from the code's); and the record's entries of ids that are not in ``claims``, :data:`NO_SUCH_CLAIM` (to drop)."""
    entries: Mapping[str, Mapping[str, Any]] = record.get("claims", {})
    reasons: dict[str, str] = {}
    for claim_id in sorted(set(claims) | set(entries)):
        entry = entries.get(claim_id)
        if claim_id not in claims:
            reasons[claim_id] = NO_SUCH_CLAIM
        elif entry is None:
            reasons[claim_id] = NO_ENTRY
        elif entry.get("fingerprint") is None:  # none recorded, or its parts were measured on different code
            reasons[claim_id] = NO_FINGERPRINT
        elif entry["fingerprint"] != claim_fingerprint(claims[claim_id], index):
            reasons[claim_id] = CODE_CHANGED
    return reasons
