"""A Gaussian mixture head fitted in closed form from soft memberships (as in DAGMM).

Given rows ``z`` and membership probabilities ``gamma`` (from any network), the mixture weights,
means and full covariances are their gamma-weighted moments; the sample energy is the negative
log-density of ``z`` under that mixture. Everything runs in float64 with a Cholesky factor and a
log-sum-exp, so the energy stays finite even for nearly singular components.
"""
from __future__ import annotations

import math

import torch
from torch import nn

#: Diagonal jitter added to every covariance; raised tenfold (up to 1e-3, then 1e-1 as a last
#: resort) for a batch whose covariance is not numerically positive definite.
JITTER_STEPS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-1)
_TINY = 1e-12


def mixture_parameters(z: torch.Tensor, gamma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``phi (K,)``, ``mu (K, d)`` and ``sigma (K, d, d)`` from rows ``z (n, d)`` and memberships ``gamma (n, K)``."""
    z, gamma = z.double(), gamma.double()
    mass = gamma.sum(dim=0).clamp_min(_TINY)                         # (K,)
    phi = mass / z.shape[0]
    mu = gamma.T @ z / mass[:, None]
    centred = z[None, :, :] - mu[:, None, :]                          # (K, n, d)
    sigma = torch.einsum("nk,kni,knj->kij", gamma, centred, centred) / mass[:, None, None]
    return phi, mu, sigma


def stable_cholesky(sigma: torch.Tensor) -> torch.Tensor:
    """Cholesky factors of ``sigma + jitter * I``, with the smallest jitter of :data:`JITTER_STEPS` that works."""
    eye = torch.eye(sigma.shape[-1], dtype=sigma.dtype, device=sigma.device)
    for jitter in JITTER_STEPS:
        factor, info = torch.linalg.cholesky_ex(sigma + jitter * eye)
        if not bool(info.any()):
            return factor
    raise FloatingPointError("mixture covariance is not positive definite even with diagonal jitter "
                             f"{JITTER_STEPS[-1]}; the latent features are degenerate")


def sample_energy(z: torch.Tensor, phi: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """``-log sum_k phi_k N(z | mu_k, sigma_k)`` per row of ``z``, via Cholesky and log-sum-exp."""
    z = z.double()
    factor = stable_cholesky(sigma)                                   # (K, d, d)
    centred = (z[None, :, :] - mu[:, None, :]).transpose(1, 2)        # (K, d, n)
    whitened = torch.linalg.solve_triangular(factor, centred, upper=False)
    mahalanobis = whitened.pow(2).sum(dim=1)                          # (K, n)
    log_det = 2.0 * torch.log(torch.diagonal(factor, dim1=-2, dim2=-1)).sum(dim=-1)
    log_density = -0.5 * (mahalanobis + log_det[:, None] + z.shape[1] * math.log(2.0 * math.pi))
    return -torch.logsumexp(torch.log(phi.clamp_min(_TINY))[:, None] + log_density, dim=0)


def inverse_diagonal_penalty(sigma: torch.Tensor) -> torch.Tensor:
    """``sum_k sum_j 1 / sigma_k[j, j]``: DAGMM's guard against collapsing (singular) components."""
    return (1.0 / (torch.diagonal(sigma, dim1=-2, dim2=-1) + JITTER_STEPS[0])).sum()


class GaussianMixtureHead(nn.Module):
    """Holds a mixture fitted once on all training rows (as buffers, so it moves and saves with the network)."""

    def __init__(self, n_components: int, dim: int) -> None:
        super().__init__()
        self.register_buffer("phi", torch.full((n_components,), 1.0 / n_components, dtype=torch.float64))
        self.register_buffer("mu", torch.zeros(n_components, dim, dtype=torch.float64))
        self.register_buffer("sigma", torch.eye(dim, dtype=torch.float64).repeat(n_components, 1, 1))

    def fit(self, z: torch.Tensor, gamma: torch.Tensor) -> "GaussianMixtureHead":
        phi, mu, sigma = mixture_parameters(z, gamma)
        self.phi.copy_(phi), self.mu.copy_(mu), self.sigma.copy_(sigma)
        return self

    def energy(self, z: torch.Tensor) -> torch.Tensor:
        return sample_energy(z, self.phi, self.mu, self.sigma)
