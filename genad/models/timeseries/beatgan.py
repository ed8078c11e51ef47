"""BeatGAN: a window autoencoder regularised by a discriminator's features (Zhou et al., IJCAI 2019)."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from genad.base import hyperparameters
from genad.models.adversarial.base import AdversarialDetector
from genad.nn.mlp import mlp
from genad.registry import Paper, register
from genad.timeseries.base import RestoringSeriesDetector
from genad.timeseries.windows import training_range
from genad.validation import check_dims, check_float, check_int


class _BeatGANNet(nn.Module):
    """Generator ``G`` (an autoencoder) and discriminator ``D`` on flattened windows scaled to [-1, 1].

    Layers as in the authors' multivariate (motion-capture) model: tanh everywhere, a linear code, a tanh output;
    ``D`` ends in one logit after its last hidden layer, whose activations are the matched features.
    """

    def __init__(self, n_inputs: int, hidden_dims: tuple[int, ...], latent_dim: int,
                 low: torch.Tensor, span: torch.Tensor):
        super().__init__()
        dims = [n_inputs, *hidden_dims, latent_dim]
        self.encoder = mlp(dims, "tanh")
        self.decoder = mlp(dims[::-1], "tanh", final_activation="tanh")
        self.features = mlp([n_inputs, *hidden_dims], "tanh", final_activation="tanh")
        self.head = nn.Linear(hidden_dims[-1], 1)
        for layer in self.modules():  # the authors' initialisation
            if isinstance(layer, nn.Linear):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.constant_(layer.bias, 0.01)
        self.register_buffer("low", low)
        self.register_buffer("span", span)

    def scale(self, windows: torch.Tensor) -> torch.Tensor:
        """``(B, L, D)`` windows -> ``(B, L * D)`` rows, each channel mapped from its training range to [-1, 1]."""
        return (2.0 * (windows - self.low) / self.span - 1.0).flatten(1)

    def unscale(self, rows: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return ((rows.view_as(like) + 1.0) / 2.0) * self.span + self.low

    def generate(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)


@register(
    "beatgan", family="adversarial", modalities=("time-series",),
    paper=Paper("BeatGAN: Anomalous Rhythm Detection using Adversarially Generated Time Series",
                "Zhou, Liu, Hooi, Cheng & Ye", "IJCAI", 2019),
)
@hyperparameters
class BeatGAN(AdversarialDetector, RestoringSeriesDetector):
    """BeatGAN (Zhou et al., IJCAI 2019): an autoencoder for windows, kept to realistic output by a GAN.

    A plain autoencoder trained on normal windows can learn to reconstruct too much, anomalies included.
    BeatGAN regularises it adversarially. A discriminator ``D`` learns to tell real windows ``x`` from
    reconstructions ``G(x)`` (binary cross-entropy). The generator ``G`` minimises the reconstruction error
    plus a pairwise feature-matching term, ``||x - G(x)||^2 + w_adv ||f_D(x) - f_D(G(x))||^2``, with
    ``f_D`` the discriminator's last hidden layer. Each batch makes one step of ``D``, then one of ``G``.
    A window's anomaly score is its mean squared reconstruction error; a step gets the mean score of the
    windows that cover it. ``restore`` returns the reconstructed series. ``explain`` gives each step and
    channel its squared error on the [-1, 1] scale, averaged over the windows that cover the step.

    The paper's full text could not be read here: the model follows its abstract and the authors' code for
    multivariate series (``experiments/mocap`` of ``hi-bingo/BeatGAN``, read for this):
    windows of 64 steps, training windows every 5 steps, each channel min-max scaled to [-1, 1] (here with
    the training part's range, so test values may leave it); dense tanh layers 256-128-32 down to a code of
    10, mirrored by the decoder; the same 256-128-32 for the discriminator; ``w_adv = 0.01``; Adam with
    ``lr = 1e-4`` and betas (0.5, 0.999); batches of 64; Xavier-uniform weights and biases of 0.01.

    Training length (a CPU deviation): the authors train 300 epochs over about 840 motion-capture windows,
    some 4,000 optimizer steps. On a server series of 25,000 steps, 300 epochs would be over 20,000 steps
    (about 20 minutes per SMD machine on one core), so genad trains for the authors' number of *steps*
    instead: ``min_steps=4000`` with ``epochs=1``, i.e. as many epochs as it takes to make 4,000 steps
    (55 epochs on an SMD machine, about 150 on an ASD entity).

    Deviations: the authors keep the epoch with the best AUROC on labelled test data; genad keeps the last
    epoch (labels are not available to a detector). Their ECG model uses convolutions, augments the training
    beats by time warping and re-initialises a discriminator whose loss falls below 5e-6; their
    multivariate model, followed here, does none of these. ``D`` outputs a logit and is trained with
    the equivalent binary cross-entropy on logits, which is numerically safer than a sigmoid then BCE.

    Parameters
    ----------
    hidden_dims : widths of the encoder's (and the discriminator's) hidden layers; the decoder mirrors them.
    latent_dim : size of the code.
    w_adv : weight of the feature-matching term.
    window, train_stride, score_stride : see :class:`genad.timeseries.base.SeriesDetector`.
    **base : see :class:`genad.base.TorchDetector` (epochs, batch_size, lr, device, random_state, ...).

    References
    ----------
    Zhou, B., Liu, S., Hooi, B., Cheng, X. and Ye, J. "BeatGAN: Anomalous Rhythm Detection using
    Adversarially Generated Time Series". IJCAI 2019.
    """

    window: int = 64
    train_stride: int = 5
    hidden_dims: tuple[int, ...] = (256, 128, 32)
    latent_dim: int = 10
    w_adv: float = 0.01
    epochs: int = 1
    min_steps: int = 4000
    batch_size: int = 64
    lr: float = 1e-4

    def _check_params(self) -> None:
        super()._check_params()
        check_dims("hidden_dims", self.hidden_dims)
        check_int("latent_dim", self.latent_dim, low=1)
        check_float("w_adv", self.w_adv, 0.0)

    # --- network and training ----------------------------------------------------------------------------
    def _fit(self, X: np.ndarray, y: np.ndarray | None) -> None:
        self.scale_low_, self.scale_span_ = training_range(X)
        super()._fit(X, y)

    def _build_module(self, n_features: int) -> nn.Module:
        return _BeatGANNet(self.window * n_features, tuple(self.hidden_dims), self.latent_dim,
                           torch.from_numpy(self.scale_low_), torch.from_numpy(self.scale_span_))

    def _generator_parameters(self) -> list[nn.Parameter]:
        return [*self.module_.encoder.parameters(), *self.module_.decoder.parameters()]

    def _adversary_parameters(self) -> list[nn.Parameter]:
        return [*self.module_.features.parameters(), *self.module_.head.parameters()]

    def _loss(self, batch: torch.Tensor) -> torch.Tensor:
        net = self.module_
        x = net.scale(batch)
        fake = net.generate(x)
        real_logit, fake_logit = net.discriminate(x), net.discriminate(fake.detach())
        d_loss = (F.binary_cross_entropy_with_logits(real_logit, torch.ones_like(real_logit))
                  + F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit)))
        self._adversary_step(d_loss)
        with torch.no_grad():  # the target: real windows' features (with D's new weights) do not depend on G
            real_features = net.features(x)
        matching = (net.features(fake) - real_features).pow(2).mean()
        return (fake - x).pow(2).mean() + self.w_adv * matching

    # --- score -------------------------------------------------------------------------------------------
    def _scaled_errors(self, batch: torch.Tensor) -> torch.Tensor:
        """``(B, L, D)`` squared reconstruction errors on the [-1, 1] scale."""
        x = self.module_.scale(batch)
        return (x - self.module_.generate(x)).pow(2).view_as(batch)

    def _score_batch(self, batch: torch.Tensor) -> torch.Tensor:
        return self._scaled_errors(batch).mean(dim=(1, 2))

    def _reconstruct(self, batch: torch.Tensor) -> torch.Tensor:
        return self.module_.unscale(self.module_.generate(self.module_.scale(batch)), batch)

    def _explain(self, X: np.ndarray) -> np.ndarray:
        return self._per_step(self._scaled_errors, X)
