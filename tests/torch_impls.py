"""A correct torch-form SGLD optimizer, for the ``torch:`` SPEC of the ``sgld`` family in tests."""

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
