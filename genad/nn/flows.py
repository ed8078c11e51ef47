"""Normalizing-flow blocks: affine coupling (RealNVP), masked autoregressive (MAF), batch norm, reversal.

Every layer maps data towards noise, ``forward(x) -> (u, log|det du/dx|)``, and back with
``inverse(u)``. :class:`Flow` stacks layers over a standard normal base and gives exact
``log_prob`` and ``sample``.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from genad.nn.made import MADE, bounded_log_scale
from genad.nn.mlp import mlp


class FlowLayer(nn.Module):
    """One invertible map with a tractable log-determinant."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # pragma: no cover - interface
        raise NotImplementedError

    def inverse(self, u: torch.Tensor) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError


class AffineCoupling(FlowLayer):
    """RealNVP coupling (Dinh et al., 2017): features where ``mask`` is 1 pass unchanged and condition
    an affine map ``x * exp(s) + t`` of the others.

    One network outputs both ``s`` and ``t`` (as in the paper); ``s`` is squashed into
    ``(-max_log_scale, max_log_scale)`` so one layer cannot blow a near-constant feature up.
    """

    def __init__(self, mask: torch.Tensor, hidden_dims: Sequence[int], activation_name: str = "relu",
                 max_log_scale: float = 3.0):
        super().__init__()
        self.register_buffer("mask", mask.float())
        self.net = mlp([mask.numel(), *hidden_dims, 2 * mask.numel()], activation_name)
        self.max_log_scale = max_log_scale

    def _scale_shift(self, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        free = 1.0 - self.mask
        raw_scale, shift = self.net(kept).chunk(2, dim=1)
        return bounded_log_scale(raw_scale, self.max_log_scale) * free, shift * free

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scale, shift = self._scale_shift(x * self.mask)
        return x * torch.exp(scale) + shift, scale.sum(dim=1)

    def inverse(self, u: torch.Tensor) -> torch.Tensor:
        scale, shift = self._scale_shift(u * self.mask)
        return (u - shift) * torch.exp(-scale)


class MaskedAutoregressive(FlowLayer):
    """MAF layer (Papamakarios et al., 2017): ``u_d = (x_d - mu_d(x_<d)) * exp(-alpha_d(x_<d))``.

    Density evaluation is one MADE pass; sampling inverts feature by feature (D passes).
    ``alpha`` is squashed into ``(-max_log_scale, max_log_scale)`` for numerical safety.
    """

    def __init__(self, n_features: int, hidden_dims: Sequence[int], activation_name: str = "relu",
                 order: torch.Tensor | None = None, max_log_scale: float = 3.0,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.made = MADE(n_features, hidden_dims, 2, activation_name, order, generator)
        self.max_log_scale = max_log_scale

    def _params(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.made(x)
        return out[:, 0], bounded_log_scale(out[:, 1], self.max_log_scale)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_scale = self._params(x)
        return (x - mean) * torch.exp(-log_scale), -log_scale.sum(dim=1)

    def inverse(self, u: torch.Tensor) -> torch.Tensor:
        x = torch.zeros_like(u)
        for position in torch.argsort(self.made.order).tolist():  # features in autoregressive order
            mean, log_scale = self._params(x)
            x[:, position] = u[:, position] * torch.exp(log_scale[:, position]) + mean[:, position]
        return x


class BatchNormFlow(FlowLayer):
    """Batch normalization as an invertible layer (Dinh et al., 2017, sec. 3.7; used between MAF layers too).

    Training batches use their own statistics; evaluation uses running averages, which
    :func:`set_population_statistics` can replace by exact whole-training-set statistics.
    ``eps`` floors the variance: on standardized data the default 1e-2 barely touches real
    features but keeps a feature that is constant in training from being stretched 300-fold per
    layer (with 1e-5), which across a deep flow would overflow the scores of rows that differ there.
    """

    def __init__(self, n_features: int, momentum: float = 0.1, eps: float = 1e-2):
        super().__init__()
        self.log_gamma = nn.Parameter(torch.zeros(n_features))
        self.beta = nn.Parameter(torch.zeros(n_features))
        self.momentum, self.eps = momentum, eps
        self.register_buffer("running_mean", torch.zeros(n_features))
        self.register_buffer("running_var", torch.ones(n_features))

    def _statistics(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.training or x.shape[0] < 2:
            return self.running_mean, self.running_var
        mean, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
        with torch.no_grad():
            self.running_mean.lerp_(mean, self.momentum)
            self.running_var.lerp_(var, self.momentum)
        return mean, var

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, var = self._statistics(x)
        u = (x - mean) / torch.sqrt(var + self.eps) * torch.exp(self.log_gamma) + self.beta
        log_det = (self.log_gamma - 0.5 * torch.log(var + self.eps)).sum().expand(x.shape[0])
        return u, log_det

    def inverse(self, u: torch.Tensor) -> torch.Tensor:
        std = torch.sqrt(self.running_var + self.eps)
        return (u - self.beta) * torch.exp(-self.log_gamma) * std + self.running_mean


class Reverse(FlowLayer):
    """Reverse the feature order (volume preserving), so the next layer conditions the other way."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x.flip(1), x.new_zeros(x.shape[0])

    def inverse(self, u: torch.Tensor) -> torch.Tensor:
        return u.flip(1)


class Flow(nn.Module):
    """A stack of flow layers over a standard normal base distribution."""

    def __init__(self, layers: Sequence[FlowLayer], n_features: int):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.n_features = n_features

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Map data to the base space; return ``(u, total log-determinant)``."""
        log_det = x.new_zeros(x.shape[0])
        for layer in self.layers:
            x, layer_log_det = layer(x)
            log_det = log_det + layer_log_det
        return x, log_det

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Exact log density of each row, by the change of variables."""
        u, log_det = self(x)
        return standard_normal_log_prob(u).sum(dim=1) + log_det

    def inverse(self, u: torch.Tensor) -> torch.Tensor:
        for layer in reversed(self.layers):
            u = layer.inverse(u)
        return u

    def sample(self, n: int) -> torch.Tensor:
        """Draw ``n`` rows: base noise pushed through the inverse flow."""
        device = next(self.parameters()).device
        return self.inverse(torch.randn(n, self.n_features, device=device))


def standard_normal_log_prob(u: torch.Tensor) -> torch.Tensor:
    """Elementwise ``log N(u; 0, 1)``."""
    return -0.5 * u.pow(2) - 0.5 * math.log(2 * math.pi)


@torch.no_grad()
def set_population_statistics(flow: Flow, data: torch.Tensor, batch_size: int = 8192) -> None:
    """Give every :class:`BatchNormFlow` the exact mean and variance of its input over ``data``.

    Papamakarios et al. (2017) evaluate with statistics of the whole training set rather than
    running averages; layers are visited in order, each seeing the output of those below it.
    """
    flow.eval()
    h = data
    for layer in flow.layers:
        if isinstance(layer, BatchNormFlow):
            layer.running_mean.copy_(h.mean(dim=0))
            layer.running_var.copy_(h.var(dim=0, unbiased=False))
        h = torch.cat([layer(h[i:i + batch_size])[0] for i in range(0, h.shape[0], batch_size)])
