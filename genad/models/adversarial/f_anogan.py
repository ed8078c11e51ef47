"""f-AnoGAN: a WGAN-GP of normal data plus an encoder into its latent space, for one-pass scoring."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from genad.base import hyperparameters
from genad.models.adversarial.base import AdversarialDetector
from genad.nn.gan import Discriminator, generator, gradient_penalty
from genad.nn.mlp import mlp
from genad.registry import Paper, register
from genad.training import seeded
from genad.validation import check_dims, check_float, check_int


@register(
    "f_anogan", family="adversarial", modalities=("tabular",),
    paper=Paper("f-AnoGAN: Fast Unsupervised Anomaly Detection with Generative Adversarial Networks",
                "Schlegl, Seeböck, Waldstein, Langs & Schmidt-Erfurth", "Medical Image Analysis", 2019),
)
@hyperparameters
class FAnoGAN(AdversarialDetector):
    """f-AnoGAN (Schlegl et al., Medical Image Analysis 2019).

    Stage 1 trains a Wasserstein GAN with gradient penalty on normal rows: ``n_critic`` critic
    steps (``E[C(G(z))] - E[C(x)] + 10 * GP``) per generator step (``-E[C(G(z))]``).
    Stage 2 freezes ``G`` and ``C`` and trains the izi_f encoder ``E`` (image -> z -> image,
    with the critic's features): ``(1/n)||x - G(E(x))||^2 + kappa (1/n_f)||f(x) - f(G(E(x)))||^2``
    with ``f`` the critic's last hidden layer and ``kappa = 1``. The anomaly score is that same
    quantity, ``A(x) = A_R(x) + kappa * A_D(x)``, computed in one forward pass (no latent search).
    ``restore`` returns ``G(E(x))`` and ``sample`` draws ``G(z)``.

    Deviations: MLPs replace the convolutional networks; ``z ~ N(0, I)`` and a linear encoder
    output instead of a uniform prior and tanh; the ``n_critic`` critic steps of a generator step
    reuse the same real batch (fresh noise and interpolates each time); 10 epochs per stage on
    CPU. Adam uses ``lr=1e-4``, ``betas=(0.5, 0.9)`` as in the WGAN-GP reference setting, for the encoder
    too (the reference trains the encoder with RMSProp at 5e-5).

    Parameters
    ----------
    latent_dim : size of ``z``.
    generator_dims, critic_dims, encoder_dims : hidden widths (the critic's last one is ``f``).
    n_critic : critic steps per generator step (paper: 5).
    gp_weight : gradient-penalty weight (paper: 10).
    kappa : weight of the feature residual in the encoder loss and the score (paper: 1).
    **base : see :class:`genad.base.TorchDetector`; ``epochs`` applies to each of the two stages.

    References
    ----------
    Schlegl, T., Seeböck, P., Waldstein, S. M., Langs, G. and Schmidt-Erfurth, U. "f-AnoGAN: Fast
    Unsupervised Anomaly Detection with Generative Adversarial Networks". Medical Image Analysis
    54, 2019. Gulrajani, I. et al. "Improved Training of Wasserstein GANs". NeurIPS, 2017.
    """

    latent_dim: int = 16
    generator_dims: tuple[int, ...] = (64, 128)
    critic_dims: tuple[int, ...] = (128, 64)
    encoder_dims: tuple[int, ...] = (128, 64)
    n_critic: int = 5
    gp_weight: float = 10.0
    kappa: float = 1.0
    epochs: int = 10
    lr: float = 1e-4

    adam_betas = (0.5, 0.9)

    def _check_params(self) -> None:
        super()._check_params()
        check_int("latent_dim", self.latent_dim, low=1)
        for name in ("generator_dims", "critic_dims", "encoder_dims"):
            check_dims(name, getattr(self, name))
        check_int("n_critic", self.n_critic, low=1)
        check_float("gp_weight", self.gp_weight, 0.0)
        check_float("kappa", self.kappa, 0.0)

    def _build_module(self, n_features: int) -> nn.Module:
        return nn.ModuleDict({
            "generator": generator(self.latent_dim, tuple(self.generator_dims), n_features),
            "critic": Discriminator(n_features, tuple(self.critic_dims)),
            "encoder": mlp([n_features, *self.encoder_dims, self.latent_dim], "leaky_relu"),
        })

    def _adversary_parameters(self):
        return self.module_["critic"].parameters()

    def _fit_stages(self, data: torch.Tensor, generator: torch.Generator) -> dict[str, list[float]]:
        history = super()._fit_stages(data, generator)
        # stage 2: the izi_f encoder, with generator and critic fixed (only the encoder is optimised)
        frozen = [*self.module_["generator"].parameters(), *self.module_["critic"].parameters()]
        for p in frozen:
            p.requires_grad_(False)
        encoder = list(self.module_["encoder"].parameters())
        encoder_history = self._train(data, generator, loss_fn=lambda batch: self._izif(batch).mean(),
                                      optimizer=self._adam(encoder), parameters=encoder)
        for p in frozen:
            p.requires_grad_(True)
        return {**history, "encoder_loss": encoder_history["loss"]}

    def _loss(self, batch: torch.Tensor) -> torch.Tensor:
        """Stage 1, the WGAN-GP generator loss (after ``n_critic`` critic steps)."""
        G, C = self.module_["generator"], self.module_["critic"]
        n = batch.shape[0]
        if torch.is_grad_enabled():  # the shared loop's validation pass must not train the critic
            for _ in range(self.n_critic):
                fake = G(torch.randn(n, self.latent_dim, device=batch.device)).detach()
                critic_loss = C(fake).mean() - C(batch).mean() + self.gp_weight * gradient_penalty(C, batch, fake)
                self._adversary_step(critic_loss)
        return -C(G(torch.randn(n, self.latent_dim, device=batch.device))).mean()

    def _izif(self, x: torch.Tensor) -> torch.Tensor:
        """Per-row ``A_R + kappa * A_D``: the encoder's training loss and the anomaly score."""
        features = self.module_["critic"].features
        x_rec = self.module_["generator"](self.module_["encoder"](x))
        residual = (x - x_rec).pow(2).mean(dim=1)
        feature_residual = (features(x) - features(x_rec)).pow(2).mean(dim=1)
        return residual + self.kappa * feature_residual

    def _score_batch(self, batch: torch.Tensor) -> torch.Tensor:
        return self._izif(batch)

    def _restore(self, X: np.ndarray) -> np.ndarray:
        return self._apply(lambda batch: self.module_["generator"](self.module_["encoder"](batch)), X)

    def _sample(self, n: int) -> np.ndarray:
        self.module_.eval()
        with seeded(self.random_state), torch.no_grad():
            z = torch.randn(n, self.latent_dim, device=self.device_)
            return self.module_["generator"](z).double().cpu().numpy()
