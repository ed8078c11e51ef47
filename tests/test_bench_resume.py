"""A run killed with SIGKILL in the middle resumes and ends with exactly the cells of an uninterrupted run."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

from bench_data import make_data_dir
from genad.bench import ResultStore, make_grid, parse_model_spec, resolve_datasets, run_bench

MODELS = ["ae?epochs=20&batch_size=50&hidden_dims=(8,4)", "pyod:IForest?n_estimators=30"]
SEEDS, PROTOCOLS = [0, 1], ["unsupervised", "one-class"]
# timings, memory, host and clock differ between runs; everything else must be identical
VARYING = {"fit_seconds", "score_seconds", "peak_memory_mb", "host", "finished_at"}


def _command(root, results):
    return [sys.executable, "-m", "genad.cli", "bench", "--data-dir", str(root), "--results", str(results),
            "--datasets", "adbench:all", "--models", *MODELS, "--seeds", ",".join(map(str, SEEDS)),
            "--protocols", ",".join(PROTOCOLS), "--jobs", "1", "--threads", "1", "--quiet"]


def _finished(results) -> int:
    if not results.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{results}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT count(*) FROM cells WHERE status = 'ok'").fetchone()[0]
    except sqlite3.DatabaseError:  # the file is being created
        return 0


def _comparable(results):
    return [{k: v for k, v in r.items() if k not in VARYING} for r in ResultStore(results).records()]


def test_sigkill_mid_run_then_resume_equals_an_uninterrupted_run(tmp_path):
    root = make_data_dir(tmp_path)
    total = 2 * len(MODELS) * len(SEEDS) * len(PROTOCOLS)
    killed = tmp_path / "killed.sqlite"
    process = subprocess.Popen(_command(root, killed), start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while _finished(killed) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done_when_killed = _finished(killed)
    assert 2 <= done_when_killed < total, process.stderr.read().decode()[-2000:]

    resumed = subprocess.run(_command(root, killed), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"{done_when_killed} already in" in resumed.stdout

    reference = tmp_path / "reference.sqlite"
    cells = make_grid(resolve_datasets(["adbench:all"], data_dir=root), [parse_model_spec(m) for m in MODELS],
                      SEEDS, PROTOCOLS, threads=1)
    assert run_bench(cells, str(reference), progress=False)["ok"] == total
    after_resume = _comparable(killed)
    assert len(after_resume) == total
    assert after_resume == _comparable(reference)
