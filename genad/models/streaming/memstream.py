"""MemStream: a denoising-autoencoder feature extractor and a FIFO memory of normal encodings."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from genad.nn import mlp
from genad.nn.corruption import Corruption
from genad.nn.knn import l1_topk
from genad.nn.rowwise import abs_error_rows, dense_rows, row_layer
from genad.registry import Paper, register
from genad.streaming.base import StreamDetector, load_weights, state_arrays, state_float, state_int
from genad.base import hyperparameters
from genad.training import seeded, train_module
from genad.validation import check_choice, check_float, check_int

#: The paper's per-dataset settings (beta, memory_size), from the reference repository's README; for SYN
#: the reference runs a separate script whose feature extractor is the identity.
PRESETS: dict[str, dict[str, Any]] = {
    "kdd": {"beta": 1.0, "memory_size": 256},
    "nsl_kdd": {"beta": 0.1, "memory_size": 2048},
    "unsw": {"beta": 0.1, "memory_size": 2048},
    "dos": {"beta": 0.1, "memory_size": 2048},
    "syn": {"beta": 1.0, "memory_size": 16, "encoder": "identity"},
    "ionosphere": {"beta": 0.001, "memory_size": 4},
    "cardio": {"beta": 1.0, "memory_size": 64},
    "statlog": {"beta": 0.01, "memory_size": 32},
    "satimage-2": {"beta": 10.0, "memory_size": 256},
    "mammography": {"beta": 0.1, "memory_size": 128},
    "pima": {"beta": 0.001, "memory_size": 64},
    "cover": {"beta": 0.0001, "memory_size": 2048},
}
#: What makes a MemStream the paper's rather than genad's label-free extension (see the class docstring).
PAPER_SETTING: dict[str, Any] = {"warm_up_mode": "first", "recon_weight": 0.0, "dup_quantile": 0.0}
WARM_UPS = ("first", "trimmed", "mode")
ENCODERS = ("autoencoder", "identity")


@register(
    "memstream", family="streaming", modalities=("stream",),
    paper=Paper("MemStream: Memory-Based Streaming Anomaly Detection",
                "Bhatia, Jain, Srivastava, Kawaguchi & Hooi", "WWW", 2022),
)
@hyperparameters
class MemStream(StreamDetector):
    """MemStream streaming anomaly detector (Bhatia et al., WWW 2022), with a label-free warm-up.

    A denoising autoencoder (encoder ``Linear(d, 2d) + tanh``, linear decoder, trained to
    reconstruct warm-up rows from copies with Gaussian noise of std 0.001) maps each standardized
    record to an encoding ``z``. A memory holds encodings (initially those of the warm-up rows) and
    the raw records behind them, whose mean and standard deviation standardize new records. The
    score of a record is the discounted mean of its ``k`` smallest L1 distances to the memory,
    ``sum_i gamma^i d_(i) / sum_i gamma^i`` (``gamma = 0``: the nearest distance). A record whose
    score is at most the admission threshold replaces the oldest memory entry (FIFO), and the
    standardization statistics follow the memory, so the notion of normal drifts with the stream.

    ``process`` is exactly one-at-a-time processing: a chunk of records is scored against a memory
    that cannot change before the first admitted record; the chunk stops there, that record
    updates the memory, and the next chunk starts after it.

    The paper's setting: ``warm_up_mode="first"``, a fixed ``beta``, ``recon_weight=0`` and
    ``dup_quantile=0`` (:data:`PAPER_SETTING`, applied by :meth:`preset`), with a warm-up on rows
    known to be normal (:meth:`warm_up`). The reference implementation picks those rows by label
    (the first ``memory_size`` *normal* records); genad never reads labels.

    genad's label-free extension (the defaults). Warming up on the first ``memory_size`` records
    whatever they are breaks the paper's method when the window is contaminated: on NSL-KDD 982 of
    the first 2,048 records are attacks, 688 of them ``neptune``, and every attack type in the
    memory then scores as normal for the rest of the stream (AUROC 0.51). Dropping the sparsest
    rows does not help, because that contamination is dense. Four additions, each with its reason:

    1. *Main-mode warm-up* (``warm_up_mode="mode"``). After a first training on the whole window,
       the rows are linked in a mutual ``graph_k``-nearest-neighbour graph of their encodings (two
       rows are linked when each is among the other's ``graph_k`` nearest; default
       ``max(5, round(sqrt(n) / 2))``, 23 for 2,048 rows), and only the largest connected component
       is kept. The assumption is weaker than "anomalies are rare": normal behaviour is taken to be
       the largest *connected* mode of the window. Floods of attacks, however many rows they have,
       fall apart into groups that do not link with the normal traffic (mutual kNN graphs resist
       the masking that dense anomaly groups cause in plain kNN scores). Rows outside the
       component whose kNN score against it is within its own ``rejoin_quantile`` quantile of
       leave-one-out scores rejoin it (the graph also cuts normal rows off at its border). The
       autoencoder is then retrained on the kept rows, and only they fill the memory, which
       therefore holds at most ``memory_size`` entries (528 of 2,048 on NSL-KDD, all of them
       normal). The mode must hold more than ``k`` rows, or the window is kept as it is.
    2. *Reconstruction error in the score* (``recon_weight``). The tanh encoder saturates on records
       far outside the warm-up's range, so very different records can share an encoding and a kNN
       score (on smtp's first 50,000 records, with the paper's score, all 16 anomalies scored level with
       the median normal record; AUROC 0.45 without this term, 0.77 with it). The score adds the
       autoencoder's mean absolute reconstruction error, rescaled at warm-up so that its median
       over the memory equals ``recon_weight`` times the median kNN score of the memory.
    3. *Admission by the memory's own score quantile* (``beta=None``). A fixed beta is a distance in
       an encoding space whose scale changes with each stream (the paper tunes it per dataset from
       1e-4 to 10). genad admits a record when its score is at most the ``admit_quantile``
       quantile of the memory entries' own leave-one-out scores: the record fits the memory as well
       as a typical memory entry does. In practice few records pass this test, because the memory
       holds the window's tightest mode. On the streams suite, seed 0, 230 of NSL-KDD's 47,736
       records entered the memory, 350 of http's 50,000 and 1,240 of smtp's
       (``benchmarks/memstream_memory_use.py``).
       So the memory stays close to its warm-up state. That keeps attack floods out, but it adapts
       slowly when normal behaviour drifts. For such streams, raise ``admit_quantile`` or set ``beta``.
    4. *Duplicate-aware admission* (``dup_quantile``). A record whose nearest memory entry is closer
       than the ``dup_quantile`` quantile of the memory's nearest-distinct-neighbour distances is a
       (near-)duplicate and does not take a slot, so a flood of near-identical records cannot push
       the rest of normal behaviour out of the FIFO memory (on MemStream's concept-drift stream a
       long flat stretch filled the whole memory with copies of one value). The memory's own
       scores in 3 and 4 are computed with duplicates collapsed, so exact copies in the window do
       not make the threshold 0.

    How these defaults were chosen, in plain words: by looking at prequential AUROC on NSL-KDD (the
    issue's target stream) and on the streams suite (``admit_quantile`` 0.5 over 0.75/0.9,
    ``dup_quantile`` 0.1 over 0.25/0.5, ``rejoin_quantile`` 0.9, the square-root rule for ``graph_k``
    over a fixed 20, ``recon_weight`` 1 over 0/0.5/2). The model never reads labels, and one
    configuration serves every stream, but the choice itself used those streams' labels, so the
    suite figures are development figures, not a held-out test.

    Deviations: the reference trains 5,000 full-batch Adam epochs with lr 1e-2; genad trains 300
    (full batch, lr 1e-2, through its shared loop) to fit a CPU budget; on NSL-KDD with the paper's
    clean warm-up that gives AUROC 0.954 here over every record (seeds 0 and 1), 0.956 for the reference
    (0.951 over the records after the streams suite's warm-up window, which genad's suite reports).
    The reference runs its one-dimensional SYN stream through a separate script whose feature
    extractor is the identity: a record's encoding is the record standardized by the memory's
    mean and standard deviation. ``encoder="identity"`` does the same (no training, no
    reconstruction term), and the ``"syn"`` preset uses it.
    The encoder and decoder run at scoring time through row-invariant layers (:mod:`genad.nn.rowwise`,
    same weights as the torch modules): torch's matrix products change their summation order with the batch size, and
    ``process`` must give bit-equal scores whatever the chunking (with torch, NSL-KDD encodings
    differed by up to 4e-6 between batch sizes, and the scores, once they weight the reconstruction
    error, by up to 0.06 between ``process`` and one record at a time).
    The mean/std follow the memory with a sliding update (recomputed from the memory every
    ``len(memory)`` updates) instead of a full recompute per update; std uses the unbiased
    estimator and zero-variance features are set to 0, as there.

    Parameters
    ----------
    memory_size : largest number of encodings in the memory (N), also the warm-up window.
    beta : fixed update threshold (the paper's): records scoring at most beta enter the memory;
        ``None`` (default): the ``admit_quantile`` rule above.
    admit_quantile : quantile of the memory's own scores used as the threshold when ``beta=None``.
    recon_weight : weight of the rescaled reconstruction error in the score (0: the paper's score).
    dup_quantile : near-duplicate radius as a quantile of the memory's nearest-distinct distances
        (0: no duplicate rule, as the paper).
    k : nearest memory entries the score averages.
    gamma : discount of the i-th nearest distance (0 keeps the nearest only).
    encoder : ``"autoencoder"`` (the paper's denoising autoencoder) or ``"identity"`` (the reference's
        SYN script: encodings are the standardized records).
    code_ratio : encoding width as a multiple of the input width (the paper's 2).
    noise_std : standard deviation of the denoising Gaussian noise.
    epochs, batch_size, lr : warm-up training of the autoencoder (``batch_size=None``: full batch).
    warm_up_mode : ``"mode"`` (default, see above), ``"first"`` (the first rows as they are, the
        paper) or ``"trimmed"`` (genad's earlier extension: after training, keep the ``1 - trim``
        share of rows with the smallest mean L1 distance to their ``k`` nearest other encodings;
        it removes sparse contamination but not dense floods).
    trim : share of warm-up rows dropped by the trimmed warm-up.
    graph_k : neighbours per row in the main-mode graph (``None``: ``max(5, round(sqrt(n) / 2))``).
    rejoin_quantile : how well the main mode must explain a row outside it for the row to rejoin
        (0: no rejoining).

    References
    ----------
    Bhatia, S., Jain, A., Srivastava, S., Kawaguchi, K. and Hooi, B. "MemStream: Memory-Based
    Streaming Anomaly Detection". The Web Conference (WWW), 2022.
    """

    memory_size: int = 2048
    beta: float | None = None
    admit_quantile: float = 0.5
    recon_weight: float = 1.0
    dup_quantile: float = 0.1
    k: int = 3
    gamma: float = 0.0
    encoder: str = "autoencoder"
    code_ratio: float = 2.0
    noise_std: float = 0.001
    epochs: int = 300
    batch_size: int | None = None
    lr: float = 1e-2
    warm_up_mode: str = "mode"
    trim: float = 0.5
    graph_k: int | None = None
    rejoin_quantile: float = 0.9

    @property
    def warm_up_size(self) -> int:  # type: ignore[override]
        return self.memory_size

    @classmethod
    def preset(cls, dataset: str, **params: Any) -> "MemStream":
        """MemStream with the paper's settings for ``dataset`` (:data:`PRESETS` and :data:`PAPER_SETTING`)."""
        if dataset not in PRESETS:
            raise ValueError(f"no MemStream preset for {dataset!r}; presets: {', '.join(sorted(PRESETS))}")
        return cls(**{**PAPER_SETTING, **PRESETS[dataset], **params})

    def _check_params(self) -> None:
        super()._check_params()
        check_int("memory_size", self.memory_size, low=2)
        if self.beta is not None:
            check_float("beta", self.beta, 0.0)
        check_float("admit_quantile", self.admit_quantile, 0.0, 1.0)
        check_float("recon_weight", self.recon_weight, 0.0)
        check_float("dup_quantile", self.dup_quantile, 0.0, 1.0)
        check_int("k", self.k, low=1, high=self.memory_size)
        check_float("gamma", self.gamma, 0.0, 1.0)
        check_choice("encoder", self.encoder, ENCODERS)
        check_float("code_ratio", self.code_ratio, 0.0, low_closed=False)
        check_float("noise_std", self.noise_std, 0.0)
        check_int("epochs", self.epochs, low=1)
        if self.batch_size is not None:
            check_int("batch_size", self.batch_size, low=1)
        check_float("lr", self.lr, 0.0, low_closed=False)
        check_choice("warm_up_mode", self.warm_up_mode, WARM_UPS)
        check_float("trim", self.trim, 0.0, 0.9)
        if self.graph_k is not None:
            check_int("graph_k", self.graph_k, low=1)
        check_float("rejoin_quantile", self.rejoin_quantile, 0.0, 1.0)

    # --- warm-up: train the feature extractor, fill the memory ---------------------------------
    def _warm_up(self, X: np.ndarray) -> None:
        X = X[:self.memory_size]  # as the reference: the first memory_size rows
        self.weights_ = self._discount_weights()
        with seeded(self.random_state) as generator:
            self._build_autoencoder(X.shape[1], self._code_width(X.shape[1]))
            self._train_on(X, generator)
            if self.warm_up_mode == "trimmed":
                X = self._keep_typical(X)
                self._train_on(X, generator)
            elif self.warm_up_mode == "mode":
                X = self._keep_main_mode(X)
                self._train_on(X, generator)
        self._fill_memory(X)
        own, nearest = self._own_knn_scores()
        self.dup_eps_ = float(np.quantile(nearest, self.dup_quantile)) if self.dup_quantile > 0 else -1.0
        errors = self._recon_errors(self.mem_data_)
        scale_knn, scale_err = float(np.median(own)), float(np.median(errors))
        self.err_factor_ = (self.recon_weight * scale_knn / scale_err
                            if self.recon_weight > 0 and scale_knn > 0 and scale_err > 0 else 0.0)
        own = own + self.err_factor_ * errors
        self.beta_ = float(self.beta) if self.beta is not None else float(np.quantile(own, self.admit_quantile))

    def _discount_weights(self) -> np.ndarray:
        """``gamma ** i`` for the i-th nearest memory entry, with ``0 ** 0 = 1``."""
        weights = np.array([self.gamma ** i for i in range(self.k)], dtype=np.float64)
        weights[0] = 1.0
        return weights

    def _own_knn_scores(self) -> tuple[np.ndarray, np.ndarray]:
        """Each memory entry's kNN score, and nearest distance, against the *other distinct* entries."""
        distinct, inverse = np.unique(self.memory_, axis=0, return_inverse=True)
        k = min(self.k, len(distinct) - 1)
        if k < 1:
            return np.zeros(len(self.memory_)), np.zeros(len(distinct))
        distances = l1_topk(distinct, distinct, k + 1)[:, 1:].astype(np.float64)
        return _discounted(distances, self.weights_)[inverse.ravel()], distances[:, 0]

    def _recon_errors(self, X: np.ndarray) -> np.ndarray:
        """Mean absolute reconstruction error of each standardized row (no noise)."""
        return self._forward(X, self.mean_, self.std_, True)[1]

    def _code_width(self, n_features: int) -> int:
        """Width of the encodings: the standardized record itself for the identity encoder."""
        return n_features if self.encoder == "identity" else max(1, int(round(self.code_ratio * n_features)))

    def _build_autoencoder(self, n_features: int, n_code: int) -> None:
        """A fresh encoder and decoder; none for the identity encoder."""
        if self.encoder == "identity":
            self.encoder_ = self.decoder_ = None
            return
        self.encoder_ = mlp([n_features, n_code], final_activation="tanh")
        self.decoder_ = mlp([n_code, n_features])

    def _train_on(self, X: np.ndarray, generator: torch.Generator) -> None:
        if self.encoder_ is None:  # the identity has nothing to learn
            return
        mean, std = _mean_std(X)
        data = torch.as_tensor(_standardize(X, mean, std))
        module = nn.Sequential(Corruption("gaussian", self.noise_std), self.encoder_, self.decoder_)
        train_module(module, lambda b: (module(b) - b).pow(2).mean(), data, epochs=self.epochs,
                     batch_size=self.batch_size or len(data), lr=self.lr, generator=generator,
                     desc="memstream warm-up")
        self.net_ = None  # the scoring path's copy of the weights is stale

    def _keep_typical(self, X: np.ndarray) -> np.ndarray:
        """The ``1 - trim`` share of rows closest to their own k nearest neighbours, in stream order."""
        Z = self._encode(X, *_mean_std(X))
        spread = l1_topk(Z, Z, min(self.k + 1, len(Z)))[:, 1:].mean(1)  # column 0 is the row itself
        n_keep = max(self.k + 1, int(round((1 - self.trim) * len(X))))
        return X[np.sort(np.argsort(spread, kind="stable")[:n_keep])]

    def _keep_main_mode(self, X: np.ndarray) -> np.ndarray:
        """The warm-up rows of the window's main mode, in stream order (see the class docstring)."""
        Z = self._encode(X, *_mean_std(X))
        keep = main_mode(Z, self.graph_k or max(5, int(round(np.sqrt(len(Z)) / 2))))
        if len(keep) < self.k + 1:  # no usable mode: keep the window as it is
            return X
        others = np.setdiff1d(np.arange(len(Z)), keep)
        if len(others) and self.rejoin_quantile > 0:
            mode = np.ascontiguousarray(Z[keep])
            own = _discounted(l1_topk(mode, mode, self.k + 1)[:, 1:].astype(np.float64), self.weights_)
            theirs = _discounted(l1_topk(Z[others], mode, self.k).astype(np.float64), self.weights_)
            keep = np.sort(np.concatenate([keep, others[theirs <= np.quantile(own, self.rejoin_quantile)]]))
        return X[keep]

    def _fill_memory(self, X: np.ndarray) -> None:
        self.mem_data_ = np.array(X, dtype=np.float32, order="C")  # a copy: admissions must not write into X
        self.mean_, self.std_ = _mean_std(self.mem_data_)
        self.memory_ = self._encode(self.mem_data_, self.mean_, self.std_)
        self.memory_t_ = np.ascontiguousarray(self.memory_.T)  # the layout the kNN kernel reads
        self.m2_ = ((self.mem_data_.astype(np.float64) - self.mean_) ** 2).sum(0)
        self.n_updates_, self.quiet_run_ = 0, 0

    # --- streaming ------------------------------------------------------------------------------
    def _score(self, X: np.ndarray) -> np.ndarray:
        return self._scores(X)[0]

    def _scores(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Scores, encodings and nearest memory distances of records against the current state."""
        Z, errors = self._forward(X, self.mean_, self.std_, self.err_factor_ > 0)
        scores, nearest = self._memory_scores(Z)
        if self.err_factor_ > 0:
            scores = scores + self.err_factor_ * errors
        return scores, Z, nearest

    def _process_chunk(self, X: np.ndarray) -> np.ndarray:
        size = min(len(X), self._next_chunk_size())
        scores, Z, nearest = self._scores(X[:size])
        admitted = np.flatnonzero((scores <= self.beta_) & (nearest > self.dup_eps_))
        if admitted.size == 0:
            self.quiet_run_ += size
            return scores
        first = int(admitted[0])
        self._admit(X[first], Z[first])
        self.quiet_run_ = 0
        return scores[:first + 1]

    def _next_chunk_size(self) -> int:
        """Small chunks right after a memory update, doubling while records leave the memory alone."""
        return int(min(self.max_chunk, 2 ** int(np.log2(self.quiet_run_ + 1))))

    def _memory_scores(self, Z: np.ndarray) -> np.ndarray:
        distances = l1_topk(Z, self.memory_, min(self.k, len(self.memory_)), self.memory_t_).astype(np.float64)
        return _discounted(distances, self.weights_), distances[:, 0]

    def _admit(self, x: np.ndarray, z: np.ndarray) -> None:
        """FIFO: ``x`` replaces the oldest memory entry; the statistics follow exactly."""
        slot = self.n_updates_ % len(self.mem_data_)
        old = self.mem_data_[slot].astype(np.float64)
        new = x.astype(np.float64)
        # the only in-place writes of a stream step: journaled, so a failing call can undo them
        self._write_in_place(self.memory_, slot, z)
        self._write_in_place(self.memory_t_, (slice(None), slot), z)
        self._write_in_place(self.mem_data_, slot, x)
        self.n_updates_ += 1
        if self.n_updates_ % len(self.mem_data_) == 0:  # re-sync the running moments
            self.mean_, self.std_ = _mean_std(self.mem_data_)
            self.m2_ = ((self.mem_data_.astype(np.float64) - self.mean_) ** 2).sum(0)
            return
        mean = self.mean_ + (new - old) / len(self.mem_data_)
        self.m2_ = np.maximum(self.m2_ + (new - old) * (new - mean + old - self.mean_), 0.0)
        self.mean_, self.std_ = mean, np.sqrt(self.m2_ / (len(self.mem_data_) - 1))

    def _net(self) -> tuple[np.ndarray, ...]:
        """The autoencoder's weights as float32 arrays for the row-invariant layers (taken from the modules)."""
        enc, dec = self.encoder_[0], self.decoder_[0]
        return (*row_layer(enc.weight, enc.bias), *row_layer(dec.weight, dec.bias))

    def _forward(self, X: np.ndarray, mean: np.ndarray, std: np.ndarray, errors: bool) -> tuple[np.ndarray, np.ndarray]:
        """Encodings ``tanh(x W1 + b1)`` of standardized rows and, when ``errors`` is set, their mean absolute
        reconstruction error, through row-invariant layers: a row's result never depends on its batch."""
        x = _standardize(X, mean, std)
        if self.encoder_ is None:  # identity: the standardized record is its encoding, reconstructed exactly
            return x, np.zeros(len(X))
        if getattr(self, "net_", None) is None:
            self.net_ = self._net()
        W1, b1, W2, b2 = self.net_
        Z = np.tanh(dense_rows(x, W1, b1))
        if not errors:
            return Z, np.zeros(len(X))
        return Z, abs_error_rows(x, dense_rows(Z, W2, b2)) / x.shape[1]

    def _encode(self, X: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        return self._forward(X, mean, std, False)[0]

    # --- state ----------------------------------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        return {"encoder": _weights(self.encoder_), "decoder": _weights(self.decoder_),
                "memory": self.memory_.copy(), "mem_data": self.mem_data_.copy(),
                "mean": self.mean_.copy(), "std": self.std_.copy(), "m2": self.m2_.copy(),
                "n_updates": self.n_updates_, "quiet_run": self.quiet_run_, "beta": self.beta_,
                "err_factor": self.err_factor_, "dup_eps": self.dup_eps_}

    def _set_state(self, state: dict[str, Any]) -> None:
        n = self.n_features_in_
        arrays = state_arrays(state, {
            "mem_data": (np.float32, ("entries", n)), "memory": (np.float32, ("entries", self._code_width(n))),
            "mean": (np.float64, (n,)), "std": (np.float64, (n,)), "m2": (np.float64, (n,))})
        if not 1 <= len(arrays["memory"]) <= self.memory_size:
            raise ValueError(f"the memory holds {len(arrays['memory'])} entries, expected 1 to {self.memory_size}")
        counters = {key: state_int(state, key, low=0) for key in ("n_updates", "quiet_run")}
        beta, err_factor = state_float(state, "beta"), state_float(state, "err_factor", low=0.0)
        dup_eps = state_float(state, "dup_eps", low=-1.0)
        self._build_autoencoder(n, self._code_width(n))
        if self.encoder_ is not None:
            load_weights(self.encoder_, state, "encoder")
            load_weights(self.decoder_, state, "decoder")
        self.net_ = None
        self.memory_, self.mem_data_ = arrays["memory"], arrays["mem_data"]
        self.memory_t_ = np.ascontiguousarray(self.memory_.T)
        self.mean_, self.std_, self.m2_ = arrays["mean"], arrays["std"], arrays["m2"]
        self.n_updates_, self.quiet_run_ = counters["n_updates"], counters["quiet_run"]
        self.beta_, self.err_factor_, self.dup_eps_ = beta, err_factor, dup_eps
        self.weights_ = self._discount_weights()


def main_mode(Z: np.ndarray, k: int) -> np.ndarray:
    """Indices (ascending) of the largest connected component of the mutual ``k``-NN graph of ``Z`` (L1).

    Two rows are linked when each is among the other's ``k`` nearest; ties in distance are broken
    by row order, and between equally large components the one holding the earliest row wins.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(Z)
    k = min(k, n - 1)
    if k < 1:
        return np.arange(n)
    Zt = torch.as_tensor(np.ascontiguousarray(Z, dtype=np.float32))
    D = torch.cdist(Zt, Zt, p=1).numpy().astype(np.float64)
    np.fill_diagonal(D, np.inf)
    nearest = np.argsort(D, axis=1, kind="stable")[:, :k]
    rows = np.repeat(np.arange(n), k)
    A = coo_matrix((np.ones(n * k, dtype=np.int8), (rows, nearest.ravel())), shape=(n, n)).tocsr()
    mutual = A.multiply(A.T)
    _, labels = connected_components(mutual, directed=False)
    sizes = np.bincount(labels)
    return np.flatnonzero(labels == int(np.argmax(sizes)))


def _weights(module: nn.Module | None) -> dict[str, torch.Tensor] | None:
    """A copy of a module's weights (``None`` for the identity encoder, which has none)."""
    return None if module is None else {k: v.clone() for k, v in module.state_dict().items()}


def _discounted(distances: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``sum_i w_i d_i / sum_i w_i`` over the columns, summed in column order (row-invariant, unlike BLAS)."""
    w = weights[:distances.shape[1]]
    total = distances[:, 0] * w[0]
    for i in range(1, distances.shape[1]):
        total = total + distances[:, i] * w[i]
    return total / w.sum()


def _mean_std(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = X.astype(np.float64)
    return X.mean(0), X.std(0, ddof=1) if len(X) > 1 else np.zeros(X.shape[1])


def _standardize(X: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(X - mean) / std`` with zero-variance features set to 0, as the reference does."""
    safe = np.where(std > 0, std, 1.0)
    return np.where(std > 0, (X - mean) / safe, 0.0).astype(np.float32)
