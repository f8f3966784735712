r"""The exact estimation risk of a spectral estimator of linear regression (no Monte Carlo).

For :math:`y = X\beta_0 + \varepsilon`, :math:`\operatorname{Var}\varepsilon_i = \sigma^2`, and an estimator that
shrinks the least-squares solution by :math:`g_i` along the eigenvector :math:`v_i` of :math:`X^\top X/n`
(eigenvalue :math:`s_i`),

.. math:: E\|\hat\beta - \beta_0\|^2 = \sum_i (1 - g_i)^2 (v_i^\top\beta_0)^2 + \frac{\sigma^2}{n}\frac{g_i^2}{s_i}:

bias from the unshrunk signal, variance from the noise. Gradient flow from 0 and ridge regression are two such
filters (:mod:`sgd_conformance.theory.ridge`).
"""

from __future__ import annotations

import numpy as np


def spectral_filter_risk(filters: np.ndarray, eigenvalues: np.ndarray, signal: np.ndarray, noise: float,
                         n: int) -> np.ndarray:
    r"""The risk above for each row of ``filters`` ``(times, directions)``; ``signal`` holds :math:`v_i^\top\beta_0`
    and ``noise`` is :math:`\sigma^2`."""
    return np.sum((1 - filters) ** 2 * signal**2 + noise / n * filters**2 / eigenvalues, axis=1)
