"""What the adversarial detectors share: one discriminator step, then one generator step, per batch."""
from __future__ import annotations

from typing import Iterable

import numpy as np
import torch

from genad.base import TorchDetector, hyperparameters
from genad.nn.gan import adversary_step
from genad.training import adam, resolve_device, seeded


@hyperparameters
class AdversarialDetector(TorchDetector):
    """A :class:`TorchDetector` trained as a GAN by the shared loop.

    The shared loop (:func:`genad.training.train_module`) optimises the generator's parameters
    with the generator's Adam; a model's ``_loss(batch)`` first calls ``self._adversary_step(loss)``
    to update the discriminator with its own Adam, then returns the generator's loss. The two sides
    are ``module_["generator"]`` and ``module_["discriminator"]`` unless a subclass overrides
    ``_generator_parameters`` / ``_adversary_parameters``; ``adam_betas`` is the papers' Adam
    momentum (DCGAN: 0.5, 0.999).
    """

    adam_betas = (0.5, 0.999)
    _early_stopping_unsupported = ("an adversarial loss is not comparable across epochs, so it cannot drive "
                                   "early stopping")

    def _generator_parameters(self) -> Iterable[torch.nn.Parameter]:
        """The generator side; by default ``module_["generator"]``."""
        return self.module_["generator"].parameters()

    def _adversary_parameters(self) -> Iterable[torch.nn.Parameter]:
        """The discriminator side; by default ``module_["discriminator"]``."""
        return self.module_["discriminator"].parameters()

    def _fit(self, X: np.ndarray, y: np.ndarray | None) -> None:
        self.device_ = resolve_device(self.device)
        data = self._training_tensor(X)
        with seeded(self.random_state) as generator:
            self.module_ = self._build_module(X.shape[1]).to(self.device_)
            self.history_ = self._fit_stages(data, generator)
        del self._adversary_optimizer  # training state only; not saved with the model

    def _fit_stages(self, data: torch.Tensor, generator: torch.Generator) -> dict[str, list[float]]:
        """The adversarial training; models with a later stage (f-AnoGAN's encoder) extend this."""
        self._adversary_optimizer = self._adam(self._adversary_parameters())
        params = list(self._generator_parameters())
        return self._train(data, generator, optimizer=self._adam(params), parameters=params)

    def _adam(self, params: Iterable[torch.nn.Parameter]) -> torch.optim.Adam:
        return adam(params, lr=self.lr, betas=self.adam_betas, weight_decay=self.weight_decay)

    def _adversary_step(self, loss: torch.Tensor) -> None:
        adversary_step(self._adversary_optimizer, loss)
