"""Reconstruction-driven models: the autoencoder family and the VAE."""
from genad.models.reconstruction.ae import AutoEncoder

__all__ = ["AutoEncoder"]
