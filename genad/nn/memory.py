"""The memory module of MemAE (Gong et al., 2019): attention over learned prototypes with hard shrinkage.

A query ``z`` is replaced by a sparse convex combination of ``N`` learned memory items, so a
decoder fed by the memory can only produce what the items (learned from normal data) span.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

_EPS = 1e-12  # the paper's "very small positive scalar" of the continuous shrinkage


def hard_shrink_relu(weights: torch.Tensor, threshold: float) -> torch.Tensor:
    """``max(w - lambda, 0) * w / (|w - lambda| + eps)``, then re-normalised to sum to one per row.

    This is the paper's continuous form of hard shrinkage: weights below ``lambda`` become exactly
    zero, those above keep (almost exactly) their value, and gradients flow through both branches.
    """
    shrunk = F.relu(weights - threshold) * weights / ((weights - threshold).abs() + _EPS)
    return shrunk / shrunk.sum(dim=-1, keepdim=True).clamp_min(_EPS)


def addressing_entropy(weights: torch.Tensor) -> torch.Tensor:
    """``sum_i -w_i log w_i`` per row (zero weights contribute nothing)."""
    return -(weights * torch.log(weights.clamp_min(_EPS))).sum(dim=-1)


class MemoryModule(nn.Module):
    """``N`` memory items of dimension ``dim`` read by cosine attention and hard shrinkage.

    ``forward(z)`` returns the memory read-out ``w_hat @ M`` and the addressing weights ``w_hat``.
    """

    def __init__(self, n_items: int, dim: int, shrink_threshold: float) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(dim)
        self.items = nn.Parameter(torch.empty(n_items, dim).uniform_(-bound, bound))
        self.shrink_threshold = shrink_threshold

    def addressing(self, z: torch.Tensor) -> torch.Tensor:
        """Softmax over the cosine similarities to the items, then hard shrinkage."""
        similarity = F.normalize(z, dim=-1) @ F.normalize(self.items, dim=-1).T
        weights = torch.softmax(similarity, dim=-1)
        return hard_shrink_relu(weights, self.shrink_threshold) if self.shrink_threshold > 0 else weights

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        weights = self.addressing(z)
        return weights @ self.items, weights
