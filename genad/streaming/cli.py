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
import sys
from pathlib import Path

from tqdm.auto import tqdm

import genad
from genad.streaming.base import StreamDetector
from genad.streaming.checkpoint import CHECKPOINT_NAME, check_folder, load_checkpoint, save_checkpoint
from genad.validation import as_2d_float

HEADER = "record,score\n"


def run_stream(model: str, data: str, out: str, checkpoint: str | None = None, every: int = 1000,
               params: dict | None = None, label_column: str | None = None) -> int:
    """Stream ``data`` through ``model``; returns the number of scores in ``out``.

    Everything is checked before anything is created or written: the paths, the data, the model and, on
    resume, that the checkpoint belongs to this data file.
    """
    from genad.data.io import check_output_file
    from genad.data import read_table

    if every < 1:
        raise ValueError(f"--every must be a positive number of records, got {every}")
    folder = check_folder(checkpoint) if checkpoint else None
    # the default CHECKPOINT/scores.csv may sit in a folder this run creates; any other folder must exist
    in_folder = folder is not None and Path(out).resolve().parent == folder.resolve()
    check_output_file(out, "the scores", inputs=[data, folder / CHECKPOINT_NAME if folder else None],
                      make_parents=in_folder)
    features, _ = read_table(data, label_column=label_column)
    X = as_2d_float(features, name=str(data))
    det = genad.create(model, **(params or {}))
    if not isinstance(det, StreamDetector):
        raise ValueError(f"model {model!r} is not a streaming detector; see `genad list --modality stream`")
    if folder is None and X.shape[0] < (needed := det.warm_up_rows()):
        # without a checkpoint the records buffered for the warm-up are lost at exit: nothing would ever be scored
        raise ValueError(f"{data} holds {X.shape[0]} records, fewer than the {needed} that {model} "
                         "buffers to warm up on before it scores any; set a smaller warm-up (memstream: "
                         "--set memory_size=N, meter: --set warm_up_size=N; the streams suite uses min(2048, n/10)) "
                         "or give --checkpoint to continue when the file has grown")
    position = load_checkpoint(det, folder) if folder else None
    consumed, n_bytes, written = _check_position(position, det, X, folder) if position is not None else (0, None, 0)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
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
            if folder is not None:
                save_checkpoint(det, folder, consumed=min(start + every, X.shape[0]),
                                scores_bytes=scores_file.tell(), n_scores=written)
    return written


def _check_position(position: dict, det: StreamDetector, X, folder: Path) -> tuple[int, int, int]:
    """``(consumed, scores_bytes, n_scores)`` of a checkpoint, checked to resume this stream of ``X``.

    A checkpoint of another data file would otherwise resume silently: past its end (nothing scored, rc 0)
    or with other features; one without a position would restart the stream from a trained state.
    """
    where = folder / CHECKPOINT_NAME
    keys = ("consumed", "scores_bytes", "n_scores")
    values = [position.get(key) for key in keys]
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in values):
        raise ValueError(f"{where} holds no valid stream position ({', '.join(keys)}: got {position}); "
                         "it was not written by `genad stream`")
    consumed, n_bytes, n_scores = values
    if consumed > X.shape[0]:
        raise ValueError(f"{where} has consumed {consumed} records but the data file has {X.shape[0]}; "
                         "the checkpoint belongs to another stream")
    if X.shape[1] != det.n_features_in_:
        raise ValueError(f"the data file has {X.shape[1]} features but the checkpoint's detector streams "
                         f"{det.n_features_in_}; the checkpoint belongs to another stream")
    if (consumed, n_scores) != (det.n_seen_, det.n_scored_):
        raise ValueError(f"{where} is inconsistent: its position says {consumed} records and {n_scores} scores, "
                         f"its detector {det.n_seen_} and {det.n_scored_}")
    return consumed, n_bytes, n_scores


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
    n = run_stream(args.model, args.data, out, args.checkpoint, args.every, dict(args.set or []), args.label_column)
    print(f"streamed {args.data} through {args.model}: {n} scores in {out}")
    if n == 0:  # the checkpoint keeps the buffered records: the stream goes on when the file has grown
        print("genad: note: no record was scored yet: the model buffers its first records to warm up on them "
              "(memstream: memory_size, meter: warm_up_size); run again with the same --checkpoint when the file "
              "holds more records", file=sys.stderr)
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
