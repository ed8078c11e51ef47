"""ADAE: two autoencoders, one generating, one discriminating by how well it reconstructs."""
from __future__ import annotations

import torch
from torch import nn

from genad.base import ReconstructionDetector, hyperparameters
from genad.models.adversarial.base import AdversarialDetector
from genad.nn.mlp import mlp
from genad.registry import Paper, register
from genad.validation import check_dims


def _autoencoder(n_features: int, hidden_dims: tuple[int, ...]) -> nn.Sequential:
    dims = [n_features, *hidden_dims]
    return nn.Sequential(mlp(dims, "leaky_relu"), mlp(dims[::-1], "leaky_relu"))


@register(
    "adae", family="adversarial", modalities=("tabular",),
    paper=Paper("Anomaly Detection with Adversarial Dual Autoencoders",
                "Vu, Ueta, Hashimoto, Maeno, Pranata & Shen", "arXiv:1902.06924", 2019),
)
@hyperparameters
class ADAE(AdversarialDetector, ReconstructionDetector):
    """Adversarial Dual Autoencoders (Vu et al., 2019).

    Both the generator ``G`` and the discriminator ``D`` are autoencoders. ``D`` learns to
    reconstruct real rows well and the generator's outputs badly,
    ``L_D = ||x - D(x)||_1 - ||G(x) - D(G(x))||_1``, while ``G`` learns to reconstruct its input
    in a way ``D`` reconstructs well, ``L_G = ||x - G(x)||_1 + ||G(x) - D(G(x))||_1``
    (a BEGAN-style game between reconstruction errors, which the paper finds more stable than a
    classifier discriminator). The anomaly score is the discriminator's reconstruction error of
    the generator's output against the input, ``||x - D(G(x))||_2^2``; ``restore`` returns
    ``D(G(x))`` and ``explain`` its per-feature squared error.

    Deviations: MLP autoencoders replace the convolutional ones; one discriminator step and one
    generator step per batch (the paper's reference code alternates whole epochs).

    Parameters
    ----------
    hidden_dims : encoder widths of both autoencoders (last = bottleneck); decoders mirror them.
    **base : see :class:`genad.base.TorchDetector`.

    References
    ----------
    Vu, H. S., Ueta, D., Hashimoto, K., Maeno, K., Pranata, S. and Shen, S. M. "Anomaly Detection with Adversarial
    Dual Autoencoders". arXiv:1902.06924, 2019.
    """

    hidden_dims: tuple[int, ...] = (64, 32)
    epochs: int = 30
    lr: float = 1e-3

    def _check_params(self) -> None:
        super()._check_params()
        check_dims("hidden_dims", self.hidden_dims)

    def _build_module(self, n_features: int) -> nn.Module:
        return nn.ModuleDict({
            "generator": _autoencoder(n_features, tuple(self.hidden_dims)),
            "discriminator": _autoencoder(n_features, tuple(self.hidden_dims)),
        })

    def _loss(self, batch: torch.Tensor) -> torch.Tensor:
        G, D = self.module_["generator"], self.module_["discriminator"]
        generated = G(batch)
        fake = generated.detach()
        self._adversary_step((batch - D(batch)).abs().mean() - (fake - D(fake)).abs().mean())
        return (batch - generated).abs().mean() + (generated - D(generated)).abs().mean()

    def _reconstruct(self, batch: torch.Tensor) -> torch.Tensor:
        return self.module_["discriminator"](self.module_["generator"](batch))
