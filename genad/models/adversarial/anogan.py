"""AnoGAN: a GAN of normal data, and a search for the latent code that best explains each row."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from genad.base import hyperparameters
from genad.models.adversarial.base import AdversarialDetector
from genad.nn.gan import Discriminator, generator
from genad.registry import Paper, register
from genad.training import adam, seeded
from genad.validation import check_dims, check_float, check_int


@register(
    "anogan", family="adversarial", modalities=("tabular",),
    paper=Paper("Unsupervised Anomaly Detection with Generative Adversarial Networks to Guide Marker Discovery",
                "Schlegl, Seeböck, Waldstein, Schmidt-Erfurth & Langs", "IPMI", 2017),
)
@hyperparameters
class AnoGAN(AdversarialDetector):
    """AnoGAN (Schlegl et al., IPMI 2017).

    A GAN is trained on normal rows (the standard minimax game, non-saturating generator loss, as
    in DCGAN). To score a row ``x``, a latent code is searched by gradient descent on

        L(z) = (1 - lambda) * sum|x - G(z)| + lambda * sum|f(x) - f(G(z))|,

    the residual loss plus the discrimination loss, where ``f`` is the discriminator's last hidden
    layer (feature matching) and ``lambda = 0.1``; the anomaly score is ``L`` at the end of the
    search. All rows are searched at once (one Adam state on the whole ``(n, latent_dim)`` code
    tensor; rows do not interact). ``restore`` returns ``G(z*)`` and ``sample`` draws ``G(z)``.

    Deviations: MLPs replace the DCGAN convolutions; ``z ~ N(0, I)`` instead of uniform;
    the search takes 100 Adam steps (paper: 500 steps), for CPU speed.

    Parameters
    ----------
    latent_dim : size of ``z``.
    generator_dims, discriminator_dims : hidden widths (the discriminator's last one is ``f``).
    weight : ``lambda``, the weight of the discrimination loss (paper: 0.1).
    search_steps, search_lr : the latent search (Adam steps and step size).
    **base : see :class:`genad.base.TorchDetector`.

    References
    ----------
    Schlegl, T., Seeböck, P., Waldstein, S. M., Schmidt-Erfurth, U. and Langs, G. "Unsupervised
    Anomaly Detection with Generative Adversarial Networks to Guide Marker Discovery". IPMI, 2017.
    """

    latent_dim: int = 16
    generator_dims: tuple[int, ...] = (64, 128)
    discriminator_dims: tuple[int, ...] = (128, 64)
    weight: float = 0.1
    search_steps: int = 100
    search_lr: float = 0.05
    epochs: int = 30
    lr: float = 2e-4

    def _check_params(self) -> None:
        super()._check_params()
        check_int("latent_dim", self.latent_dim, low=1)
        check_dims("generator_dims", self.generator_dims)
        check_dims("discriminator_dims", self.discriminator_dims)
        check_float("weight", self.weight, 0.0, 1.0)
        check_int("search_steps", self.search_steps, low=0)
        check_float("search_lr", self.search_lr, 0.0, low_closed=False)

    def _build_module(self, n_features: int) -> nn.Module:
        return nn.ModuleDict({
            "generator": generator(self.latent_dim, tuple(self.generator_dims), n_features),
            "discriminator": Discriminator(n_features, tuple(self.discriminator_dims)),
        })

    def _loss(self, batch: torch.Tensor) -> torch.Tensor:
        G, D = self.module_["generator"], self.module_["discriminator"]
        fake = G(torch.randn(batch.shape[0], self.latent_dim, device=batch.device))
        real_logits, fake_logits = D(batch), D(fake.detach())
        self._adversary_step(F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                             + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        fooled = D(fake)
        return F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled))

    # --- latent search and score ---------------------------------------------------------------
    def _mapping_loss(self, x: torch.Tensor, z: torch.Tensor, x_features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-row ``(L(z), residual)``: the paper's hybrid loss and its residual part."""
        fake = self.module_["generator"](z)
        residual = (x - fake).abs().sum(dim=1)
        discrimination = (x_features - self.module_["discriminator"].features(fake)).abs().sum(dim=1)
        return (1.0 - self.weight) * residual + self.weight * discrimination, residual

    def _search_latent(self, x: torch.Tensor, n_steps: int) -> torch.Tensor:
        """Gradient descent on ``z`` from a random start, all rows at once; returns the final codes."""
        z = torch.randn(x.shape[0], self.latent_dim, device=x.device, requires_grad=True)
        optimizer = adam([z], lr=self.search_lr)
        x_features = self.module_["discriminator"].features(x).detach()
        for _ in range(n_steps):
            loss = self._mapping_loss(x, z, x_features)[0].sum()
            z.grad, = torch.autograd.grad(loss, z)  # gradients w.r.t. z only, the networks stay fixed
            optimizer.step()
        return z.detach()

    def _searched(self, X: np.ndarray, n_steps: int | None = None) -> tuple[torch.Tensor, ...]:
        """Seeded search on ``X``; returns ``(x, z*, L(z*), residual(z*))``."""
        self.module_.eval()
        x = self._tensor(X)
        with seeded(self.random_state):
            z = self._search_latent(x, self.search_steps if n_steps is None else n_steps)
        with torch.no_grad():
            loss, residual = self._mapping_loss(x, z, self.module_["discriminator"].features(x))
        return x, z, loss, residual

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self._searched(X)[2].double().cpu().numpy()

    def _restore(self, X: np.ndarray) -> np.ndarray:
        z = self._searched(X)[1]
        with torch.no_grad():
            return self.module_["generator"](z).double().cpu().numpy()

    def _sample(self, n: int) -> np.ndarray:
        self.module_.eval()
        with seeded(self.random_state), torch.no_grad():
            z = torch.randn(n, self.latent_dim, device=self.device_)
            return self.module_["generator"](z).double().cpu().numpy()
