"""What the density models share: exact-likelihood training and scoring, and the Gaussian latent-variable plumbing."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from genad.base import TorchDetector, hyperparameters
from genad.nn.vae import GaussianVAE, gaussian_log_likelihood, reparameterize
from genad.training import batched_apply, seeded
from genad.validation import check_dims, check_int

_CHUNK = 8192  # rows drawn per network pass: bounded memory


@hyperparameters
class LikelihoodDetector(TorchDetector):
    """A detector whose module has an exact ``log_prob(x)`` (per row) and ``sample(n)``.

    Training minimises the mean negative log-likelihood of the training rows; the anomaly score
    of a row is its negative log-likelihood ``-log p(x)`` (in nats), so rare rows under the
    learned density of normal data score high. ``sample(n)`` draws from the learned density.
    """

    def _loss(self, batch: torch.Tensor) -> torch.Tensor:
        return -self.module_.log_prob(batch).mean()

    def _score_batch(self, batch: torch.Tensor) -> torch.Tensor:
        return -self.module_.log_prob(batch)

    def _sample(self, n: int) -> np.ndarray:
        self.module_.eval()
        with seeded(self.random_state), torch.inference_mode():
            draws = [self.module_.sample(min(_CHUNK, n - start)) for start in range(0, n, _CHUNK)]
        return torch.cat(draws).double().cpu().numpy()


@hyperparameters
class FlowDetector(LikelihoodDetector):
    """The settings the tabular normalizing flows share (MAF's UCI setup: 100-100 units, batch norm)."""

    hidden_dims: tuple[int, ...] = (100, 100)
    batch_norm: bool = True
    activation: str = "relu"
    epochs: int = 30

    def _check_params(self) -> None:
        super()._check_params()
        check_dims("hidden_dims", self.hidden_dims)


@hyperparameters
class GaussianLatentDetector(TorchDetector):
    """A latent-variable model ``p(x) = int p(x|z) N(z; 0, I) dz`` with Gaussian encoder and decoder
    (:class:`genad.nn.vae.GaussianVAE`), as in the VAE likelihood variants (beta-VAE, IWAE).

    ``restore`` returns the decoder mean at the encoder mean; ``sample(n)`` draws ``z ~ N(0, I)``
    then ``x ~ p(x|z)``.
    """

    hidden_dims: tuple[int, ...] = (64, 32)
    latent_dim: int = 8
    activation: str = "relu"

    def _check_params(self) -> None:
        super()._check_params()
        check_dims("hidden_dims", self.hidden_dims)
        check_int("latent_dim", self.latent_dim, low=1)

    def _build_module(self, n_features: int) -> nn.Module:
        return GaussianVAE(n_features, tuple(self.hidden_dims), self.latent_dim, self.activation)

    def _posterior_draws(self, batch: torch.Tensor, n_draws: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``n_draws`` reparameterised ``z ~ q(z|x)``, shape (n_draws, n, latent), and the posterior mean, log-variance."""
        z_mean, z_log_var = self.module_.encoder(batch)
        return reparameterize(z_mean, z_log_var, n_draws), z_mean, z_log_var

    def _feature_log_likelihood(self, batch: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``log p(x_j | z)`` per draw, row and feature."""
        return gaussian_log_likelihood(batch, *self.module_.decoder(z))

    def _restore(self, X: np.ndarray) -> np.ndarray:
        return self._apply(lambda batch: self.module_.decoder(self.module_.encoder(batch)[0])[0], X)

    def _sample(self, n: int) -> np.ndarray:
        self.module_.eval()
        with seeded(self.random_state):
            z = torch.randn(n, self.latent_dim, device=self.device_)
            draws = batched_apply(lambda block: reparameterize(*self.module_.decoder(block)), z)
        return draws.double().cpu().numpy()
