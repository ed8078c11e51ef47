"""The model registry: every detector is reachable by name from code, the CLI and configs.

A model registers itself with :func:`register`; :func:`create` builds one by name and
:func:`list_models` returns the catalogue, which reads like the field's taxonomy.
"""
from __future__ import annotations

import ast
import difflib
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

#: The survey's taxonomy of generative anomaly detection, used as the ``family`` of each model; ``hybrid``
#: holds the models that combine detectors of several families.
FAMILIES = (
    "reconstruction",
    "representation",
    "density-explicit",
    "density-implicit",
    "adversarial",
    "diffusion",
    "streaming",
    "hybrid",
)
MODALITIES = ("tabular", "time-series", "stream", "image", "video", "hyperspectral", "graph", "log")
CAPABILITIES = ("explain", "restore", "sample")


@dataclass(frozen=True)
class Paper:
    """The publication a model implements."""

    title: str
    authors: str
    venue: str
    year: int

    def __str__(self) -> str:
        return f"{self.authors}, {self.title}, {self.venue} {self.year}"


@dataclass(frozen=True)
class ModelInfo:
    """Registry entry: the class and what it is."""

    name: str
    cls: type
    family: str
    modalities: tuple[str, ...]
    paper: Paper
    capabilities: tuple[str, ...] = field(default=())

    @property
    def parameters(self) -> frozenset[str]:
        """Names of the model's constructor parameters."""
        return frozenset(inspect.signature(self.cls).parameters)


_REGISTRY: dict[str, ModelInfo] = {}


def _capabilities_of(cls: type) -> tuple[str, ...]:
    """A capability exists when the class overrides the base hook ``_<capability>``."""
    from genad.base import BaseDetector

    return tuple(
        cap for cap in CAPABILITIES
        if getattr(cls, f"_{cap}", None) is not getattr(BaseDetector, f"_{cap}", None)
    )


def register(name: str, *, family: str, modalities: tuple[str, ...], paper: Paper) -> Callable[[type], type]:
    """Class decorator that adds a detector to the registry under ``name``."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")
    unknown = set(modalities) - set(MODALITIES)
    if unknown:
        raise ValueError(f"unknown modalities {sorted(unknown)}; expected some of {MODALITIES}")

    def decorate(cls: type) -> type:
        if name in _REGISTRY and _REGISTRY[name].cls is not cls:
            raise ValueError(f"model name {name!r} is already registered by {_REGISTRY[name].cls.__name__}")
        _REGISTRY[name] = ModelInfo(name, cls, family, tuple(modalities), paper, _capabilities_of(cls))
        cls.registry_name = name
        return cls

    return decorate


def _ensure_models_imported() -> None:
    import genad.models  # noqa: F401  (importing registers every model)


def get_info(name: str) -> ModelInfo:
    """The registry entry of ``name``; a clear error lists the known names."""
    _ensure_models_imported()
    if not isinstance(name, str):
        raise TypeError(f"a model name must be a str such as 'ae', got {type(name).__name__} {name!r}; "
                        f"known models: {', '.join(sorted(_REGISTRY))}")
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}{_did_you_mean(name)}; known models: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def _did_you_mean(name: str) -> str:
    """A hint for a near miss: other case or spaces, a ``name?key=value`` spec, a close spelling."""
    cleaned = name.strip().lower()
    if cleaned in _REGISTRY:
        return f" (did you mean {cleaned!r}?)"
    if "?" in name:
        return " (a 'name?key=value' spec: pass its parameters as keywords, or read it with registry.parse_spec)"
    close = difflib.get_close_matches(cleaned, list(_REGISTRY), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def create(name: str, *args: Any, **params: Any):
    """Build the detector registered as ``name`` with the given constructor parameters (keywords only).

    Raises
    ------
    TypeError
        ``name`` is not a str, parameters are passed positionally, or a parameter is not the model's.
    ValueError
        ``name`` is not a registered model.
    """
    info = get_info(name)
    if args:  # create("ae", {"epochs": 5}) would otherwise say "takes 1 positional argument"
        hint = f" (for a dict: genad.create({name!r}, **params))" if isinstance(args[0], dict) else ""
        raise TypeError(f"create() takes the parameters of model {name!r} as keywords, got {len(args)} positional "
                        f"argument(s){hint}")
    try:
        return info.cls(**params)
    except TypeError as err:
        raise TypeError(f"bad parameter for model {name!r}: {err}") from None


def list_models(modality: str | None = None, family: str | None = None) -> list[ModelInfo]:
    """Registered models, sorted by family then name, optionally filtered.

    An unknown ``modality`` or ``family`` is an error listing the known ones, not an empty list.
    """
    _ensure_models_imported()
    _check_filter("modality", modality, MODALITIES)
    _check_filter("family", family, FAMILIES)
    infos = [
        info for info in _REGISTRY.values()
        if (modality is None or modality in info.modalities) and (family is None or info.family == family)
    ]
    return sorted(infos, key=lambda i: (FAMILIES.index(i.family), i.name))


def _check_filter(name: str, value: Any, known: tuple[str, ...]) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, one of {', '.join(known)}; got {type(value).__name__} {value!r}")
    if value not in known:
        raise ValueError(f"unknown {name} {value!r}; known: {', '.join(known)}")


def parse_assignment(text: str) -> tuple[str, Any]:
    """``key=value`` with the value read as a Python literal when it is one (``epochs=5``, ``hidden_dims=(32,8)``)."""
    if "=" not in text:
        raise ValueError(f"expected key=value, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return key.strip(), value


def parse_spec(text: str) -> tuple[str, dict[str, Any]]:
    """A model spec ``name?key=value&key=value`` (e.g. ``dte?kind=nonparametric``) as ``(name, params)``."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"a model spec must be a non-empty string such as 'ae?epochs=5', got {text!r}")
    name, _, query = text.strip().partition("?")
    return name, dict(parse_assignment(part) for part in query.split("&") if part)
