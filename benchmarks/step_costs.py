"""Where a training step of genad's small MLPs spends its time on CPU: torch's dropout and Adam against genad's.

Usage: python benchmarks/step_costs.py   (one thread; prints microseconds per call and per step)
"""
import time

import torch
from torch import nn
from torch.nn import functional as F

from genad.nn import Dropout, mlp
from genad.training import adam


def microseconds(call, repeats: int = 2000) -> float:
    for _ in range(20):
        call()
    start = time.perf_counter()
    for _ in range(repeats):
        call()
    return (time.perf_counter() - start) / repeats * 1e6


def dropout_costs(rows: int = 512, width: int = 64) -> None:
    x = torch.randn(rows, width, requires_grad=True)
    genad_dropout = Dropout(0.2)
    print(f"dropout on {rows}x{width}: torch F.dropout {microseconds(lambda: F.dropout(x, 0.2, True)):.0f} us, "
          f"genad Dropout {microseconds(lambda: genad_dropout(x)):.0f} us")


def adam_step_costs(rows: int = 1024, features: int = 20) -> None:
    x = torch.randn(rows, features)
    for name, make_optimizer in (("torch Adam (default)", lambda p: torch.optim.Adam(p, lr=1e-3)),
                                 ("genad adam (fused)", lambda p: adam(p, lr=1e-3))):
        torch.manual_seed(0)
        net = nn.Sequential(mlp([features, 64, 32], batch_norm=True), mlp([32, 64, features], batch_norm=True))
        optimizer = make_optimizer(net.parameters())

        def step():
            optimizer.zero_grad()
            (net(x) - x).pow(2).sum(1).mean().backward()
            optimizer.step()

        print(f"ae training step, batch {rows}, {features} features, {name}: {microseconds(step, 500):.0f} us")


if __name__ == "__main__":
    torch.set_num_threads(1)
    dropout_costs()
    adam_step_costs()
