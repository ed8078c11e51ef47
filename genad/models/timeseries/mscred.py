"""MSCRED: reconstructing multi-scale signature matrices with a convolutional recurrent encoder-decoder
(Zhang et al., AAAI 2019)."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from genad.base import hyperparameters
from genad.registry import Paper, register
from genad.timeseries.base import TorchSeriesDetector
from genad.timeseries.windows import training_range
from genad.validation import check_dims, check_float, check_int

_WIDTHS = (32, 64, 128, 256)  # channels of the four encoder levels, as the authors' code has them


def signature_matrices(windows: torch.Tensor, scales: tuple[int, ...], steps: int, gap: int) -> torch.Tensor:
    """The ``steps`` most recent signature tensors of each window, oldest first.

    ``windows`` is ``(B, L, D)``; the ``k``-th tensor ends ``(steps - 1 - k) * gap`` steps before the window's
    end, and holds for each scale ``w`` the matrix ``M[i, j] = <x_i, x_j> / w`` of the inner products of
    channels ``i`` and ``j`` over the last ``w`` steps before that end. Returns ``(B, steps, len(scales), D, D)``.
    """
    length = windows.shape[1]
    tensors = []
    for k in range(steps):
        end = length - (steps - 1 - k) * gap
        segments = [windows[:, end - w:end] for w in scales]
        tensors.append(torch.stack([s.transpose(1, 2) @ s / s.shape[1] for s in segments], dim=1))
    return torch.stack(tensors, dim=1)


class _ConvLSTM(nn.Module):
    """A convolutional LSTM (Shi et al., NeurIPS 2015) whose input and hidden maps have the same channels."""

    def __init__(self, channels: int, kernel: int = 2):
        super().__init__()
        self.gates = nn.Conv2d(2 * channels, 4 * channels, kernel)
        before = (kernel - 1) // 2  # "SAME" padding as TensorFlow places it: the extra row/column after
        self.padding = (before, kernel - 1 - before) * 2

    def forward(self, sequence: torch.Tensor) -> torch.Tensor:
        """``(B, h, C, H, W)`` feature maps -> the hidden maps of every step, same shape."""
        hidden = torch.zeros_like(sequence[:, 0])
        cell = torch.zeros_like(hidden)
        outputs = []
        for k in range(sequence.shape[1]):
            gates = self.gates(F.pad(torch.cat([sequence[:, k], hidden], dim=1), self.padding))
            i, f, g, o = gates.chunk(4, dim=1)
            cell = torch.sigmoid(f + 1.0) * cell + torch.sigmoid(i) * torch.tanh(g)  # forget bias 1, as TF's cell
            hidden = torch.sigmoid(o) * torch.tanh(cell)
            outputs.append(hidden)
        return torch.stack(outputs, dim=1)


def temporal_attention(hidden: torch.Tensor, rescale: float) -> torch.Tensor:
    """The attention of MSCRED's ConvLSTMs: the steps' hidden maps ``(B, h, C, H, W)`` weighted by the softmax
    of their inner products with the last step's map, divided by ``rescale``; returns ``(B, C, H, W)``."""
    flat = hidden.flatten(2)
    weights = torch.softmax((flat * flat[:, -1:]).sum(dim=2) / rescale, dim=1)
    return (weights.unsqueeze(2) * flat).sum(dim=1).view_as(hidden[:, 0])


def _pad_to_even(x: torch.Tensor) -> torch.Tensor:
    """Pad an odd-sized map by one on the bottom and right, so that a 2x2 stride-2 convolution gives
    ``ceil(n / 2)`` as TensorFlow's "SAME" padding does."""
    return F.pad(x, (0, x.shape[-1] % 2, 0, x.shape[-2] % 2))


class _MSCREDNet(nn.Module):
    """Signature matrices -> convolutional encoder -> attention ConvLSTM per level -> convolutional decoder."""

    def __init__(self, n_scales: int, low: torch.Tensor, span: torch.Tensor):
        super().__init__()
        c1, c2, c3, c4 = _WIDTHS
        # no bias terms in the (de)convolutions, as in the authors' code (a comment there: biases changed nothing)
        self.conv1 = nn.Conv2d(n_scales, c1, 3, stride=1, padding=1, bias=False)
        self.conv2 = nn.Conv2d(c1, c2, 3, stride=2, padding=1, bias=False)
        self.conv3 = nn.Conv2d(c2, c3, 2, stride=2, bias=False)
        self.conv4 = nn.Conv2d(c3, c4, 2, stride=2, bias=False)
        self.lstms = nn.ModuleList(_ConvLSTM(c) for c in _WIDTHS)
        self.deconv4 = nn.ConvTranspose2d(c4, c3, 2, stride=2, bias=False)
        self.deconv3 = nn.ConvTranspose2d(2 * c3, c2, 2, stride=2, bias=False)
        self.deconv2 = nn.ConvTranspose2d(2 * c2, c1, 3, stride=2, padding=1, output_padding=1, bias=False)
        self.deconv1 = nn.ConvTranspose2d(2 * c1, n_scales, 3, stride=1, padding=1, bias=False)
        for layer in self.modules():
            if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.xavier_uniform_(layer.weight)
        self.register_buffer("low", low)
        self.register_buffer("span", span)

    def scale(self, windows: torch.Tensor) -> torch.Tensor:
        """Each channel min-max scaled by its training range, as the authors scale their series to [0, 1]."""
        return (windows - self.low) / self.span

    def encode(self, signatures: torch.Tensor) -> list[torch.Tensor]:
        """``(B, h, S, n, n)`` -> the four levels' feature maps, each ``(B, h, C, H, W)``."""
        batch, steps = signatures.shape[:2]
        x1 = F.selu(self.conv1(signatures.flatten(0, 1)))
        x2 = F.selu(self.conv2(x1))
        x3 = F.selu(self.conv3(_pad_to_even(x2)))
        x4 = F.selu(self.conv4(_pad_to_even(x3)))
        return [x.view(batch, steps, *x.shape[1:]) for x in (x1, x2, x3, x4)]

    def decode(self, attended: list[torch.Tensor]) -> torch.Tensor:
        """The attended maps of the four levels -> the last step's signature tensor ``(B, S, n, n)``."""
        a1, a2, a3, a4 = attended
        x = torch.cat([self._up(self.deconv4, a4, a3), a3], dim=1)  # skip connections, as in the paper
        x = torch.cat([self._up(self.deconv3, x, a2), a2], dim=1)
        x = torch.cat([self._up(self.deconv2, x, a1), a1], dim=1)
        return F.selu(self.deconv1(x))

    @staticmethod
    def _up(deconv: nn.ConvTranspose2d, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """Upsample ``x`` and crop it to ``like``'s size (an odd size is one less than twice the smaller)."""
        return F.selu(deconv(x)[..., :like.shape[-2], :like.shape[-1]])

    def forward(self, signatures: torch.Tensor) -> torch.Tensor:
        steps = signatures.shape[1]
        attended = [temporal_attention(lstm(level), float(steps))
                    for lstm, level in zip(self.lstms, self.encode(signatures))]
        return self.decode(attended)


@register(
    "mscred", family="reconstruction", modalities=("time-series",),
    paper=Paper("A Deep Neural Network for Unsupervised Anomaly Detection and Diagnosis in Multivariate Time "
                "Series Data", "Zhang, Song, Chen, Feng, Lumezanu, Cheng, Ni, Zong, Chen & Chawla", "AAAI", 2019),
)
@hyperparameters
class MSCRED(TorchSeriesDetector):
    """MSCRED (Zhang et al., AAAI 2019): a spatio-temporal autoencoder of the channels' correlations.

    MSCRED does not reconstruct the series but how its channels move together. At a time ``t`` and for each
    scale ``w`` (10, 30 and 60 steps), the *signature matrix* holds the inner products of every pair of
    channels over the last ``w`` steps, divided by ``w``: an ``n x n`` image per scale, for ``n`` channels.
    The signature tensors of ``h = 5`` times, ``gap = 10`` steps apart, go through

    1. a convolutional encoder (four levels: 32 3x3, 64 3x3 stride 2, 128 2x2 stride 2, 256 2x2 stride 2
       filters, SELU), applied to each time on its own, which encodes the correlations between channels;
    2. at each level, a ConvLSTM (2x2 kernels) over the ``h`` times, whose hidden maps are combined by
       temporal attention: softmax weights from each map's inner product with the last one, divided by
       ``h`` (the paper's rescale factor);
    3. a convolutional decoder (transposed convolutions mirroring the encoder, each level concatenated
       with the attended map of the encoder level of the same size) that reconstructs the *last* time's
       signature tensor.

    Training minimises the squared error of that reconstruction on normal data. The anomaly score of a time
    is the number of *broken* elements: entries of the residual matrix at the shortest scale whose squared
    error exceeds ``threshold`` (0.005). One sample spans ``(h - 1) * gap + 60 = 100`` steps; samples are
    taken every ``gap`` steps, and each score goes to the ``gap`` steps that end its sample. ``explain``
    gives each channel its number of broken elements in its row of that matrix: the channels whose
    correlations with the others are reconstructed worst. The paper finds root causes in the residual
    matrices too, but its exact ranking rule was not in what could be read here; the row count is genad's.

    Followed: the paper's abstract, introduction and published summaries of it (its full text could not be
    read here), and the authors' code (``7fantasysz/MSCRED``: ``MSCRED_TF.py``, ``matrix_generator.py`` and
    ``evaluate.py``, read for this): scales, steps, gap, layers, attention, loss on the last step, Adam at
    ``lr = 2e-4``, Xavier weights, no biases in the (de)convolutions, and the score with its threshold of
    0.005 on the squared residual at the shortest scale.

    Deviations: each channel is min-max scaled with the training part's range (the authors scale with the
    whole series'; test values may leave [0, 1] here). The authors train on one sample per optimizer step
    for several epochs; genad trains on batches of 16 for a fixed 200 steps, 3,200 samples (a CPU budget:
    one sample of 38 channels costs about 0.1 s of forward and backward pass on one core, so a fit on an SMD
    machine, 1.4 epochs, takes about 8 minutes with its training scores). On SMD machine-1-6's training part
    the loss levels off after about 150 such steps. ``restore`` is not offered: MSCRED reconstructs
    correlations, not the series.

    Parameters
    ----------
    scales : window lengths of the signature matrices; the shortest gives the score.
    steps : number of signature tensors the ConvLSTMs see (``h``).
    gap : steps between consecutive signature tensors.
    threshold : squared residual above which an element counts as broken.
    window : steps one sample spans; at least ``(steps - 1) * gap + max(scales)``.
    train_stride, score_stride : see :class:`genad.timeseries.base.SeriesDetector` (``gap`` by default).
    **base : see :class:`genad.base.TorchDetector` (epochs, batch_size, lr, device, random_state, ...).

    References
    ----------
    Zhang, C., Song, D., Chen, Y., Feng, X., Lumezanu, C., Cheng, W., Ni, J., Zong, B., Chen, H. and
    Chawla, N. V. "A Deep Neural Network for Unsupervised Anomaly Detection and Diagnosis in Multivariate
    Time Series Data". AAAI 2019.
    """

    scales: tuple[int, ...] = (10, 30, 60)
    steps: int = 5
    gap: int = 10
    threshold: float = 0.005
    window: int = 100
    train_stride: int = 10
    score_stride: int = 10
    epochs: int = 1
    min_steps: int = 200
    batch_size: int = 16
    lr: float = 2e-4

    fold = "last"  # a score belongs to the steps that end its sample
    _shape_params = ("window", "scales", "steps", "gap")
    _apply_batch_size = 64  # a sample's feature maps are large: score in moderate batches

    def _check_params(self) -> None:
        super()._check_params()
        check_dims("scales", self.scales)
        check_int("steps", self.steps, low=1)
        check_int("gap", self.gap, low=1)
        check_float("threshold", self.threshold, 0.0)
        span = (self.steps - 1) * self.gap + max(self.scales)
        if self.window < span:
            raise ValueError(f"window={self.window} is shorter than one sample: (steps - 1) * gap + max(scales) "
                             f"= {span} steps; set window to at least {span}")

    # --- network and training ----------------------------------------------------------------------------
    def _fit(self, X: np.ndarray, y: np.ndarray | None) -> None:
        self.scale_low_, self.scale_span_ = training_range(X)
        super()._fit(X, y)

    def _build_module(self, n_features: int) -> nn.Module:
        return _MSCREDNet(len(self.scales), torch.from_numpy(self.scale_low_), torch.from_numpy(self.scale_span_))

    def _signatures(self, batch: torch.Tensor) -> torch.Tensor:
        return signature_matrices(self.module_.scale(batch), tuple(self.scales), self.steps, self.gap)

    def _loss(self, batch: torch.Tensor) -> torch.Tensor:
        signatures = self._signatures(batch)
        return (self.module_(signatures) - signatures[:, -1]).pow(2).mean()

    # --- score and explanation ---------------------------------------------------------------------------
    def _broken(self, batch: torch.Tensor) -> torch.Tensor:
        """``(B, n, n)``: which elements of the shortest scale's residual matrix exceed the threshold."""
        signatures = self._signatures(batch)
        shortest = int(np.argmin(self.scales))
        residual = self.module_(signatures)[:, shortest] - signatures[:, -1, shortest]
        return (residual.pow(2) > self.threshold).float()

    def _score_batch(self, batch: torch.Tensor) -> torch.Tensor:
        return self._broken(batch).sum(dim=(1, 2))

    def _broken_per_channel(self, batch: torch.Tensor) -> torch.Tensor:
        """``(B, L, D)``: each channel's broken elements in its row, the same for every step of the window."""
        return self._broken(batch).sum(dim=2).unsqueeze(1).expand(-1, batch.shape[1], -1)

    def _explain(self, X: np.ndarray) -> np.ndarray:
        return self._per_step(self._broken_per_channel, X)
