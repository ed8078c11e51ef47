"""Plain autoencoder, scored by squared reconstruction error."""
from __future__ import annotations

import torch
from torch import nn

from genad.base import ReconstructionDetector, hyperparameters
from genad.nn import mlp
from genad.registry import Paper, register
from genad.validation import check_dims, check_float


@register(
    "ae", family="reconstruction", modalities=("tabular",),
    paper=Paper("Anomaly Detection Using Autoencoders with Nonlinear Dimensionality Reduction",
                "Sakurada & Yairi", "MLSDA", 2014),
)
@hyperparameters
class AutoEncoder(ReconstructionDetector):
    """Autoencoder anomaly detector (Sakurada & Yairi, 2014).

    An encoder compresses each row to a bottleneck and a mirrored decoder reconstructs it;
    training minimises the mean squared reconstruction error on (mostly) normal data, and the
    anomaly score of a row is its squared reconstruction error ``||x - g(f(x))||^2``: what the
    learned low-dimensional structure of normal data cannot explain.

    The paper uses one sigmoid hidden layer trained by plain gradient descent; genad's default is
    a deeper ReLU stack (64-32, mirrored) with batch normalisation and dropout 0.2, trained with Adam
    on large batches (faster on CPU, same objective and score). Dropout matters most when the
    training rows hold anomalies: it keeps the network from learning to copy them.

    How the defaults were chosen: once, on eight ADBench development datasets (cardio, mammography,
    satimage-2, thyroid, ionosphere, annthyroid, pendigits, spambase; seeds 0 and 1, both protocols).
    Eight settings were compared there: without dropout, 50 and 25 epochs of batch 512 (lr 3e-3);
    with dropout 0.2, 50, 30 and 25 epochs of batch 512, 20 and 15 of batch 256, and 20 epochs of
    batch 1024 at ``lr=5e-3``. The last was the fastest and also had the highest mean AUROC in both
    protocols (one-class 0.937, unsupervised 0.830; PyOD's AutoEncoder: 0.929, 0.815). The defaults
    are used unchanged everywhere.

    At least 100 optimizer steps (``min_steps=100``, fourth session): with batches of 1024, 20
    epochs of a data set of a few hundred rows are 20 steps, and the network is barely trained. The
    suite showed the symptom (wine, 90 training rows); the cure was chosen without it, on the eight
    datasets above plus the 16 small ADBench embedding sets (MVTec-AD ResNet-18 features, 20news
    BERT; 50-430 training rows, not in the benchmark suite), seeds 0 and 1, both protocols. Mean
    AUROC over the 24 sets and both protocols: 0 steps 0.801, 100 steps 0.814, 200 steps 0.815, 400
    steps 0.812 (small sets +0.02 in both protocols, the eight larger ones unchanged). 200 steps
    would take ``ae`` to about 1/5 of PyOD AutoEncoder's time on the suite (estimated from the
    earlier run's seconds), the limit the benchmark sets, so 100 was taken. On the suite itself it
    moved the two protocols in opposite directions (one-class +0.004, unsupervised -0.005: on tiny
    contaminated training sets, more steps also learn the anomalies); see BENCHMARKS.md.

    Parameters
    ----------
    hidden_dims : widths of the encoder layers, the last one being the bottleneck; the decoder mirrors them.
    activation : activation between layers.
    dropout : dropout rate after each hidden activation.
    batch_norm : batch normalisation before each hidden activation.
    **base : see :class:`genad.base.TorchDetector` (epochs, batch_size, lr, device, random_state, ...).

    References
    ----------
    Sakurada, M. and Yairi, T. "Anomaly Detection Using Autoencoders with Nonlinear Dimensionality
    Reduction". MLSDA Workshop, 2014.
    """

    hidden_dims: tuple[int, ...] = (64, 32)
    activation: str = "relu"
    dropout: float = 0.2
    batch_norm: bool = True
    epochs: int = 20
    batch_size: int = 1024
    min_steps: int = 100
    lr: float = 5e-3

    def _check_params(self) -> None:
        super()._check_params()
        check_dims("hidden_dims", self.hidden_dims)
        check_float("dropout", self.dropout, 0.0, 1.0, high_closed=False)

    def _build_module(self, n_features: int) -> nn.Module:
        dims = [n_features, *self.hidden_dims]
        layers = dict(dropout=self.dropout, batch_norm=self.batch_norm)
        return nn.Sequential(mlp(dims, self.activation, **layers), mlp(dims[::-1], self.activation, **layers))

    def _reconstruct(self, batch: torch.Tensor) -> torch.Tensor:
        return self.module_(batch)

    def _loss(self, batch: torch.Tensor) -> torch.Tensor:
        return (batch - self._reconstruct(batch)).pow(2).sum(dim=1).mean()
