"""Fully connected winner-take-all autoencoder with lifetime sparsity."""
from __future__ import annotations

import math

import torch
from torch import nn

from genad.base import ReconstructionDetector, hyperparameters
from genad.nn import mlp
from genad.registry import Paper, register
from genad.training import batched_apply
from genad.validation import check_dims, check_float


def lifetime_sparsity(hidden: torch.Tensor, rate: float) -> torch.Tensor:
    """Keep, for each hidden unit (column), only its ``ceil(rate * batch)`` largest activations in the batch."""
    k = max(1, math.ceil(rate * hidden.shape[0]))
    kth_largest = hidden.topk(k, dim=0).values[-1]
    return hidden * (hidden >= kth_largest)


class WTAAutoEncoder(nn.Module):
    """ReLU encoder, winner-take-all code, linear decoder.

    Training mode applies lifetime sparsity over the mini-batch; eval mode keeps an activation when
    it reaches its unit's ``thresholds`` (the training-set value that only ``rate`` of rows exceed),
    so a row's score does not depend on the other rows scored with it.
    """

    def __init__(self, n_features: int, hidden_dims: tuple[int, ...], rate: float) -> None:
        super().__init__()
        self.encoder = mlp([n_features, *hidden_dims], "relu", final_activation="relu")
        self.decoder = nn.Linear(hidden_dims[-1], n_features)
        self.rate = rate
        self.register_buffer("thresholds", torch.zeros(hidden_dims[-1]))

    def code(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(x)
        if self.training:
            return lifetime_sparsity(hidden, self.rate)
        return hidden * (hidden >= self.thresholds)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.code(x))

    @torch.no_grad()
    def set_thresholds(self, data: torch.Tensor) -> None:
        """Per-unit activation that a share ``rate`` of the rows of ``data`` reach (lifetime sparsity at test time)."""
        self.eval()
        hidden = batched_apply(self.encoder, data)
        k = max(1, math.ceil(self.rate * hidden.shape[0]))
        self.thresholds.copy_(hidden.topk(k, dim=0).values[-1])


@register(
    "wta_ae", family="reconstruction", modalities=("tabular",),
    paper=Paper("Winner-Take-All Autoencoders", "Makhzani & Frey", "NeurIPS", 2015),
)
@hyperparameters
class WinnerTakeAllAutoEncoder(ReconstructionDetector):
    """Fully connected winner-take-all (FC-WTA) autoencoder (Makhzani & Frey, 2015).

    A stack of ReLU layers encodes each row; a *lifetime sparsity* constraint then keeps, for each
    hidden unit, only its ``sparsity`` (k%) largest activations across the mini-batch and sets the
    rest to zero, and a linear decoder reconstructs the input from this sparse code. Gradients flow
    only through the winners. Each unit thus specialises on a small share of the data (every unit
    wins on some rows, so none dies) and the code of a row is a few active units. The anomaly score
    is the squared reconstruction error ``||x - g(h(x))||^2``.

    Deviation: the paper drops the constraint at test time because it uses the codes as features
    for a classifier; a reconstruction score needs the decoder to see codes like those it was trained
    on, so genad keeps a batch-independent form of lifetime sparsity at test time: a unit's
    activation passes when it reaches the value that only ``sparsity`` of the training rows reach
    (set once after training). Tabular MLP sizes replace the paper's 1000+ units for images.

    Parameters
    ----------
    hidden_dims : widths of the ReLU encoder layers; the last one is the sparse code.
    sparsity : share of the mini-batch each hidden unit may be active on (paper default 5%).
    **base : see :class:`genad.base.TorchDetector` (epochs, batch_size, lr, device, random_state, ...).

    References
    ----------
    Makhzani, A. and Frey, B. "Winner-Take-All Autoencoders". NeurIPS, 2015.
    """

    hidden_dims: tuple[int, ...] = (256,)
    sparsity: float = 0.05
    epochs: int = 30

    def _check_params(self) -> None:
        super()._check_params()
        check_dims("hidden_dims", self.hidden_dims)
        check_float("sparsity", self.sparsity, 0.0, 1.0, low_closed=False)

    def _build_module(self, n_features: int) -> nn.Module:
        return WTAAutoEncoder(n_features, tuple(self.hidden_dims), self.sparsity)

    def _reconstruct(self, batch: torch.Tensor) -> torch.Tensor:
        return self.module_(batch)

    def _loss(self, batch: torch.Tensor) -> torch.Tensor:
        return (batch - self.module_(batch)).pow(2).sum(dim=1).mean()

    def _after_training(self, data: torch.Tensor) -> None:
        self.module_.set_thresholds(data)
