"""Reusable network blocks shared by genad models."""
from genad.nn.mlp import activation, mlp

__all__ = ["activation", "mlp"]
