"""Deep structured energy-based model, trained by denoising score matching; energy or reconstruction score."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from genad.base import TorchDetector, hyperparameters
from genad.nn import mlp
from genad.registry import Paper, register
from genad.validation import check_choice, check_dims, check_float


class DeepEnergy(nn.Module):
    """``E(x) = 0.5 ||x - b'||^2 - sum_j h_L(x)_j`` with ``h_L`` a deep softplus network (paper, FC energy)."""

    def __init__(self, n_features: int, hidden_dims: tuple[int, ...]):
        super().__init__()
        self.features = mlp([n_features, *hidden_dims], "softplus", final_activation="softplus")
        self.visible_bias = nn.Parameter(torch.zeros(n_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (x - self.visible_bias).pow(2).sum(dim=1) - self.features(x).sum(dim=1)

    def energy_gradient(self, x: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
        """``dE/dx`` per row; ``create_graph`` keeps it differentiable for training."""
        with torch.inference_mode(False), torch.enable_grad():
            x = x.clone().requires_grad_(True)
            (grad,) = torch.autograd.grad(self(x).sum(), x, create_graph=create_graph)
        return grad

    def reconstruct(self, x: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
        """The autoencoder view of score matching: ``f(x) = x - dE/dx``."""
        return x - self.energy_gradient(x, create_graph)


@register(
    "dsebm", family="density-explicit", modalities=("tabular",),
    paper=Paper("Deep Structured Energy Based Models for Anomaly Detection",
                "Zhai, Cheng, Lu & Zhang", "ICML", 2016),
)
@hyperparameters
class DSEBM(TorchDetector):
    """Deep structured energy-based model (Zhai et al., 2016).

    The density of normal data is ``p(x) ~ exp(-E(x))`` with a deterministic deep energy; for
    static (tabular) data the paper's fully connected form is
    ``E(x) = 0.5 ||x - b'||^2 - sum_j h_L(x)_j``, where ``h_L`` is a stack of softplus layers (a deep
    generalisation of the Gaussian-Bernoulli RBM free energy). The intractable normaliser is avoided
    by denoising score matching: with ``x~ = x + eps``, ``eps ~ N(0, noise_std^2 I)``, training
    minimises ``||x - f(x~)||^2`` where ``f(x) = x - dE/dx``, i.e. it trains the gradient field
    of ``E`` as a denoising autoencoder (Vincent, 2011). Two scores follow from the energy landscape:

    - ``score="energy"`` (default): ``E(x)``, the negative log-density up to a constant (the
      paper's energy criterion, the natural one for static data, where no structure decides);
    - ``score="reconstruction"``: ``||x - f(x)||^2 = ||dE/dx||^2``, how far ``x`` is from a
      stationary point (a mode) of the density.

    ``restore`` returns ``f(x)`` (one denoising step towards higher density) and ``explain`` the
    per-feature squared energy gradient ``(dE/dx_j)^2`` (rows sum to the reconstruction score).

    Deviations: genad uses ``noise_std=1`` on standardized features and two softplus layers of
    128 and 512 units, the values of common reimplementations (such as the DSEBM baseline of
    Zenati et al., 2018, on KDD99); Adam with lr 1e-3 for a fixed number of epochs.

    Parameters
    ----------
    hidden_dims : widths of the softplus layers of the energy network.
    noise_std : standard deviation of the Gaussian corruption used by denoising score matching.
    score : "energy" or "reconstruction" (see above).
    **base : see :class:`genad.base.TorchDetector` (epochs, batch_size, lr, device, random_state, ...).

    References
    ----------
    Zhai, S., Cheng, Y., Lu, W. and Zhang, Z. "Deep Structured Energy Based Models for Anomaly
    Detection". ICML, 2016.
    Vincent, P. "A Connection Between Score Matching and Denoising Autoencoders". Neural
    Computation, 2011.
    Zenati, H., Romain, M., Foo, C.-S., Lecouat, B. and Chandrasekhar, V. "Adversarially Learned
    Anomaly Detection". ICDM, 2018.
    """

    hidden_dims: tuple[int, ...] = (128, 512)
    noise_std: float = 1.0
    score: str = "energy"
    epochs: int = 30

    def _check_params(self) -> None:
        super()._check_params()
        check_dims("hidden_dims", self.hidden_dims)
        check_float("noise_std", self.noise_std, 0.0, low_closed=False)
        check_choice("score", self.score, ("energy", "reconstruction"))

    def _build_module(self, n_features: int) -> nn.Module:
        return DeepEnergy(n_features, tuple(self.hidden_dims))

    def _loss(self, batch: torch.Tensor) -> torch.Tensor:
        noisy = batch + self.noise_std * torch.randn_like(batch)
        return (batch - self.module_.reconstruct(noisy, create_graph=True)).pow(2).sum(dim=1).mean()

    def _score_batch(self, batch: torch.Tensor) -> torch.Tensor:
        if self.score == "energy":
            return self.module_(batch)
        return self.module_.energy_gradient(batch).pow(2).sum(dim=1)

    def energy(self, X) -> np.ndarray:
        """The learned energy ``E(x)`` of each row (lower = more typical of the training data)."""
        return self._apply(self.module_, self._validate(X))

    def _restore(self, X: np.ndarray) -> np.ndarray:
        return self._apply(self.module_.reconstruct, X)

    def _explain(self, X: np.ndarray) -> np.ndarray:
        return self._apply(lambda batch: self.module_.energy_gradient(batch).pow(2), X)
