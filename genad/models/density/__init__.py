"""Density-driven models: explicit (flows, autoregressive, energy-based) and implicit (VAE likelihood variants)."""
from genad.models.density.beta_vae import BetaVAE
from genad.models.density.dsebm import DSEBM
from genad.models.density.iwae import IWAE
from genad.models.density.made import MADEDetector
from genad.models.density.maf import MAF
from genad.models.density.realnvp import RealNVP

__all__ = ["BetaVAE", "DSEBM", "IWAE", "MADEDetector", "MAF", "RealNVP"]
