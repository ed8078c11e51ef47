"""MADE: a masked autoencoder whose output ``d`` depends only on the inputs before ``d`` in an order.

Germain et al., "MADE: Masked Autoencoder for Distribution Estimation", ICML 2015. Each unit gets
a degree; a weight is kept only when it cannot carry information from input ``d`` to an output
``<= d``. The network then outputs the parameters of the conditionals ``p(x_d | x_<d)`` of an
autoregressive factorisation in one pass. Used by the ``made`` model and by the MAF flow layers.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from genad.nn.mlp import activation


class MaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied by a fixed 0/1 mask ``(out_features, in_features)``."""

    def __init__(self, in_features: int, out_features: int, mask: torch.Tensor):
        super().__init__(in_features, out_features)
        self.register_buffer("mask", mask.to(self.weight.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


def hidden_degrees(n_features: int, hidden_dims: Sequence[int], generator: torch.Generator | None = None,
                   ) -> list[torch.Tensor]:
    """Degrees of the hidden units, drawn uniformly from ``[min degree of the layer below, D - 1]`` (paper, eq. 12)."""
    degrees, low = [], 1
    high = max(n_features - 1, 1)  # with one feature there is nothing to condition on; the mask cuts all paths
    for width in hidden_dims:
        layer = torch.randint(low, high + 1, (width,), generator=generator)
        degrees.append(layer)
        low = int(layer.min())
    return degrees


class MADE(nn.Module):
    """Masked MLP mapping ``x`` (n, D) to ``n_params`` autoregressive parameters per feature, shape (n, n_params, D).

    Parameters
    ----------
    n_features : D.
    hidden_dims : widths of the hidden layers.
    n_params : how many numbers each conditional needs (2 for a Gaussian's mean and log-scale).
    activation_name : activation between layers.
    order : the position (1..D) of each input in the autoregressive order; default the natural order.
    generator : source of the random hidden degrees.
    """

    def __init__(self, n_features: int, hidden_dims: Sequence[int], n_params: int = 2,
                 activation_name: str = "relu", order: torch.Tensor | None = None,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.n_features, self.n_params = n_features, n_params
        order = torch.arange(1, n_features + 1) if order is None else torch.as_tensor(order)
        self.register_buffer("order", order)
        degrees = [order, *hidden_degrees(n_features, hidden_dims, generator)]
        layers: list[nn.Module] = []
        for d_in, d_out in zip(degrees[:-1], degrees[1:]):
            # a hidden unit of degree k may see inputs of degree <= k
            layers += [MaskedLinear(len(d_in), len(d_out), d_out[:, None] >= d_in[None, :]),
                       activation(activation_name)]
        # output (param p, feature d) has degree order[d] and may see units of degree < order[d]
        out_degrees = order.repeat(n_params)
        layers.append(MaskedLinear(len(degrees[-1]), n_params * n_features,
                                   out_degrees[:, None] > degrees[-1][None, :]))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(x.shape[0], self.n_params, self.n_features)


def gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """Elementwise ``log N(x; mean, exp(log_scale)^2)``."""
    return -0.5 * ((x - mean) * torch.exp(-log_scale)).pow(2) - log_scale - 0.5 * math.log(2 * math.pi)


def mixture_log_prob(x: torch.Tensor, logits: torch.Tensor, means: torch.Tensor,
                     log_scales: torch.Tensor) -> torch.Tensor:
    """Elementwise log density of a 1-D Gaussian mixture; parameters have shape (n, K, D), ``x`` (n, D)."""
    components = gaussian_log_prob(x.unsqueeze(1), means, log_scales)
    return torch.logsumexp(torch.log_softmax(logits, dim=1) + components, dim=1)


def bounded_log_scale(raw: torch.Tensor, bound: float) -> torch.Tensor:
    """Squash a raw log-scale into ``(-bound, bound)``: a near-constant feature cannot drive the density to infinity."""
    return bound * torch.tanh(raw / bound)
