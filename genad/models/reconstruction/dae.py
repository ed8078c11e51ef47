"""Denoising autoencoder: reconstruct the clean input from a corrupted copy."""
from __future__ import annotations

import torch
from torch import nn

from genad.base import ReconstructionDetector, hyperparameters
from genad.nn import mlp
from genad.nn.corruption import CORRUPTIONS, Corruption
from genad.registry import Paper, register
from genad.validation import check_choice, check_dims, check_float


def denoising_autoencoder(n_features: int, hidden_dims: tuple[int, ...], activation: str = "relu",
                          corruption: str = "masking", noise_level: float = 0.25) -> nn.Sequential:
    """``corruption -> encoder -> decoder``; the corruption acts in training mode only.

    Reusable by models that need a denoising feature extractor: ``module[1]`` is the encoder.
    """
    dims = [n_features, *hidden_dims]
    return nn.Sequential(Corruption(corruption, noise_level), mlp(dims, activation), mlp(dims[::-1], activation))


@register(
    "dae", family="reconstruction", modalities=("tabular",),
    paper=Paper("Extracting and Composing Robust Features with Denoising Autoencoders",
                "Vincent, Larochelle, Bengio & Manzagol", "ICML", 2008),
)
@hyperparameters
class DenoisingAutoEncoder(ReconstructionDetector):
    """Denoising autoencoder anomaly detector (Vincent et al., 2008).

    During training each input row ``x`` is corrupted to ``x~`` (masking noise: a random share
    ``noise_level`` of its entries set to 0, the paper's corruption; or additive Gaussian noise) and
    the network learns to reconstruct the *clean* ``x`` from ``x~`` by minimising
    ``||x - g(f(x~))||^2``. Denoising forces the code to capture the dependencies between features
    instead of copying them. At scoring time no corruption is applied: the anomaly score is the
    squared reconstruction error of the clean input, ``||x - g(f(x))||^2``.

    Deviations: the paper uses one sigmoid hidden layer (tied weights) trained by SGD on inputs in
    [0, 1]; genad uses an untied ReLU stack with a linear output, trained with Adam on standardized
    features, where masking to 0 means masking to the feature mean. The paper tunes the
    destruction rate in {0.1, 0.25, 0.4}; the default here is 0.25.

    Parameters
    ----------
    hidden_dims : widths of the encoder layers, the last one being the code; the decoder mirrors them.
    activation : activation between layers.
    corruption : ``"masking"`` (zero a random share of entries) or ``"gaussian"`` (additive noise).
    noise_level : masking probability, or the standard deviation of the Gaussian noise.
    **base : see :class:`genad.base.TorchDetector` (epochs, batch_size, lr, device, random_state, ...).

    References
    ----------
    Vincent, P., Larochelle, H., Bengio, Y. and Manzagol, P.-A. "Extracting and Composing Robust
    Features with Denoising Autoencoders". ICML, 2008.
    """

    hidden_dims: tuple[int, ...] = (64, 32)
    activation: str = "relu"
    corruption: str = "masking"
    noise_level: float = 0.25
    epochs: int = 30

    def _check_params(self) -> None:
        super()._check_params()
        check_dims("hidden_dims", self.hidden_dims)
        check_choice("corruption", self.corruption, CORRUPTIONS)
        high = 1.0 if self.corruption == "masking" else None
        check_float("noise_level", self.noise_level, 0.0, high, high_closed=False)

    def _build_module(self, n_features: int) -> nn.Module:
        return denoising_autoencoder(n_features, self.hidden_dims, self.activation, self.corruption, self.noise_level)

    def _reconstruct(self, batch: torch.Tensor) -> torch.Tensor:
        return self.module_(batch)  # the corruption layer is the identity in eval mode

    def _loss(self, batch: torch.Tensor) -> torch.Tensor:
        return (batch - self.module_(batch)).pow(2).sum(dim=1).mean()  # clean target, corrupted input
