"""The implementation contract, checked cheaply and first: shapes, dtype, purity, determinism, use of ``rng``/``dW``.

These are the suite's own requirements (README, "Validate your implementation"), not claims of the theory; a
breach found here would otherwise surface, less clearly, inside a deep check. Shapes include ``chains = 1`` and
``d = 1``; the guard (:mod:`sgd_conformance.checks.harness.impl`) turns a wrong shape or dtype, NaN, a mutated input
or an exception into an error naming what the implementation did.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.harness.impl import Runner
from sgd_conformance.solvers._xp import asarray, to_numpy

SHAPES = ((1, 1), (1, 3), (5, 1), (4, 2))
LR = 0.1


def _inputs(run: ClaimRun, chains: int, d: int) -> tuple[Any, Any]:
    """Standard normal ``(theta, grad)`` (or ``(x, unused)``) of shape ``(chains, d)`` on the run's backend."""
    rng = run.stream("inputs", chains, d, on_backend=False)
    return asarray(rng.standard_normal((chains, d)), run.xp), asarray(rng.standard_normal((chains, d)), run.xp)


@claim(
    "contract.sgd", family="sgd",
    statement="An sgd implementation fn(theta, grad, lr) returns a new float64 array of shape (chains, d) for any "
              "chains >= 1 and d >= 1, computed in float64 arithmetic, leaves its inputs unchanged, and is a function "
              "of its inputs (the same call twice gives the same result: no hidden state between calls).",
    hypotheses=f"shapes (chains, d) in {list(SHAPES)}; lr = {LR}; standard normal theta and grad.",
    source="the suite's contract (README: Validate your own implementation)",
    mutants=("gd_hidden_momentum", "mutates_input", "float32_arithmetic"),
)
def sgd_implementation_honours_the_contract(run: ClaimRun) -> None:
    """One step twice on the same inputs, at every shape: bitwise the same result."""
    decisions = []
    for chains, d in SHAPES:
        theta, grad = _inputs(run, chains, d)
        first = to_numpy(Runner(run.impl, lr=LR).step(theta, grad))
        second = to_numpy(Runner(run.impl, lr=LR).step(theta, grad))
        decisions.append(stats.identity(f"the same call twice gives the same result ((chains, d) = ({chains}, {d}))",
                                        second, first, rtol=0.0, test="bitwise repeat of one step"))
    run.verdict(*decisions)


@claim(
    "contract.sgld", family="sgld",
    statement="An sgld implementation fn(theta, grad, lr, temperature, rng) returns a new float64 array of shape "
              "(chains, d) for any chains >= 1 and d >= 1, leaves its inputs unchanged, draws its noise from rng "
              "(the same seed gives the same result, another seed another result), and at temperature 0 is the "
              "gradient step theta - lr grad.",
    hypotheses=f"shapes (chains, d) in {list(SHAPES)}; lr = {LR}; temperature 0.5 and 0.",
    source="the suite's contract (README: Validate your own implementation); at temperature 0 the SGLD step is the "
           "gradient step (Welling & Teh, ICML 2011)",
    mutants=("sgld_global_rng", "sgld_in_place"),
)
def sgld_implementation_honours_the_contract(run: ClaimRun) -> None:
    """Same rng seed, same step; another seed, another step; temperature 0, the gradient step."""
    decisions = []
    for chains, d in SHAPES:
        theta, grad = _inputs(run, chains, d)
        shape = f"(chains, d) = ({chains}, {d})"

        first, again, other, cold = (
            to_numpy(Runner(run.impl, lr=LR, temperature=temperature,
                            rng=run.noise(shape, stream)).step(theta, grad))
            for stream, temperature in (("a", 0.5), ("a", 0.5), ("b", 0.5), ("a", 0.0)))
        decisions.append(stats.identity(f"same rng seed, same result ({shape})", again, first, rtol=0.0,
                                        test="bitwise repeat with an identically seeded generator"))
        decisions.append(stats.agreement(f"another rng seed changes the result ({shape})",
                                         bool(np.any(other != first)), True,
                                         test="noise must come from the rng argument, not a global generator"))
        gradient_step = to_numpy(theta) - LR * to_numpy(grad)
        decisions.append(stats.identity(f"temperature 0 gives theta - lr grad ({shape})", cold,
                                        gradient_step, rtol=1e-12, atol=1e-12,
                                        test="degenerate limit T = 0, rtol 1e-12"))
    run.verdict(*decisions)


@claim(
    "contract.sde", family="sde",
    statement="An sde implementation fn(x, t, dt, drift, diffusion, dW) returns a new float64 array of shape "
              "(chains, d) for any chains >= 1, d >= 1 and noise dimension m (diffusion (chains, d, m), dW (chains, "
              "m)), leaves its inputs unchanged, is a function of its inputs, and uses the increment dW it is given.",
    hypotheses=f"shapes (chains, d) in {list(SHAPES)} with m = d + 1; linear drift -x and diffusion "
               "sigma_ij(x) = 0.3 (1 + x_i) for every j; dt = 0.01.",
    source="the suite's contract (README: Validate your own implementation)",
    mutants=("em_in_place", "ignores_increments"),
)
def sde_implementation_honours_the_contract(run: ClaimRun) -> None:
    """One step twice on the same inputs (bitwise the same), and once on another increment (a different result)."""
    decisions = []
    dt = 0.01

    def drift(x: Any, t: float) -> Any:
        return -x

    for chains, d in SHAPES:
        m = d + 1
        x, _ = _inputs(run, chains, d)
        rng = run.stream("dW", chains, d, on_backend=False)
        dW, other_dW = (asarray(rng.standard_normal((chains, m)) * np.sqrt(dt), run.xp) for _ in range(2))
        ones = asarray(np.ones((1, 1, m)), run.xp)

        def diffusion(state: Any, t: float, ones: Any = ones) -> Any:
            return 0.3 * (1.0 + state[:, :, None]) * ones

        shape = f"(chains, d, m) = ({chains}, {d}, {m})"
        step = Runner(run.impl).sde_step
        first, again = (to_numpy(step(x, 0.0, dt, drift, diffusion, dW)) for _ in range(2))
        other = to_numpy(step(x, 0.0, dt, drift, diffusion, other_dW))
        decisions.append(stats.identity(f"the same call twice gives the same result ({shape})", again, first,
                                        rtol=0.0, test="bitwise repeat of one step"))
        decisions.append(stats.agreement(f"another Brownian increment changes the result ({shape})",
                                         bool(np.any(other != first)), True,
                                         test="the scheme must be driven by the dW supplied by the suite"))
    run.verdict(*decisions)
