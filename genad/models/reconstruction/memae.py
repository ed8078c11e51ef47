"""Memory-augmented autoencoder (Gong et al., 2019)."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from genad.base import ReconstructionDetector, hyperparameters
from genad.nn import mlp
from genad.nn.memory import MemoryModule, addressing_entropy
from genad.registry import Paper, register
from genad.validation import check_dims, check_float, check_int


class MemAENetwork(nn.Module):
    """Encoder -> memory read-out -> decoder."""

    def __init__(self, n_features: int, hidden_dims: Sequence[int], n_items: int, shrink_threshold: float,
                 activation_name: str) -> None:
        super().__init__()
        dims = [n_features, *hidden_dims]
        self.encoder = mlp(dims, activation_name)
        self.memory = MemoryModule(n_items, dims[-1], shrink_threshold)
        self.decoder = mlp(dims[::-1], activation_name)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The reconstruction and the addressing weights."""
        z_hat, weights = self.memory(self.encoder(x))
        return self.decoder(z_hat), weights


@register(
    "memae", family="reconstruction", modalities=("tabular",),
    paper=Paper("Memorizing Normality to Detect Anomaly: Memory-augmented Deep Autoencoder for "
                "Unsupervised Anomaly Detection",
                "Gong, Liu, Le, Saha, Mansour, Venkatesh & van den Hengel", "ICCV", 2019),
)
@hyperparameters
class MemAE(ReconstructionDetector):
    """Memory-augmented autoencoder (Gong et al., 2019).

    The encoder's code ``z`` is not passed to the decoder directly: it is a query into a memory of
    ``N`` learned items ``M``. Addressing weights are the softmax of the cosine similarities
    between ``z`` and each item; hard shrinkage ``w_hat = max(w - lambda, 0) w / (|w - lambda| + eps)``
    followed by re-normalisation makes them sparse, and the decoder reconstructs from
    ``z_hat = w_hat M``. Since the items are learned on normal data, an anomaly is reconstructed
    from normal prototypes and its reconstruction error stays high. Training minimises
    ``||x - x_hat||^2 + alpha * H(w_hat)`` (entropy of the addressing weights, ``alpha = 0.0002``,
    which further promotes sparse addressing); the score is the squared reconstruction error.

    Deviations: MLP encoder/decoder for tabular data instead of the paper's convolutional ones.
    The paper uses N=100 (MNIST), 500 (CIFAR-10) and 2000 (video) items; genad's tabular default
    is N=100, as for MNIST, ample for the few modes of a tabular normal class and cheap on CPU.
    The shrinkage threshold defaults to ``1/N``, the lower end of the paper's advised ``[1/N, 3/N]``:
    softmax weights of cosine similarities (bounded in [-1, 1]) start almost uniform, so any
    threshold above ``1/N`` can zero every weight of a row at initialisation and leave the memory
    without gradient (measured: ``2/N`` with N=100 never trains), whereas the largest weight is
    always at least ``1/N``. The entropy loss then makes addressing sparse during training.

    Parameters
    ----------
    hidden_dims : widths of the encoder layers, the last one being the memory items' dimension;
        the decoder mirrors them.
    n_items : ``N``, the number of memory items.
    shrink_threshold : ``lambda`` of the hard shrinkage; ``None`` means ``1 / n_items``; 0 disables it.
    entropy_weight : ``alpha``, weight of the addressing entropy in the loss.
    activation : activation between layers.
    **base : see :class:`genad.base.TorchDetector` (epochs, batch_size, lr, device, random_state, ...).

    References
    ----------
    Gong, D., Liu, L., Le, V., Saha, B., Mansour, M. R., Venkatesh, S. and van den Hengel, A.
    "Memorizing Normality to Detect Anomaly: Memory-augmented Deep Autoencoder for Unsupervised
    Anomaly Detection". ICCV, 2019.
    """

    hidden_dims: tuple[int, ...] = (64, 32)
    n_items: int = 100
    shrink_threshold: float | None = None
    entropy_weight: float = 0.0002
    activation: str = "relu"
    epochs: int = 30

    def _check_params(self) -> None:
        super()._check_params()
        check_dims("hidden_dims", self.hidden_dims)
        check_int("n_items", self.n_items, low=1)
        if self.shrink_threshold is not None:
            check_float("shrink_threshold", self.shrink_threshold, 0.0, 1.0, high_closed=False)
        check_float("entropy_weight", self.entropy_weight, 0.0)

    @property
    def threshold(self) -> float:
        """The shrinkage threshold in use."""
        return 1.0 / self.n_items if self.shrink_threshold is None else float(self.shrink_threshold)

    def _build_module(self, n_features: int) -> nn.Module:
        return MemAENetwork(n_features, tuple(self.hidden_dims), self.n_items, self.threshold, self.activation)

    def _loss(self, batch: torch.Tensor) -> torch.Tensor:
        x_hat, weights = self.module_(batch)
        reconstruction = (batch - x_hat).pow(2).sum(dim=1)
        return (reconstruction + self.entropy_weight * addressing_entropy(weights)).mean()

    def _reconstruct(self, batch: torch.Tensor) -> torch.Tensor:
        return self.module_(batch)[0]

    def addressing_weights(self, X) -> np.ndarray:
        """The sparse memory addressing weights ``w_hat`` of each row, shape ``(n, n_items)``."""
        return self._apply(lambda batch: self.module_.memory.addressing(self.module_.encoder(batch)),
                           self._validate(X))
