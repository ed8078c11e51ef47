"""GANF: a normalizing flow over multiple time series, factorised by a learned Bayesian network (Dai & Chen,
ICLR 2022)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from genad.base import hyperparameters
from genad.nn.flows import standard_normal_log_prob
from genad.nn.mlp import mlp
from genad.registry import Paper, register
from genad.timeseries.base import RestoringSeriesDetector
from genad.training import split_validation, train_module
from genad.validation import check_choice, check_float, check_int


SCORE_UNITS = ("window", "step")


class _DependencyEncoder(nn.Module):
    """The condition of every point: each series' own LSTM state, mixed along the graph.

    For series ``j`` at step ``t`` the condition is ``W3 relu(W1 sum_i A_ij d_t^i + W2 d_{t-1}^j)``, where
    ``d_t^i`` is the LSTM state of series ``i`` after reading its values up to ``t``. A parent's state includes
    its value at ``t``, the series' own state only its values before ``t``: together with an acyclic ``A`` this
    is a Bayesian network's factorisation of the window's density.
    """

    def __init__(self, hidden_size: int):
        super().__init__()
        self.rnn = nn.LSTM(1, hidden_size, batch_first=True)
        self.from_parents = nn.Linear(hidden_size, hidden_size)
        self.from_own_past = nn.Linear(hidden_size, hidden_size, bias=False)
        self.out = nn.Linear(hidden_size, hidden_size)

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        """``(B, L, D)`` windows -> ``(B, D, L, H)`` conditions."""
        batch, length, n_series = x.shape
        states, _ = self.rnn(x.transpose(1, 2).reshape(batch * n_series, length, 1))  # one sequence per series
        states = states.reshape(batch, n_series, length, -1)
        mixed = self.from_parents(torch.einsum("bild,ij->bjld", states, adjacency))
        own_past = F.pad(self.from_own_past(states[:, :, :-1]), (0, 0, 1, 0))  # the first step has no past
        return self.out(torch.relu(mixed + own_past))


class _ConditionalAffineFlow(nn.Module):
    """A flow of one value given its condition: ``n_blocks`` affine maps ``u = (x - m(c)) exp(-a(c))``.

    Each block is the authors' MADE of one input, whose shift and log scale come from the condition through
    ``tanh`` layers. The shift and scale read the condition only, never ``x`` itself, so ``-a(c)`` is the exact
    log-determinant (see the detector's docstring). Affine maps compose to an affine map: for one value the
    flow is a conditional Gaussian whatever ``n_blocks``.
    """

    def __init__(self, condition_size: int, hidden_size: int, n_hidden: int, n_blocks: int):
        super().__init__()
        dims = [condition_size] + [hidden_size] * (n_hidden + 1) + [2]
        self.blocks = nn.ModuleList(mlp(dims, "tanh") for _ in range(n_blocks))

    def log_prob(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """``log p(x | c)`` elementwise: ``x`` is ``(...)``, ``condition`` ``(..., H)``."""
        log_det = torch.zeros_like(x)
        for block in self.blocks:
            shift, log_scale = block(condition).unbind(-1)
            x = (x - shift) * torch.exp(-log_scale)
            log_det = log_det - log_scale
        return standard_normal_log_prob(x) + log_det

    def median(self, condition: torch.Tensor) -> torch.Tensor:
        """The value mapped to ``u = 0``: the conditional median (and mean) of ``x``."""
        x = torch.zeros(condition.shape[:-1], dtype=condition.dtype, device=condition.device)
        for block in reversed(self.blocks):
            shift, log_scale = block(condition).unbind(-1)
            x = x * torch.exp(log_scale) + shift
        return x


class _GANFNet(nn.Module):
    """The dependency encoder, the conditional flow and the weighted adjacency ``A`` (``A_ij``: edge i -> j)."""

    def __init__(self, n_series: int, hidden_size: int, flow_hidden: int, flow_layers: int, flow_blocks: int):
        super().__init__()
        self.encoder = _DependencyEncoder(hidden_size)
        self.flow = _ConditionalAffineFlow(hidden_size, flow_hidden, flow_layers, flow_blocks)
        adjacency = nn.init.xavier_uniform_(torch.empty(n_series, n_series)).abs().fill_diagonal_(0.0)
        self.adjacency = nn.Parameter(adjacency)  # the authors' start: |Xavier|, no self-loops
        self.register_buffer("off_diagonal", 1.0 - torch.eye(n_series))

    @property
    def graph(self) -> torch.Tensor:
        """``A`` without self-loops: a series' own past enters through its own term, never its present."""
        return self.adjacency * self.off_diagonal

    def point_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """``log p(x_t^j | parents, own past)`` of every point of ``(B, L, D)`` windows, ``(B, L, D)``."""
        condition = self.encoder(x, self.graph)
        return self.flow.log_prob(x.transpose(1, 2), condition).transpose(1, 2)

    def conditional_median(self, x: torch.Tensor) -> torch.Tensor:
        return self.flow.median(self.encoder(x, self.graph)).transpose(1, 2)

    def acyclicity(self) -> torch.Tensor:
        """NOTEARS' ``h(A) = tr(exp(A * A)) - D``: zero exactly when the weighted graph has no cycle."""
        graph = self.graph
        return torch.trace(torch.matrix_exp(graph * graph)) - graph.shape[0]


@register(
    "ganf", family="density-explicit", modalities=("time-series",),
    paper=Paper("Graph-Augmented Normalizing Flows for Anomaly Detection of Multiple Time Series",
                "Dai & Chen", "ICLR", 2022),
)
@hyperparameters
class GANF(RestoringSeriesDetector):
    """Graph-augmented normalizing flow: a window's density under a learned Bayesian network of its series.

    GANF (Dai & Chen, ICLR 2022) holds that anomalies lie where the density is low, and estimates the density of
    a window of ``D`` series by factorising it along a directed acyclic graph ``A`` among the series and along
    time: ``log p(X) = sum_j sum_t log p(x_t^j | parents of j up to t, x_{<t}^j)``. Each series runs through
    one shared LSTM; a graph layer mixes the parents' states into each point's condition
    (:class:`_DependencyEncoder`); a conditional normalizing flow (MAF) turns each point into a standard normal
    value. The graph is learned with the flow: ``A`` is a weighted adjacency in ``[0, 1]`` kept acyclic by the
    NOTEARS constraint ``h(A) = tr(exp(A * A)) - D = 0``, enforced by the augmented Lagrangian
    ``-log p + alpha h(A) + rho/2 h(A)^2``. The anomaly score of a window is its negative log density per
    point (``score_unit="window"``), spread over the window's steps; a step's score is the mean over the
    windows that cover it. The paper scores windows only; ``score_unit="step"`` scores each step by its own
    share of that density instead, ``-log p(x_t | parents, own past)`` averaged over the series, a term of
    the same factorisation (see ``score_unit`` below).

    Training, after the authors' code (``train_water.py``, read, not copied): up to ``dag_rounds`` rounds of
    the augmented Lagrangian, each an epoch with a fresh Adam; while ``h(A)`` has not fallen below half its
    previous value, ``rho`` grows tenfold and the epoch is repeated; then ``alpha += rho h(A)``, until
    ``h(A) <= dag_tolerance`` or ``rho`` reaches ``rho_max``. ``A`` is clipped to ``[0, 1]`` after every step.
    Then ``epochs`` more epochs with one Adam, keeping the weights of the epoch with the best validation
    log-likelihood. Their settings for the water-treatment data are the defaults: windows of 60 every 10 steps,
    LSTM and graph layer of 32 units, one MAF block with one hidden layer of 32 ``tanh`` units, batches of
    512 (64 here), Adam at lr 2e-3 with weight decay 5e-4 (not on ``A``), each gradient value clipped to
    ``[-1, 1]`` (not ``A``'s), 20 rounds, tolerance 1e-4, ``rho`` from 1 to at most 1e16, ``alpha`` from 0,
    30 final epochs.

    Deviations:

    - **CPU budget.** Batches of 64 windows instead of 512: one step over 512 windows of SMD's 38 series runs
      512 x 38 LSTMs over 60 steps, about 6 seconds on one core (0.4 for 64 windows).
    - **At least ``dag_steps`` optimizer steps per sub-problem** of the augmented Lagrangian (50, about one
      epoch of the authors' water-treatment data: some 27,000 windows in batches of 512). With one epoch of a
      smaller series, ``A`` moves too little before ``rho`` is raised again, and ``rho`` reaches its maximum
      with the graph barely changed from its random start.
    - **A proper density.** In the authors' code each series' flow is a MADE of one input whose autoregressive
      mask (one degree, all ones) lets ``x`` feed its own shift and scale, while the log-determinant counts
      only the scale: the "log-likelihood" is not a density. Here the shift and scale read the condition only.
      For one value per point, one MAF block is then an exact conditional Gaussian, and more blocks add no
      expressiveness (affine maps compose); ``flow_blocks`` stays for parity with the paper.
    - **No self-loops.** The authors start ``A`` with a zero diagonal but let it grow (only the acyclicity
      penalty holds it back), and a self-loop lets a point's condition read the point itself. Here the
      diagonal is masked: a series' past enters through its own term, ``W2 d_{t-1}^j``, only.
    - The validation windows are a random ``validation_fraction`` of the training windows (the authors hold
      out the next 20% of the series); they take no part in either phase of training.
    - ``rho`` and ``alpha`` are updated with ``h(A)`` measured after the epoch (the authors use the last
      batch's value, before its step).
    - **Series constant in training are left out**, as the authors' ``dataset.py`` drops the series whose
      standard deviation is zero, but judged on the training part alone (theirs is the whole recording's). A
      constant series has no density: its flow's scale shrinks for as long as training lasts, and any later
      move of it then outweighs every other series (on SMD machine-2-8, three such series held 74% of the
      score of the top 5% of test steps). They take no share in ``explain``, ``restore`` gives them their
      training value, and they have no edges in ``adjacency_``.

    ``explain`` splits a step's score by series (the authors' ``locate``: each series' share of the window's
    negative log density, or of the step's with ``score_unit="step"``); the shares sum to the score.
    ``restore`` gives each point's conditional median given its parents and its own past, a point the model
    expects there.

    Parameters
    ----------
    hidden_size : LSTM and graph-layer width.
    flow_hidden, flow_layers, flow_blocks : width, hidden layers (after the first) and blocks of the flow.
    dag_rounds, dag_tolerance, rho_max : the augmented Lagrangian's rounds, its target ``h(A)`` and the
        largest penalty weight.
    dag_steps : the fewest optimizer steps of each of its sub-problems (one epoch when that is more; 0: one
        epoch, as the authors).
    clip_grad_value : every gradient value of the network (not of ``A``) is clipped to ``[-v, v]``; ``None``
        disables it.
    epochs : the epochs after the augmented Lagrangian, the best by validation log-likelihood kept.
    score_unit : ``"window"``: a window's mean ``-log p`` per point, spread over its steps (the paper's
        window score); ``"step"``: each step's own ``-log p`` given its parents and its own past, averaged
        over the series. Both are then averaged over the scored windows that cover the step. A window's score
        dilutes a short anomaly over its ``window`` steps; a step's score does not. On the time-series
        development data (anomalies injected into SMD's training splits) the window's score was ahead, mean
        VUS-PR 0.560 against 0.486 (5 of 6 machines), so it stays the default; on SMD's test part the step's
        score finds the short spikes the window's misses: 0.389 against 0.319 over seeds 1-2, ahead on the
        machines whose labelled ranges are mostly a few steps long (BENCHMARKS.md, "GANF's score unit" and
        "GANF on SMD, seeds 1 and 2"). Prefer ``"step"`` where anomalies are spikes, ``"window"`` where they
        are episodes.
    **base : window, train_stride, score_stride, fill and the settings of :class:`genad.base.TorchDetector`
        (``patience`` stops the final epochs early; ``lr_decay`` decays their learning rate).

    References
    ----------
    Dai, E. and Chen, J. "Graph-Augmented Normalizing Flows for Anomaly Detection of Multiple Time Series".
    ICLR 2022.
    Zheng, X., Aragam, B., Ravikumar, P. and Xing, E. P. "DAGs with NO TEARS: Continuous Optimization for
    Structure Learning". NeurIPS 2018.
    """

    window: int = 60
    train_stride: int = 10
    score_stride: int = 10
    hidden_size: int = 32
    flow_hidden: int = 32
    flow_layers: int = 1
    flow_blocks: int = 1
    dag_rounds: int = 20
    dag_steps: int = 50
    dag_tolerance: float = 1e-4
    rho_max: float = 1e16
    clip_grad_value: float | None = 1.0
    epochs: int = 30
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 5e-4
    validation_fraction: float = 0.2
    score_unit: str = "window"

    _apply_batch_size = 256  # an LSTM state per series and step: (256, 38 series, 60, 32) floats at once

    def _check_params(self) -> None:
        super()._check_params()
        for name in ("hidden_size", "flow_hidden", "flow_blocks", "dag_rounds"):
            check_int(name, getattr(self, name), low=1)
        for name in ("flow_layers", "dag_steps"):
            check_int(name, getattr(self, name), low=0)
        check_float("dag_tolerance", self.dag_tolerance, 0.0, low_closed=False)
        check_float("rho_max", self.rho_max, 1.0, low_closed=False)
        if self.clip_grad_value is not None:
            check_float("clip_grad_value", self.clip_grad_value, 0.0, low_closed=False)
        check_choice("score_unit", self.score_unit, SCORE_UNITS)

    def _build_module(self, n_features: int) -> nn.Module:
        return _GANFNet(n_features, self.hidden_size, self.flow_hidden, self.flow_layers, self.flow_blocks)

    # --- the objective ------------------------------------------------------------------------------------
    def _negative_log_likelihood(self, batch: torch.Tensor) -> torch.Tensor:
        """Mean ``-log p`` per point of the windows."""
        return -self.module_.point_log_prob(batch).mean()

    def _loss(self, batch: torch.Tensor) -> torch.Tensor:
        """The augmented Lagrangian at the current ``rho`` and ``alpha``."""
        net = self.module_
        with torch.no_grad():  # the projection of the previous step: A stays a weighted adjacency in [0, 1]
            net.adjacency.clamp_(0.0, 1.0)
        h = net.acyclicity()
        return self._negative_log_likelihood(batch) + 0.5 * self._rho * h * h + self._alpha * h

    # --- the series the density covers -----------------------------------------------------------------------
    def _fit(self, X: np.ndarray, y: np.ndarray | None) -> None:
        varying = np.ptp(X, axis=0) > 0
        if not varying.any():
            raise ValueError(f"every one of the training series' {X.shape[1]} channels is constant; GANF "
                             f"models the density of channels that vary")
        self.modelled_channels_ = np.flatnonzero(varying)
        self.constant_levels_ = X[0].astype(np.float32)  # what restore gives the channels left out
        super()._fit(X[:, self.modelled_channels_], y)

    def _per_step(self, fn, X: np.ndarray) -> np.ndarray:
        """Every window the network sees, in scoring as in training, holds the modelled channels only."""
        return super()._per_step(fn, X[:, self.modelled_channels_])

    def _with_all_channels(self, modelled: np.ndarray, fill: np.ndarray) -> np.ndarray:
        """``(T, modelled channels)`` values back to ``(T, D)``; the constant channels take ``fill``."""
        full = np.repeat(fill[None, :], len(modelled), axis=0).astype(modelled.dtype)
        full[:, self.modelled_channels_] = modelled
        return full

    # --- training: the augmented Lagrangian, then the final epochs ------------------------------------------
    def _train(self, data: Any, generator: torch.Generator, **overrides: Any) -> dict[str, list[float]]:
        train_windows, val_windows = split_validation(data, self.validation_fraction, generator)
        clipping = self._clip_network_gradients()
        bar = tqdm(desc=self.registry_name, unit="epoch", disable=not self.verbose, leave=False)
        history: dict[str, list[float]] = {"loss": [], "val_loss": [], "acyclicity": []}
        try:
            self._learn_graph(train_windows, generator, history, bar)
            self._final_epochs(train_windows, val_windows, generator, history, bar)
        finally:  # training state only; not saved with the model
            for handle in clipping:
                handle.remove()
            for name in ("_rho", "_alpha"):
                self.__dict__.pop(name, None)
            bar.close()
        with torch.no_grad():
            self.module_.adjacency.clamp_(0.0, 1.0)
        self.module_.eval()
        return history

    def _clip_network_gradients(self) -> list:
        if self.clip_grad_value is None:
            return []
        bound = self.clip_grad_value
        return [p.register_hook(lambda g: g.clamp(-bound, bound))
                for name, p in self.module_.named_parameters() if name != "adjacency"]

    def _adam(self) -> torch.optim.Adam:
        net = self.module_
        network = [p for name, p in net.named_parameters() if name != "adjacency"]
        return torch.optim.Adam([{"params": network, "weight_decay": self.weight_decay},
                                 {"params": [net.adjacency], "weight_decay": 0.0}], lr=self.lr)

    def _epoch(self, windows: torch.Tensor, generator: torch.Generator, optimizer: torch.optim.Optimizer,
               history: dict[str, list[float]], bar: tqdm, min_steps: int = 0) -> float:
        """One epoch of the shared loop (more when ``min_steps`` asks for them); returns ``h(A)`` after it."""
        loss = train_module(self.module_, self._loss, windows, epochs=1, min_steps=min_steps,
                            batch_size=self.batch_size, optimizer=optimizer, lr_decay=self.lr_decay,
                            clip_grad_norm=self.clip_grad_norm, generator=generator)["loss"][-1]
        with torch.no_grad():
            self.module_.adjacency.clamp_(0.0, 1.0)
            h = float(self.module_.acyclicity())
        history["loss"].append(loss)
        history["acyclicity"].append(h)
        bar.update()
        bar.set_postfix({"loss": f"{loss:.4g}", "h(A)": f"{h:.2e}"}, refresh=False)
        return h

    def _learn_graph(self, windows: torch.Tensor, generator: torch.Generator, history: dict[str, list[float]],
                     bar: tqdm) -> None:
        self._rho, self._alpha, h_before, h = 1.0, 0.0, math.inf, math.inf
        for _ in range(self.dag_rounds):
            while self._rho < self.rho_max:
                h = self._epoch(windows, generator, self._adam(), history, bar, min_steps=self.dag_steps)
                if h <= 0.5 * h_before:
                    break
                self._rho *= 10.0  # the constraint did not halve: weigh it more and train again
            h_before = h
            self._alpha += self._rho * h
            if h <= self.dag_tolerance or self._rho >= self.rho_max:
                break

    def _final_epochs(self, windows: torch.Tensor, val_windows: torch.Tensor | None, generator: torch.Generator,
                      history: dict[str, list[float]], bar: tqdm) -> None:
        """``epochs`` epochs with one Adam, keeping the weights of the best validation log-likelihood."""
        final = train_module(self.module_, self._loss, windows, epochs=self.epochs, min_steps=self.min_steps,
                             batch_size=self.batch_size, optimizer=self._adam(), lr_decay=self.lr_decay,
                             validation_data=val_windows, validation_loss_fn=self._negative_log_likelihood,
                             patience=self.patience, keep_best=True, clip_grad_norm=self.clip_grad_norm,
                             generator=generator)
        with torch.no_grad():
            self.module_.adjacency.clamp_(0.0, 1.0)
            history["acyclicity"].append(float(self.module_.acyclicity()))
        history["loss"] += final["loss"]
        history["val_loss"] += final["val_loss"]
        bar.update(len(final["loss"]))

    # --- score, explanation and restoration -----------------------------------------------------------------
    def _series_nll(self, batch: torch.Tensor) -> torch.Tensor:
        """Each series' share of the score of every step of the windows, ``(B, L, D)``: of the window's mean
        ``-log p`` per point, spread over the window (``score_unit="window"``), or of the step's own."""
        point = -self.module_.point_log_prob(batch) / batch.shape[2]  # summed over D: a mean over the series
        if self.score_unit == "step":
            return point
        return point.mean(1, keepdim=True).expand_as(batch)  # summed over D: the window's mean over its points

    def _score_batch(self, batch: torch.Tensor) -> torch.Tensor:
        if self.score_unit == "step":
            return -self.module_.point_log_prob(batch).mean(2)  # (B, L)
        return -self.module_.point_log_prob(batch).mean((1, 2))  # (B,), spread over the window's steps

    def _explain(self, X: np.ndarray) -> np.ndarray:
        return self._with_all_channels(self._per_step(self._series_nll, X), np.zeros(X.shape[1]))

    def _restore(self, X: np.ndarray) -> np.ndarray:
        return self._with_all_channels(super()._restore(X), self.constant_levels_)

    def _reconstruct(self, batch: torch.Tensor) -> torch.Tensor:
        return self.module_.conditional_median(batch)

    @property
    def adjacency_(self) -> np.ndarray:
        """The learned weighted graph: ``adjacency_[i, j] > 0`` is an edge from series ``i`` to series ``j``."""
        graph = np.zeros((self.n_features_in_, self.n_features_in_), dtype=np.float32)
        graph[np.ix_(self.modelled_channels_, self.modelled_channels_)] = self.module_.graph.detach().cpu().numpy()
        return graph
