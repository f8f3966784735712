"""The minibatch-noise law of the user's sampler and reduction (``lecture.minibatch-noise-covariance``) and the SGF
step it implies for the user's sgd (``lecture.sgf-diffusion``): the exact probabilities that tell the laws apart,
how the law is identified, the correct components (NumPy and torch) passing, and a sampler with fixed batches
failing. The record's mutants are run by tests/test_power.py."""

from __future__ import annotations

import collections
import itertools
from fractions import Fraction

import numpy as np
import pytest

import sgd_conformance.checks.minibatch_noise  # noqa: F401  (registers the claims for the in-process runs)
import sgd_conformance.checks.sde_models  # noqa: F401
from sgd_conformance.checks.harness.sampler_law import law_decisions
from sgd_conformance.checks.oracles.minibatch_law import Law, has_repeat, identify
from sgd_conformance.theory import minibatch
from tests.power import assert_caught, mutant, require_torch, run_check

MINIBATCH, SGF = "lecture.minibatch-noise-covariance", "lecture.sgf-diffusion"
RANDOM = "torch:torch.utils.data:RandomSampler"


@pytest.mark.parametrize(("population", "batch"), [(4, 2), (5, 3), (6, 2), (3, 4)])
def test_repeat_and_same_batch_probabilities_match_enumeration(population: int, batch: int) -> None:
    """Every ordered draw of b i.i.d. indices, and every b-subset, counted."""
    draws = list(itertools.product(range(population), repeat=batch))
    total = len(draws)
    repeated = Fraction(sum(len(set(d)) < batch for d in draws), total)
    assert minibatch.repeat_probability(population, batch) == repeated
    multisets = collections.Counter(tuple(sorted(d)) for d in draws)
    assert minibatch.same_batch_probability(population, batch, True) == sum(Fraction(c, total) ** 2
                                                                             for c in multisets.values())
    if batch <= population:
        subsets = list(itertools.combinations(range(population), batch))
        assert minibatch.same_batch_probability(population, batch, False) == Fraction(1, len(subsets))


def test_the_symbolic_factor_is_the_enumerated_one() -> None:
    for replacement in (True, False):
        assert minibatch.enumerated_moments(7, 3, replacement)[1] == minibatch.covariance_factor(7, 3, replacement)


def test_the_declared_law_wins_and_an_undeclared_one_is_read_from_repeats() -> None:
    subsets, repeats = np.array([[0, 1, 2], [3, 4, 5]]), np.array([[0, 1, 2], [3, 3, 5]])
    assert has_repeat(repeats).tolist() == [False, True]
    assert identify(None, [subsets]) == Law(False, False)
    assert identify(None, [subsets, repeats]) == Law(True, False)
    assert identify(True, [subsets]) == Law(True, True) and identify(False, [repeats]) == Law(False, True)


def test_a_repeat_under_a_declared_law_without_replacement_fails_exactly() -> None:
    batches = np.array([[0, 1, 2], [3, 3, 5]])
    firsts = np.array([[[0, 1, 2], [2, 4, 6]]])
    decisions = law_decisions(Law(False, True), batches, firsts, 10, 1e-4, where="b = 3")
    assert [d.passed for d in decisions] == [False, True] and decisions[0].level == 0.0


def test_component_correct_variants_pass() -> None:
    """test_power.py runs each claim's own family's correct variant; these are its components'."""
    assert run_check(MINIBATCH, "--impl", mutant("reduction", "reduction_correct_variant"))["outcome"] == "passed"
    for family in ("sampler", "reduction"):
        result = run_check(SGF, "--impl", mutant(family, f"{family}_correct_variant"))
        assert result["outcome"] == "passed", result["message"]


def test_a_sampler_with_replacement_presented_as_without_is_the_contracts_to_catch() -> None:
    """An undeclared sampler that repeats indices follows the law with replacement here (and is tested against it);
    contract.sampler, which reads an undeclared law as without replacement, fails it."""
    wrong = mutant("sampler", "with_replacement_undeclared")
    result = run_check(MINIBATCH, "--impl", wrong)
    assert result["outcome"] == "passed", result["message"]
    assert any("with replacement (identified" in d["what"] for d in result["decisions"])
    assert_caught(run_check("contract.sampler", "--impl", wrong), "with_replacement_undeclared")


@pytest.mark.parametrize("claim", [MINIBATCH, SGF])
def test_torch_random_samplers_pass_and_a_sequential_sampler_fails(claim: str) -> None:
    """RandomSampler follows the law it declares (replacement False or True); SequentialSampler draws the same
    batches every epoch, so its minibatch gradient has no noise law and the reshuffle test names it."""
    require_torch()
    for sampler in (RANDOM, f"{RANDOM}(replacement=True)"):
        result = run_check(claim, "--impl", f"sampler={sampler}")
        assert result["outcome"] == "passed", result["message"]
        declared = "with" if "replacement=True" in sampler else "without"
        assert any(f"{declared} replacement (declared)" in d["what"] for d in result["decisions"])
    result = run_check(claim, "--impl", "sampler=torch:torch.utils.data:SequentialSampler")
    assert_caught(result, "SequentialSampler")
    assert result["outcome"] == "failed" and "sequential one" in result["message"], result["message"]


def test_torch_sgd_with_the_torch_sampler_passes_the_sgf_check_and_momentum_fails_it() -> None:
    require_torch()
    result = run_check(SGF, "--impl", "sgd=torch:torch.optim:SGD", "--impl", f"sampler={RANDOM}(replacement=True)")
    assert result["outcome"] == "passed", result["message"]
    assert_caught(run_check(SGF, "--impl", "sgd=torch:torch.optim:SGD(momentum=0.9)"), "momentum=0.9")
