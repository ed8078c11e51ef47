"""METER: a static autoencoder, hypernetwork parameter shifts and an evidential drift controller."""
from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
from scipy.special import digamma
from torch import nn

from genad.base import hyperparameters
from genad.nn import mlp
from genad.nn.rowwise import abs_error_rows, dense_rows, mlp_layers, relu_mlp_rows, row_layer
from genad.registry import Paper, register
from genad.streaming.base import StreamDetector, load_weights, state_arrays, state_float, state_int
from genad.training import seeded, train_module
from genad.validation import check_float, check_int

#: Layers of the static autoencoder without an activation: the code layer and the output layer.
LINEAR_LAYERS = (2, 5)


@register(
    "meter", family="streaming", modalities=("stream",),
    paper=Paper("METER: A Dynamic Concept Adaptation Framework for Online Anomaly Detection",
                "Zhu, Cai, Deng, Ooi & Zhang", "VLDB", 2024),
)
@hyperparameters
class METER(StreamDetector):
    """METER online anomaly detector (Zhu et al., VLDB 2024).

    Four parts, as in the paper:

    - **SCD**, the static concept-aware detector: an autoencoder (hidden widths 10, code width
      ``emb_rate * d``, LeakyReLU) trained on the warm-up window; the score of a record is the L1
      norm of its standardized reconstruction error.
    - **DSD**, the dynamic shift-aware detector: a hypernetwork (hidden widths 100) that maps each
      standardized record to a *shift* of every autoencoder parameter; the shifted autoencoder
      ``theta_static + delta(x)`` adapts to the record's concept. It is trained to reconstruct the
      warm-up rows through the shifted weights.
    - **IEC**, the intelligent evolution controller: an evidential classifier (Dirichlet output,
      Sensoy et al., 2018) on the SCD's reconstruction, trained on pseudo labels (the ``thres_rate``
      share of warm-up rows the SCD reconstructs worst). A record whose expected class is "new
      concept", or whose distributional uncertainty exceeds ``uncertainty_threshold``, is scored by
      the DSD-shifted autoencoder; every other record by the SCD alone.
    - **OUS**, the offline updating strategy: when more than ``max_uncertain`` of the last ``window``
      records had a distributional uncertainty above the adaptive threshold (initially the largest
      on the warm-up rows), all parts are retrained on those ``window`` records and the threshold
      moves to ``alpha * threshold + (1 - alpha) * mean uncertainty so far``.

    Records are scored before they can trigger an update (prequential order). ``process`` is exact
    one-at-a-time processing, bit for bit: between two updates the model is fixed, so a chunk is
    scored at once and cut right after the record that triggers an update, and scoring runs through
    row-invariant layers (:mod:`genad.nn.rowwise`, numpy copies of the trained weights), so a
    record's score and uncertainty never depend on the chunk it came in.

    Deviations from the reference code: it trains on the first 10% of the stream's *normal* records
    (picked by label); genad warms up on the first ``warm_up_size`` records whatever they are (or
    on rows given to :meth:`warm_up`). Training uses mini-batches of 256 and far fewer epochs
    (``epochs``, ``update_epochs``; the reference uses 1000/2000 and 200/500) to fit a CPU budget;
    the hypernetwork is conditioned on each record in training as at inference (the reference
    conditions on the batch mean in training); its last layer starts at zero, so shifts start at
    0; the evidential loss is Sensoy et al.'s squared-error form with a fixed KL weight ``lamb``;
    after an offline update the window starts afresh (the reference re-checks every following
    record against the overlapping window, which can retrain on every record). The warm-up records
    are scored too, once the model has warmed up, and enter the drift window and the running mean
    uncertainty, as for every streaming detector in genad (the reference removes its training records
    from the stream it scores).

    Parameters
    ----------
    warm_up_size : records used to warm up.
    emb_rate : code width as a multiple of the input width.
    hidden : width of the autoencoder's two hidden layers on each side.
    hyper_hidden : width of the hypernetwork's two hidden layers.
    epochs : warm-up epochs of the SCD and of the DSD + IEC.
    update_epochs : epochs of each offline update.
    lr : learning rate (Adam) of every part.
    thres_rate : share of training rows pseudo-labelled "new concept" for the IEC.
    uncertainty_threshold : distributional uncertainty above which a record is routed to the DSD.
    window, max_uncertain : the OUS trigger.
    alpha : smoothing of the OUS threshold.
    lamb : weight of the evidential KL regulariser.

    References
    ----------
    Zhu, J., Cai, S., Deng, F., Ooi, B. C. and Zhang, W. "METER: A Dynamic Concept Adaptation
    Framework for Online Anomaly Detection". PVLDB 17(4), 2024.
    Sensoy, M., Kaplan, L. and Kandemir, M. "Evidential Deep Learning to Quantify Classification
    Uncertainty". NeurIPS, 2018.
    """

    warm_up_size: int = 2048
    emb_rate: float = 2.0
    hidden: int = 10
    hyper_hidden: int = 100
    epochs: int = 30
    update_epochs: int = 30
    batch_size: int = 256
    lr: float = 1e-2
    thres_rate: float = 0.05
    uncertainty_threshold: float = 0.1
    window: int = 50
    max_uncertain: int = 10
    alpha: float = 0.5
    lamb: float = 0.001

    def _check_params(self) -> None:
        super()._check_params()
        check_int("warm_up_size", self.warm_up_size, low=2)
        check_float("emb_rate", self.emb_rate, 0.0, low_closed=False)
        for name in ("hidden", "hyper_hidden", "epochs", "update_epochs", "batch_size"):
            check_int(name, getattr(self, name), low=1)
        check_float("lr", self.lr, 0.0, low_closed=False)
        check_float("thres_rate", self.thres_rate, 0.0, 0.5, low_closed=False)
        check_float("uncertainty_threshold", self.uncertainty_threshold, 0.0)
        check_int("window", self.window, low=2)
        check_int("max_uncertain", self.max_uncertain, low=0, high=self.window - 1)
        check_float("alpha", self.alpha, 0.0, 1.0)
        check_float("lamb", self.lamb, 0.0)

    # --- networks -------------------------------------------------------------------------------
    def _build(self, d: int) -> None:
        code = max(1, int(round(self.emb_rate * d)))
        self.layer_dims_ = [(d, self.hidden), (self.hidden, self.hidden), (self.hidden, code),
                            (code, self.hidden), (self.hidden, self.hidden), (self.hidden, d)]
        self.static_ = nn.ParameterList()
        for d_in, d_out in self.layer_dims_:
            layer = nn.Linear(d_in, d_out)
            self.static_.extend([layer.weight, layer.bias])
        n_params = sum(p.numel() for p in self.static_)
        self.hyper_ = mlp([d, self.hyper_hidden, self.hyper_hidden, n_params])
        nn.init.zeros_(self.hyper_[-1].weight)
        nn.init.zeros_(self.hyper_[-1].bias)
        self.edl_ = mlp([d, 2 * d, 2])

    def _autoencode(self, x: torch.Tensor, shift: torch.Tensor | None = None) -> torch.Tensor:
        """Reconstruct ``x`` with the static weights, or with ``static + shift`` per row."""
        h, offset = x, 0
        for i, (d_in, d_out) in enumerate(self.layer_dims_):
            weight, bias = self.static_[2 * i], self.static_[2 * i + 1]
            if shift is None:
                h = h @ weight.T + bias
            else:
                dw = shift[:, offset:offset + d_in * d_out].view(-1, d_out, d_in)
                db = shift[:, offset + d_in * d_out:offset + d_in * d_out + d_out]
                h = torch.einsum("noi,ni->no", weight + dw, h) + bias + db
            offset += d_in * d_out + d_out
            if i not in LINEAR_LAYERS:
                h = nn.functional.leaky_relu(h)
        return h

    def _evidence(self, recon: torch.Tensor) -> torch.Tensor:
        """Dirichlet concentrations of the two classes (normal concept, new concept)."""
        return nn.functional.softplus(self.edl_(recon)) + 1.0

    # --- warm-up and offline updates --------------------------------------------------------------
    def _warm_up(self, X: np.ndarray) -> None:
        X = X.astype(np.float64)
        self.mean_, self.std_ = X.mean(0), X.std(0, ddof=1)
        with seeded(self.random_state) as generator:
            self._build(X.shape[1])
            self._train_all(torch.from_numpy(self._standardize(X)), self.epochs, generator)
            self.threshold_u_ = float(self._route(self._standardize(X))[1].max())
        self.window_x_ = np.empty((0, X.shape[1]), dtype=np.float32)
        self.window_u_ = np.empty(0)
        self.u_sum_, self.u_count_, self.n_updates_ = 0.0, 0, 0

    def _train_all(self, data: torch.Tensor, epochs: int, generator: torch.Generator) -> None:
        batch = min(self.batch_size, data.shape[0])
        static_loss = lambda b: (self._autoencode(b) - b).pow(2).mean()  # noqa: E731
        train_module(self.static_, static_loss, data, epochs=epochs, batch_size=batch, lr=self.lr,
                     generator=generator, desc="meter scd")
        with torch.no_grad():
            err = (self._autoencode(data) - data).pow(2).mean(1)
            cut = torch.sort(err, descending=True).values[int(len(err) * self.thres_rate)]
            pseudo = (err > cut).long()
        dynamic = nn.ModuleList([self.hyper_, self.edl_])
        train_module(dynamic, self._dynamic_loss, (data, pseudo), epochs=epochs, batch_size=batch,
                     lr=self.lr, generator=generator, desc="meter dsd+iec")
        self._copy_weights()

    def _copy_weights(self) -> None:
        """Numpy copies of the trained weights (transposed, float32) for the row-invariant scoring path."""
        self.rows_static_ = [row_layer(self.static_[i], self.static_[i + 1]) for i in range(0, len(self.static_), 2)]
        self.rows_hyper_, self.rows_edl_ = mlp_layers(self.hyper_), mlp_layers(self.edl_)

    def _dynamic_loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        x, pseudo = batch
        recon = self._autoencode(x, self.hyper_(x))
        with torch.no_grad():
            static_recon = self._autoencode(x)
        return (recon - x).pow(2).mean() + _evidential_loss(self._evidence(static_recon), pseudo, self.lamb)

    # --- streaming ---------------------------------------------------------------------------------
    def _autoencode_rows(self, x: np.ndarray, shift: np.ndarray | None = None) -> np.ndarray:
        """:meth:`_autoencode` through row-invariant layers (scoring only)."""
        h, offset = x, 0
        for i, (weight_t, bias) in enumerate(self.rows_static_):
            h = dense_rows(h, weight_t, bias, shift, offset)
            offset += weight_t.size + bias.size
            if i not in LINEAR_LAYERS:
                h = np.where(h > 0, h, h * np.float32(0.01))  # leaky ReLU, torch's slope
        return h

    def _route(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores and distributional uncertainties of standardized rows (no state change)."""
        recon = self._autoencode_rows(x)
        alpha = np.logaddexp(0.0, relu_mlp_rows(recon, self.rows_edl_).astype(np.float64)) + 1.0  # softplus + 1
        strength = alpha[:, 0] + alpha[:, 1]
        p = alpha / strength[:, None]
        entropy = -(p[:, 0] * np.log(p[:, 0] + 1e-7) + p[:, 1] * np.log(p[:, 1] + 1e-7))
        gap = digamma(strength + 1)[:, None] - digamma(alpha + 1)
        uncertainty = entropy - (p[:, 0] * gap[:, 0] + p[:, 1] * gap[:, 1])
        dynamic = (p[:, 0] < 0.5) | (uncertainty > self.uncertainty_threshold)
        if dynamic.any():
            recon[dynamic] = self._autoencode_rows(x[dynamic], relu_mlp_rows(x[dynamic], self.rows_hyper_))
        return abs_error_rows(x, recon), uncertainty

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self._route(self._standardize(X))[0]

    def _process_chunk(self, X: np.ndarray) -> np.ndarray:
        scores, uncertainty = self._route(self._standardize(X))
        trigger = self._first_trigger(uncertainty)
        end = len(X) if trigger is None else trigger + 1
        u_sum = float(np.cumsum(np.r_[self.u_sum_, uncertainty[:end]])[-1])  # added one by one, as singly
        if not math.isfinite(u_sum):  # a non-finite uncertainty would poison the drift threshold for good
            raise FloatingPointError(f"{self.registry_name} produced a non-finite uncertainty (a record too extreme "
                                     "for the current state); nothing of this call was learned")
        self.window_x_ = np.concatenate([self.window_x_, X[:end]])[-self.window:]
        self.window_u_ = np.concatenate([self.window_u_, uncertainty[:end]])[-self.window:]
        self.u_sum_ = u_sum
        self.u_count_ += end
        if trigger is not None:
            self._offline_update()
        return scores[:end]

    def _first_trigger(self, uncertainty: np.ndarray) -> int | None:
        """Index of the first record after which the last ``window`` records hold too many uncertain ones."""
        flags = np.concatenate([self.window_u_, uncertainty]) > self.threshold_u_
        counts = np.cumsum(np.r_[0, flags.astype(np.int64)])
        ends = np.arange(len(self.window_u_) + 1, len(flags) + 1)  # window ends after each new record
        full = ends >= self.window
        in_window = counts[ends] - counts[np.maximum(ends - self.window, 0)]
        hits = np.flatnonzero(full & (in_window > self.max_uncertain))
        return None if hits.size == 0 else int(hits[0])

    def _offline_update(self) -> None:
        # retrain copies: the networks are rebound, never changed in place, so a call that fails later
        # (a diverging update, a non-finite score) can restore the previous ones (genad.streaming.base.all_or_nothing)
        self.static_, self.hyper_, self.edl_ = copy.deepcopy((self.static_, self.hyper_, self.edl_))
        seed = None if self.random_state is None else self.random_state + 1 + self.n_updates_
        with seeded(seed) as generator:
            self._train_all(torch.from_numpy(self._standardize(self.window_x_)), self.update_epochs, generator)
        self.threshold_u_ = self.alpha * self.threshold_u_ + (1 - self.alpha) * self.u_sum_ / self.u_count_
        self.window_x_, self.window_u_ = self.window_x_[:0], self.window_u_[:0]
        self.n_updates_ += 1

    def _standardize(self, X: np.ndarray) -> np.ndarray:
        safe = np.where(self.std_ > 0, self.std_, 1.0)
        return np.where(self.std_ > 0, (X - self.mean_) / safe, 0.0).astype(np.float32)

    # --- state ----------------------------------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        nets = {name: {k: v.clone() for k, v in getattr(self, name).state_dict().items()}
                for name in ("static_", "hyper_", "edl_")}
        return {**nets, "mean": self.mean_.copy(), "std": self.std_.copy(), "threshold_u": self.threshold_u_,
                "window_x": self.window_x_.copy(), "window_u": self.window_u_.copy(), "u_sum": self.u_sum_,
                "u_count": self.u_count_, "n_updates": self.n_updates_}

    def _set_state(self, state: dict[str, Any]) -> None:
        n = self.n_features_in_
        arrays = state_arrays(state, {"mean": (np.float64, (n,)), "std": (np.float64, (n,)),
                                      "window_x": (np.float32, ("rows", n)), "window_u": (np.float64, ("rows",))})
        if len(arrays["window_x"]) > self.window:
            raise ValueError(f"window_x holds {len(arrays['window_x'])} records, more than window={self.window}")
        threshold_u, u_sum = state_float(state, "threshold_u"), state_float(state, "u_sum")
        u_count, n_updates = state_int(state, "u_count", low=0), state_int(state, "n_updates", low=0)
        self._build(n)
        for name in ("static_", "hyper_", "edl_"):
            load_weights(getattr(self, name), state, name)
        self._copy_weights()
        self.mean_, self.std_ = arrays["mean"], arrays["std"]
        self.window_x_, self.window_u_ = arrays["window_x"], arrays["window_u"]
        self.threshold_u_, self.u_sum_, self.u_count_, self.n_updates_ = threshold_u, u_sum, u_count, n_updates


def _evidential_loss(alpha: torch.Tensor, labels: torch.Tensor, lamb: float) -> torch.Tensor:
    """Sensoy et al.'s expected squared error under Dir(alpha), plus ``lamb`` x KL to the uniform Dirichlet."""
    y = nn.functional.one_hot(labels, alpha.shape[1]).to(alpha.dtype)
    strength = alpha.sum(1, keepdim=True)
    p = alpha / strength
    mse = ((y - p).pow(2) + p * (1 - p) / (strength + 1)).sum(1)
    tilde = y + (1 - y) * alpha  # evidence for the true class removed
    s_tilde = tilde.sum(1)
    kl = (torch.lgamma(s_tilde) - torch.lgamma(torch.tensor(float(alpha.shape[1])))
          - torch.lgamma(tilde).sum(1)
          + ((tilde - 1) * (torch.digamma(tilde) - torch.digamma(s_tilde)[:, None])).sum(1))
    return (mse + lamb * kl).mean()
