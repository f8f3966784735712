r"""Exact moments of SGD on Gaussian least squares, iterated from the moment map derived in
:mod:`sgd_conformance.theory.sgd_moments`.

Online SGD with b fresh samples :math:`x \sim N(0, H)`, :math:`y = x^\top\theta^* + \xi` (:math:`\operatorname{Var}\xi
= s^2`) per step has :math:`M_k = E[(\theta_k - \theta^*)(\theta_k - \theta^*)^\top]` with

.. math:: M_{k+1} = (I - \eta H) M_k (I - \eta H) + \frac{\eta^2}{b}\big(2HM_kH + \operatorname{tr}(HM_k) H - HM_kH
          + s^2 H\big)

(Isserlis' theorem for the fourth moment of x).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sympy as sp

from sgd_conformance.theory import numeric, sgd_moments


def online_least_squares_second_moment(curvatures: Sequence[float], step: float, batch: int, noise: float,
                                       steps: int) -> tuple[float, float, float]:
    """Entries (11, 12, 22) of :math:`M_k` after ``steps`` steps from :math:`M_0 = 0` in d = 2, for
    ``H = diag(curvatures)``, step ``eta``, batch ``b`` and noise variance ``s^2 = noise``."""
    moments = sgd_moments.moment_symbols(2)
    unknowns = (moments[0, 0], moments[0, 1], moments[1, 1])
    args = (*unknowns, *sp.symbols("h_0:2", positive=True), sp.Symbol("eta", positive=True),
            sp.Symbol("b", positive=True, integer=True), sgd_moments.s2)
    step_map = [numeric.compile(sgd_moments.second_moment_step(2)[i, j], args) for i, j in ((0, 0), (0, 1), (1, 1))]
    exact = (0.0, 0.0, 0.0)
    for _ in range(steps):
        exact = tuple(float(f(np, *exact, *curvatures, step, batch, noise)) for f in step_map)
    return exact
