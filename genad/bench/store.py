"""The result store: one SQLite file (WAL mode) that loses nothing and is never overwritten.

One row per cell, keyed by ``(suite, dataset, model, seed, protocol, anomalies)``, written in its own
transaction the moment the cell ends, so a run killed at any instant keeps every finished cell. Failed cells
are stored with ``status='failed'`` and their error. Metrics every suite shares have columns; anything else
a suite measures goes to ``extra`` (JSON), so streaming or time-series suites reuse the same store.

An existing file is opened only after it is checked, read-only, to be a genad results file of this schema
version; a foreign, corrupt or other-version file raises ``ValueError`` and is left untouched.

:func:`merge_results` gathers several files into a new one, refusing two different results for one cell.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genad.data.io import SQLITE_HEADER, check_output_file

APPLICATION = "genad-bench-results"
SCHEMA_VERSION = 1
KEY_FIELDS = ("suite", "dataset", "model", "seed", "protocol", "anomalies")
VALUE_FIELDS = ("status", "auroc", "auprc", "fit_seconds", "score_seconds", "peak_memory_mb", "n_fit",
                "n_test", "n_test_anomalies", "scores_sha256", "error", "extra", "genad_version", "host",
                "finished_at")
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cells (
    suite TEXT NOT NULL, dataset TEXT NOT NULL, model TEXT NOT NULL, seed INTEGER NOT NULL,
    protocol TEXT NOT NULL, anomalies TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    auroc REAL, auprc REAL, fit_seconds REAL, score_seconds REAL, peak_memory_mb REAL,
    n_fit INTEGER, n_test INTEGER, n_test_anomalies INTEGER, scores_sha256 TEXT,
    error TEXT, extra TEXT, genad_version TEXT, host TEXT, finished_at REAL,
    PRIMARY KEY ({", ".join(KEY_FIELDS)})
);
"""


def scores_sha256(scores: np.ndarray) -> str:
    """The fingerprint stored with a cell: the sha256 of its scores as float64, so a re-run with other code
    can be checked for identical scores without storing them."""
    return hashlib.sha256(np.ascontiguousarray(scores, dtype=np.float64).tobytes()).hexdigest()


class ResultStore:
    """Read and write benchmark cells in ``path`` (created when missing)."""

    def __init__(self, path: str | Path, *, create: bool = True):
        self.path = Path(path)
        if self.path.exists():
            check_results_file(self.path)
        elif not create:
            raise FileNotFoundError(f"results file not found: {self.path}")
        else:
            check_output_file(self.path, "the results file", make_parents=True)
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path), timeout=60, isolation_level=None)
        self._conn.execute("PRAGMA busy_timeout = 60000")
        if create:
            self._init_schema()

    def _init_schema(self) -> None:
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                self._conn.execute(statement)
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('application', ?)", (APPLICATION,))
        self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        self._conn.execute("COMMIT")

    # --- writing -------------------------------------------------------------------------------
    def write(self, record: dict[str, Any]) -> None:
        """Store one finished cell at once; an ``ok`` row is never replaced by a later ``failed`` one."""
        row = {f: record.get(f) for f in KEY_FIELDS + VALUE_FIELDS}
        missing = [f for f in KEY_FIELDS + ("status",) if row[f] is None]
        if missing:
            raise ValueError(f"result record lacks {missing}")
        if isinstance(row["extra"], dict):
            row["extra"] = json.dumps(row["extra"], sort_keys=True)
        row["finished_at"] = row["finished_at"] or time.time()
        columns = ", ".join(row)
        updates = ", ".join(f"{f} = excluded.{f}" for f in VALUE_FIELDS)
        self._conn.execute(
            f"INSERT INTO cells ({columns}) VALUES ({', '.join('?' * len(row))}) "
            f"ON CONFLICT ({', '.join(KEY_FIELDS)}) DO UPDATE SET {updates} "
            "WHERE cells.status != 'ok' OR excluded.status = 'ok'",
            tuple(row.values()),
        )

    def write_all(self, records: Iterable[dict[str, Any]]) -> None:
        """Store many cells in one transaction (all or none), each as :meth:`write` stores it."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            for record in records:
                self.write(record)
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # --- reading -------------------------------------------------------------------------------
    def finished_keys(self, include_failed: bool = False) -> set[tuple]:
        """Keys of cells that a re-run skips (``ok`` ones; failed ones too with ``include_failed``)."""
        where = "" if include_failed else "WHERE status = 'ok'"
        return {tuple(r) for r in self._conn.execute(f"SELECT {', '.join(KEY_FIELDS)} FROM cells {where}")}

    def records(self) -> list[dict[str, Any]]:
        """Every stored cell as a dict (``extra`` decoded)."""
        cursor = self._conn.execute(f"SELECT {', '.join(KEY_FIELDS + VALUE_FIELDS)} FROM cells "
                                    "ORDER BY suite, dataset, model, seed, protocol, anomalies")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, r)) for r in cursor]
        for row in rows:
            row["extra"] = json.loads(row["extra"]) if row["extra"] else {}
        return rows

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "ResultStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_results_file(path: Path) -> None:
    """Raise ``ValueError`` unless ``path`` is a genad results file of this schema version (read-only check)."""
    if path.is_dir():
        raise ValueError(f"results file {path} is a folder; give a file name such as {path / 'bench.sqlite'}")
    with open(path, "rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise ValueError(f"{path} exists and is not a genad results file (not SQLite); it was left untouched")
    try:
        conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, timeout=60)
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall()) if "meta" in tables else {}
            if "cells" in tables:
                conn.execute("SELECT count(*) FROM cells").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as err:
        raise ValueError(f"{path} is not a readable genad results file ({err}); it was left untouched") from None
    if meta.get("application") != APPLICATION or "cells" not in tables:
        raise ValueError(f"{path} is an SQLite file of another application; it was left untouched")
    if meta.get("schema_version") != str(SCHEMA_VERSION):
        raise ValueError(f"{path} has results schema version {meta.get('schema_version')}, this genad "
                         f"writes version {SCHEMA_VERSION}; use another --results file")


def check_results_target(path: str | Path) -> Path:
    """Check, before a run, that ``path`` is an existing results file to resume or a new file that can be
    created (a folder, another file or a file in its way is a ``ValueError``); nothing is written."""
    path = Path(path)
    if path.exists():
        check_results_file(path)
        return path
    return check_output_file(path, "the results file", make_parents=True)


def open_existing(path: str | Path) -> list[dict[str, Any]]:
    """The records of an existing results file (for reports), checked first."""
    with ResultStore(path, create=False) as store:
        return store.records()


def key_of(record: dict[str, Any]) -> tuple:
    return tuple(record[f] for f in KEY_FIELDS)


def keys_of(records: Iterable[dict[str, Any]]) -> set[tuple]:
    return {key_of(r) for r in records}


def merge_results(out: str | Path, sources: Sequence[str | Path], *, models: Iterable[str] | None = None,
                  seeds: Iterable[int] | None = None) -> dict[str, int]:
    """Gather the cells of results files into a new results file ``out``, refusing any disagreement.

    Runs that went into copies of a file (one model per copy, say) can so be reported together. A cell held
    by two sources (same suite, dataset, model, seed, protocol and anomaly type) must have the same scores
    (``scores_sha256``) when both are ``ok``: else nothing is written and a ``ValueError`` names the first
    conflicting cells, since two different results for one cell mean the sources were not made alike. An
    ``ok`` cell wins over a ``failed`` one; of two failed cells the first source's is kept.

    Parameters
    ----------
    out : the new file; an existing file is never written over. It appears only once complete.
    sources : existing results files, each checked as :func:`open_existing` does.
    models, seeds : keep only these models' / seeds' cells (``None``: all).

    Returns
    -------
    ``{"cells": written, "duplicates": cells held by more than one source}``.
    """
    if not sources:
        raise ValueError("merge needs at least one results file to read")
    target = check_output_file(out, "the merged results file", inputs=sources, make_parents=True)
    if target.exists():
        raise ValueError(f"{target} exists; a merge writes a new results file only (it was left untouched)")
    merged, duplicates = _gather_cells(sources, models, seeds)
    if not merged:
        raise ValueError("no cells to merge: the files hold none" +
                         ("" if models is None and seeds is None else " of the models/seeds asked for"))
    # written under another name and renamed once closed (closing folds the WAL into the file), so ``out``
    # never exists half-written
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        with ResultStore(partial) as store:
            store.write_all(merged.values())
        os.replace(partial, target)
    except BaseException:
        for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
            leftover.unlink(missing_ok=True)
        raise
    return {"cells": len(merged), "duplicates": duplicates}


def _gather_cells(sources: Sequence[str | Path], models: Iterable[str] | None,
                  seeds: Iterable[int] | None) -> tuple[dict[tuple, dict[str, Any]], int]:
    """The cells :func:`merge_results` writes, by key, and how many keys a later source held again."""
    keep_models = None if models is None else set(models)
    keep_seeds = None if seeds is None else {int(seed) for seed in seeds}
    merged: dict[tuple, dict[str, Any]] = {}
    conflicts, duplicates = [], 0
    for source in sources:
        for record in open_existing(source):
            if (keep_models is not None and record["model"] not in keep_models) or \
                    (keep_seeds is not None and record["seed"] not in keep_seeds):
                continue
            key = key_of(record)
            held = merged.setdefault(key, record)
            if held is record:
                continue
            duplicates += 1
            if held["status"] == "ok" and record["status"] == "ok":
                if held["scores_sha256"] != record["scores_sha256"]:
                    conflicts.append(f"{key} ({source})")
            elif record["status"] == "ok":  # an ok cell wins over a failed one
                merged[key] = record
    if conflicts:
        raise ValueError(f"{len(conflicts)} cell(s) have different scores in different files, e.g. "
                         f"{'; '.join(conflicts[:3])}; nothing was written")
    return merged, duplicates
