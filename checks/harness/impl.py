"""Implementations under test: resolving ``--impl FAMILY=SPEC``, adapters, and the contract guard.

SPEC forms: ``MODULE:ATTR`` or ``path/to/file.py:ATTR`` (NumPy form), ``torch:MODULE:ATTR`` (a PyTorch
optimizer, sampler, scheduler or averaging factory), each optionally with literal keyword arguments bound to ATTR
(``torch:torch.optim:SGD(momentum=0.9)``). The contract (README, "Validate your implementation"):

- ``sgd``:  ``fn(theta, grad, lr) -> theta_next``; torch: ``fn(params, lr=lr) -> Optimizer``.
- ``sgld``: ``fn(theta, grad, lr, temperature, rng) -> theta_next``; torch: ``fn(params, lr=lr, temperature=T)``.
- ``sde``:  ``fn(x, t, dt, drift, diffusion, dW) -> x_next`` (one Itô step).
- The training loop's components (:mod:`sgd_conformance.checks.harness.loop` calls them):
  ``sampler``: ``fn(n, batch_size, rng, chains) -> [index arrays (chains, b_k)]`` (one epoch); torch:
  ``fn(data_source[, generator=g]) -> Sampler`` (batched by ``BatchSampler(drop_last=False)`` unless it takes
  ``batch_size`` and yields batches itself);
  ``reduction``: ``fn(per_sample_grads, batch_size) -> grad`` (``(chains, b_k, d) -> (chains, d)``);
  ``schedule``: ``fn(k, lr0=, k0=, power=) -> lr_k``; torch: ``fn(optimizer, k0=, power=) -> LRScheduler``;
  ``averaging``: ``fn(avg, theta, k) -> avg_next``; torch: ``fn(module) -> AveragedModel``.

Arrays are float64, batch-first ``(chains, d)``, and the arithmetic is float64; inputs must not be mutated. The
:class:`Guard` turns every breach (raising, wrong type/shape/dtype, float32 arithmetic behind a float64 result, NaN/inf
where the chain is stable, mutating an input, exceeding the check's time budget) into a :class:`ContractError` whose
message names what the implementation did.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import inspect
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import numpy as np

from sgd_conformance.checks.harness.claims import IMPL_FAMILIES
from sgd_conformance.solvers import sde as sde_schemes
from sgd_conformance.solvers import sgd as sgd_reference
from sgd_conformance.solvers import sgld as sgld_reference
from sgd_conformance.solvers import training_loop
from sgd_conformance.solvers._xp import asarray, is_numpy, namespace, to_numpy

REFERENCE: dict[str, Callable[..., Any]] = {
    "sgd": sgd_reference.gd_step, "sgld": sgld_reference.sgld_step, "sde": sde_schemes.euler_maruyama,
    "sampler": training_loop.shuffled_epoch, "reduction": training_loop.mean_reduction,
    "schedule": training_loop.inverse_power, "averaging": training_loop.uniform_average}
#: families with a torch form (``torch:MODULE:ATTR``): optimizers, and the loop components torch has
TORCH_FAMILIES = ("sgd", "sgld", "sampler", "schedule", "averaging")


class UsageError(Exception):
    """A SPEC that cannot be used (bad syntax, import failure, missing or non-callable ATTR)."""


class ContractError(Exception):
    """The implementation broke the contract (reported as outcome ``error``)."""


@dataclass(frozen=True)
class Form:
    """How the suite calls an implementation: the SPEC form it was given in, as declared properties.

    ``arrays`` is the array kind it takes: ``backend`` (any array-API namespace, so it runs on the suite's backend),
    ``numpy`` (NumPy arrays: the suite copies to and from the host when the backend is not NumPy) or ``torch``;
    ``optimizer`` says that the target is an optimizer factory (``fn(params, lr=..., [temperature=...])``) rather
    than a step function.
    """

    name: str
    arrays: str
    optimizer: bool = False

    @property
    def on_backend(self) -> bool:
        """Whether it takes the backend's arrays (and generators) as they are."""
        return self.arrays == "backend"


REFERENCE_FORM = Form("reference", arrays="backend")
NUMPY_FORM = Form("numpy", arrays="numpy")
TORCH_FORM = Form("torch", arrays="torch", optimizer=True)
#: a torch factory of a training-loop component (a sampler, scheduler or averaged model), not an optimizer
TORCH_COMPONENT_FORM = Form("torch", arrays="torch")


@dataclass(frozen=True)
class Implementation:
    """A resolved implementation: its family, the SPEC it came from, its :class:`Form` and the callable."""

    family: str
    spec: str
    form: Form
    target: Callable[..., Any]

    @property
    def name(self) -> str:
        return self.spec


def reference(family: str) -> Implementation:
    """The suite's own solver for ``family``."""
    return Implementation(family, "reference", REFERENCE_FORM, REFERENCE[family])


def parse_option(option: str) -> tuple[str, str]:
    """Split ``FAMILY=SPEC``."""
    family, sep, spec = option.partition("=")
    if not sep or not spec:
        raise UsageError(f"--impl {option!r}: expected FAMILY=SPEC, e.g. sgd=mylib.optim:step")
    if family not in IMPL_FAMILIES:
        raise UsageError(f"--impl {option!r}: unknown family {family!r}; expected one of {', '.join(IMPL_FAMILIES)}")
    return family, spec


def resolve(family: str, spec: str) -> Implementation:
    """Import ``spec`` for ``family``; :class:`UsageError` with one clear line if that is impossible. A SPEC may end
    in keyword arguments, ``ATTR(name=literal, ...)``, which are bound to ATTR (:func:`split_arguments`)."""
    base, kwargs = split_arguments(family, spec)
    found = _resolve(family, base)
    if not kwargs:
        return found
    _check_keywords(found.target, kwargs, family, spec)
    return Implementation(family, spec, found.form, functools.partial(found.target, **kwargs))


def split_arguments(family: str, spec: str) -> tuple[str, dict[str, Any]]:
    """``(SPEC without arguments, keyword arguments)`` of ``MODULE:ATTR(name=value, ...)``. The values must be Python
    literals (numbers, strings, booleans, None, tuples, lists, dicts: :func:`ast.literal_eval`); positional arguments,
    expressions and names are usage errors, so a SPEC never runs code of its own."""
    match = re.fullmatch(r"(?P<base>.*?:[A-Za-z_]\w*)\((?P<args>.*)\)", spec, flags=re.S)
    if match is None:
        if re.search(r":[A-Za-z_]\w*\(", spec):
            raise UsageError(f"--impl {family}={spec}: the arguments must close the SPEC: ATTR(name=value, ...)")
        return spec, {}
    try:
        call = ast.parse(f"f({match['args']})", mode="eval").body
    except SyntaxError as exc:
        raise UsageError(f"--impl {family}={spec}: cannot parse the arguments ({exc.msg})") from None
    if not isinstance(call, ast.Call) or call.args or any(k.arg is None for k in call.keywords):
        raise UsageError(f"--impl {family}={spec}: give keyword arguments only, e.g. ATTR(momentum=0.9)")
    kwargs: dict[str, Any] = {}
    for keyword in call.keywords:
        try:
            kwargs[str(keyword.arg)] = ast.literal_eval(keyword.value)
        except ValueError:
            raise UsageError(f"--impl {family}={spec}: the value of {keyword.arg!r} is not a literal "
                             f"({ast.unparse(keyword.value)})") from None
    return match["base"], kwargs


def _check_keywords(target: Callable[..., Any], kwargs: dict[str, Any], family: str, spec: str) -> None:
    """A keyword that ATTR does not take is a usage error (where ATTR's signature can be read)."""
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return
    try:
        signature.bind_partial(**kwargs)
    except TypeError as exc:
        raise UsageError(f"--impl {family}={spec}: {exc}") from None


def _resolve(family: str, spec: str) -> Implementation:
    if spec.startswith("torch:"):
        if family not in TORCH_FAMILIES:
            raise UsageError(f"--impl {family}={spec}: the {family} family has no torch form; give MODULE:ATTR")
        module_name, sep, attr = spec[len("torch:"):].rpartition(":")
        if not sep or not module_name:
            raise UsageError(f"--impl {family}={spec}: expected torch:MODULE:ATTR, e.g. torch:torch.optim:SGD")
        try:
            import torch  # noqa: F401
        except ImportError:
            raise UsageError(f"--impl {family}={spec}: PyTorch is not installed "
                             "(pip install 'sgd-conformance[torch]')") from None
        module = (_import_file(module_name, family, spec) if module_name.endswith(".py")
                  else _import_module(module_name, family, spec))
        form = TORCH_FORM if family in ("sgd", "sgld") else TORCH_COMPONENT_FORM
        return Implementation(family, spec, form, _attribute(module, attr, family, spec))
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        raise UsageError(f"--impl {family}={spec}: expected MODULE:ATTR or path/to/file.py:ATTR")
    module = _import_file(target, family, spec) if target.endswith(".py") else _import_module(target, family, spec)
    return Implementation(family, spec, NUMPY_FORM, _attribute(module, attr, family, spec))


def _import_module(name: str, family: str, spec: str) -> ModuleType:
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - any import failure is a usage error
        raise UsageError(f"--impl {family}={spec}: cannot import {name!r}: {type(exc).__name__}: {exc}") from None


def _import_file(path: str, family: str, spec: str) -> ModuleType:
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"--impl {family}={spec}: no such file {path!r}")
    module_name = f"_sgd_conformance_impl_{family}_{file.stem}"
    loader_spec = importlib.util.spec_from_file_location(module_name, file)
    if loader_spec is None or loader_spec.loader is None:
        raise UsageError(f"--impl {family}={spec}: cannot load {path!r} as a Python module")
    module = importlib.util.module_from_spec(loader_spec)
    try:
        loader_spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001
        raise UsageError(f"--impl {family}={spec}: importing {path!r} raised {type(exc).__name__}: {exc}") from None
    return module


def _attribute(module: ModuleType, attr: str, family: str, spec: str) -> Callable[..., Any]:
    try:
        target = getattr(module, attr)
    except AttributeError:
        raise UsageError(f"--impl {family}={spec}: module {module.__name__!r} has no attribute {attr!r}") from None
    if not callable(target):
        raise UsageError(f"--impl {family}={spec}: {attr!r} is a {type(target).__name__}, not callable")
    return cast("Callable[..., Any]", target)


class _Timeout(BaseException):
    """Raised by the alarm inside an implementation call (BaseException: not swallowed by `except Exception`)."""


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (SIGALRM; main thread only, else measured after the fact)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-3))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Guard:
    """Calls one implementation under the contract, for one check, within ``budget_s`` seconds in total."""

    impl: Implementation
    budget_s: float
    profile: str
    spent_s: float = 0.0
    calls: int = 0
    precision_known: bool = False

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], *, result_like: Any,
             inputs: dict[str, Any], finite: bool, context: str, returns_array: bool = True) -> Any:
        """Call ``fn`` (the implementation, or an adapter around it) with ``args``; check purity, type,
        shape, dtype and finiteness of the result; count the time against the budget."""
        __tracebackhide__ = True
        name = self.impl.name
        remaining = self.budget_s - self.spent_s
        if remaining <= 0:
            raise ContractError(f"{name} did not finish within {self.budget_s:.0f} s (profile {self.profile}); stopped")
        copies = {k: v.copy() for k, v in inputs.items()}
        start = time.perf_counter()
        try:
            with _alarm(remaining):
                result = fn(*args, **kwargs)
        except _Timeout:
            raise ContractError(f"{name} did not return within {self.budget_s:.0f} s in total "
                                f"(profile {self.profile}; at step {self.calls}); stopped") from None
        except Exception as exc:
            where = f" ({context})" if context else ""
            raise ContractError(f"{name} raised {type(exc).__name__}({str(exc)!r}) at step {self.calls}{where}") \
                from exc
        finally:
            self.spent_s += time.perf_counter() - start
        for key, before in copies.items():
            after = inputs[key]
            if after.shape != before.shape or not bool(_xp_all_equal(after, before)):
                change = float(np.nanmax(np.abs(to_numpy(after) - to_numpy(before)))) if after.shape == before.shape \
                    else float("nan")
                raise ContractError(f"{name} modified its input {key} in place (max |change| = {change:.3g}) "
                                    f"at step {self.calls}; return a new array")
        if returns_array:
            self._check_result(result, result_like, finite, context)
            self._check_precision(result, inputs)
            self.calls += 1
        return result

    def _check_precision(self, result: Any, inputs: dict[str, Any]) -> None:
        """float64 arithmetic, probed once: on the first call where no entry of any input is a float32 number (generic
        float64 inputs: a structured start such as theta_0 = (1, 0) waits for a later step), a result whose every
        entry is a float32 number (cast to float64) was computed in float32; a float64 computation that depends on
        its inputs gives one with probability about 2^-29 per entry."""
        if self.precision_known or not inputs or result.shape[0] * result.shape[-1] < 2:
            return
        if not all(bool(_none_float32_valued(v)) for v in inputs.values()):
            return
        self.precision_known = True
        if bool(_is_float32_valued(result)):
            raise ContractError(f"{self.impl.name} computes in float32: every entry of its result at step {self.calls} "
                                "is a float32 number cast to float64 although its float64 inputs are not; the contract "
                                "requires float64 arithmetic throughout")

    def _check_result(self, result: Any, like: Any, finite: bool, context: str) -> None:
        name = self.impl.name
        if not hasattr(result, "shape") or not hasattr(result, "dtype"):
            raise ContractError(f"{name} returned {type(result).__name__} at step {self.calls}; expected an array "
                                f"of shape (chains, d) = {tuple(like.shape)}")
        if tuple(result.shape) != tuple(like.shape):
            raise ContractError(f"{name} returned shape {tuple(result.shape)} for an input of shape "
                                f"{tuple(like.shape)} at step {self.calls}; expected (chains, d) = {tuple(like.shape)}")
        if str(result.dtype) != "float64":
            raise ContractError(f"{name} returned dtype {result.dtype} at step {self.calls}; expected float64")
        if finite and not bool(namespace(result).all(namespace(result).isfinite(result))):
            bad = ~np.isfinite(to_numpy(result))  # only on a breach: the host copy names the chains
            if bad.any():
                rows = np.flatnonzero(bad.any(axis=-1))
                raise ContractError(f"{name} returned NaN/inf in {rows.size} of {result.shape[0]} chains at step "
                                    f"{self.calls} (first: chain {rows[0]}); {context}")


def _float32_valued(a: Any) -> Any:
    """Which entries of the float64 array ``a`` are exactly float32 numbers."""
    xp = namespace(a)
    return xp.astype(xp.astype(a, xp.float32), xp.float64) == a


def _is_float32_valued(a: Any) -> Any:
    """Whether every entry of the float64 array ``a`` is exactly a float32 number."""
    return namespace(a).all(_float32_valued(a))


def _none_float32_valued(a: Any) -> Any:
    """Whether no entry of the float64 array ``a`` is a float32 number."""
    return not bool(namespace(a).any(_float32_valued(a)))


def _xp_all_equal(a: Any, b: Any) -> Any:
    xp = namespace(a)
    return xp.all((a == b) | (xp.isnan(a) & xp.isnan(b)))


class Runner:
    """Steps of one implementation inside one check: the adapters from the suite's calls to each SPEC form.

    ``temperature``/``rng`` are fixed for a run, as an optimizer's hyper-parameters are; ``lr`` may be changed
    between steps (a step-size schedule), and a torch optimizer sees it through its ``param_groups``. Torch
    optimizers are created on the first step and keep their state across steps (momentum would show); torch's
    generator is seeded from ``rng`` (the check's stream), so torch runs are reproducible too.
    """

    def __init__(self, guard: Guard, *, lr: float | None = None, temperature: float | None = None,
                 rng: Any = None, finite: bool = True, context: str = "") -> None:
        self.guard, self.lr, self.temperature, self.rng = guard, lr, temperature, rng
        self.finite, self.context = finite, context
        self._param: Any = None
        self._optimizer: Any = None

    @property
    def impl(self) -> Implementation:
        return self.guard.impl

    def step(self, theta: Any, grad: Any) -> Any:
        """One ``sgd`` or ``sgld`` step on a batch of chains ``theta`` with gradients ``grad``."""
        if self.impl.form.optimizer:
            return self._torch_step(theta, grad)
        xp = namespace(theta)
        host = not self.impl.form.on_backend and not is_numpy(xp)
        th, gr = (to_numpy(theta), to_numpy(grad)) if host else (theta, grad)
        extra: tuple[Any, ...] = (self.lr,) if self.impl.family == "sgd" else (self.lr, self.temperature, self.rng)
        out = self.guard.call(self.impl.target, (th, gr, *extra), {}, result_like=th, inputs={"theta": th, "grad": gr},
                              finite=self.finite, context=self.context)
        return asarray(out, xp) if host else out

    def sde_step(self, x: Any, t: float, dt: float, drift: Callable[[Any, float], Any],
                 diffusion: Callable[[Any, float], Any], dW: Any) -> Any:
        """One ``sde`` step over [t, t + dt] with the suite's Brownian increment ``dW``."""
        xp = namespace(x)
        host = not self.impl.form.on_backend and not is_numpy(xp)
        if host:
            x, dW = to_numpy(x), to_numpy(dW)
            drift, diffusion = _host_function(drift, xp), _host_function(diffusion, xp)
        out = self.guard.call(self.impl.target, (x, t, dt, drift, diffusion, dW), {}, result_like=x,
                              inputs={"x": x, "dW": dW}, finite=self.finite, context=self.context)
        return asarray(out, xp) if host else out

    def _torch_step(self, theta: Any, grad: Any) -> Any:
        import torch

        xp = namespace(theta)
        host_theta = to_numpy(theta)
        if self._optimizer is None:
            torch.manual_seed(int(self.rng.integers(2**62)) if self.rng is not None else 0)
            self._param = torch.nn.Parameter(torch.tensor(host_theta, dtype=torch.float64))
            kwargs: dict[str, Any] = {"lr": self.lr}
            if self.impl.family == "sgld":
                kwargs["temperature"] = self.temperature
            self._optimizer = self.guard.call(self.impl.target, ([self._param],), kwargs, result_like=None,
                                              inputs={}, finite=False, context=self.context, returns_array=False)
        for group in self._optimizer.param_groups:
            group["lr"] = self.lr
        with torch.no_grad():
            self._param.copy_(torch.as_tensor(host_theta))
        self._param.grad = torch.tensor(to_numpy(grad), dtype=torch.float64)
        out = self.guard.call(self._torch_optimizer_step, (), {}, result_like=host_theta, inputs={},
                              finite=self.finite, context=self.context)
        return asarray(out, xp)

    def _torch_optimizer_step(self) -> np.ndarray:
        self._optimizer.step()
        return np.array(self._param.detach().numpy())


def _host_function(fn: Callable[[Any, float], Any], xp: ModuleType) -> Callable[[np.ndarray, float], np.ndarray]:
    """A drift/diffusion that accepts and returns NumPy arrays, wrapping one written for ``xp``."""

    def host(x: np.ndarray, t: float) -> np.ndarray:
        return to_numpy(fn(asarray(x, xp), t))

    return host
