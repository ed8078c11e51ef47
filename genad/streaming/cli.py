"""``genad stream``: score a data file as a stream, with atomic checkpoints and exact resume.

Scores are appended to a CSV (``record,score``) and the checkpoint records how many input records
were consumed and how many bytes of the score file they account for. On restart the score file is
cut back to that length and the stream continues from the next record, so a run killed at any
instant and restarted writes exactly the file an uninterrupted run writes: no record missing,
none scored twice.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from tqdm.auto import tqdm

import genad
from genad.streaming.base import StreamDetector
from genad.streaming.checkpoint import load_checkpoint, save_checkpoint
from genad.validation import as_2d_float

HEADER = "record,score\n"


def run_stream(model: str, data: str, out: str, checkpoint: str | None = None, every: int = 1000,
               params: dict | None = None, label_column: str | None = None) -> int:
    """Stream ``data`` through ``model``; returns the number of scores in ``out``."""
    from genad.data import read_table

    if every < 1:
        raise ValueError(f"--every must be a positive number of records, got {every}")
    features, _ = read_table(data, label_column=label_column)
    X = as_2d_float(features, name=str(data))
    det = genad.create(model, **(params or {}))
    if not isinstance(det, StreamDetector):
        raise ValueError(f"model {model!r} is not a streaming detector; see `genad list --modality stream`")
    position = load_checkpoint(det, checkpoint) if checkpoint else None
    consumed, n_bytes, written = ((position["consumed"], position["scores_bytes"], position["n_scores"])
                                  if position else (0, None, 0))
    # the bar shows on a terminal only (disable=None), counting from where a resumed run starts
    with _open_scores(Path(out), n_bytes) as scores_file, tqdm(
            total=X.shape[0], initial=consumed, unit="record", desc=f"stream {model}", disable=None) as bar:
        for start in range(consumed, X.shape[0], every):
            scores = det.process(X[start:start + every])
            scores_file.write("".join(f"{written + i},{s!r}\n" for i, s in enumerate(scores.tolist())))
            written += len(scores)
            bar.update(len(scores))
            scores_file.flush()
            os.fsync(scores_file.fileno())
            if checkpoint:
                save_checkpoint(det, checkpoint, consumed=min(start + every, X.shape[0]),
                                scores_bytes=scores_file.tell(), n_scores=written)
    return written


def _open_scores(path: Path, n_bytes: int | None):
    """The score file opened for appending: new (with header), or cut back to ``n_bytes`` on resume."""
    if n_bytes is None:
        handle = open(path, "w", encoding="utf-8")
        handle.write(HEADER)
        return handle
    if not path.exists() or path.stat().st_size < n_bytes:
        raise ValueError(f"score file {path} is missing or shorter than the checkpoint says ({n_bytes} bytes); "
                         "it does not belong to this checkpoint")
    handle = open(path, "r+", encoding="utf-8")
    handle.truncate(n_bytes)
    handle.seek(n_bytes)
    return handle


def cmd_stream(args: argparse.Namespace) -> int:
    out = args.out or (str(Path(args.checkpoint) / "scores.csv") if args.checkpoint else None)
    if out is None:
        raise ValueError("give --out (or --checkpoint, whose folder then holds scores.csv)")
    if args.checkpoint:
        Path(args.checkpoint).mkdir(parents=True, exist_ok=True)
    n = run_stream(args.model, args.data, out, args.checkpoint, args.every, dict(args.set or []), args.label_column)
    print(f"streamed {args.data} through {args.model}: {n} scores in {out}")
    return 0


def add_commands(subparsers) -> None:
    from genad.cli import parse_assignment

    p = subparsers.add_parser("stream", help="score a data file as a stream (checkpoint and resume)")
    p.add_argument("--model", required=True, help="a streaming model (see `genad list --modality stream`)")
    p.add_argument("--data", required=True, help=".csv, .parquet or .npz file, records in arrival order")
    p.add_argument("--label-column", default=None, help="column to drop as the label (default: y or label)")
    p.add_argument("--set", action="append", type=parse_assignment, metavar="KEY=VALUE",
                   help="a model parameter, repeatable (e.g. --set memory_size=256)")
    p.add_argument("--checkpoint", default=None, help="folder for the checkpoint; an existing one is resumed")
    p.add_argument("--every", type=int, default=1000, help="records between two checkpoints")
    p.add_argument("--out", default=None, help="CSV of scores (default: CHECKPOINT/scores.csv)")
    p.set_defaults(func=cmd_stream)


__all__ = ["add_commands", "run_stream"]
