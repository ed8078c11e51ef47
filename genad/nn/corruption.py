"""Input corruption for denoising models: masking noise and additive Gaussian noise.

Used by the denoising autoencoder (:mod:`genad.models.reconstruction.dae`) and by any model that
trains on corrupted copies of its input (e.g. MemStream's denoising feature extractor).
"""
from __future__ import annotations

import torch
from torch import nn

CORRUPTIONS = ("masking", "gaussian")


def corrupt(x: torch.Tensor, kind: str = "masking", level: float = 0.25) -> torch.Tensor:
    """A corrupted copy of ``x``; random draws use torch's global RNG (seed it with ``genad.training.seeded``).

    ``"masking"`` sets each entry to 0 with probability ``level`` (Vincent et al., 2008; on
    standardized data 0 is the feature mean); ``"gaussian"`` adds noise with standard deviation ``level``.
    """
    if kind == "masking":
        keep = torch.rand_like(x) >= level
        return x * keep
    if kind == "gaussian":
        return x + level * torch.randn_like(x)
    raise ValueError(f"unknown corruption {kind!r}; expected one of {CORRUPTIONS}")


class Corruption(nn.Module):
    """Corrupts its input in training mode only; the identity in eval mode."""

    def __init__(self, kind: str = "masking", level: float = 0.25) -> None:
        super().__init__()
        if kind not in CORRUPTIONS:
            raise ValueError(f"unknown corruption {kind!r}; expected one of {CORRUPTIONS}")
        self.kind, self.level = kind, float(level)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.level == 0:
            return x
        return corrupt(x, self.kind, self.level)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, level={self.level}"
