"""The detector contract every genad model follows (PyOD conventions, scikit-learn compatible).

``BaseDetector`` owns everything models share: input validation, thresholds, ``predict``,
``predict_proba``, calibration, capabilities (explain / restore / sample) and persistence.
``TorchDetector`` adds the shared training loop; ``ReconstructionDetector`` the scoring,
restoration and explanation of reconstruction-driven models. A model file then holds only its
network, its loss and its score.
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from genad.data.io import as_path, check_output_file
from genad.nn.mlp import ACTIVATION_NAMES
from genad.thresholds import FPRThreshold, Threshold, make_threshold
from genad.training import batched_apply, resolve_device, seeded, train_module
from genad.validation import as_2d_float, as_labels, check_choice, check_float, check_int

FILE_FORMAT = "genad-model"
FILE_FORMAT_VERSION = 1


def hyperparameters(cls: type) -> type:
    """Declare a detector's constructor parameters as annotated class attributes.

    The generated ``__init__`` only stores them (keyword-only), as scikit-learn requires, so
    ``get_params``, ``set_params`` and ``clone`` work and no model repeats the base parameters.
    """
    return dataclasses.dataclass(repr=False, eq=False, kw_only=True)(cls)


Method = TypeVar("Method", bound=Callable[..., Any])


def all_or_nothing(method: Method) -> Method:
    """Make a detector method undo everything it changed when it raises, so a rejected call leaves no trace.

    The undo point is a shallow copy of ``__dict__`` (well under a microsecond, affordable for every
    ``learn_one``; a plain wrapper rather than a context manager, which costs several times more),
    and it suffices because the models *rebind* the attributes they change; the few arrays a model
    writes in place go through ``BaseDetector._write_in_place``, which journals the overwritten
    values. A call inside another such call leaves the undo to the outer one.
    """
    @functools.wraps(method)
    def call(self: "BaseDetector", *args: Any, **kwargs: Any) -> Any:
        state = self.__dict__
        if "_undo_journal" in state:
            return method(self, *args, **kwargs)
        saved, journal = state.copy(), []
        state["_undo_journal"] = journal
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            for array, index, old in reversed(journal):
                array[index] = old
            state.clear()
            state.update(saved)
            raise
        finally:
            state.pop("_undo_journal", None)
    return call  # type: ignore[return-value]


@hyperparameters
class BaseDetector(BaseEstimator):
    """Base of all detectors.

    Parameters
    ----------
    contamination : float in (0, 0.5] or "auto"
        Expected share of anomalies, used to set ``threshold_`` from the training scores;
        ``"auto"`` uses Peaks-Over-Threshold (extreme value theory) instead.
    random_state : int or None
        One seed for everything random (weights, batches, sampling): the same seed gives
        identical scores.

    Attributes
    ----------
    decision_scores_ : scores of the training data (higher = more anomalous).
    threshold_ : score above which a point is labelled an anomaly.
    labels_ : 0/1 labels of the training data.
    threshold_rule_ : the :class:`genad.thresholds.Threshold` that set ``threshold_``.
    n_features_in_ : number of features seen in ``fit``.
    """

    contamination: float | str = 0.1
    random_state: int | None = None

    registry_name = "detector"  # set by @register
    min_fit_rows = 2

    # --- what a model implements -------------------------------------------------------------
    def _fit(self, X: np.ndarray, y: np.ndarray | None) -> None:
        raise NotImplementedError

    def _score(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _explain(self, X: np.ndarray) -> np.ndarray:
        raise self._missing("explain")

    def _restore(self, X: np.ndarray) -> np.ndarray:
        raise self._missing("restore")

    def _sample(self, n: int) -> np.ndarray:
        raise self._missing("sample")

    def _check_params(self) -> None:
        """Validate constructor parameters; subclasses extend and call ``super()``."""
        make_threshold(self.contamination)
        if self.random_state is not None:
            check_int("random_state", self.random_state, low=0)

    # --- the public API ------------------------------------------------------------------------
    @all_or_nothing
    def fit(self, X: Any, y: Any = None) -> "BaseDetector":
        """Learn normal behaviour from ``X`` (labels ``y`` are used only by models that can).

        A fit that fails leaves the detector as it was (fitted or not), never half-fitted."""
        self._check_params()
        names = _column_names(X)
        X = as_2d_float(X, min_rows=self.min_fit_rows)
        y = None if y is None else as_labels(y, X.shape[0])
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = names
        self._fit(X, y)
        self.decision_scores_ = self._finite_scores(X, self._training_scores)
        self._set_threshold(make_threshold(self.contamination), self.decision_scores_)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Anomaly score of each row; higher means more anomalous."""
        return self._finite_scores(self._validate(X))

    def predict(self, X: Any) -> np.ndarray:
        """0 for normal, 1 for anomaly, by ``threshold_``."""
        return self.threshold_rule_.predict(self.decision_function(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """``(n, 2)`` probabilities of [normal, anomaly].

        ``p_anomaly`` is the share of training scores at or below the row's score (their empirical
        distribution function), not PyOD's ``"linear"`` (min-max) or ``"unify"`` (erf) conversion. It is a
        rank, not a calibrated probability: ``predict`` flags from about ``1 - contamination`` on, not
        from 0.5, and :meth:`calibrate` does not change it (use :meth:`p_values`).
        """
        scores = self.decision_function(X)
        reference = np.sort(self.decision_scores_)
        p_anomaly = np.searchsorted(reference, scores, side="right") / reference.size
        return np.column_stack([1.0 - p_anomaly, p_anomaly])

    def calibrate(self, X_normal: Any, fpr: float = 0.05) -> "BaseDetector":
        """Set the threshold for a target false-positive rate on held-out normal data (split conformal).

        A new normal row, exchangeable with the rows of ``X_normal``, is flagged with probability at
        most ``fpr``, and it is flagged exactly when its :meth:`p_values` entry is at most ``fpr``. Needs
        at least ``1 / fpr - 1`` rows (a ``ValueError`` otherwise, the detector unchanged); ``labels_`` are
        recomputed from the training scores with the new threshold.
        """
        self._set_threshold(FPRThreshold(fpr), self.decision_function(X_normal))
        return self

    def p_values(self, X: Any) -> np.ndarray:
        """Conformal p-values against the calibration scores (call :meth:`calibrate` first)."""
        if not isinstance(getattr(self, "threshold_rule_", None), FPRThreshold):
            raise ValueError(f"{self.registry_name}: call calibrate(X_normal) before p_values()")
        return self.threshold_rule_.p_values(self.decision_function(X))

    def explain(self, X: Any) -> np.ndarray:
        """Per-feature contribution to each row's score, shape ``(n, n_features)``."""
        return self._finite("explanations", self._explain(self._validate(X)))

    def restore(self, X: Any) -> np.ndarray:
        """The plausible normal counterpart of each row, shape ``(n, n_features)``."""
        return self._finite("restorations", self._restore(self._validate(X)))

    def sample(self, n: int) -> np.ndarray:
        """Draw ``n`` rows from the learned distribution of normal data."""
        check_is_fitted(self, "n_features_in_")
        self._check_params()
        check_int("n", n, low=1)
        return self._finite("samples", self._sample(n))

    def save(self, path: str | Path) -> None:
        """Write the fitted detector to ``path`` (read back with :func:`genad.load`)."""
        check_is_fitted(self, "n_features_in_")
        path = check_output_file(path, "the model")
        from genad import __version__

        payload = {"format": FILE_FORMAT, "format_version": FILE_FORMAT_VERSION,
                   "genad_version": __version__, "model": self}
        torch.save(payload, str(path))

    # --- shared machinery ----------------------------------------------------------------------
    def _validate(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        self._check_params()  # set_params after fit may have changed what scoring reads
        self._check_column_names(X)
        return as_2d_float(X, n_features=self.n_features_in_)

    def _check_column_names(self, X: Any) -> None:
        """A DataFrame scored by a detector fitted on one must have its columns, in the same order."""
        fitted, names = getattr(self, "feature_names_in_", None), _column_names(X)
        if fitted is None or names is None or names == fitted:
            return
        missing, unexpected = [c for c in fitted if c not in names], [c for c in names if c not in fitted]
        detail = (f"missing {missing[:10]}, unexpected {unexpected[:10]}" if missing or unexpected
                  else "the same columns in another order")
        raise ValueError(f"X's columns differ from those seen in fit ({detail}); pass X[det.feature_names_in_]")

    def _finite_scores(self, X: np.ndarray, score: Callable[[np.ndarray], Any] | None = None) -> np.ndarray:
        return self._finite("scores", np.asarray((score or self._score)(X), dtype=np.float64).reshape(-1))

    def _training_scores(self, X: np.ndarray) -> np.ndarray:
        """Scores of the rows just fitted, the threshold's reference; models that would find a training row
        among its own nearest neighbours override this to leave the row out."""
        return self._score(X)

    def _finite(self, what: str, values: Any) -> Any:
        """``values`` unchanged when every entry is finite; otherwise a clear error, never silent NaN/inf."""
        array = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
        if not np.isfinite(array).all():
            raise FloatingPointError(
                f"{self.registry_name} produced non-finite {what}; the model is numerically unstable on "
                "this data (scale the features or lower lr)"
            )
        return values

    def _set_threshold(self, rule: Threshold, scores: np.ndarray) -> None:
        self.threshold_rule_ = rule.fit(scores)
        self.threshold_ = float(rule.threshold_)
        self.labels_ = rule.predict(self.decision_scores_)

    def _write_in_place(self, array: np.ndarray, index: Any, value: Any) -> None:
        """``array[index] = value``, undone if the enclosing call fails (see :func:`all_or_nothing`)."""
        journal = self.__dict__.get("_undo_journal")
        if journal is not None:
            journal.append((array, index, array[index].copy()))
        array[index] = value

    def _missing(self, capability: str) -> NotImplementedError:
        return NotImplementedError(f"model {self.registry_name!r} cannot {capability}")

    def _moved_to_cpu(self) -> None:
        """Hook called after loading: move any device state to the CPU."""


def _column_names(X: Any) -> list[str] | None:
    """A DataFrame's column names (as strings); None for anything else."""
    if type(X).__module__.startswith("pandas") and hasattr(X, "columns"):
        return [str(c) for c in X.columns]
    return None


def load(path: str | Path) -> BaseDetector:
    """Read a detector written by :meth:`BaseDetector.save`; its tensors land on the CPU."""
    path = as_path(path)
    try:
        payload = torch.load(str(path), map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"model file not found: {path}") from None
    except Exception as err:  # torch raises many types for a foreign or truncated file
        raise ValueError(f"{path} is not a readable genad model file ({type(err).__name__}: {err})") from None
    if not isinstance(payload, dict) or payload.get("format") != FILE_FORMAT:
        raise ValueError(f"{path} is not a genad model file")
    if payload.get("format_version") != FILE_FORMAT_VERSION:
        raise ValueError(f"{path} has model-file format {payload.get('format_version')}, "
                         f"this genad reads format {FILE_FORMAT_VERSION}")
    model = payload.get("model")
    if not isinstance(model, BaseDetector):
        raise ValueError(f"{path} does not hold a genad detector")
    model._moved_to_cpu()
    return model


@hyperparameters
class TorchDetector(BaseDetector):
    """A detector trained by the shared loop (:func:`genad.training.train_module`).

    Subclasses implement ``_build_module(n_features)``, ``_loss(batch)`` and
    ``_score_batch(batch)``; optional ``_after_training(data)`` runs once on the training tensor, which
    ``_training_tensor(X)`` makes (the rows; a time-series model's windows).

    Parameters
    ----------
    epochs, batch_size, lr, weight_decay : optimisation settings (Adam).
    lr_decay : the learning rate is multiplied by this after every epoch (1.0: constant).
    min_steps : at least this many optimizer steps, however few rows there are (more epochs on
        small data sets; 0: exactly ``epochs``).
    validation_fraction : share of training rows held out for a validation loss.
    patience : stop after this many epochs without validation improvement (needs a validation split).
    clip_grad_norm : clip the global gradient norm when set.
    device : "auto", "cpu" or "cuda".
    verbose : show a progress bar while training.
    """

    epochs: int = 50
    batch_size: int = 256
    min_steps: int = 0
    lr: float = 1e-3
    weight_decay: float = 0.0
    lr_decay: float = 1.0
    validation_fraction: float = 0.0
    patience: int | None = None
    clip_grad_norm: float | None = None
    device: str = "auto"
    verbose: bool = False

    # Why a model's training loss cannot drive early stopping (None: it can); set by models whose loss is not
    # comparable across epochs, which then refuse validation_fraction/patience.
    _early_stopping_unsupported = None

    # --- what a torch model implements ---------------------------------------------------------
    def _build_module(self, n_features: int) -> torch.nn.Module:
        raise NotImplementedError

    def _loss(self, batch: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _score_batch(self, batch: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _after_training(self, data: torch.Tensor) -> None:
        """Optional: fit anything that needs the trained network (e.g. a mixture or an SVM)."""

    def _check_params(self) -> None:
        super()._check_params()
        check_int("epochs", self.epochs, low=1)
        check_int("batch_size", self.batch_size, low=1)
        check_int("min_steps", self.min_steps, low=0)
        check_float("lr", self.lr, 0.0, low_closed=False)
        check_float("weight_decay", self.weight_decay, 0.0)
        check_float("lr_decay", self.lr_decay, 0.0, 1.0, low_closed=False)
        check_float("validation_fraction", self.validation_fraction, 0.0, 0.5)
        if self.patience is not None:
            check_int("patience", self.patience, low=1)
            if self.validation_fraction == 0:  # early stopping watches a validation loss; none: it would do nothing
                raise ValueError(f"patience={self.patience} needs a validation split: set validation_fraction > 0")
        if self._early_stopping_unsupported and (self.validation_fraction > 0 or self.patience is not None):
            raise ValueError(f"{self.registry_name}: validation_fraction/patience are not supported: "
                             f"{self._early_stopping_unsupported}")
        if self.clip_grad_norm is not None:
            check_float("clip_grad_norm", self.clip_grad_norm, 0.0, low_closed=False)
        _check_device(self.device)
        check_choice("verbose", self.verbose, (True, False))
        # shared settings that many models declare, checked once here
        if hasattr(self, "activation"):
            check_choice("activation", self.activation, ACTIVATION_NAMES)
        if hasattr(self, "batch_norm"):
            check_choice("batch_norm", self.batch_norm, (True, False))
            if self.batch_norm and self.batch_size < 2:
                raise ValueError(f"batch_size must be at least 2 with batch_norm=True, got {self.batch_size}")

    # --- shared machinery ----------------------------------------------------------------------
    def _fit(self, X: np.ndarray, y: np.ndarray | None) -> None:
        self.device_ = resolve_device(self.device)
        data = self._training_tensor(X)
        with seeded(self.random_state) as generator:
            self.module_ = self._build_module(X.shape[1]).to(self.device_)
            self.history_ = self._train(data, generator)
            self._after_training(data)

    def _train(self, data, generator: torch.Generator, *, loss_fn=None, module: torch.nn.Module | None = None,
               **overrides: Any) -> dict[str, list[float]]:
        """Run the shared loop with this detector's settings (``overrides`` replace any of them).

        ``loss_fn`` and ``module`` default to ``self._loss`` and ``self.module_``; staged models
        (layer-wise pre-training, a GAN's second stage) pass their own.
        """
        settings = dict(
            epochs=self.epochs, batch_size=self.batch_size, min_steps=self.min_steps, lr=self.lr,
            weight_decay=self.weight_decay, lr_decay=self.lr_decay, validation_fraction=self.validation_fraction,
            patience=self.patience, clip_grad_norm=self.clip_grad_norm, generator=generator, verbose=self.verbose,
            desc=self.registry_name,
        )
        settings.update(overrides)
        return train_module(module if module is not None else self.module_, loss_fn or self._loss, data, **settings)

    def _training_tensor(self, X: np.ndarray) -> torch.Tensor:
        """What the network trains on: the rows themselves here; a time-series model's windows."""
        return self._tensor(X)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self._apply(self._score_batch, X)

    # rows per scoring batch; a model whose activations per row are large (a recurrent net over a long
    # window) sets it lower, so scoring stays within memory
    _apply_batch_size = 8192

    def _apply(self, fn, X: np.ndarray) -> np.ndarray:
        """Run ``fn`` over ``X`` in eval mode, seeded, in large batches; return numpy float64."""
        self.module_.eval()
        with seeded(self.random_state):
            out = batched_apply(fn, self._tensor(X), self._apply_batch_size)
        return out.double().cpu().numpy()

    def _tensor(self, X: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(X, dtype=torch.float32, device=self.device_)

    def _moved_to_cpu(self) -> None:
        self.device_ = torch.device("cpu")
        for value in vars(self).values():
            if isinstance(value, torch.nn.Module):
                value.to(self.device_)


def _check_device(device: Any) -> None:
    """``"auto"`` or a device torch can name; whether CUDA is present is checked when fitting."""
    if isinstance(device, torch.device) or device == "auto":
        return
    if not isinstance(device, str):
        raise TypeError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    try:
        torch.device(device)
    except RuntimeError:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}") from None


@hyperparameters
class ReconstructionDetector(TorchDetector):
    """A model that reconstructs its input: the score is the squared reconstruction error.

    Subclasses implement ``_reconstruct(batch)``; ``restore`` returns the reconstruction and
    ``explain`` the per-feature squared error.
    """

    def _reconstruct(self, batch: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _score_batch(self, batch: torch.Tensor) -> torch.Tensor:
        return (batch - self._reconstruct(batch)).pow(2).sum(dim=1)

    def _restore(self, X: np.ndarray) -> np.ndarray:
        return self._apply(self._reconstruct, X)

    def _explain(self, X: np.ndarray) -> np.ndarray:
        return self._apply(lambda batch: (batch - self._reconstruct(batch)).pow(2), X)
