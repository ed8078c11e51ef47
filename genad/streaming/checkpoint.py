"""Atomic checkpoints of a stream: the detector's state plus the position in the stream.

A checkpoint is written to a temporary file in the same folder, flushed to disk, then renamed over
the previous one (``os.replace`` is atomic), so a process killed at any instant leaves either the
old or the new checkpoint, never a torn one.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from genad.streaming.base import StreamDetector

CHECKPOINT_NAME = "checkpoint.pt"


def save_checkpoint(detector: StreamDetector, folder: str | Path, **position: Any) -> Path:
    """Write ``detector.state_dict()`` and ``position`` (e.g. records consumed) atomically to ``folder``."""
    folder = check_folder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / CHECKPOINT_NAME
    payload = {"state": detector.state_dict(), "position": position}
    handle, tmp = tempfile.mkstemp(prefix=".checkpoint-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            torch.save(payload, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(folder)
    return target


def load_checkpoint(detector: StreamDetector, folder: str | Path) -> dict[str, Any] | None:
    """Restore ``detector`` from ``folder``'s checkpoint and return its position; None when there is none.

    A checkpoint of another model, version or setting raises ``ValueError`` and leaves the
    detector untouched.
    """
    path = check_folder(folder) / CHECKPOINT_NAME
    if not path.exists():
        return None
    try:
        payload = torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception as err:  # torch raises many types for a foreign or truncated file
        raise ValueError(f"{path} is not a readable genad checkpoint ({type(err).__name__}: {err})") from None
    if not isinstance(payload, dict) or "state" not in payload or not isinstance(payload.get("position"), dict):
        raise ValueError(f"{path} is not a genad stream checkpoint")
    detector.load_state_dict(payload["state"])
    return dict(payload["position"])


def check_folder(folder: str | Path) -> Path:
    """``folder`` as a path, or a ``ValueError`` when a file (or a file above it) stands where it would be."""
    folder = Path(folder)
    for path in (folder, *folder.parents):
        if path.exists():
            if not path.is_dir():
                what = "is a file" if path == folder else f"is under the file {path}"
                raise ValueError(f"checkpoint folder {folder} {what}; give a folder (it is created when missing)")
            break
    return folder


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
