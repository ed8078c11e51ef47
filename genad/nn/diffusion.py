"""Diffusion building blocks: the DDPM noise schedule and a timestep-conditioned MLP.

Shared by the diffusion detectors (``dte``, ``ddpm_recon``): the schedule is a module holding
its tensors as buffers, so it moves to the detector's device and is saved with it.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from genad.nn.mlp import mlp


class NoiseSchedule(nn.Module):
    """Linear beta schedule of Ho et al. (2020): ``beta_t`` evenly spaced in ``[beta_start, beta_end]``.

    Holds, per step ``t = 0 .. T-1``: ``betas``, ``alphas_cumprod`` (``alpha_bar_t``) and the
    variance ``1 - alpha_bar_t`` of the noise that the forward process has added by step ``t``.
    """

    def __init__(self, n_steps: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> None:
        super().__init__()
        betas = torch.linspace(beta_start, beta_end, n_steps, dtype=torch.float64)
        alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
        alphas_cumprod_prev = torch.cat([torch.ones(1, dtype=torch.float64), alphas_cumprod[:-1]])
        self.n_steps = n_steps
        self.register_buffer("betas", betas.float())
        self.register_buffer("alphas_cumprod", alphas_cumprod.float())
        self.register_buffer("noise_variances", (1.0 - alphas_cumprod).float())
        # variance of q(x_{t-1} | x_t, x_0), the reverse-step variance of Ho et al. (eq. 7)
        posterior = betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod)
        self.register_buffer("posterior_variances", posterior.float())

    def add_noise(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, *, drift: bool = True) -> torch.Tensor:
        """Sample ``x_t ~ q(x_t | x_0)``: ``sqrt(abar_t) x0 + sqrt(1 - abar_t) eps`` (``drift=False`` omits the scaling)."""
        scale = self.alphas_cumprod[t].sqrt().unsqueeze(1) if drift else 1.0
        return scale * x0 + self.noise_variances[t].sqrt().unsqueeze(1) * noise

    def reverse_step(self, x_t: torch.Tensor, t: int, predicted_noise: torch.Tensor,
                     noise: torch.Tensor | None) -> torch.Tensor:
        """One ancestral step ``x_{t-1} ~ p(x_{t-1} | x_t)`` from the predicted noise (Ho et al., Algorithm 2)."""
        beta, abar = self.betas[t], self.alphas_cumprod[t]
        mean = (x_t - beta / (1.0 - abar).sqrt() * predicted_noise) / (1.0 - beta).sqrt()
        if t == 0 or noise is None:
            return mean
        return mean + self.posterior_variances[t].sqrt() * noise


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embedding of integer timesteps (Vaswani et al.; as in DDPM), shape ``(n, dim)``."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float().unsqueeze(1) * freqs.unsqueeze(0)
    embedding = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    if dim % 2:
        embedding = torch.nn.functional.pad(embedding, (0, 1))
    return embedding


class TimeConditionedMLP(nn.Module):
    """An MLP ``f(x, t)``: the row concatenated with a sinusoidal embedding of its timestep."""

    def __init__(self, n_features: int, hidden_dims: tuple[int, ...], n_outputs: int,
                 time_dim: int = 32, activation: str = "gelu") -> None:
        super().__init__()
        self.time_dim = time_dim
        self.net = mlp([n_features + time_dim, *hidden_dims, n_outputs], activation)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, timestep_embedding(t, self.time_dim)], dim=1))
