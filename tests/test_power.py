"""Every check has power: it fails on each mutant its claim's record names (``@claim(mutants=...)``) and passes on
its family's correct variant (the reference is run by ``pytest checks``). The mutants are
:mod:`sgd_conformance.mutants`, each bug stated in its docstring. Runs at ``--profile quick``, seed 0.
"""

from __future__ import annotations

import pytest

from sgd_conformance.checks.harness.run import registry
from sgd_conformance.mutants import CORRECT
from tests.power import ROOT, assert_caught, mutant, require_torch, run_check

CLAIMS = registry()
MUST_FAIL = [pytest.param(c.id, family, bug, id=f"{c.id}-{bug}") for c in CLAIMS.values()
             for family, bug in c.mutant_families()]
MUST_PASS = [pytest.param(c.id, c.family, id=c.id) for c in CLAIMS.values() if c.family != "reference"]


@pytest.mark.parametrize(("claim", "family", "bug"), MUST_FAIL)
def test_check_catches_the_mutants_of_its_record(claim: str, family: str, bug: str) -> None:
    result = run_check(claim, "--impl", mutant(family, bug))
    assert_caught(result, bug)


@pytest.mark.parametrize(("claim", "family"), MUST_PASS)
def test_check_passes_the_correct_variant_of_its_family(claim: str, family: str) -> None:
    """Passed, or, for a report-only claim whose measurement contradicts it, not confirmed (its guards held)."""
    result = run_check(claim, "--impl", mutant(family, CORRECT[family]))
    expected = ("passed", "not-confirmed") if CLAIMS[claim].report_only else ("passed",)
    assert result["outcome"] in expected, result["message"]
    assert result["implementation"].endswith(f":{CORRECT[family]}")


def test_every_claim_names_its_mutants_or_says_why_it_has_none() -> None:
    """Implementation mutants for claims that run one; mistakes of the suite's own oracle, or a reason, otherwise."""
    for claim in CLAIMS.values():
        assert claim.mutants or claim.oracle_mutants or claim.no_mutant_reason, claim.id
        assert not (claim.family == "reference" and claim.mutants), claim.id


def test_failure_names_the_likely_cause_of_a_known_noise_bug() -> None:
    result = run_check("sgld.exact-quadratic-law", "--impl", mutant("sgld", "sgld_noise_sqrt_lr_t"))
    assert "likely cause: noise scale sqrt(lr T) instead of sqrt(2 lr T) (known mutant)" in result["message"]


def test_torch_sgd_passes_the_sgd_checks() -> None:
    require_torch()
    for claim in ("lecture.modified-loss-gd", "lecture.gd-stability", "contract.sgd"):
        result = run_check(claim, "--impl", "sgd=torch:torch.optim:SGD")
        assert result["outcome"] == "passed", result["message"]


def test_stability_check_catches_torch_sgd_with_momentum_given_in_the_spec() -> None:
    """Keyword arguments in the SPEC configure the optimizer without a wrapper file; the reproduce line quotes them."""
    require_torch()
    result = run_check("lecture.gd-stability", "--impl", "sgd=torch:torch.optim:SGD(momentum=0.5)")
    assert_caught(result, "torch:torch.optim:SGD(momentum=0.5)")
    assert result["outcome"] == "failed", result["message"]
    assert "--sgdc-impl 'sgd=torch:torch.optim:SGD(momentum=0.5)'" in result["message"]


def test_torch_sgld_optimizer_passes_the_exact_law_check() -> None:
    require_torch()
    result = run_check("sgld.exact-quadratic-law", "--impl", f"sgld=torch:{ROOT / 'tests' / 'torch_impls.py'}:SGLD")
    assert result["outcome"] == "passed", result["message"]
