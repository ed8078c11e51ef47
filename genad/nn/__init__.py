"""Reusable network blocks shared by genad models."""
from genad.nn.dropout import Dropout
from genad.nn.mlp import activation, mlp

__all__ = ["Dropout", "activation", "mlp"]
