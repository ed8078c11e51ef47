"""MCM: masked cell modeling, reconstruction of each row from several learned masks of it."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from genad.base import ReconstructionDetector, hyperparameters
from genad.nn import mlp
from genad.registry import Paper, register
from genad.validation import check_dims, check_float, check_int


class ParallelLinear(nn.Module):
    """``n_nets`` independent bias-free linear layers applied at once:
    ``(n_nets, rows, d_in) -> (n_nets, rows, d_out)``."""

    def __init__(self, n_nets: int, d_in: int, d_out: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(d_in)  # nn.Linear's default initialisation, per net
        self.weight = nn.Parameter(torch.empty(n_nets, d_in, d_out).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.bmm(x, self.weight)


class MaskGenerator(nn.Module):
    """``n_masks`` small ReLU networks, each mapping a row to the logits of one soft mask over its cells."""

    def __init__(self, n_features: int, n_masks: int, n_layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(ParallelLinear(n_masks, n_features, n_features) for _ in range(n_layers))
        self.n_masks = n_masks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first, *rest = self.layers
        # all nets' first layers in one plain matrix product of the shared input: (rows, d) -> (n_masks, rows, d)
        stacked = first.weight.transpose(0, 1).reshape(x.shape[1], -1)
        h = (x @ stacked).reshape(x.shape[0], self.n_masks, -1).transpose(0, 1)
        for layer in rest:
            h = layer(torch.relu(h))
        return h.transpose(0, 1)  # (rows, n_masks, features)


class MaskedCellModel(nn.Module):
    """Mask generator, then one encoder-decoder shared by all masked copies of a row."""

    def __init__(self, masks: MaskGenerator, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        self.masks, self.encoder, self.decoder = masks, encoder, decoder

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reconstructions ``(rows, n_masks, features)`` and the mask logits of the same shape."""
        logits = self.masks(x)
        masked = torch.sigmoid(logits) * x.unsqueeze(1)
        return self.decoder(self.encoder(masked)), logits


def mask_diversity(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """MCM's diversity loss per row: low when a row's masks point in different directions.

    For masks ``m_1..m_K`` (L2-normalised), ``sum_i log sum_{j != i} exp(<m_i, m_j> / temperature)``, scaled by
    ``1 / |(K-1) log(1/(K-1))|`` as in the paper. Identical masks give ``K (log(K-1) + 1/temperature)`` before the
    scale, mutually orthogonal ones ``K log(K-1)``.
    """
    unit = nn.functional.normalize(logits, dim=-1)
    similarity = unit @ unit.transpose(1, 2) / temperature
    n_masks = logits.shape[1]
    self_pairs = torch.eye(n_masks, dtype=torch.bool, device=logits.device)
    per_mask = torch.logsumexp(similarity.masked_fill(self_pairs, float("-inf")), dim=-1)
    others = n_masks - 1
    return per_mask.sum(dim=1) / abs(others * math.log(1.0 / others))


@register(
    "mcm", family="reconstruction", modalities=("tabular",),
    paper=Paper("MCM: Masked Cell Modeling for Anomaly Detection in Tabular Data",
                "Yin, Qiao, Zhou, Wang & Yang", "ICLR", 2024),
)
@hyperparameters
class MCM(ReconstructionDetector):
    """Masked cell modeling (Yin et al., ICLR 2024): a masked autoencoder for tables.

    A mask generator (``n_masks`` separate bias-free ReLU networks of ``mask_layers`` layers,
    features to features) turns each row ``x`` into soft masks ``M_k = sigmoid(G_k(x))``; one
    encoder-decoder reconstructs the full row from every masked copy ``M_k * x``. Training
    minimises the mean L2 reconstruction error over the masks plus ``diversity_weight`` times a
    contrastive diversity loss (:func:`mask_diversity`) that keeps the masks from collapsing onto
    one another, so each mask hides a different part of the row and the network must learn the
    correlations between the cells of normal rows. The anomaly score is the mean over masks of
    ``||x - x_hat_k||_2``: a row whose hidden cells cannot be predicted from the visible ones breaks
    the correlations of normal data.

    Architecture, loss and training follow the paper and its public code: encoder
    ``d-256-256-128`` and a mirrored decoder, LeakyReLU(0.2), no biases; 15 mask networks of 3
    layers; temperature 0.1; ``diversity_weight`` (the paper's lambda) 5; Adam at ``lr=0.05`` with
    weight decay 1e-5, the learning rate multiplied by 0.98 after every epoch; 200 epochs of
    batch 512. Two shorter schedules over the same range of learning rates (20 and 50 epochs,
    at least 100 steps) were compared with it on genad's development collection (``dev:tabular``,
    seeds 0-1, both protocols); the paper's had the best mean AUROC (0.788 against 0.784 and
    0.759) and is the default (BENCHMARKS.md, run 8). It is slow on a CPU: on one core, fitting
    1,158 rows (cardio) took 57 s and 13,866 rows (cover) 502 s; ``device="auto"`` uses a GPU
    when there is one.

    Deviations: genad standardises features (the benchmark's protocol) where the paper min-max
    scales them, and shuffles the batches, which the public code does not. ``restore`` returns the
    mean of the masks' reconstructions and ``explain`` the mean squared error per feature over the
    masks.

    Parameters
    ----------
    n_masks : number of learned masks (at least 3: the diversity loss compares each with the others).
    mask_layers : layers of each mask network.
    hidden_dims : widths of the encoder's layers, the last one being the latent code; the decoder mirrors them.
    diversity_weight : weight of the diversity loss (lambda).
    temperature : temperature of the diversity loss.
    **base : see :class:`genad.base.TorchDetector` (epochs, batch_size, lr, lr_decay, min_steps, ...).

    References
    ----------
    Yin, J., Qiao, Y., Zhou, Z., Wang, X. and Yang, J. "MCM: Masked Cell Modeling for Anomaly
    Detection in Tabular Data". ICLR, 2024.
    """

    n_masks: int = 15
    mask_layers: int = 3
    hidden_dims: tuple[int, ...] = (256, 256, 128)
    diversity_weight: float = 5.0
    temperature: float = 0.1
    epochs: int = 200
    batch_size: int = 512
    lr: float = 0.05
    lr_decay: float = 0.98
    weight_decay: float = 1e-5

    def _check_params(self) -> None:
        super()._check_params()
        check_int("n_masks", self.n_masks, low=3)
        check_int("mask_layers", self.mask_layers, low=1)
        check_dims("hidden_dims", self.hidden_dims)
        check_float("diversity_weight", self.diversity_weight, 0.0)
        check_float("temperature", self.temperature, 0.0, low_closed=False)

    def _build_module(self, n_features: int) -> nn.Module:
        dims = [n_features, *self.hidden_dims]
        return MaskedCellModel(
            MaskGenerator(n_features, self.n_masks, self.mask_layers),
            mlp(dims, "leaky_relu", bias=False), mlp(dims[::-1], "leaky_relu", bias=False),
        )

    def _errors(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-mask residuals ``x_hat_k - x`` and the mask logits."""
        reconstructions, logits = self.module_(batch)
        return reconstructions - batch.unsqueeze(1), logits

    def _loss(self, batch: torch.Tensor) -> torch.Tensor:
        residuals, logits = self._errors(batch)
        reconstruction = residuals.norm(dim=2).mean()
        return reconstruction + self.diversity_weight * mask_diversity(logits, self.temperature).mean()

    def _score_batch(self, batch: torch.Tensor) -> torch.Tensor:
        return self._errors(batch)[0].norm(dim=2).mean(dim=1)

    def _reconstruct(self, batch: torch.Tensor) -> torch.Tensor:
        return self.module_(batch)[0].mean(dim=1)

    def _explain(self, X: np.ndarray) -> np.ndarray:
        return self._apply(lambda batch: self._errors(batch)[0].pow(2).mean(dim=1), X)
