"""Gaussian encoder/decoder blocks and the Gaussian likelihood terms shared by the VAE family.

A :class:`GaussianVAE` holds a Gaussian encoder ``q(z|x)`` and a Gaussian decoder ``p(x|z)``, each
an MLP that outputs a mean and a log-variance per dimension. The functions below give the pieces
every VAE variant needs (reparameterised draws, per-dimension Gaussian log-density, the KL to the
standard normal prior), so beta-VAE or IWAE only change how they combine them.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from genad.nn.mlp import mlp

#: Soft floor on log-variances (std >= ~0.011): a decoder that shrinks the variance of a
#: (nearly) constant feature towards zero would otherwise drive the likelihood to infinity.
LOG_VAR_FLOOR = -9.0
#: Hard ceiling on log-variances (std <= ~3.3e6), reached only by rows far outside the training range (a test row
#: thousands of standard deviations out): above it, sampling ``z`` overflows float32 and the score becomes NaN.
LOG_VAR_CEILING = 30.0
_LOG_2PI = math.log(2.0 * math.pi)


class GaussianMLP(nn.Module):
    """An MLP ``dims[0] -> ... -> dims[-2]`` followed by two linear heads: mean and log-variance (``dims[-1]`` each)."""

    def __init__(self, dims: Sequence[int], activation_name: str = "relu") -> None:
        super().__init__()
        *body, d_out = dims
        self.body = mlp(body, activation_name, final_activation=activation_name) if len(body) > 1 else nn.Identity()
        self.mean = nn.Linear(body[-1], d_out)
        self.log_var = nn.Linear(body[-1], d_out)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.body(x)
        log_var = (LOG_VAR_FLOOR + F.softplus(self.log_var(hidden) - LOG_VAR_FLOOR)).clamp(max=LOG_VAR_CEILING)
        return self.mean(hidden), log_var


class GaussianVAE(nn.Module):
    """Gaussian encoder ``q(z|x)`` and Gaussian decoder ``p(x|z)``; the decoder mirrors the encoder."""

    def __init__(self, n_features: int, hidden_dims: Sequence[int], latent_dim: int,
                 activation_name: str = "relu") -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = GaussianMLP([n_features, *hidden_dims, latent_dim], activation_name)
        self.decoder = GaussianMLP([latent_dim, *hidden_dims[::-1], n_features], activation_name)


def reparameterize(mean: torch.Tensor, log_var: torch.Tensor, n_samples: int | None = None) -> torch.Tensor:
    """Draw ``z = mean + std * eps``; with ``n_samples`` the draws stack on a new leading axis."""
    shape = mean.shape if n_samples is None else (n_samples, *mean.shape)
    eps = torch.randn(shape, dtype=mean.dtype, device=mean.device)
    return mean + torch.exp(0.5 * log_var) * eps


def gaussian_log_likelihood(x: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """Elementwise ``log N(x | mean, exp(log_var))`` (no reduction, so callers can explain per feature)."""
    return -0.5 * (_LOG_2PI + log_var + (x - mean).pow(2) * torch.exp(-log_var))


def normal_log_prob(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Elementwise ``log N(x | mean, std^2)``, for models whose networks output a standard deviation (softplus
    plus a floor, as OmniAnomaly and Donut) rather than a log-variance."""
    return -0.5 * (((x - mean) / std).pow(2) + _LOG_2PI) - torch.log(std)


def kl_to_standard_normal(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """``KL(N(mean, exp(log_var)) || N(0, I))`` per row, in closed form."""
    return 0.5 * (mean.pow(2) + torch.exp(log_var) - 1.0 - log_var).sum(dim=-1)
