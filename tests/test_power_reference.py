"""Power of the checks against mistakes of the theory they rely on (claims of family ``reference``, and the exact
oracle side of claims that decide on the user's code: ``sde.sme-weak-order``'s model, the minibatch covariance factor
and the SGF diffusion): each must fail when that theory is replaced by a wrong derivation (monkeypatched into the
modules the in-process run shares)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sympy as sp

import sgd_conformance.checks.implicit_regularisation  # noqa: F401  (shared with the in-process runs)
import sgd_conformance.checks.mean_field  # noqa: F401
import sgd_conformance.checks.minibatch_noise  # noqa: F401
import sgd_conformance.checks.sde_models  # noqa: F401
from sgd_conformance.solvers import two_layer
from sgd_conformance.theory import minibatch as minibatch_theory
from sgd_conformance.theory import modified_loss, ridge, sgf
from sgd_conformance.theory.symbols import t
from tests.power import assert_caught, run_check

GF_VS_RIDGE = "lecture.gf-vs-ridge"


@pytest.fixture
def fresh_ridge_caches() -> Iterator[None]:
    """The derivations are cached: clear them around a run with a mutated theory."""
    cached = (ridge.gradient_flow_filter, ridge.ridge_filter, ridge.first_order_calibration)
    for fn in cached:
        fn.cache_clear()
    yield
    for fn in cached:
        fn.cache_clear()


def test_gf_vs_ridge_passes_on_the_derived_theory(fresh_ridge_caches: None) -> None:
    assert run_check(GF_VS_RIDGE)["outcome"] == "passed"


def test_gf_vs_ridge_catches_a_gradient_flow_with_the_wrong_gradient_factor(
        monkeypatch: pytest.MonkeyPatch, fresh_ridge_caches: None) -> None:
    """Mutant: GF run with grad = 2 X'(X beta - y)/n for the loss (1/2n)||y - X beta||^2 (filter 1 - e^(-2 s t))."""
    original = ridge.gradient_flow_filter.__wrapped__

    def wrong(normalisation: str) -> sp.Expr:
        return original(normalisation).subs(t, 2 * t)

    monkeypatch.setattr(ridge, "gradient_flow_filter", wrong)
    result = run_check(GF_VS_RIDGE)
    assert_caught(result, "gradient_flow_factor_two", named=False)
    assert result["outcome"] == "failed" and "calibration" in result["message"]


MINIBATCH = "lecture.minibatch-noise-covariance"


def test_minibatch_check_catches_an_oracle_whose_covariance_factor_is_one_over_sqrt_b(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Oracle mutant: Cov(g_hat)/Sigma typed as 1/sqrt(b) (with replacement; standard deviation and variance
    confused, as in reading the lecture's (eta/sqrt b) Sigma^(1/2) xi). The mistakes of the user's sampler and
    reduction are the record's mutants (tests/test_power.py); a sampler that draws with replacement and presents
    itself as sampling without is contract.sampler's (with_replacement_undeclared)."""
    original = minibatch_theory.covariance_factor
    monkeypatch.setattr(minibatch_theory, "covariance_factor",
                        lambda population, batch, replacement: original(population, batch, replacement)
                        * (sp.sqrt(batch) if replacement else 1))
    result = run_check(MINIBATCH)
    assert_caught(result, "covariance_factor_over_sqrt_b", named=False)
    assert result["outcome"] == "failed" and "enumeration" in result["message"], result["message"]
    monkeypatch.undo()
    assert run_check(MINIBATCH)["outcome"] == "passed"


SME = "sde.sme-weak-order"


def test_sme_check_passes_on_the_derived_theory() -> None:
    assert run_check(SME)["outcome"] == "passed"


def test_sme_check_catches_a_modified_loss_with_coefficient_eta_over_two(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant: second-order SME drift from L + (eta/2)|grad L|^2 (its weak order drops to 1)."""
    original = modified_loss.derived_modified_loss

    def doubled(loss: sp.Expr, coords: tuple[sp.Symbol, ...]) -> sp.Expr:
        return 2 * original(loss, coords) - loss

    monkeypatch.setattr(modified_loss, "derived_modified_loss", doubled)
    result = run_check(SME)
    assert_caught(result, "modified_loss_eta_over_two", named=False)
    assert result["outcome"] == "failed" and "second-order SME" in result["message"]


SGF = "lecture.sgf-diffusion"


def test_sgf_check_catches_a_diffusion_missing_the_half(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant: D = (eta/b) Sigma (the stationary variance of the model doubles)."""
    original = sgf.matched_diffusion
    monkeypatch.setattr(sgf, "matched_diffusion", lambda d=2, replacement=True: 2 * original(d, replacement))
    result = run_check(SGF)
    assert_caught(result, "diffusion_missing_the_half", named=False)
    assert result["outcome"] == "failed", result["message"]
    monkeypatch.undo()
    assert run_check(SGF)["outcome"] == "passed"


PARTICLES = "lecture.mean-field-particle-identity"


def test_particle_identity_catches_ntk_scaling_used_as_mean_field(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant: the network's 'mean_field' output scale is n^-1/2 (time scaling off by sqrt(n))."""
    original = two_layer.output_scale
    monkeypatch.setattr(two_layer, "output_scale", lambda n, scaling: original(n, "ntk"))
    result = run_check(PARTICLES)
    assert_caught(result, "ntk_scale_as_mean_field", named=False)
    assert result["outcome"] == "failed", result["message"]
    monkeypatch.undo()
    assert run_check(PARTICLES)["outcome"] == "passed"
