"""The training loop's components under test: adapters from the suite's calls to each SPEC form of the ``sampler``,
``reduction``, ``schedule`` and ``averaging`` families, behind their contract guard (:class:`impl.Guard`).

The suite runs the loop (README, "The training loop under test"): per step it takes the sampler's next minibatch
``(chains, b_k)``, forms the per-sample gradients ``(chains, b_k, d)``, hands them to the reduction, takes the step
with the ``sgd`` implementation at the schedule's step size, and hands the new iterate to the averaging. NumPy forms
are batch-first over chains; torch's samplers are per sequence, so the suite keeps one sampler object per chain and
iterates it once per epoch (a loop over chains in Python: size the chains of a torch run accordingly).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from sgd_conformance.checks.harness.impl import ContractError, Guard
from sgd_conformance.solvers._xp import asarray, is_numpy, namespace, to_numpy


def _accepts(target: Callable[..., Any], name: str) -> bool:
    """Whether ``target`` takes a keyword ``name`` (or any keyword)."""
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def _on_host(guard: Guard, xp: Any) -> bool:
    return not guard.impl.form.on_backend and not is_numpy(xp)


class Sampler:
    """Epochs of minibatch indices from the user's sampler for ``chains`` independent chains over ``n`` samples.

    :meth:`epoch` returns the epoch as NumPy integer arrays ``(chains, b_k)``, checked (a sequence of non-empty
    integer arrays of that shape, every index in [0, n)); :meth:`steps` chains epochs into one stream of steps.
    ``rng`` is the check's NumPy stream; a torch sampler gets one ``torch.Generator`` per chain seeded from it.
    """

    def __init__(self, guard: Guard, *, n: int, batch_size: int, chains: int, rng: np.random.Generator,
                 context: str = "") -> None:
        self.guard, self.n, self.batch_size, self.chains, self.rng = guard, n, batch_size, chains, rng
        self.context = context
        self.epochs = 0
        self._torch: list[Any] | None = None

    @property
    def declared_replacement(self) -> bool | None:
        """The law the sampler declares through a ``replacement`` attribute (torch's ``RandomSampler`` has one; a
        NumPy sampler may set ``fn.replacement``), or None where it declares none."""
        if self.guard.impl.form.arrays == "torch":
            self._start_torch()
            value = getattr(self._torch[0], "replacement", None) if self._torch else None
        else:
            target = self.guard.impl.target
            value = getattr(target, "replacement", getattr(getattr(target, "func", None), "replacement", None))
        return None if value is None else bool(value)

    def epoch(self) -> list[np.ndarray]:
        """The next epoch of every chain, checked."""
        if self.guard.impl.form.arrays == "torch":
            self._start_torch()
            raw = self.guard.call(self._torch_epoch, (), {}, result_like=None, inputs={}, finite=False,
                                  context=self.context, returns_array=False)
        else:
            raw = self.guard.call(self.guard.impl.target, (self.n, self.batch_size, self.rng, self.chains), {},
                                  result_like=None, inputs={}, finite=False, context=self.context,
                                  returns_array=False)
        batches = self._checked(raw)
        self.epochs += 1
        return batches

    def steps(self) -> Iterator[np.ndarray]:
        """The minibatches step after step, epoch after epoch (without end)."""
        while True:
            yield from self.epoch()

    def _checked(self, raw: Any) -> list[np.ndarray]:
        name, where = self.guard.impl.name, f"in epoch {self.epochs}"
        try:
            batches = [np.asarray(b) for b in raw]
        except TypeError:
            raise ContractError(f"{name} returned {type(raw).__name__} {where}; expected a sequence of index arrays "
                                f"of shape (chains, b_k) = ({self.chains}, b_k)") from None
        if not batches:
            raise ContractError(f"{name} returned an empty epoch {where}")
        for k, batch in enumerate(batches):
            if batch.ndim != 2 or batch.shape[0] != self.chains or batch.shape[1] < 1:
                raise ContractError(f"{name} returned batch {k} of shape {batch.shape} {where}; expected (chains, b_k) "
                                    f"= ({self.chains}, b_k), b_k >= 1")
            if not np.issubdtype(batch.dtype, np.integer):
                raise ContractError(f"{name} returned batch {k} of dtype {batch.dtype} {where}; expected integers")
            if batch.min() < 0 or batch.max() >= self.n:
                bad = int(batch.min() if batch.min() < 0 else batch.max())
                raise ContractError(f"{name} returned index {bad} in batch {k} {where}; expected 0 <= index < "
                                    f"n = {self.n}")
        return batches

    def _start_torch(self) -> None:
        """One sampler per chain, each with a ``torch.Generator`` seeded from the check's stream."""
        if self._torch is not None:
            return
        import torch

        target = self.guard.impl.target
        seeds = self.rng.integers(2**62, size=self.chains)
        keywords: dict[str, Any] = {}
        self._batched = _accepts(target, "batch_size")
        if self._batched:
            keywords["batch_size"] = self.batch_size
        with_generator = _accepts(target, "generator")

        def build() -> list[Any]:
            return [target(range(self.n), **keywords,
                           **({"generator": torch.Generator().manual_seed(int(s))} if with_generator else {}))
                    for s in seeds]

        self._torch = self.guard.call(build, (), {}, result_like=None, inputs={}, finite=False, context=self.context,
                                      returns_array=False)

    def _torch_epoch(self) -> list[np.ndarray]:
        """Iterate every chain's sampler once (batched by torch's ``BatchSampler(drop_last=False)`` unless it yields
        batches itself) and stack the chains' k-th batches; the chains must agree on the batch sizes."""
        from torch.utils.data import BatchSampler

        assert self._torch is not None
        epochs = []
        for sampler in self._torch:
            source = sampler if self._batched else BatchSampler(sampler, self.batch_size, drop_last=False)
            epochs.append([np.asarray(list(batch) if not hasattr(batch, "tolist") else batch.tolist())
                           for batch in source])
        sizes = {tuple(b.size for b in epoch) for epoch in epochs}
        if len(sizes) != 1:
            raise ContractError(f"{self.guard.impl.name}: the chains' epochs have different batch sizes "
                                f"({sorted(sizes)[:2]} ...) in epoch {self.epochs}")
        return [np.stack([epoch[k] for epoch in epochs]) for k in range(len(epochs[0]))]


class Reduction:
    """The user's reduction of per-sample gradients ``(chains, b_k, d)`` to the minibatch gradient ``(chains, d)``."""

    def __init__(self, guard: Guard, *, batch_size: int, context: str = "") -> None:
        self.guard, self.batch_size, self.context = guard, batch_size, context

    def gradient(self, per_sample: Any) -> Any:
        xp = namespace(per_sample)
        host = _on_host(self.guard, xp)
        values = to_numpy(per_sample) if host else per_sample
        out = self.guard.call(self.guard.impl.target, (values, self.batch_size), {}, result_like=values[:, 0, :],
                              inputs={"per_sample_grads": values}, finite=True, context=self.context)
        return asarray(out, xp) if host else out


class Schedule:
    """The user's step-size schedule for the inverse-power law ``lr_k = lr0 (1 + k/k0)^-power``: :meth:`values`
    reads ``lr_0 .. lr_(steps-1)`` (NumPy form: ``fn(k, lr0=, k0=, power=)``; torch form: the scheduler
    ``fn(optimizer, k0=, power=)`` on ``torch.optim.SGD(lr=lr0)``, read from the optimizer's param group before each
    ``optimizer.step()``, then ``scheduler.step()``, as torch's training loop does)."""

    def __init__(self, guard: Guard, *, lr0: float, k0: float, power: float, context: str = "") -> None:
        self.guard, self.lr0, self.k0, self.power, self.context = guard, lr0, k0, power, context

    def values(self, steps: int) -> np.ndarray:
        reader = self._torch_values if self.guard.impl.form.arrays == "torch" else self._numpy_values
        raw = self.guard.call(reader, (steps,), {}, result_like=None, inputs={}, finite=False, context=self.context,
                              returns_array=False)
        try:
            values = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            raise ContractError(f"{self.guard.impl.name} returned step sizes that are not numbers") from None
        bad = np.flatnonzero(~np.isfinite(values) | (values <= 0))
        if bad.size:
            raise ContractError(f"{self.guard.impl.name} returned lr_{bad[0]} = {float(values[bad[0]])!r}; "
                                "expected a finite positive step size")
        return values

    def _numpy_values(self, steps: int) -> list[float]:
        target = self.guard.impl.target
        return [float(target(k, lr0=self.lr0, k0=self.k0, power=self.power)) for k in range(steps)]

    def _torch_values(self, steps: int) -> list[float]:
        import torch

        parameter = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        optimizer = torch.optim.SGD([parameter], lr=self.lr0)
        scheduler = self.guard.impl.target(optimizer, k0=self.k0, power=self.power)
        values = []
        for _ in range(steps):
            values.append(float(optimizer.param_groups[0]["lr"]))
            optimizer.step()
            scheduler.step()
        return values


class Averager:
    """The user's running average of the iterates handed to :meth:`update` (NumPy form ``fn(avg, theta, k)``, k the
    number of iterates already averaged, ``avg`` a copy of ``theta`` at k = 0; torch form ``fn(module) ->
    AveragedModel`` over a module holding the chains' parameters, updated by ``update_parameters``)."""

    def __init__(self, guard: Guard, *, context: str = "") -> None:
        self.guard, self.context = guard, context
        self.count = 0
        self.average: Any = None
        self._module: Any = None
        self._averaged: Any = None

    def update(self, theta: Any) -> Any:
        """Include ``theta`` ``(chains, d)``; return the average of every iterate included so far."""
        xp = namespace(theta)
        if self.guard.impl.form.arrays == "torch":
            values = to_numpy(theta)
            out = self.guard.call(self._torch_update, (values,), {}, result_like=values, inputs={"theta": values},
                                  finite=True, context=self.context)
            self.average = asarray(out, xp)
        else:
            host = _on_host(self.guard, xp)
            value = to_numpy(theta) if host else theta
            previous = (value * 1.0) if self.average is None else (to_numpy(self.average) if host else self.average)
            out = self.guard.call(self.guard.impl.target, (previous, value, self.count), {}, result_like=value,
                                  inputs={"avg": previous, "theta": value}, finite=True, context=self.context)
            self.average = asarray(out, xp) if host else out
        self.count += 1
        return self.average

    def _torch_update(self, theta: np.ndarray) -> np.ndarray:
        import torch

        if self._module is None:
            self._module = torch.nn.Module()
            self._module.theta = torch.nn.Parameter(torch.tensor(theta, dtype=torch.float64))
            self._averaged = self.guard.impl.target(self._module)
        with torch.no_grad():
            self._module.theta.copy_(torch.as_tensor(theta))
        self._averaged.update_parameters(self._module)
        averaged = dict(self._averaged.module.named_parameters()).get("theta")
        if averaged is None:
            raise ContractError(f"{self.guard.impl.name}: the averaged model has no parameter 'theta' (its module "
                                "must be a copy of the module it averages)")
        return np.array(averaged.detach().numpy())
