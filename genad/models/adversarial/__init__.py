"""Adversarial (GAN-based) models: AnoGAN, f-AnoGAN, GANomaly and ADAE."""
from genad.models.adversarial.adae import ADAE
from genad.models.adversarial.anogan import AnoGAN
from genad.models.adversarial.f_anogan import FAnoGAN
from genad.models.adversarial.ganomaly import GANomaly

__all__ = ["ADAE", "AnoGAN", "FAnoGAN", "GANomaly"]
