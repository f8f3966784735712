"""torch-form implementations for the ``torch:`` SPECs of the tests: a correct SGLD optimizer, an inverse-power
schedule as ``LambdaLR``, and an EMA ``AveragedModel`` (the uniform average's wrong twin)."""

from __future__ import annotations

import math
from typing import Any

import torch


class SGLD(torch.optim.Optimizer):
    r"""SGLD: :math:`\theta \leftarrow \theta - \eta\,g + \sqrt{2\eta T}\,\xi` with torch's global generator."""

    def __init__(self, params: Any, lr: float, temperature: float = 1.0) -> None:
        super().__init__(params, {"lr": lr, "temperature": temperature})

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:
        for group in self.param_groups:
            scale = math.sqrt(2 * group["lr"] * group["temperature"])
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(-group["lr"] * p.grad + scale * torch.randn_like(p))


def inverse_power_lambda_lr(optimizer: torch.optim.Optimizer, k0: float, power: float) -> Any:
    """The inverse-power schedule lr0 (1 + k/k0)^-power as torch's ``LambdaLR`` (factor times the initial lr)."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda k: (1 + k / k0) ** -power)


def ema_averaged_model(module: torch.nn.Module) -> Any:
    """An exponential moving average (decay 0.9) through ``AveragedModel``'s ``multi_avg_fn``: not a uniform
    average."""
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(module, multi_avg_fn=get_ema_multi_avg_fn(0.9))


def scheduler_stepped_at_creation(optimizer: torch.optim.Optimizer, k0: float, power: float) -> Any:
    """Bug: the inverse-power ``LambdaLR`` stepped once when it is created (the schedule runs one step ahead)."""
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda k: (1 + k / k0) ** -power)
    optimizer.step()
    scheduler.step()
    return scheduler
