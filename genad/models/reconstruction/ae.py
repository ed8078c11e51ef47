"""Plain autoencoder, scored by squared reconstruction error."""
from __future__ import annotations

import torch
from torch import nn

from genad.base import ReconstructionDetector, hyperparameters
from genad.nn import mlp
from genad.registry import Paper, register
from genad.validation import check_dims


@register(
    "ae", family="reconstruction", modalities=("tabular",),
    paper=Paper("Anomaly Detection Using Autoencoders with Nonlinear Dimensionality Reduction",
                "Sakurada & Yairi", "MLSDA", 2014),
)
@hyperparameters
class AutoEncoder(ReconstructionDetector):
    """Autoencoder anomaly detector (Sakurada & Yairi, 2014).

    An encoder compresses each row to a bottleneck and a mirrored decoder reconstructs it;
    training minimises the mean squared reconstruction error on (mostly) normal data, and the
    anomaly score of a row is its squared reconstruction error ``||x - g(f(x))||^2``: what the
    learned low-dimensional structure of normal data cannot explain.

    The paper uses one sigmoid hidden layer trained by plain gradient descent; genad's default is
    a deeper ReLU stack trained with Adam on large batches (faster on CPU, same objective and score).

    Parameters
    ----------
    hidden_dims : widths of the encoder layers, the last one being the bottleneck; the decoder mirrors them.
    activation : activation between layers.
    **base : see :class:`genad.base.TorchDetector` (epochs, batch_size, lr, device, random_state, ...).

    References
    ----------
    Sakurada, M. and Yairi, T. "Anomaly Detection Using Autoencoders with Nonlinear Dimensionality
    Reduction". MLSDA Workshop, 2014.
    """

    hidden_dims: tuple[int, ...] = (64, 32)
    activation: str = "relu"
    epochs: int = 30

    def _check_params(self) -> None:
        super()._check_params()
        check_dims("hidden_dims", self.hidden_dims)

    def _build_module(self, n_features: int) -> nn.Module:
        dims = [n_features, *self.hidden_dims]
        return nn.Sequential(mlp(dims, self.activation), mlp(dims[::-1], self.activation))

    def _reconstruct(self, batch: torch.Tensor) -> torch.Tensor:
        return self.module_(batch)

    def _loss(self, batch: torch.Tensor) -> torch.Tensor:
        return (batch - self._reconstruct(batch)).pow(2).sum(dim=1).mean()
