"""Fully connected stacks, the building block of the tabular models."""
from __future__ import annotations

from typing import Sequence

from torch import nn

from genad.nn.dropout import Dropout

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "softplus": nn.Softplus,
}
#: The activation names the tabular models accept.
ACTIVATION_NAMES = tuple(_ACTIVATIONS)


def activation(name: str) -> nn.Module:
    """An activation module by name (relu, leaky_relu, tanh, sigmoid, elu, gelu, softplus)."""
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]()


def mlp(dims: Sequence[int], activation_name: str = "relu", *, final_activation: str | None = None,
        dropout: float = 0.0, batch_norm: bool = False, bias: bool = True) -> nn.Sequential:
    """Linear layers ``dims[0] -> dims[1] -> ... -> dims[-1]`` with activations between them.

    The last layer is linear unless ``final_activation`` names one; ``bias=False`` drops every
    layer's bias.
    """
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(d_in, d_out, bias=bias))
        is_last = i == len(dims) - 2
        if not is_last:
            if batch_norm:
                layers.append(nn.BatchNorm1d(d_out))
            layers.append(activation(activation_name))
            if dropout > 0:
                layers.append(Dropout(dropout))
        elif final_activation is not None:
            layers.append(activation(final_activation))
    return nn.Sequential(*layers)
