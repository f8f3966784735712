"""The only ``lambdify`` call of the suite: sympy expressions -> array functions for any backend.

A compiled function takes the array namespace first and then its arguments in the order of the symbols
tuple it was compiled with; that order is written into its docstring. Compiled functions are cached per
(expression, symbols, namespace). Numeric parameters are validated against the symbols, with named errors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from types import ModuleType
from typing import Any

import mpmath
import sympy as sp

_FUNCTIONS = ("exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "cosh", "sinh", "arccos", "arctan", "abs")


def _module_mapping(xp: ModuleType) -> dict[str, Any]:
    mapping: dict[str, Any] = {name: getattr(xp, name) for name in _FUNCTIONS if hasattr(xp, name)}
    mapping.update(acos=xp.acos, atan=xp.atan, pi=float(sp.pi), E=float(sp.E))
    return mapping


@cache
def _compile(expr: sp.Expr, args: tuple[sp.Symbol, ...], xp: ModuleType) -> Callable[..., Any]:
    return sp.lambdify(args, expr, modules=[_module_mapping(xp)], cse=True)


def compile(expr: sp.Expr, args: Sequence[sp.Symbol]) -> Callable[..., Any]:
    """``f(xp, *values)`` evaluating ``expr`` with ``values`` bound to ``args`` in that order."""
    args = tuple(args)
    missing = expr.free_symbols - set(args)
    if missing:
        raise ValueError(f"expression {expr} has free symbols {sorted(map(str, missing))} not in {args}")

    def evaluate(xp: ModuleType, *values: Any) -> Any:
        if len(values) != len(args):
            raise TypeError(f"expected {len(args)} values for {tuple(map(str, args))}, got {len(values)}")
        return _compile(expr, args, xp)(*values)

    evaluate.__doc__ = f"Evaluate {expr}; arguments after xp: {', '.join(map(str, args))}."
    return evaluate


def evaluate(expr: sp.Expr, xp: ModuleType | None = None, **values: Any) -> Any:
    """Value of ``expr`` with every free symbol given by name, e.g. ``evaluate(v, eta=0.1, T=0.5, a=2.0)``.

    Without ``xp`` the result is a Python float (NumPy evaluation of scalars).
    """
    names = {str(s): s for s in expr.free_symbols}
    unknown = set(values) - set(names)
    missing = set(names) - set(values)
    if unknown or missing:
        raise ValueError(
            f"parameters do not match the symbols of {expr}: unknown {sorted(unknown)}, missing {sorted(missing)}"
        )
    order = tuple(sorted(names))
    if xp is None:
        import array_api_compat.numpy as xnp

        return float(compile(expr, [names[n] for n in order])(xnp, *(float(values[n]) for n in order)))
    return compile(expr, [names[n] for n in order])(xp, *(values[n] for n in order))


def gradient(loss: sp.Expr, coords: Sequence[sp.Symbol]) -> Callable[[ModuleType, Any], Any]:
    """Batched gradient ``g(xp, theta) -> (chains, d)`` of ``loss`` in the coordinates ``coords``."""
    parts = [compile(sp.diff(loss, c), coords) for c in coords]
    return _stack(parts, len(coords))


def function(expr: sp.Expr, coords: Sequence[sp.Symbol]) -> Callable[[ModuleType, Any], Any]:
    """Batched scalar function ``f(xp, theta) -> (chains,)`` of the coordinates ``coords``."""
    f = compile(expr, coords)

    def batched(xp: ModuleType, theta: Any) -> Any:
        cols = [theta[:, i] for i in range(len(coords))]
        return f(xp, *cols) + xp.zeros(theta.shape[0], dtype=theta.dtype)

    return batched


def _stack(parts: list[Callable[..., Any]], d: int) -> Callable[[ModuleType, Any], Any]:
    def batched(xp: ModuleType, theta: Any) -> Any:
        cols = [theta[:, i] for i in range(d)]
        zeros = xp.zeros(theta.shape[0], dtype=theta.dtype)
        return xp.stack([part(xp, *cols) + zeros for part in parts], axis=-1)

    return batched


def evalf(expr: sp.Expr, dps: int = 30, **values: Any) -> mpmath.mpf:
    """High-precision value of ``expr`` (mpmath), the cross-check for :func:`evaluate`."""
    subs = {s: sp.Float(values[str(s)], dps) for s in expr.free_symbols}
    with mpmath.workdps(dps):
        return mpmath.mpf(sp.N(expr.subs(subs), dps))


def mpmath_callable(expr: sp.Expr, var: sp.Symbol) -> Callable[[mpmath.mpf], mpmath.mpf]:
    """An mpmath callable of one variable, for quadrature at high precision."""
    return sp.lambdify(var, expr, modules="mpmath")
