"""Model specs for the bench: genad models by registry name, PyOD baselines as ``pyod:<Class>``.

A spec may carry parameters after ``?``, separated by ``&``: ``ae?epochs=5&hidden_dims=(32,8)``,
``pyod:KNN?n_neighbors=10``. Values are Python literals when they parse as such. Without parameters,
each model runs with its own defaults (PyOD's defaults for the baselines); the seed goes to
``random_state`` when the model takes one. A PyOD baseline gets only what the protocol needs besides:
``verbose=0`` (no training log; scores unchanged) and ``n_features`` where the class requires it (DeepSVDD).
``contamination`` keeps PyOD's default: it sets the threshold only, not the scores that AUROC/AUPRC rank.
"""
from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any

PYOD_PREFIX = "pyod:"
INSTALL_HINT = "pip install genad[baselines]"
#: PyOD class -> module, for the baselines whose module name is not the lower-cased class name.
PYOD_MODULES = {"AutoEncoder": "auto_encoder", "DeepSVDD": "deep_svdd", "IForest": "iforest", "KNN": "knn",
                "ECOD": "ecod", "PCA": "pca", "VAE": "vae", "LOF": "lof", "OCSVM": "ocsvm", "COPOD": "copod",
                "HBOS": "hbos", "CBLOF": "cblof", "GMM": "gmm", "KDE": "kde", "MCD": "mcd", "LODA": "loda"}
#: The six baselines of the benchmark issue plus DeepSVDD, named in DESIGN.md.
DEFAULT_BASELINES = ("pyod:IForest", "pyod:ECOD", "pyod:KNN", "pyod:PCA", "pyod:AutoEncoder", "pyod:VAE",
                     "pyod:DeepSVDD")


ALL_GENAD = "genad:all"  # every registered tabular genad model, with its defaults
ALL_BASELINES = "pyod:baselines"  # DEFAULT_BASELINES


def expand_model_names(texts: list[str]) -> list[str]:
    """Replace ``genad:all`` and ``pyod:baselines`` by the model names they stand for (order kept, no repeats)."""
    import genad

    names: list[str] = []
    for text in texts:
        if text == ALL_GENAD:
            names += [info.name for info in genad.list_models(modality="tabular")]
        elif text == ALL_BASELINES:
            names += list(DEFAULT_BASELINES)
        else:
            names.append(text)
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec: ``text`` is the results key."""

    text: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def is_baseline(self) -> bool:
        return self.name.startswith(PYOD_PREFIX)


def parse_model_spec(text: str) -> ModelSpec:
    """Parse and check a spec (unknown model, missing PyOD and bad parameters fail here, before any run)."""
    from genad.registry import parse_spec

    name, params = parse_spec(text)
    spec = ModelSpec(text.strip(), name, params)
    model = build_model(spec, seed=0, n_features=2)  # fails now with a clear error rather than in every cell
    if hasattr(model, "_check_params"):
        model._check_params()  # genad checks its parameter values at fit; check them before the run
    return spec


def build_model(spec: ModelSpec, seed: int, n_features: int):
    """A fresh, unfitted detector for ``spec``."""
    if spec.is_baseline:
        return _pyod_model(spec, seed, n_features)
    import genad

    info = genad.get_info(spec.name)
    if "tabular" not in info.modalities:
        raise ValueError(f"model {spec.name!r} is not a tabular model ({', '.join(info.modalities)})")
    return genad.create(spec.name, **{"random_state": seed, **spec.params})


def _pyod_model(spec: ModelSpec, seed: int, n_features: int):
    cls_name = spec.name[len(PYOD_PREFIX):]
    try:
        importlib.import_module("pyod")
    except ImportError:
        raise ImportError(f"{spec.text} needs PyOD, which is not installed: {INSTALL_HINT}") from None
    module_name = PYOD_MODULES.get(cls_name, cls_name.lower())
    try:
        cls = getattr(importlib.import_module(f"pyod.models.{module_name}"), cls_name)
    except (ImportError, AttributeError):
        raise ValueError(f"unknown PyOD model {cls_name!r} (looked for pyod.models.{module_name}.{cls_name}); "
                         f"known here: {', '.join(sorted(PYOD_MODULES))}") from None
    accepted = inspect.signature(cls).parameters
    defaults = {"random_state": seed, "n_features": n_features, "verbose": 0}
    params = {k: v for k, v in defaults.items() if k in accepted} | spec.params
    try:
        return cls(**params)
    except TypeError as err:
        raise TypeError(f"bad parameter for {spec.text}: {err}") from None

