"""GANomaly: encode, decode, encode again; anomalies do not land on the same code twice."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from genad.base import hyperparameters
from genad.models.adversarial.base import AdversarialDetector
from genad.nn.gan import Discriminator
from genad.nn.mlp import mlp
from genad.registry import Paper, register
from genad.validation import check_dims, check_float


@register(
    "ganomaly", family="adversarial", modalities=("tabular",),
    paper=Paper("GANomaly: Semi-Supervised Anomaly Detection via Adversarial Training",
                "Akcay, Atapour-Abarghouei & Breckon", "ACCV", 2018),
)
@hyperparameters
class GANomaly(AdversarialDetector):
    """GANomaly (Akcay et al., ACCV 2018), MLP version.

    The generator is an encoder-decoder-encoder: ``z = G_E(x)``, ``x_hat = G_D(z)``,
    ``z_hat = E(x_hat)``. A discriminator ``D`` (binary cross-entropy, real vs ``x_hat``) plays
    against it. The generator minimises ``w_adv * L_adv + w_con * L_con + w_enc * L_enc`` with the
    feature-matching loss ``L_adv = ||f(x) - f(x_hat)||_2^2`` on ``D``'s last hidden layer, the
    contextual loss ``L_con = ||x - x_hat||_1`` and the encoder loss ``L_enc = ||z - z_hat||_2^2``,
    weights 1, 50, 1 as in the paper. Trained on normal rows only, the encoders learn to agree on
    normal data; the anomaly score is the latent distance ``A(x) = ||G_E(x) - E(G_D(G_E(x)))||_1``
    (the paper's eq.; its code uses the squared L2 distance). ``restore`` returns ``x_hat``.

    Deviations: MLPs replace the DCGAN convolutions, no batch normalisation; the official code's
    re-initialisation of a collapsed discriminator is omitted; the score is not min-max scaled
    (the paper scales over the test set, which does not change the ranking); Adam's ``lr`` is 1e-3
    (the official code: 2e-4, with the same betas 0.5 / 0.999), for 30 epochs of MLPs on CPU.

    Parameters
    ----------
    hidden_dims : encoder widths, the last one being the latent size; the decoder mirrors them.
    discriminator_dims : hidden widths of ``D``.
    w_adv, w_con, w_enc : loss weights (paper: 1, 50, 1).
    **base : see :class:`genad.base.TorchDetector`.

    References
    ----------
    Akcay, S., Atapour-Abarghouei, A. and Breckon, T. P. "GANomaly: Semi-Supervised Anomaly
    Detection via Adversarial Training". ACCV, 2018.
    """

    hidden_dims: tuple[int, ...] = (64, 16)
    discriminator_dims: tuple[int, ...] = (64, 32)
    w_adv: float = 1.0
    w_con: float = 50.0
    w_enc: float = 1.0
    epochs: int = 30
    lr: float = 1e-3

    def _check_params(self) -> None:
        super()._check_params()
        check_dims("hidden_dims", self.hidden_dims)
        check_dims("discriminator_dims", self.discriminator_dims)
        for name in ("w_adv", "w_con", "w_enc"):
            check_float(name, getattr(self, name), 0.0)

    def _build_module(self, n_features: int) -> nn.Module:
        dims = [n_features, *self.hidden_dims]
        return nn.ModuleDict({
            "encoder": mlp(dims, "leaky_relu"),
            "decoder": mlp(dims[::-1], "relu"),
            "reencoder": mlp(dims, "leaky_relu"),
            "discriminator": Discriminator(n_features, tuple(self.discriminator_dims)),
        })

    def _generator_parameters(self):
        return [p for name in ("encoder", "decoder", "reencoder") for p in self.module_[name].parameters()]

    def _forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        z = self.module_["encoder"](x)
        x_hat = self.module_["decoder"](z)
        return z, x_hat, self.module_["reencoder"](x_hat)

    def _loss(self, batch: torch.Tensor) -> torch.Tensor:
        D = self.module_["discriminator"]
        z, x_hat, z_hat = self._forward(batch)
        real_logits, fake_logits = D(batch), D(x_hat.detach())
        self._adversary_step(F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                             + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        adversarial = (D.features(batch).detach() - D.features(x_hat)).pow(2).mean()
        contextual = (batch - x_hat).abs().mean()
        encoder = (z - z_hat).pow(2).mean()
        return self.w_adv * adversarial + self.w_con * contextual + self.w_enc * encoder

    def _score_batch(self, batch: torch.Tensor) -> torch.Tensor:
        z, _, z_hat = self._forward(batch)
        return (z - z_hat).abs().sum(dim=1)

    def _restore(self, X: np.ndarray) -> np.ndarray:
        return self._apply(lambda batch: self._forward(batch)[1], X)
