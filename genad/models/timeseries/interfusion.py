"""InterFusion: a hierarchical VAE with temporal and inter-metric embeddings, scored after MCMC imputation
(Li et al., KDD 2021)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from genad.base import hyperparameters
from genad.nn.flows import AffineCoupling, Flow, Reverse, standard_normal_log_prob
from genad.nn.made import gaussian_log_prob
from genad.nn.mlp import mlp
from genad.registry import Paper, register
from genad.timeseries.base import RestoringSeriesDetector
from genad.training import resolve_device, seeded
from genad.validation import check_int

KERNEL = 5
STRIDES = (2, 1, 2, 1, 2)  # the authors' five convolutions: a window of 100 steps becomes 13
LOG_STD_RANGE = (-5.0, 2.0)  # every predicted log standard deviation is clipped to it, as in the authors' code


class _Pass(NamedTuple):
    """One pass of the inference network and the temporal decoder over a batch of windows."""

    z2: torch.Tensor  # temporal embedding, (B, C, L2)
    z2_mean: torch.Tensor
    z2_log_std: torch.Tensor
    e: torch.Tensor  # z2 decoded back to the window's length, (B, T, C)
    z1_base: torch.Tensor  # inter-metric embedding before the posterior flow, (B, T, z_dim)
    z1: torch.Tensor  # after it
    z1_mean: torch.Tensor
    z1_log_std: torch.Tensor
    flow_log_det: torch.Tensor  # (B, T)


def _mean_and_log_std(out: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    mean, log_std = out.chunk(2, dim=dim)
    return mean, log_std.clamp(*LOG_STD_RANGE)


def _draw(mean: torch.Tensor, log_std: torch.Tensor, sample: bool) -> torch.Tensor:
    return mean + torch.exp(log_std) * torch.randn_like(mean) if sample else mean


class _InterFusionNet(nn.Module):
    def __init__(self, n_features: int, channels: int, z_dim: int, hidden: int, dense: int, flow_layers: int,
                 flow_hidden: int):
        super().__init__()
        d, c = n_features, channels
        self.z_dim = z_dim
        # q(z2 | x): strided convolutions over time with c channels; p's transposed convolutions mirror them
        self.encoder = nn.ModuleList(
            nn.Conv1d(d if i == 0 else c, c, KERNEL, stride=s, padding=KERNEL // 2) for i, s in enumerate(STRIDES))
        self.z2_head = nn.Conv1d(c, 2 * c, 1)
        self.decoder = nn.ModuleList(
            nn.ConvTranspose1d(c, c, KERNEL, stride=s, padding=KERNEL // 2) for s in reversed(STRIDES))
        self.pretrain_head = nn.Conv1d(c, 2 * d, 1)  # p(x | z2) of the pre-training stage only
        # q(z1 | e): a backward GRU over the decoded temporal embedding, then an autoregressive Gaussian
        self.q_rnn = nn.GRU(c, hidden, batch_first=True)
        self.q_dense = mlp([hidden, dense, dense], "relu", final_activation="relu")
        self.q_head = nn.Linear(dense + z_dim, 2 * z_dim)
        layers = []
        for _ in range(flow_layers):
            mask = torch.zeros(z_dim)
            mask[: max(1, z_dim // 3)] = 1.0  # the authors' coupling keeps one of three dimensions
            layers += [AffineCoupling(mask, [flow_hidden]), Reverse()]
        self.flow = Flow(layers, z_dim)
        # p(z1 | z2): autoregressive Gaussian on [z1_{t-1}, e_t]; p(x | z1, z2): a dense net per step
        self.prior_head = nn.Linear(z_dim + c, 2 * z_dim)
        self.z1_to_x = nn.Linear(z_dim, d)
        self.x_dense = mlp([d + c, dense, dense], "relu", final_activation="relu")
        self.x_head = nn.Linear(dense, 2 * d)

    # --- the temporal embedding -------------------------------------------------------------------
    def temporal_posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
        """``q(z2 | x)``'s mean and log std, ``(B, C, L2)``, and the lengths the convolutions passed through."""
        h, lengths = x.transpose(1, 2), [x.shape[1]]
        for conv in self.encoder:
            h = F.relu(conv(h))
            lengths.append(h.shape[-1])
        return (*_mean_and_log_std(self.z2_head(h), dim=1), lengths)

    def temporal_decode(self, z2: torch.Tensor, lengths: list[int]) -> torch.Tensor:
        """``e_{1:T}``, ``(B, T, C)``: ``z2`` through the transposed convolutions, back to the window's length."""
        h = z2
        for deconv, length in zip(self.decoder, reversed(lengths[:-1])):
            h = F.relu(deconv(h, output_size=[length]))
        return h.transpose(1, 2)

    # --- the inter-metric embedding ---------------------------------------------------------------
    def metric_posterior(self, e: torch.Tensor, sample: bool):
        """``z1_t ~ q(z1_t | a_t, z1_{t-1})`` step by step, ``a_t`` a backward GRU's summary of ``e_{t:T}``."""
        a = self.q_dense(self.q_rnn(e.flip(1))[0].flip(1))
        z_prev = e.new_zeros(e.shape[0], self.z_dim)
        zs, means, log_stds = [], [], []
        for t in range(e.shape[1]):
            mean, log_std = _mean_and_log_std(self.q_head(torch.cat([a[:, t], z_prev], dim=1)), dim=1)
            z_prev = _draw(mean, log_std, sample)
            zs.append(z_prev), means.append(mean), log_stds.append(log_std)
        return torch.stack(zs, 1), torch.stack(means, 1), torch.stack(log_stds, 1)

    def posterior_flow(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``z`` through the flow, each step's ``z_dim`` values a row; and each step's log-determinant."""
        rows, log_det = self.flow(z.reshape(-1, self.z_dim))
        return rows.view_as(z), log_det.view(z.shape[:2])

    def metric_prior_log_prob(self, z1: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """``log p(z1 | z2)`` per window: each ``z1_t`` given ``z1_{t-1}`` and ``e_t`` (all steps at once)."""
        previous = torch.cat([z1.new_zeros(z1.shape[0], 1, self.z_dim), z1[:, :-1]], dim=1)
        mean, log_std = _mean_and_log_std(self.prior_head(torch.cat([previous, e], dim=2)), dim=2)
        return gaussian_log_prob(z1, mean, log_std).sum((1, 2))

    # --- the whole model --------------------------------------------------------------------------
    def infer(self, x: torch.Tensor, sample: bool) -> _Pass:
        z2_mean, z2_log_std, lengths = self.temporal_posterior(x)
        z2 = _draw(z2_mean, z2_log_std, sample)
        e = self.temporal_decode(z2, lengths)
        z1_base, z1_mean, z1_log_std = self.metric_posterior(e, sample)
        z1, log_det = self.posterior_flow(z1_base)
        return _Pass(z2, z2_mean, z2_log_std, e, z1_base, z1, z1_mean, z1_log_std, log_det)

    def decode(self, z1: torch.Tensor, e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``p(x_t | z1_t, e_t)``'s mean and log std, ``(B, T, D)``."""
        return _mean_and_log_std(self.x_head(self.x_dense(torch.cat([self.z1_to_x(z1), e], dim=2))), dim=2)


@register(
    "interfusion", family="density-implicit", modalities=("time-series",),
    paper=Paper("Multivariate Time Series Anomaly Detection and Interpretation using Hierarchical Inter-Metric "
                "and Temporal Embedding", "Li, Zhao, Han, Su, Jiao, Wen & Pei", "KDD", 2021),
)
@hyperparameters
class InterFusion(RestoringSeriesDetector):
    """InterFusion (Li et al., KDD 2021): a hierarchical VAE with two embeddings of a window, scored after
    the anomalous points were imputed away.

    - **Temporal embedding** ``z2`` (one channel per metric, the window's length compressed 100 -> 13): five strided
      1-D convolutions give ``q(z2 | x)``; its prior is ``N(0, I)``; five transposed convolutions decode it
      to ``e_{1:T}``, one value per step and metric.
    - **Inter-metric embedding** ``z1`` (``z_dim`` per step): its prior ``p(z1_t | z1_{t-1}, e_t)`` is an
      autoregressive Gaussian; its posterior reads the decoded temporal embedding through a backward GRU and
      two dense layers (the "prefiltered" view: ``z1`` sees the window as ``z2`` reconstructs it),
      autoregressively too, then a RealNVP flow makes it non-Gaussian.
    - ``p(x_t | z1_t, e_t)``: two dense layers per step, a Gaussian with a learned standard deviation.
    - **Training**: first a plain convolutional VAE on ``z2`` alone (``pretrain_epochs``), then the whole model
      on the ELBO (one sample, no term weights). The learning rate halves every 10 epochs.
    - **Score**: the masked steps of each window (its last ``score_stride`` steps, those it scores) are
      replaced ``mcmc_iterations`` times by the model's reconstruction, so the embeddings are inferred from a
      window in which the anomaly no longer pulls them; the score of a step is ``-log p(x_t | z)`` of the
      *original* values under those embeddings. ``explain`` splits it by metric (the paper's interpretation
      ranks metrics by this log-likelihood).

    Paper settings kept: windows of 100, the five convolutions (kernel 5, strides 2-1-2-1-2), ``z1`` of 3
    dimensions, 20 RealNVP levels of 100 hidden units, log standard deviations clipped to [-5, 2], 20
    pre-training and 20 training epochs, Adam at lr 1e-3 halved every 10 epochs (here ``0.5 ** (1/10)`` per
    epoch), batches of 100, L2 1e-4, gradient clipping at 10 (here the global norm; the authors clip each
    tensor). Deviations (CPU budget, read from the authors' code, the paper's full text was not at hand):
    GRU and dense widths 100 instead of 500; the whole model trains on windows every ``train_stride=5``
    steps (the authors slide by 1, as the pre-training still does here); scored windows every
    ``score_stride=5`` steps, masking their last 5 steps (the authors score and mask the last step of every
    window); the imputation and the score use the posterior and decoder means
    (one deterministic chain) instead of 10 sampled chains and 100 ``z`` samples, so scores are
    reproducible; no validation split (the authors keep the epoch with the best loss on the last 30%); the
    coupling layers alternate by a reversal instead of a learned invertible linear map; the authors' decoded
    ``z2`` feeds both ``q(z1)`` and ``p``, so one pass serves both here.

    Built for many correlated metrics (SMD's 38, ASD's 19). With few metrics the temporal VAE tends to stay
    at the series' marginal (``z2`` unused; a posterior collapse): a 3-channel test series kept it there
    through about 1,800 pre-training steps, while 16 mixed channels left it. ``conv_channels`` widens the
    convolutions, but did not prevent it there either.

    Parameters
    ----------
    conv_channels : channels of the convolutions and of ``z2``; ``None`` (the authors' choice) gives one per
        metric, which leaves a series of few metrics a narrow temporal embedding.
    z_dim : dimension of the inter-metric embedding per step.
    hidden_size : GRU width of ``q(z1)``.
    dense_size : width of the dense layers of ``q(z1)`` and ``p(x | z1, z2)``.
    flow_layers : RealNVP coupling layers of the posterior flow (0 disables it).
    flow_hidden : hidden width of each coupling layer's network.
    pretrain_epochs : epochs of the convolutional VAE on ``z2`` alone before the whole model trains.
    pretrain_stride : step between its training windows.
    mcmc_iterations : imputation passes before scoring (0 scores the raw window).

    References
    ----------
    Li, Z., Zhao, Y., Han, J., Su, Y., Jiao, R., Wen, X. and Pei, D. "Multivariate Time Series Anomaly
    Detection and Interpretation using Hierarchical Inter-Metric and Temporal Embedding". KDD 2021.
    """

    window: int = 100
    train_stride: int = 5
    pretrain_stride: int = 1
    score_stride: int = 5
    conv_channels: int | None = None
    z_dim: int = 3
    hidden_size: int = 100
    dense_size: int = 100
    flow_layers: int = 20
    flow_hidden: int = 100
    pretrain_epochs: int = 20
    mcmc_iterations: int = 10
    epochs: int = 20
    batch_size: int = 100
    lr: float = 1e-3
    lr_decay: float = 0.5 ** 0.1
    weight_decay: float = 1e-4
    clip_grad_norm: float | None = 10.0

    fold = "last"
    _early_stopping_unsupported = "the two training stages have no validation split here"
    _apply_batch_size = 512  # a GRU over windows of 100 steps: 8,192 windows at once would hold gigabytes

    def _check_params(self) -> None:
        super()._check_params()
        if self.conv_channels is not None:
            check_int("conv_channels", self.conv_channels, low=1)
        for name in ("z_dim", "hidden_size", "dense_size", "flow_hidden"):
            check_int(name, getattr(self, name), low=1)
        check_int("pretrain_stride", self.pretrain_stride, low=1)
        for name in ("flow_layers", "pretrain_epochs", "mcmc_iterations"):
            check_int(name, getattr(self, name), low=0)

    def _build_module(self, n_features: int) -> nn.Module:
        channels = self.conv_channels or n_features
        return _InterFusionNet(n_features, channels, self.z_dim, self.hidden_size, self.dense_size, self.flow_layers,
                               self.flow_hidden)

    def _fit(self, X: np.ndarray, y: np.ndarray | None) -> None:
        self.device_ = resolve_device(self.device)
        with seeded(self.random_state) as generator:
            self.module_ = self._build_module(X.shape[1]).to(self.device_)
            pretrain_loss = self._pretrain(self._tensor(self._windows(X, self.pretrain_stride)), generator)
            self.history_ = {"pretrain_loss": pretrain_loss,
                             **self._train(self._training_tensor(X), generator)}

    def _pretrain(self, windows: torch.Tensor, generator: torch.Generator) -> list[float]:
        """Stage 1: the convolutional VAE on ``z2`` alone. It needs many steps: with a learned standard
        deviation and the full KL term it first settles on the series' marginal (``z2`` unused) and leaves it
        only after some 2,000 steps on SMD's training parts, hence the authors' slide of one step here."""
        if not self.pretrain_epochs:
            return []
        net = self.module_
        parameters = [*net.encoder.parameters(), *net.z2_head.parameters(), *net.decoder.parameters(),
                      *net.pretrain_head.parameters()]
        return self._train(windows, generator, loss_fn=self._pretrain_loss, parameters=parameters,
                           epochs=self.pretrain_epochs)["loss"]

    def _pretrain_loss(self, batch: torch.Tensor) -> torch.Tensor:
        """The negative ELBO of the convolutional VAE on ``z2`` alone, per step."""
        net = self.module_
        z2_mean, z2_log_std, lengths = net.temporal_posterior(batch)
        z2 = _draw(z2_mean, z2_log_std, True)
        e = net.temporal_decode(z2, lengths)
        x_mean, x_log_std = _mean_and_log_std(net.pretrain_head(e.transpose(1, 2)), dim=1)
        log_px = gaussian_log_prob(batch.transpose(1, 2), x_mean, x_log_std).sum((1, 2))
        kl_terms = standard_normal_log_prob(z2).sum((1, 2)) - gaussian_log_prob(z2, z2_mean, z2_log_std).sum((1, 2))
        return -(log_px + kl_terms).mean() / batch.shape[1]

    def _loss(self, batch: torch.Tensor) -> torch.Tensor:
        """The negative ELBO of the whole model (one sample), per step."""
        net = self.module_
        p = net.infer(batch, sample=True)
        x_mean, x_log_std = net.decode(p.z1, p.e)
        log_px = gaussian_log_prob(batch, x_mean, x_log_std).sum((1, 2))
        log_p_z = net.metric_prior_log_prob(p.z1, p.e) + standard_normal_log_prob(p.z2).sum((1, 2))
        log_q_z1 = gaussian_log_prob(p.z1_base, p.z1_mean, p.z1_log_std).sum((1, 2)) - p.flow_log_det.sum(1)
        log_q_z2 = gaussian_log_prob(p.z2, p.z2_mean, p.z2_log_std).sum((1, 2))
        return -(log_px + log_p_z - log_q_z1 - log_q_z2).mean() / batch.shape[1]

    def _decoded(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        p = self.module_.infer(x, sample=False)
        return self.module_.decode(p.z1, p.e)

    def _imputed_decoding(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The decoder's mean and log std for ``batch`` after its last ``score_stride`` steps were imputed."""
        x = batch.clone()
        masked = slice(batch.shape[1] - self.score_stride, batch.shape[1])
        for _ in range(self.mcmc_iterations):
            x[:, masked] = self._decoded(x)[0][:, masked]
        return self._decoded(x)

    def _channel_nll(self, batch: torch.Tensor) -> torch.Tensor:
        """``-log p(x_t,d | z)`` of the original values, ``(B, T, D)``."""
        return -gaussian_log_prob(batch, *self._imputed_decoding(batch))

    def _score_batch(self, batch: torch.Tensor) -> torch.Tensor:
        return self._channel_nll(batch).sum(-1)

    def _reconstruct(self, batch: torch.Tensor) -> torch.Tensor:
        return self._imputed_decoding(batch)[0]

    def _explain(self, X: np.ndarray) -> np.ndarray:
        # the paper's interpretation: metrics ranked by their own log-likelihood; they sum to the step's score
        return self._per_step(self._channel_nll, X)
