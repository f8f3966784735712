"""Wrong ``schedule`` implementations, one bug each (stated in its docstring), and a correct variant.

The contract's NumPy form: ``fn(k, lr0=, k0=, power=) -> lr_k``, the step size of the step from theta_k to
theta_(k+1) under the inverse-power law ``lr0 (1 + k/k0)^-power``.
"""

from __future__ import annotations


def schedule_correct_variant(k: int, lr0: float, k0: float, power: float) -> float:
    """Correct: the same law written as gamma0/(k + k0)^power with gamma0 = lr0 k0^power."""
    gamma0 = lr0 * k0**power
    return gamma0 / (k + k0) ** power


def off_by_one(k: int, lr0: float, k0: float, power: float) -> float:
    """Bug: schedule off by one step (lr_k is the law's lr_(k+1)).

    The scheduler is stepped before the first optimizer step: the first step size is never used."""
    return lr0 * (1 + (k + 1) / k0) ** -power


def square_root_power(k: int, lr0: float, k0: float, power: float) -> float:
    """Bug: decays with half the asked power ((1 + k/k0)^(-power/2)).

    A square root applied twice over: the step sizes decay too slowly."""
    return lr0 * (1 + k / k0) ** (-power / 2)
