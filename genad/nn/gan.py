"""Adversarial building blocks: MLP generator and discriminator, WGAN-GP penalty, the inner critic step.

GAN detectors train with :func:`genad.training.train_module` on the *generator's* parameters; their
loss function first takes the discriminator's step with :func:`adversary_step` (its own optimizer),
then returns the generator's loss for the shared loop to minimise. One batch, one step of each.
"""
from __future__ import annotations

import torch
from torch import nn

from genad.nn.mlp import mlp
from genad.training import DivergenceError


def generator(latent_dim: int, hidden_dims: tuple[int, ...], n_features: int) -> nn.Sequential:
    """Latent code -> row: ReLU hidden layers (as in DCGAN's generator), linear output for scaled features."""
    return mlp([latent_dim, *hidden_dims, n_features], "relu")


class Discriminator(nn.Module):
    """MLP discriminator (critic) that also exposes its last hidden layer ``features(x)``.

    The feature layer is what AnoGAN, f-AnoGAN and GANomaly compare (feature matching).
    LeakyReLU(0.2) between layers as in DCGAN; no normalisation, so it also serves as a WGAN-GP critic.
    """

    def __init__(self, n_features: int, hidden_dims: tuple[int, ...]) -> None:
        super().__init__()
        self.features = mlp([n_features, *hidden_dims], "leaky_relu", final_activation="leaky_relu")
        self.head = nn.Linear(hidden_dims[-1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logit (or critic value) of each row, shape ``(n,)``."""
        return self.head(self.features(x)).squeeze(1)


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP penalty ``E[(||grad D(x_hat)|| - 1)^2]`` on random interpolates (Gulrajani et al., 2017)."""
    mix = torch.rand(real.shape[0], 1, device=real.device)
    x_hat = (mix * real + (1.0 - mix) * fake).requires_grad_(True)
    grad, = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return (grad.norm(dim=1) - 1.0).pow(2).mean()


def adversary_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One update of the adversary (discriminator / critic) inside a generator's loss function.

    Skipped when gradients are off (the shared loop's validation pass), so validation never trains.
    """
    if not torch.is_grad_enabled():
        return
    if not torch.isfinite(loss):
        raise DivergenceError(f"adversarial training diverged: the discriminator loss became {float(loss)}; "
                              "lower lr or scale the features")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
