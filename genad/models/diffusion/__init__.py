"""Diffusion-based models: diffusion time estimation and DDPM reconstruction."""
from genad.models.diffusion.ddpm_recon import DDPMReconstruction
from genad.models.diffusion.dte import DTE

__all__ = ["DDPMReconstruction", "DTE"]
