"""Exact numeric oracles: the answers the checks compare with, computed from the theory for the test problems
(closed forms, exact finite-step laws and moments, quadratures). They may use NumPy, SciPy and mpmath; the symbolic
derivations they evaluate live in :mod:`sgd_conformance.theory`."""
