"""THE optimisation loop, shared by every torch model in genad.

A model says *what* to minimise (a function from a batch to a scalar loss); this module owns
*how*: in-memory batching without per-row Python, devices, seeding, validation split with early
stopping, gradient clipping, a guard against NaN/inf losses, and a progress bar.
"""
from __future__ import annotations

import contextlib
import copy
import math
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

Batch = torch.Tensor | tuple[torch.Tensor, ...]


class DivergenceError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


_WARM = False


def adam(params: Iterable[torch.Tensor], lr: float = 1e-3, weight_decay: float = 0.0,
         betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Adam:
    """Adam, fused into one kernel per step where torch supports it: the same update rule, less time per
    step than torch's default per-tensor loop on CPU (an ``ae`` step of batch 1024: 1.21 ms against
    1.48 ms, ``benchmarks/step_costs.py``)."""
    params = list(params)
    fusable = all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, betas=betas, fused=fusable or None)


def warm_up_torch() -> None:
    """Pay torch's one-time start-up costs (seconds) once per process, so no timed fit carries them."""
    global _WARM
    if _WARM:
        return
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4))
    optimizer = adam(net.parameters())
    net(torch.zeros(16, 4)).pow(2).mean().backward()
    optimizer.step()
    with torch.inference_mode():
        net(torch.zeros(16, 4))
    _WARM = True


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` picks CUDA when available, else CPU; a CUDA request without a GPU is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but no CUDA device is available; use 'auto' or 'cpu'")
    return device


@contextlib.contextmanager
def seeded(random_state: int | None) -> Iterator[torch.Generator]:
    """Seed torch inside the block without disturbing the caller's global RNG state.

    Yields a ``torch.Generator`` (CPU) for explicit draws such as batch permutations. The
    same ``random_state`` therefore gives identical weights, batches and scores.
    """
    seed = int(np.random.SeedSequence(random_state).generate_state(1)[0])
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield torch.Generator().manual_seed(seed)


def _take(data: Batch, index: torch.Tensor) -> Batch:
    if isinstance(data, tuple):
        return tuple(t[index] for t in data)
    return data[index]


def _n_rows(data: Batch) -> int:
    return (data[0] if isinstance(data, tuple) else data).shape[0]


def _device_of(data: Batch) -> torch.device:
    return (data[0] if isinstance(data, tuple) else data).device


def _batch_stops(n: int, batch_size: int) -> list[int]:
    """End of each batch of ``n`` rows. A one-row last batch breaks batch normalisation: it is folded into the
    batch before it."""
    stops = list(range(batch_size, n, batch_size)) + [n]
    if len(stops) > 1 and stops[-1] - stops[-2] == 1:
        stops.pop(-2)
    return stops


def _batches(n: int, batch_size: int, generator: torch.Generator | None, device) -> Iterator[torch.Tensor]:
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    order = order.to(device)
    start = 0
    for stop in _batch_stops(n, batch_size):
        yield order[start:stop]
        start = stop


def train_module(
    module: nn.Module,
    loss_fn: Callable[[Batch], torch.Tensor],
    data: Batch,
    *,
    epochs: int,
    batch_size: int,
    min_steps: int = 0,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    lr_decay: float = 1.0,
    optimizer: torch.optim.Optimizer | None = None,
    parameters: Sequence[torch.nn.Parameter] | None = None,
    validation_fraction: float = 0.0,
    validation_data: Batch | None = None,
    validation_loss_fn: Callable[[Batch], torch.Tensor] | None = None,
    patience: int | None = None,
    keep_best: bool = False,
    clip_grad_norm: float | None = None,
    generator: torch.Generator | None = None,
    verbose: bool = False,
    desc: str = "training",
    on_epoch: Callable[[int], None] | None = None,
) -> dict[str, list[float]]:
    """Minimise ``loss_fn`` over mini-batches of ``data`` (a tensor or a tuple of aligned tensors).

    Parameters
    ----------
    module : the network; put in train mode during updates and eval mode for validation.
    loss_fn : maps a batch (same structure as ``data``) to a scalar loss.
    data : rows already on the training device; batches are index slices, no copies per row.
    min_steps : train for more than ``epochs`` epochs when needed to make at least this many
        optimizer steps. An epoch of a few hundred rows is one or two large batches, so on small
        data sets a count of epochs alone leaves the network barely trained.
    optimizer : reuse an optimizer across calls (alternating schemes); default Adam on ``parameters``.
    validation_fraction : rows held out to measure a validation loss; with ``patience`` the loop
        stops after that many epochs without improvement and restores the best weights.
    validation_data : held-out rows the caller chose, instead of a ``validation_fraction`` split (a model
        that trains in stages holds out the same rows for all of them).
    validation_loss_fn : the validation loss when it is not ``loss_fn`` (GANF's penalty weights change between
        epochs; its validation loss is the likelihood alone).
    keep_best : restore the best validation epoch's weights at the end, also without ``patience``.
    clip_grad_norm : clip the global gradient norm to this value when set.
    on_epoch : called with the epoch's index (0-based) before each epoch, for losses whose weights follow
        a schedule over epochs (USAD's ``1/n``); ``loss_fn`` reads what it sets.

    Returns
    -------
    history : ``{"loss": [...], "val_loss": [...]}``, mean loss per epoch.
    """
    if validation_data is not None:
        train_data, val_data = data, validation_data
    else:
        train_data, val_data = split_validation(data, validation_fraction, generator)
    validation_loss_fn = validation_loss_fn or loss_fn
    params = list(parameters) if parameters is not None else list(module.parameters())
    if optimizer is None:
        optimizer = adam(params, lr=lr, weight_decay=weight_decay)

    history: dict[str, list[float]] = {"loss": [], "val_loss": []}
    best_val, best_state, stale = float("inf"), None, 0
    epochs = max(epochs, math.ceil(min_steps / len(_batch_stops(_n_rows(train_data), batch_size))))
    bar = tqdm(total=epochs, desc=desc, unit="epoch", disable=not verbose, leave=False)
    for epoch in range(epochs):
        if on_epoch is not None:
            on_epoch(epoch)
        loss = _train_epoch(module, loss_fn, train_data, batch_size, optimizer, params, clip_grad_norm,
                            generator, epoch)
        history["loss"].append(loss)
        if lr_decay != 1.0:
            for group in optimizer.param_groups:
                group["lr"] *= lr_decay
        postfix = {"loss": f"{loss:.4g}"}
        if val_data is not None:
            val_loss = evaluate_loss(module, validation_loss_fn, val_data, batch_size)
            _guard_finite(torch.tensor(val_loss), epoch)
            history["val_loss"].append(val_loss)
            postfix["val"] = f"{val_loss:.4g}"
            if val_loss < best_val - 1e-7:
                best_val, best_state, stale = val_loss, copy.deepcopy(module.state_dict()), 0
            else:
                stale += 1
            if patience is not None and stale >= patience:
                break
        bar.set_postfix(postfix, refresh=False)
        bar.update()  # counts the epoch; iterating over the bar would show 0 epochs done while the loss changes
    bar.close()
    if best_state is not None and (patience is not None or keep_best):
        module.load_state_dict(best_state)  # early stopping keeps the best epoch's weights
    module.eval()
    return history


def split_validation(data: Batch, fraction: float, generator: torch.Generator | None) -> tuple[Batch, Batch | None]:
    """``(training rows, validation rows or None)``: a random ``fraction`` held out, when there are 10 rows or more."""
    n = _n_rows(data)
    if fraction <= 0 or n < 10:
        return data, None
    device = _device_of(data)
    perm = torch.randperm(n, generator=generator).to(device)
    n_val = max(1, int(round(n * fraction)))
    return _take(data, perm[n_val:]), _take(data, perm[:n_val])


def _train_epoch(module: nn.Module, loss_fn: Callable[[Batch], torch.Tensor], data: Batch, batch_size: int,
                 optimizer: torch.optim.Optimizer, params: list, clip_grad_norm: float | None,
                 generator: torch.Generator | None, epoch: int) -> float:
    """One pass over ``data`` in shuffled mini-batches; returns the mean loss per row."""
    module.train()
    device = _device_of(data)
    total, count = 0.0, 0
    for index in _batches(_n_rows(data), batch_size, generator, device):
        loss = loss_fn(_take(data, index))
        _guard_finite(loss, epoch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, clip_grad_norm)
        optimizer.step()
        total += float(loss.detach()) * index.numel()
        count += index.numel()
    return total / count


@torch.no_grad()
def evaluate_loss(module: nn.Module, loss_fn: Callable[[Batch], torch.Tensor], data: Batch, batch_size: int) -> float:
    """Mean loss over ``data`` in eval mode, without gradients."""
    module.eval()
    n = _n_rows(data)
    device = _device_of(data)
    total = 0.0
    for index in _batches(n, batch_size, None, device):
        total += float(loss_fn(_take(data, index))) * index.numel()
    return total / n


def _guard_finite(loss: torch.Tensor, epoch: int) -> None:
    if not torch.isfinite(loss).all():
        raise DivergenceError(
            f"training diverged: the loss became {float(loss.detach())} in epoch {epoch + 1}; "
            "lower lr, scale the features, or set clip_grad_norm"
        )


@torch.inference_mode()
def batched_apply(fn: Callable[[torch.Tensor], torch.Tensor], data: torch.Tensor, batch_size: int = 8192) -> torch.Tensor:
    """Apply ``fn`` to ``data`` in large row chunks (bounded memory) and concatenate the results."""
    return torch.cat([fn(data[start:start + batch_size]) for start in range(0, data.shape[0], batch_size)])
