"""The training loop's component families: SPEC resolution, the adapters' contract errors, the claim record's
components, and the real torch components on the exact contract claims."""

from __future__ import annotations

import fnmatch
from typing import Any

import numpy as np
import pytest

from sgd_conformance.checks.harness.claims import Claim, claim
from sgd_conformance.checks.harness.impl import NUMPY_FORM, ContractError, Guard, Implementation, UsageError, resolve
from sgd_conformance.checks.harness.loop import Averager, Reduction, Sampler, Schedule
from sgd_conformance.checks.harness.run import implementation_label, registry
from sgd_conformance.mutants import spec
from tests.power import assert_caught, require_torch, run_check

CLAIMS = registry()


def _guard(family: str, target: Any) -> Guard:
    return Guard(impl=Implementation(family, f"mine:{family}", NUMPY_FORM, target), budget_s=10.0, profile="quick")


def _sampler(target: Any, n: int = 6, batch: int = 2, chains: int = 3) -> Sampler:
    return Sampler(_guard("sampler", target), n=n, batch_size=batch, chains=chains, rng=np.random.default_rng(0))


@pytest.mark.parametrize(("epoch", "message"), [
    (lambda n, b, rng, c: [np.zeros((c + 1, b), dtype=int)],
     "batch 0 of shape (4, 2)*expected (chains, b_k) = (3, b_k)"),
    (lambda n, b, rng, c: [np.zeros((c, b))], "batch 0 of dtype float64*expected integers"),
    (lambda n, b, rng, c: [np.full((c, b), n)], "index 6 in batch 0*0 <= index < n = 6"),
    (lambda n, b, rng, c: [], "an empty epoch"),
    (lambda n, b, rng, c: 3, "returned int*expected a sequence of index arrays"),
])
def test_a_malformed_epoch_is_a_contract_error_that_names_it(epoch: Any, message: str) -> None:
    with pytest.raises(ContractError) as caught:
        _sampler(epoch).epoch()
    assert fnmatch.fnmatch(str(caught.value), f"*{message}*"), str(caught.value)


def test_the_sampler_declares_its_law_through_a_replacement_attribute() -> None:
    def with_replacement(n: int, b: int, rng: Any, chains: int) -> list[np.ndarray]:
        return [rng.integers(0, n, (chains, b))]

    assert _sampler(with_replacement).declared_replacement is None
    with_replacement.replacement = True  # type: ignore[attr-defined]
    assert _sampler(with_replacement).declared_replacement is True


def test_steps_chain_the_epochs_of_the_sampler() -> None:
    sampler = _sampler(lambda n, b, rng, c: [np.zeros((c, b), dtype=int), np.ones((c, 1), dtype=int)])
    steps = sampler.steps()
    assert [next(steps).shape[1] for _ in range(5)] == [2, 1, 2, 1, 2] and sampler.epochs == 3


def test_reduction_schedule_and_averaging_breaches_are_contract_errors() -> None:
    reduction = Reduction(_guard("reduction", lambda g, b: g.sum(axis=2)), batch_size=2)
    with pytest.raises(ContractError, match=r"returned shape \(3, 2\).*expected \(chains, d\) = \(3, 4\)"):
        reduction.gradient(np.ones((3, 2, 4)))
    schedule = Schedule(_guard("schedule", lambda k, lr0, k0, power: lr0 - k), lr0=1.0, k0=1.0, power=1.0)
    with pytest.raises(ContractError, match=r"returned lr_1 = 0\.0; expected a finite positive step size"):
        schedule.values(3)
    averager = Averager(_guard("averaging", lambda avg, theta, k: avg.astype(np.float32)))
    with pytest.raises(ContractError, match="returned dtype float32"):
        averager.update(np.ones((2, 3)))


def test_reduction_has_no_torch_form() -> None:
    with pytest.raises(UsageError, match="the reduction family has no torch form"):
        resolve("reduction", "torch:torch.nn:MSELoss")


def test_a_claim_names_its_components_and_their_mutants() -> None:
    with pytest.raises(ValueError, match="must be training-loop families"):
        claim("x.bad-component", family="sgd", statement="s", hypotheses="h", source="s", components=("sde",))
    with pytest.raises(ValueError, match="of a family the check does not run"):
        claim("x.bad-mutant", family="sgd", statement="s", hypotheses="h", source="s", mutants=("sampler:fixed_seed",))
    for record in CLAIMS.values():
        for family, name in record.mutant_families():
            assert family in record.families, (record.id, family)
            spec(family, name)  # exists


def test_the_implementation_label_and_scope_name_every_component_that_ran() -> None:
    user = {f: resolve(f, spec(f, n)) for f, n in (("sgd", "gd_correct_variant"),
                                                   ("sampler", "sampler_correct_variant"))}
    loop = Claim("x.loop", "sgd", "s", "h", "s", components=("sampler", "reduction"))
    assert implementation_label(loop, {}) == "reference"
    assert implementation_label(loop, {"sgd": user["sgd"]}) == user["sgd"].spec
    assert implementation_label(loop, user) == f"sgd={user['sgd'].spec}; sampler={user['sampler'].spec}"
    assert implementation_label(loop, {"sampler": user["sampler"]}) == f"sampler={user['sampler'].spec}"
    assert loop.scope_label == "decides on your sgd, sampler and reduction"


@pytest.mark.parametrize(("claim_id", "impl"), [
    ("contract.sampler", "sampler=torch:torch.utils.data:RandomSampler"),
    ("contract.sampler", "sampler=torch:torch.utils.data:RandomSampler(replacement=True)"),
    ("contract.sampler", "sampler=torch:torch.utils.data:SequentialSampler"),
    ("contract.schedule", "schedule=torch:tests/torch_impls.py:inverse_power_lambda_lr"),
    ("contract.averaging", "averaging=torch:torch.optim.swa_utils:AveragedModel"),
])
def test_the_real_torch_components_honour_the_contract(claim_id: str, impl: str) -> None:
    require_torch()
    result = run_check(claim_id, "--impl", impl)
    assert result["outcome"] == "passed", result["message"]


@pytest.mark.parametrize(("claim_id", "impl", "bug"), [
    ("contract.averaging", "averaging=torch:tests/torch_impls.py:ema_averaged_model", "ema_averaged_model"),
    ("contract.schedule", "schedule=torch:tests/torch_impls.py:scheduler_stepped_at_creation",
     "scheduler_stepped_at_creation"),
])
def test_wrong_torch_components_are_caught(claim_id: str, impl: str, bug: str) -> None:
    require_torch()
    assert_caught(run_check(claim_id, "--impl", impl), bug)
