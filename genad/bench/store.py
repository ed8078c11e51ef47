"""The result store: one SQLite file (WAL mode) that loses nothing and is never overwritten.

One row per cell, keyed by ``(suite, dataset, model, seed, protocol, anomalies)``, written in its own
transaction the moment the cell ends, so a run killed at any instant keeps every finished cell. Failed cells
are stored with ``status='failed'`` and their error. Metrics every suite shares have columns; anything else
a suite measures goes to ``extra`` (JSON), so streaming or time-series suites reuse the same store.

An existing file is opened only after it is checked, read-only, to be a genad results file of this schema
version; a foreign, corrupt or other-version file raises ``ValueError`` and is left untouched.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable
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
