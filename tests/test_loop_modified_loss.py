"""The sampler's law in ``lecture.modified-loss-sgd``: the modified loss each epoch law leads to (derived), how the
law test reads a sampler's epochs and names the law it found, the correct torch sampler passing and the wrong ones
failing for the right reason. The record's mutants are run by tests/test_power.py."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import sgd_conformance.checks.backward_error as be
from sgd_conformance.theory import modified_loss
from tests.power import mutant, require_torch, run_check

CLAIM = "lecture.modified-loss-sgd"


def shared_across_chains(n: int, batch_size: int, rng: np.random.Generator, chains: int) -> list[np.ndarray]:
    """A wrong sampler for the tests: a fresh permutation every epoch, the same one for every chain."""
    order = np.tile(rng.permutation(n), (chains, 1))
    return np.split(order, np.arange(batch_size, n, batch_size), axis=1)


def test_each_epoch_law_gives_its_modified_loss() -> None:
    """Random reshuffling: Smith et al.'s 1/(4m) = 1/8; with replacement: GD's 1/4 on |grad L|^2."""
    assert modified_loss.epoch_law_modified_loss_coefficients("reshuffling") == (0, sp.Rational(1, 8))
    assert modified_loss.epoch_law_modified_loss_coefficients("replacement") == (sp.Rational(1, 4), 0)
    assert len(modified_loss.epoch_sequences("reshuffling")) == 24
    assert len(modified_loss.epoch_sequences("replacement")) == 4**4
    with pytest.raises(ValueError, match="unknown epoch law"):
        modified_loss.epoch_sequences("sequential")


def test_an_epoch_is_read_as_its_ordered_partition() -> None:
    epoch = [np.array([[0, 1], [3, 2], [0, 0]]), np.array([[2, 3], [1, 0], [1, 2]])]
    cells, repeats = be._cells(epoch, 3)
    assert cells.tolist() == [be.FIRST_BATCHES.index((0, 1)), be.FIRST_BATCHES.index((2, 3)), -1]
    assert repeats.tolist() == [False, False, True]
    assert be._cells([np.array([[0], [1]])] * 4, 2)[0].tolist() == [-1, -1]


@pytest.mark.parametrize(("cells", "declared", "rejected", "law"), [
    ([[0, -1]], True, [False, False, False], "with replacement (declared replacement = True)"),
    ([[3, 3], [3, 3]], None, [True, True, True], "one fixed ordered partition ({1, 2}, {0, 3})"),
    ([[1, 1], [4, 4]], None, [False, True, True], "no reshuffle between epochs"),
    ([[1, 4], [1, 4]], None, [True, False, True], "shared by every chain"),
    ([[1, 4], [2, 5]], None, [True, False, False], "not uniform"),
    ([[1, 4], [2, 5]], None, [False, False, False], be.RESHUFFLING),
])
def test_the_law_found_is_named(cells: list[list[int]], declared: bool | None, rejected: list[bool],
                                law: str) -> None:
    array = np.array(cells)
    assert law in be._law_found(array, array < 0, declared, rejected)


@pytest.mark.parametrize(("component", "bug", "law"), [
    ("sampler", "with_replacement_undeclared", "law found: with replacement (undeclared); its one-epoch mean follows "
                                               "GD's modified flow"),
    ("sampler", "shuffles_once", "law found: no reshuffle between epochs"),
    ("sampler", "fixed_seed", "law found: one fixed ordered partition"),
    ("reduction", "summed", "order of the one-epoch error of mean SGD to the gradient flow of L"),
])
def test_each_wrong_component_fails_and_the_message_names_why(component: str, bug: str, law: str) -> None:
    result = run_check(CLAIM, "--impl", mutant(component, bug))
    assert result["outcome"] == "failed", result["message"]
    assert law in result["message"]


def test_a_sampler_whose_chains_share_their_permutations_fails() -> None:
    result = run_check(CLAIM, "--impl", f"sampler={__file__}:shared_across_chains")
    assert result["outcome"] == "failed", result["message"]
    assert "shared by every chain" in result["message"]


def test_torch_samplers() -> None:
    """RandomSampler passes; with replacement and in sequential order it fails, naming the law it follows."""
    require_torch()
    passed = run_check(CLAIM, "--impl", "sampler=torch:torch.utils.data:RandomSampler")
    assert passed["outcome"] == "passed", passed["message"]
    replacement = run_check(CLAIM, "--impl", "sampler=torch:torch.utils.data:RandomSampler(replacement=True)")
    assert replacement["outcome"] == "failed"
    assert "law found: with replacement (declared replacement = True)" in replacement["message"]
    sequential = run_check(CLAIM, "--impl", "sampler=torch:torch.utils.data:SequentialSampler")
    assert sequential["outcome"] == "failed"
    assert "law found: one fixed ordered partition ({0, 1}, {2, 3}) for every chain and epoch" in sequential["message"]
