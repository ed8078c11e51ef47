"""beta-VAE: a VAE with a beta-weighted KL term, scored by its ELBO or by its latent code."""
from __future__ import annotations

import numpy as np
import torch

from genad.base import hyperparameters
from genad.models.density.base import GaussianLatentDetector
from genad.nn.vae import kl_to_standard_normal, reparameterize
from genad.registry import Paper, register
from genad.validation import check_choice, check_float, check_int


@register(
    "beta_vae", family="density-implicit", modalities=("tabular",),
    paper=Paper("beta-VAE: Learning Basic Visual Concepts with a Constrained Variational Framework",
                "Higgins, Matthey, Pal, Burgess, Glorot, Botvinick, Mohamed & Lerchner", "ICLR", 2017),
)
@hyperparameters
class BetaVAE(GaussianLatentDetector):
    """beta-VAE (Higgins et al., 2017) as an anomaly detector.

    A Gaussian encoder ``q(z|x)`` and Gaussian decoder ``p(x|z)`` are trained on
    ``E_q[log p(x|z)] - beta * KL(q(z|x) || N(0, I))`` (one reparameterised draw per row). With
    ``beta > 1`` the pressure towards the isotropic prior limits the capacity of the code and
    favours a factorised (disentangled) latent representation of normal data. Two scores:

    - ``score="elbo"`` (default): the negative evidence lower bound with weight 1,
      ``-(1/L) sum_l log p(x | z_l) + KL(q(z|x) || p(z))`` with ``L = n_samples`` draws, an upper
      bound on ``-log p(x)``: the model's density of the row. (``beta`` shapes training only; the
      bound is scored with weight 1 so that the score stays a likelihood bound.)
    - ``score="latent"``: ``KL(q(z|x) || N(0, I))``, how atypical the row's code is under the
      prior the model was pushed towards; it ignores the reconstruction.

    ``explain`` gives the per-feature expected negative log-likelihood ``-E_q log p(x_j | z)``
    (the reconstruction part of the ELBO score; the KL term has no per-feature split).
    ``restore`` and ``sample`` come from :class:`GaussianLatentDetector`.

    Deviations: the paper's networks are convolutional or 1200-unit MLPs on images with Bernoulli
    decoders; genad uses the tabular Gaussian VAE of :mod:`genad.nn.vae` (64-32 hidden, 8-d
    latent) and Adam. ``beta = 4`` is the paper's value for its 2-D shapes (dSprites) experiments.

    Parameters
    ----------
    beta : weight of the KL term in the training objective (1 gives the plain VAE).
    score : "elbo" or "latent" (see above).
    n_samples : draws ``z ~ q(z|x)`` used to estimate the ELBO score.
    hidden_dims, latent_dim, activation : the Gaussian encoder/decoder (decoder mirrors the encoder).
    **base : see :class:`genad.base.TorchDetector` (epochs, batch_size, lr, device, random_state, ...).

    References
    ----------
    Higgins, I., Matthey, L., Pal, A., Burgess, C., Glorot, X., Botvinick, M., Mohamed, S. and
    Lerchner, A. "beta-VAE: Learning Basic Visual Concepts with a Constrained Variational
    Framework". ICLR, 2017.
    Kingma, D. P. and Welling, M. "Auto-Encoding Variational Bayes". ICLR, 2014.
    """

    beta: float = 4.0
    score: str = "elbo"
    n_samples: int = 10
    epochs: int = 30

    def _check_params(self) -> None:
        super()._check_params()
        check_float("beta", self.beta, 0.0)
        check_choice("score", self.score, ("elbo", "latent"))
        check_int("n_samples", self.n_samples, low=1)

    def _loss(self, batch: torch.Tensor) -> torch.Tensor:
        z_mean, z_log_var = self.module_.encoder(batch)
        z = reparameterize(z_mean, z_log_var)
        log_likelihood = self._feature_log_likelihood(batch, z).sum(dim=1)
        return (self.beta * kl_to_standard_normal(z_mean, z_log_var) - log_likelihood).mean()

    def _feature_nll(self, batch: torch.Tensor) -> torch.Tensor:
        """``-E_q log p(x_j | z)`` per row and feature, over ``n_samples`` draws."""
        z, _, _ = self._posterior_draws(batch, self.n_samples)
        return -self._feature_log_likelihood(batch, z).mean(dim=0)

    def _score_batch(self, batch: torch.Tensor) -> torch.Tensor:
        kl = kl_to_standard_normal(*self.module_.encoder(batch))
        if self.score == "latent":
            return kl
        return self._feature_nll(batch).sum(dim=1) + kl

    def _explain(self, X: np.ndarray) -> np.ndarray:
        return self._apply(self._feature_nll, X)
