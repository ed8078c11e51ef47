"""Robust deep autoencoder: X = L_D + S, an autoencoder for L_D and a row-sparse outlier matrix S."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from genad.base import ReconstructionDetector, hyperparameters
from genad.nn import mlp
from genad.registry import Paper, register
from genad.training import adam, batched_apply, resolve_device, seeded
from genad.validation import check_dims, check_float, check_int


def shrink_rows_l21(residual: torch.Tensor, threshold: float) -> torch.Tensor:
    """Proximal operator of ``threshold * ||S||_{2,1}`` with rows as groups.

    A row whose l2 norm is at most ``threshold`` becomes 0; a longer row is shortened by ``threshold``.
    """
    norms = residual.norm(dim=1, keepdim=True)
    scale = torch.clamp(1.0 - threshold / norms.clamp_min(1e-12), min=0.0)
    return residual * scale


@register(
    "robust_ae", family="reconstruction", modalities=("tabular",),
    paper=Paper("Anomaly Detection with Robust Deep Autoencoders", "Zhou & Paffenroth", "KDD", 2017),
)
@hyperparameters
class RobustAutoEncoder(ReconstructionDetector):
    """Robust deep autoencoder with l2,1 outlier rows (Zhou & Paffenroth, 2017).

    Inspired by robust PCA, the training data is split as ``X = L_D + S``: ``L_D`` is what a deep
    autoencoder can reconstruct and ``S`` collects the outliers. The objective
    ``min ||L_D - D(E(L_D))||_2 + lam * ||S||_{2,1}`` s.t. ``X - L_D - S = 0`` is solved by
    alternating, as in the paper: for ``n_rounds`` rounds, train the autoencoder on ``L = X - S``
    for ``epochs`` epochs (one Adam optimizer kept across rounds), set ``L_D = D(E(L))``, then apply
    the l2,1 proximal shrinkage to ``X - L_D`` with rows as groups (the paper's GRDA for outlier
    instances): rows whose residual is short become 0, so ``S`` is non-zero only on outlier rows.
    The autoencoder therefore learns from contaminated data without being pulled towards the
    outliers. ``S_`` holds the learned outlier matrix of the training rows: the paper's outliers are its
    non-zero rows. The paper scores no new points; genad scores every row, the training rows too, by
    its reconstruction error ``||x - D(E(x))||^2`` under the autoencoder trained on ``L``.

    Deviations: the paper's ``lambda`` is an absolute threshold on a row's residual norm; genad
    states it per feature (the paper's lambda equals ``lam * sqrt(n_features)``) so that one default
    fits datasets of any width on standardized features. The paper's networks are sigmoid layers
    trained by SGD (20 outer rounds of 50 inner iterations in the reference code); genad uses a
    ReLU stack with a linear output and Adam, 10 rounds of 3 epochs by default (CPU budget).

    Parameters
    ----------
    hidden_dims : widths of the encoder layers, the last one being the bottleneck; the decoder mirrors them.
    activation : activation between layers.
    lam : l2,1 shrinkage per feature: a training row is an outlier (non-zero ``S_`` row) when the
        root-mean-square of its reconstruction residual exceeds ``lam``.
    n_rounds : alternating rounds (autoencoder training, then shrinkage of ``S``).
    epochs : autoencoder epochs per round.
    **base : see :class:`genad.base.TorchDetector` (batch_size, lr, device, random_state, ...).

    Attributes
    ----------
    S_ : ``(n_train, n_features)`` outlier part of the training data; ``X_train - S_`` is ``L``.
    history_ : per-epoch losses of all rounds, plus ``outlier_rows``: non-zero rows of ``S`` per round.

    References
    ----------
    Zhou, C. and Paffenroth, R. C. "Anomaly Detection with Robust Deep Autoencoders". KDD, 2017.
    """

    hidden_dims: tuple[int, ...] = (64, 32)
    activation: str = "relu"
    lam: float = 1.0
    n_rounds: int = 10
    epochs: int = 3

    def _check_params(self) -> None:
        super()._check_params()
        check_dims("hidden_dims", self.hidden_dims)
        check_float("lam", self.lam, 0.0, low_closed=False)
        check_int("n_rounds", self.n_rounds, low=1)

    def _build_module(self, n_features: int) -> nn.Module:
        dims = [n_features, *self.hidden_dims]
        return nn.Sequential(mlp(dims, self.activation), mlp(dims[::-1], self.activation))

    def _reconstruct(self, batch: torch.Tensor) -> torch.Tensor:
        return self.module_(batch)

    def _loss(self, batch: torch.Tensor) -> torch.Tensor:
        return (batch - self._reconstruct(batch)).pow(2).sum(dim=1).mean()

    def _fit(self, X: np.ndarray, y: np.ndarray | None) -> None:
        self.device_ = resolve_device(self.device)
        data = self._tensor(X)
        threshold = self.lam * math.sqrt(X.shape[1])
        S = torch.zeros_like(data)
        self.history_ = {"loss": [], "val_loss": [], "outlier_rows": []}
        with seeded(self.random_state) as generator:
            self.module_ = self._build_module(X.shape[1]).to(self.device_)
            optimizer = adam(self.module_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            for _ in range(self.n_rounds):
                L = data - S
                round_history = self._train(L, generator, optimizer=optimizer)
                self.history_["loss"] += round_history["loss"]
                self.history_["val_loss"] += round_history["val_loss"]
                S = shrink_rows_l21(data - batched_apply(self._reconstruct, L), threshold)
                self.history_["outlier_rows"].append(int((S.abs().sum(dim=1) > 0).sum()))
        self.S_ = S.double().cpu().numpy()
