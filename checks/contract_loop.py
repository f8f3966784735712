"""The contract of the training loop's components (``sampler``, ``reduction``, ``schedule``, ``averaging``), checked
exactly and first: what an epoch is, what a minibatch gradient is, which step size comes at step k, what the running
average holds. README, "The training loop under test", states each; :mod:`sgd_conformance.checks.harness.loop` calls
the components and turns a malformed answer (wrong shape or dtype, an index outside [0, n), an exception, a timeout)
into an error that names it. These are exact identities: a breach is a bug of the component, whatever the seed.
"""

from __future__ import annotations

import math

import numpy as np

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.harness.loop import Averager, Reduction, Sampler, Schedule
from sgd_conformance.solvers._xp import asarray, to_numpy

#: (n, batch size, chains): b divides n, a last partial batch, one batch per epoch, one sample per batch
SAMPLER_SHAPES = ((20, 4, 3), (7, 3, 4), (20, 6, 1), (5, 5, 2), (6, 1, 2))
EPOCHS = 3
#: (chains, b_k, d, nominal batch size): full batches and a partial last batch (b_k < batch size)
REDUCTION_SHAPES = ((1, 1, 1, 1), (3, 4, 2, 4), (3, 2, 2, 4), (5, 1, 3, 6))
#: (lr0, k0, power) of the inverse-power law lr0 (1 + k/k0)^-power
SCHEDULES = ((0.5, 10.0, 0.75), (1.0, 1.0, 0.5), (0.2, 100.0, 1.0))
SCHEDULE_STEPS = 200
AVERAGED_ITERATES = 20


def expected_sizes(n: int, batch: int) -> list[int]:
    """Batch sizes of one epoch: ceil(n/b) batches of b, the last holding the n mod b rest."""
    return [batch] * (n // batch) + ([n % batch] if n % batch else [])


@claim(
    "contract.sampler", family="sampler",
    statement="A sampler fn(n, batch_size, rng, chains) returns one epoch of every chain as integer index arrays "
              "(chains, b_k): ceil(n/b) batches of b, the last holding the n mod b remaining samples (kept, not "
              "dropped or padded); unless it declares replacement = True, every sample exactly once per epoch and "
              "chain; the same rng state gives the same epoch.",
    hypotheses=f"(n, b, chains) in {list(SAMPLER_SHAPES)}; {EPOCHS} epochs each; a replacement attribute (torch's "
               "RandomSampler has one; fn.replacement for a NumPy sampler) declares the law; an undeclared law is "
               "without replacement.",
    source="the suite's contract (README: The training loop under test); random reshuffling as in "
           "torch.utils.data.DataLoader(shuffle=True, drop_last=False)",
    mutants=("with_replacement_undeclared", "drops_last_batch", "pads_last_batch"),
)
def sampler_epoch_visits_every_sample_once(run: ClaimRun) -> None:
    """Batch sizes, the partition of each epoch, and a bitwise repeat from an identically seeded stream."""
    decisions = []
    for n, batch, chains in SAMPLER_SHAPES:
        shape = f"n = {n}, b = {batch}, chains = {chains}"

        def epochs(n: int = n, batch: int = batch, chains: int = chains,
                   shape: str = shape) -> tuple[list[list[np.ndarray]], bool]:
            sampler = Sampler(run.impl, n=n, batch_size=batch, chains=chains, rng=run.stream("epochs", n, batch),
                              context=shape)
            return [sampler.epoch() for _ in range(EPOCHS)], sampler.declared_replacement is True

        drawn, replacement = epochs()
        sizes = [[b.shape[1] for b in epoch] for epoch in drawn]
        decisions.append(stats.agreement(f"batch sizes of each epoch ({shape})", sizes,
                                         [expected_sizes(n, batch)] * EPOCHS,
                                         test="ceil(n/b) batches of b, the last the n mod b rest (not dropped, "
                                              "not padded)"))
        if not replacement:
            visits = [np.sort(np.concatenate(epoch, axis=1), axis=1) for epoch in drawn
                      if sum(b.shape[1] for b in epoch) == n]
            broken = sum(int(np.sum(np.any(v != np.arange(n), axis=1))) for v in visits) + \
                chains * (EPOCHS - len(visits))
            decisions.append(stats.agreement(f"(chain, epoch) pairs that visit some sample twice or never ({shape})",
                                             broken, 0, test="an epoch without replacement is a permutation of "
                                                             "0..n-1"))
        again, _ = epochs()
        decisions.append(stats.agreement(f"the same rng state gives the same epochs ({shape})",
                                         all(np.array_equal(a, b) for x, y in zip(drawn, again, strict=True)
                                             for a, b in zip(x, y, strict=True)), True,
                                         test="bitwise repeat from an identically seeded stream"))
    run.verdict(*decisions)


@claim(
    "contract.reduction", family="reduction",
    statement="A reduction fn(per_sample_grads, batch_size) returns the minibatch gradient (chains, d): the mean of "
              "the per-sample gradients (chains, b_k, d) over the batch's own b_k samples, a partial last batch "
              "(b_k < batch_size) included; its input is left unchanged.",
    hypotheses=f"(chains, b_k, d, batch_size) in {list(REDUCTION_SHAPES)}; standard normal per-sample gradients; "
               "rtol 1e-12.",
    source="the suite's contract (README: The training loop under test); the minibatch gradient (1/|B|) sum_(j in "
           "B) grad l_j of SGD on L = (1/N) sum_i l_i",
    mutants=("summed", "nominal_batch_size"),
)
def reduction_is_the_mean_over_the_batch(run: ClaimRun) -> None:
    decisions = []
    for chains, size, d, batch in REDUCTION_SHAPES:
        values = run.stream("per-sample", chains, size, d, on_backend=False).standard_normal((chains, size, d))
        reduced = to_numpy(Reduction(run.impl, batch_size=batch).gradient(asarray(values, run.xp)))
        decisions.append(stats.identity(f"reduction vs the mean over b_k = {size} samples (chains = {chains}, d = {d}, "
                                        f"batch_size = {batch})", reduced, values.mean(axis=1), rtol=1e-12,
                                        atol=1e-15, test="exact mean, rtol 1e-12"))
    run.verdict(*decisions)


@claim(
    "contract.schedule", family="schedule",
    statement="A schedule fn(k, lr0=, k0=, power=) returns the step size of the step from theta_k to theta_(k+1), "
              "k = 0, 1, ..., of the inverse-power law lr_k = lr0 (1 + k/k0)^-power (= gamma0/(k + k0)^power, "
              "gamma0 = lr0 k0^power); torch form: a scheduler fn(optimizer, k0=, power=) on an optimizer with "
              "lr = lr0, read before each optimizer.step() and stepped after it.",
    hypotheses=f"(lr0, k0, power) in {list(SCHEDULES)}; k = 0 .. {SCHEDULE_STEPS - 1}; rtol 1e-12.",
    source="the suite's contract (README: The training loop under test); Robbins & Monro, Ann. Math. Statist. 1951 "
           "(steps gamma0/(k + k0)^q)",
    mutants=("off_by_one", "square_root_power"),
)
def schedule_gives_the_inverse_power_law(run: ClaimRun) -> None:
    ks = np.arange(SCHEDULE_STEPS)
    decisions = []
    for lr0, k0, power in SCHEDULES:
        values = Schedule(run.impl, lr0=lr0, k0=k0, power=power).values(SCHEDULE_STEPS)
        decisions.append(stats.identity(f"lr_k vs {lr0:g} (1 + k/{k0:g})^-{power:g}, k = 0..{SCHEDULE_STEPS - 1}",
                                        values, lr0 * (1 + ks / k0) ** -power, rtol=1e-12,
                                        test="exact law, rtol 1e-12"))
    run.verdict(*decisions)


@claim(
    "contract.averaging", family="averaging",
    statement="An averaging fn(avg, theta, k) returns the uniform (Polyak–Ruppert) mean of the k + 1 iterates "
              "handed in so far, (theta_0 + ... + theta_k)/(k + 1), where avg holds the mean of the first k (a copy "
              "of theta at k = 0); torch form: an AveragedModel factory, uniform by default; inputs are left "
              "unchanged.",
    hypotheses=f"{AVERAGED_ITERATES} standard normal iterates of shape (chains, d) = (3, 2); rtol 1e-12 after "
               "every update.",
    source="the suite's contract (README: The training loop under test); Polyak & Juditsky, SIAM J. Control Optim. "
           "1992; torch.optim.swa_utils.AveragedModel",
    mutants=("counts_start_twice", "ema"),
)
def averaging_is_the_uniform_mean_of_the_iterates(run: ClaimRun) -> None:
    iterates = run.stream("iterates", on_backend=False).standard_normal((AVERAGED_ITERATES, 3, 2))
    averager = Averager(run.impl)
    averages = np.array([to_numpy(averager.update(asarray(theta, run.xp))) for theta in iterates])
    exact = np.cumsum(iterates, axis=0) / np.arange(1, AVERAGED_ITERATES + 1)[:, None, None]
    worst = int(np.argmax(np.abs(averages - exact).reshape(AVERAGED_ITERATES, -1).max(axis=1)))
    run.verdict(stats.identity(f"average after k + 1 = 1..{AVERAGED_ITERATES} iterates vs their arithmetic mean "
                               f"(largest gap after {worst + 1})", averages, exact, rtol=1e-12,
                               atol=1e-15 * math.sqrt(AVERAGED_ITERATES), test="exact mean, rtol 1e-12"))
