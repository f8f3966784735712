"""Wrong ``averaging`` implementations, one bug each (stated in its docstring), and a correct variant.

The contract's NumPy form: ``fn(avg, theta, k) -> avg_next``, the uniform (Polyak–Ruppert) mean of the k + 1
iterates handed in so far (``avg`` holds the mean of the k before; at k = 0 a copy of ``theta``).
"""

from __future__ import annotations

import numpy as np


def averaging_correct_variant(avg: np.ndarray, theta: np.ndarray, k: int) -> np.ndarray:
    """Correct: the weighted form (k avg + theta)/(k + 1)."""
    return (k * avg + theta) / (k + 1)


def counts_start_twice(avg: np.ndarray, theta: np.ndarray, k: int) -> np.ndarray:
    """Bug: averaging that counts the start twice.

    The average is initialised with the first iterate and the first iterate is then added again: weights
    2/(k + 2) on theta_0 and 1/(k + 2) on each later iterate."""
    return avg + (theta - avg) / (k + 2)


def ema(avg: np.ndarray, theta: np.ndarray, k: int) -> np.ndarray:
    """Bug: exponential moving average (decay 0.9) in place of a uniform average.

    An EMA forgets: its variance settles at a floor instead of decaying like 1/k."""
    return theta.copy() if k == 0 else 0.9 * avg + 0.1 * theta
