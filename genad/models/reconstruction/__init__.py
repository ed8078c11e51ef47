"""Reconstruction-driven models: the autoencoder family and the VAE."""
from genad.models.reconstruction.ae import AutoEncoder
from genad.models.reconstruction.cae_ocsvm import ContractiveAEOCSVM
from genad.models.reconstruction.dae import DenoisingAutoEncoder
from genad.models.reconstruction.robust_ae import RobustAutoEncoder
from genad.models.reconstruction.wta_ae import WinnerTakeAllAutoEncoder
from genad.models.reconstruction.dagmm import DAGMM
from genad.models.reconstruction.memae import MemAE
from genad.models.reconstruction.mcm import MCM
from genad.models.reconstruction.vae import VAE

__all__ = ["ContractiveAEOCSVM", "DenoisingAutoEncoder", "RobustAutoEncoder", "WinnerTakeAllAutoEncoder",
           "AutoEncoder", "DAGMM", "MCM", "MemAE", "VAE"]
