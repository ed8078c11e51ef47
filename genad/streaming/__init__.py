"""The stream API (learn_one / score_one / process, state and checkpoints) and the `genad stream` command."""
from genad.streaming.base import StreamDetector
from genad.streaming.checkpoint import load_checkpoint, save_checkpoint

__all__ = ["StreamDetector", "load_checkpoint", "save_checkpoint"]
