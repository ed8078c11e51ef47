"""USAD: one encoder, two decoders, trained as two autoencoders in an adversarial game (Audibert et al., KDD 2020)."""
from __future__ import annotations

from typing import Iterable

import numpy as np
import torch
from torch import nn

from genad.base import hyperparameters
from genad.nn.mlp import mlp
from genad.registry import Paper, register
from genad.timeseries.base import RestoringSeriesDetector
from genad.timeseries.windows import training_range
from genad.training import DivergenceError, adam
from genad.validation import check_choice, check_float, check_int


class _USADNet(nn.Module):
    """Encoder ``E`` and decoders ``D1``, ``D2`` on flattened windows; ``AE1 = D1(E(.))``, ``AE2 = D2(E(.))``.

    Widths as in the authors' code: the encoder halves then quarters the input before the latent layer (ReLU
    everywhere, also on the latent code), each decoder mirrors it and ends in a sigmoid.
    """

    def __init__(self, n_inputs: int, latent_dim: int):
        super().__init__()
        half, quarter = max(1, n_inputs // 2), max(1, n_inputs // 4)
        self.encoder = mlp([n_inputs, half, quarter, latent_dim], "relu", final_activation="relu")
        self.decoder1 = mlp([latent_dim, quarter, half, n_inputs], "relu", final_activation="sigmoid")
        self.decoder2 = mlp([latent_dim, quarter, half, n_inputs], "relu", final_activation="sigmoid")

    def ae1(self, w: torch.Tensor) -> torch.Tensor:
        return self.decoder1(self.encoder(w))

    def ae2(self, w: torch.Tensor) -> torch.Tensor:
        return self.decoder2(self.encoder(w))


def _squared_error(w: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
    """``||W - W'||^2`` per window, as a mean over its K x D entries (the authors' code; a constant factor)."""
    return (w - reconstruction).pow(2).mean(dim=1)


@register(
    "usad", family="adversarial", modalities=("time-series",),
    paper=Paper("USAD: UnSupervised Anomaly Detection on Multivariate Time Series",
                "Audibert, Michiardi, Guyard, Marti & Zuluaga", "KDD", 2020),
)
@hyperparameters
class USAD(RestoringSeriesDetector):
    """USAD (Audibert et al., KDD 2020): two autoencoders sharing one encoder, trained adversarially.

    A window ``W`` of ``window`` steps is flattened; one encoder ``E`` feeds two decoders, giving
    ``AE1(W) = D1(E(W))`` and ``AE2(W) = D2(E(W))``. At epoch ``n`` (from 1) the two autoencoders minimise

    - ``L_AE1 = (1/n) ||W - AE1(W)||^2 + (1 - 1/n) ||W - AE2(AE1(W))||^2``
    - ``L_AE2 = (1/n) ||W - AE2(W)||^2 - (1 - 1/n) ||W - AE2(AE1(W))||^2``

    each with its own Adam (``E`` and ``D1``; ``E`` and ``D2``): early on both learn to reconstruct (phase 1),
    then, as ``1/n`` fades, AE2 learns to tell real windows from AE1's reconstructions by reconstructing the
    latter badly, while AE1 learns to fool it (phase 2). The score of a window is
    ``alpha ||W - AE1(W)||^2 + (1 - alpha) ||W - AE2(AE1(W))||^2`` (the paper's ``alpha + beta = 1``; a larger
    ``beta`` weighs the adversarial error more), each norm a mean over the window's entries as in the
    authors' code; the score of a step is the mean score of the windows covering it (genad's shared
    fold-back, as its other windowed models; the paper defines the window ``W_t`` as the ``K`` steps ending at
    ``t`` and scores ``t`` by it). ``restore`` folds AE1's reconstructions back to steps the same way;
    ``explain`` is the squared difference to it.

    Per batch, as the authors' code orders it, AE1 takes its step on ``L_AE1``, then ``L_AE2`` is computed
    afresh (a new forward pass through the updated encoder) and AE2 takes its step; the shared loop trains
    AE2 and reports ``L_AE2`` as the loss (negative once phase 2 dominates), AE1's step runs inside the loss,
    and ``1/n`` follows the loop's epoch through its ``on_epoch`` hook. Which gradient each step uses is
    ``updates``:

    - ``"paper"``: each step uses only its own loss's gradient, as the paper's equations and Algorithm 1 say.
    - ``"reference"`` (default): as the authors' code (``manigalati/usad``, ``usad.py``), where each optimizer
      zeroes its gradients only after its own step: AE2's step also carries ``D2``'s gradient of ``L_AE1``,
      and AE1's step ``D1``'s gradient of the previous batch's ``L_AE2``. The adversarial terms of the two
      losses then nearly cancel on each decoder, so the decoders keep learning to reconstruct while the
      shared encoder plays the game. With ``"paper"``, AE2 wins outright: it reconstructs AE1's outputs and
      real windows alike badly (mean squared error about 0.3 on [0, 1] data, against 0.1 for the
      ``"reference"`` updates, on a small test series).

    How ``updates`` and ``batch_size`` were chosen (no benchmark test label): on the development data of
    ``benchmarks/ts_dev_injected.py`` (each SMD machine's training split: fitted on its first 70%, labelled
    anomalies injected into the rest), among four candidates fixed beforehand, mean VUS-PR over the 6
    machines was 0.253 (``"paper"``, batches of 512), 0.254 (``"paper"``, 64), 0.289 (``"reference"``, 512)
    and 0.278 (``"reference"``, 64; both 64s cost about three times the time). ``win:ae`` has 0.344 and
    ``dbls_ae`` 0.425 on the same data. Reproduce with ``python benchmarks/ts_dev_injected.py
    'usad?updates=paper' usad 'usad?updates=paper&batch_size=64' 'usad?batch_size=64'``.

    Paper settings kept (the SMD row of its hyper-parameter table, as quoted by the TSADBench scripts, which
    cite the paper's appendix; the paper's text was not available here): windows of ``K = 5`` steps, latent
    size ``m = 38``, 250 epochs. From the authors' code: the layer widths (halves and quarters of the input,
    at least 1: on a single channel with ``K = 5`` the encoder narrows to 2, then 1 unit before the latent
    code, as their code builds it), ReLU, Adam with lr 1e-3, ``alpha = beta = 0.5`` (their ``testing``
    default; which ``alpha``/``beta`` the paper used on SMD was not verified).

    Scaling: the paper min-max scales the data and ends both decoders in a sigmoid. The sigmoid is what keeps
    the game bounded: AE2 maximises ``||W - AE2(AE1(W))||^2``, which a linear output can grow without end (tried
    on an SMD machine: ``L_AE2`` fell to -1.6e11). genad's benches hand over standardised series (mean/std,
    clipped to ±10), so USAD min-max scales each channel itself with the training series' range (a constant
    channel keeps scale 1; new data is not clipped, so a value beyond the training range cannot be
    reconstructed, as in the paper); ``restore`` maps AE1's output back to the input's scale.

    Deviations: the paper down-samples the SMD series 5 times (as quoted above; not verified in its text);
    genad keeps the time scale and instead trains on every 5th window (``train_stride=5``, the same 5-fold
    cut of the training windows). Batches of 512 windows (the paper's batch size was not verified; the
    authors' notebook uses 7,919 on SWaT). Every window is scored (``score_stride=1``) and a step gets the
    mean score of the windows covering it (above).

    Parameters
    ----------
    latent_dim : size ``m`` of the latent code.
    alpha : weight of AE1's error in the score; AE2(AE1)'s gets ``1 - alpha``. Fixed at fit (the threshold
        comes from the training scores).
    updates : ``"reference"`` (the authors' code) or ``"paper"`` (each step its own loss's gradient); above.
    **base : window, train_stride, score_stride, fill and the settings of :class:`genad.base.TorchDetector`
        (``validation_fraction``/``patience`` are refused: the losses change with the epoch).

    References
    ----------
    Audibert, J., Michiardi, P., Guyard, F., Marti, S. and Zuluaga, M. A. "USAD: UnSupervised Anomaly
    Detection on Multivariate Time Series". KDD 2020.
    """

    window: int = 5
    train_stride: int = 5
    score_stride: int = 1
    latent_dim: int = 38
    alpha: float = 0.5
    updates: str = "reference"
    epochs: int = 250
    batch_size: int = 512

    _shape_params = ("window", "alpha")
    _early_stopping_unsupported = ("its losses change weights with the epoch and AE2's turns negative, so they "
                                   "cannot drive early stopping")

    def _check_params(self) -> None:
        super()._check_params()
        check_int("latent_dim", self.latent_dim, low=1)
        check_float("alpha", self.alpha, 0.0, 1.0)
        check_choice("updates", self.updates, ("paper", "reference"))

    # --- the paper's min-max scaling, fitted on the training series ----------------------------------------
    def _fit(self, X: np.ndarray, y: np.ndarray | None) -> None:
        self.scale_low_, self.scale_span_ = training_range(X)
        super()._fit(X, y)

    def _windows(self, X: np.ndarray, stride: int) -> np.ndarray:
        return super()._windows((X - self.scale_low_) / self.scale_span_, stride)

    def _restore(self, X: np.ndarray) -> np.ndarray:
        return super()._restore(X) * self.scale_span_ + self.scale_low_

    # --- network and training ----------------------------------------------------------------------------
    def _build_module(self, n_features: int) -> nn.Module:
        return _USADNet(self.window * n_features, self.latent_dim)

    def _train(self, data, generator, **overrides):
        net = self.module_
        ae1 = [*net.encoder.parameters(), *net.decoder1.parameters()]
        ae2 = [*net.encoder.parameters(), *net.decoder2.parameters()]
        self._ae1_optimizer, self._ae1_parameters = self._adam(ae1), ae1
        try:
            return super()._train(data, generator, optimizer=self._adam(ae2), parameters=ae2,
                                  on_epoch=self._start_epoch, **overrides)
        finally:  # training state only; not saved with the model
            for name in ("_ae1_optimizer", "_ae1_parameters", "_epoch"):
                self.__dict__.pop(name, None)

    def _adam(self, params: Iterable[nn.Parameter]) -> torch.optim.Adam:
        return adam(params, lr=self.lr, weight_decay=self.weight_decay)

    def _start_epoch(self, epoch: int) -> None:
        self._epoch = epoch + 1  # the paper's n
        if epoch > 0 and self.lr_decay != 1.0:  # the shared loop decays AE2's optimizer; AE1's follows
            for group in self._ae1_optimizer.param_groups:
                group["lr"] *= self.lr_decay

    def _ae1_loss(self, w: torch.Tensor) -> torch.Tensor:
        """``L_AE1`` of flattened windows at the current epoch."""
        net, weight = self.module_, 1.0 / self._epoch
        w1 = net.ae1(w)
        return weight * _squared_error(w, w1).mean() + (1 - weight) * _squared_error(w, net.ae2(w1)).mean()

    def _ae2_loss(self, w: torch.Tensor) -> torch.Tensor:
        """``L_AE2`` of flattened windows at the current epoch."""
        net, weight = self.module_, 1.0 / self._epoch
        z = net.encoder(w)
        adversarial = _squared_error(w, net.ae2(net.decoder1(z))).mean()
        return weight * _squared_error(w, net.decoder2(z)).mean() - (1 - weight) * adversarial

    def _loss(self, batch: torch.Tensor) -> torch.Tensor:
        w = batch.flatten(1)
        if not torch.is_grad_enabled():
            return self._ae2_loss(w)
        carried = self._ae1_step(self._ae1_loss(w))  # AE1's step first
        l_ae2 = self._ae2_loss(w)  # then AE2's loss on a fresh pass; the shared loop takes AE2's step
        if carried:  # "reference": D2's gradient of L_AE1 joins AE2's step (a term of value 0 with that gradient)
            leak = sum((p * g).sum() for p, g in carried)
            l_ae2 = l_ae2 + leak - leak.detach()
        return l_ae2

    def _ae1_step(self, loss: torch.Tensor) -> list[tuple[nn.Parameter, torch.Tensor]]:
        """AE1's update on ``loss``; returns, with ``updates="reference"``, D2's gradient of it for AE2's step."""
        if not torch.isfinite(loss):
            raise DivergenceError(f"usad diverged: AE1's loss became {float(loss)} in epoch {self._epoch}; "
                                  "lower lr or scale the features")
        net = self.module_
        if self.updates == "paper":
            self._ae1_optimizer.zero_grad(set_to_none=True)
        else:  # the authors' code: D1 still holds its gradient of the previous batch's L_AE2
            for p in [*net.encoder.parameters(), *net.decoder2.parameters()]:
                p.grad = None
        loss.backward()
        if self.clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(self._ae1_parameters, self.clip_grad_norm)
        self._ae1_optimizer.step()
        if self.updates == "paper":
            return []
        self._ae1_optimizer.zero_grad(set_to_none=True)  # as the authors' code, after the step
        return [(p, p.grad.detach().clone()) for p in net.decoder2.parameters() if p.grad is not None]

    # --- score and reconstruction ------------------------------------------------------------------------
    def _score_batch(self, batch: torch.Tensor) -> torch.Tensor:
        w = batch.flatten(1)
        w1 = self.module_.ae1(w)
        return self.alpha * _squared_error(w, w1) + (1 - self.alpha) * _squared_error(w, self.module_.ae2(w1))

    def _reconstruct(self, batch: torch.Tensor) -> torch.Tensor:
        return self.module_.ae1(batch.flatten(1)).view_as(batch)
