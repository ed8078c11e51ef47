"""`genad stream` killed with SIGKILL at a random point and restarted writes an uninterrupted run's file."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stream_data import drifting_stream

ARGS = ["--model", "memstream", "--every", "40", "--set", "memory_size=64", "--set", "epochs=3",
        "--set", "beta=1.0", "--set", "random_state=0"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}


def stream_cmd(data: Path, checkpoint: Path) -> list[str]:
    return [sys.executable, "-m", "genad.cli", "stream", "--data", str(data), "--checkpoint", str(checkpoint), *ARGS]


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    X, _ = drifting_stream(n=1500)
    path = tmp_path_factory.mktemp("stream") / "stream.csv"
    pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def reference(data_file, tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    subprocess.run(stream_cmd(data_file, folder), check=True, env=ENV, capture_output=True)
    return folder


def run_in_process(argv: list[str]) -> int:
    from genad.cli import main

    return main(argv)


def test_sigkill_and_resume_gives_the_uninterrupted_file(data_file, reference, tmp_path):
    expected = (reference / "scores.csv").read_bytes()

    resumed = tmp_path / "resumed"
    rng = np.random.default_rng()
    proc = subprocess.Popen(stream_cmd(data_file, resumed), env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (resumed / "checkpoint.pt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 0.3))  # a random point after the first checkpoint
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = (resumed / "scores.csv").read_bytes()
    subprocess.run(stream_cmd(data_file, resumed), check=True, env=ENV, capture_output=True)

    assert (resumed / "scores.csv").read_bytes() == expected
    scores = pd.read_csv(resumed / "scores.csv")
    assert scores["record"].tolist() == list(range(1500))  # none missing, none twice
    if killed:
        assert len(partial) < len(expected)


def test_resume_after_a_crash_between_scores_and_checkpoint(data_file, reference, tmp_path):
    """Scores appended after the last checkpoint are cut back and recomputed, not doubled."""
    folder = tmp_path / "run"
    shutil.copytree(reference, folder)
    expected = (folder / "scores.csv").read_bytes()
    with open(folder / "scores.csv", "a") as handle:
        handle.write("1500,0.123\n")  # as if killed after writing, before the checkpoint
    assert run_in_process(stream_cmd(data_file, folder)[3:]) == 0
    assert (folder / "scores.csv").read_bytes() == expected


def test_checkpoint_of_another_model_is_refused_by_the_cli(data_file, reference, tmp_path, capsys):
    folder = tmp_path / "run"
    shutil.copytree(reference, folder)
    before = (folder / "checkpoint.pt").read_bytes()
    code = run_in_process(["stream", "--model", "meter", "--data", str(data_file), "--checkpoint", str(folder),
                           "--set", "warm_up_size=64"])
    assert code == 2 and "memstream" in capsys.readouterr().err
    assert (folder / "checkpoint.pt").read_bytes() == before
