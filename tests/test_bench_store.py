"""The result store and the runner around it: skip finished cells, record failures, refuse foreign files."""
from __future__ import annotations

import sqlite3

import pytest

from bench_data import make_data_dir
from genad.bench import ResultStore, make_grid, parse_model_spec, resolve_datasets, run_bench
from genad.cli import main

TINY = "ae?epochs=1&hidden_dims=(4,2)"


def _grid(root, models=(TINY,), seeds=(0,), protocols=("one-class",)):
    return make_grid(resolve_datasets(["adbench:all"], data_dir=root), [parse_model_spec(m) for m in models],
                     list(seeds), list(protocols))


def test_rerun_skips_finished_cells_and_a_failed_cell_is_recorded(tmp_path):
    root = make_data_dir(tmp_path)
    results = tmp_path / "r.sqlite"
    cells = _grid(root, models=(TINY, "pyod:KNN?n_neighbors=1000"))  # KNN fails: more neighbours than rows
    first = run_bench(cells, str(results), progress=False)
    assert first == {"total": 4, "skipped": 0, "ok": 2, "failed": 2}
    rows = ResultStore(results).records()
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(failed) == 2 and all("n_neighbors" in r["error"] for r in failed)
    ok = [r for r in rows if r["status"] == "ok"]
    assert all(0 <= r["auroc"] <= 1 and r["fit_seconds"] > 0 and r["n_fit"] > 0 for r in ok)
    again = run_bench(cells, str(results), progress=False, retry_failed=False)
    assert again == {"total": 4, "skipped": 4, "ok": 0, "failed": 0}
    retried = run_bench(cells, str(results), progress=False)  # failed cells are retried by default
    assert retried == {"total": 4, "skipped": 2, "ok": 0, "failed": 2}
    assert len(ResultStore(results).records()) == 4


def test_an_ok_cell_is_never_replaced_by_a_failed_one(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    key = dict(suite="tabular", dataset="d", model="m", seed=0, protocol="one-class", anomalies="real")
    store.write(key | {"status": "ok", "auroc": 0.9})
    store.write(key | {"status": "failed", "error": "boom"})
    (row,) = store.records()
    assert row["status"] == "ok" and row["auroc"] == 0.9
    with pytest.raises(ValueError, match="lacks"):
        store.write({"status": "ok"})


@pytest.mark.parametrize("content", [b"dataset,model\n1,2\n", b"", b"SQLite format 3\x00" + b"\x07" * 3000])
def test_foreign_or_corrupt_files_are_refused_untouched(tmp_path, content):
    path = tmp_path / "r.sqlite"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="left untouched"):
        ResultStore(path)
    assert path.read_bytes() == content


def test_other_sqlite_files_and_other_versions_are_refused_untouched(tmp_path):
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    before = other.read_bytes()
    with pytest.raises(ValueError, match="another application"):
        ResultStore(other)
    assert other.read_bytes() == before

    old = tmp_path / "old.sqlite"
    ResultStore(old).close()
    with sqlite3.connect(old) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.close()
    before = old.read_bytes()
    with pytest.raises(ValueError, match="schema version 99"):
        ResultStore(old)
    assert old.read_bytes() == before


def test_cli_errors_are_clear(tmp_path, capsys):
    root = make_data_dir(tmp_path)
    base = ["bench", "--data-dir", str(root), "--results", str(tmp_path / "r.sqlite"), "--quiet"]
    assert main(base + ["--datasets", "adbench:all", "--models", "nope"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
    assert main(base + ["--datasets", "adbench:gamma", "--models", TINY]) == 2
    assert "unknown ADBench dataset 'gamma'" in capsys.readouterr().err
    assert main(base + ["--datasets", "adbench:all", "--models", TINY, "--seeds", ""]) == 2
    assert "zero cells" in capsys.readouterr().err
    assert main(base + ["--datasets", "adbench:all", "--models", "pyod:NoSuchModel"]) == 2
    assert "unknown PyOD model" in capsys.readouterr().err
    assert main(base + ["--datasets", "adbench:all", "--models", "ae?epochs=0"]) == 2
    assert "epochs" in capsys.readouterr().err
    assert main(base + ["--datasets", "adbench:all", "--models", TINY, "--seeds", "0,1,0"]) == 2
    assert "seeds given more than once: 0" in capsys.readouterr().err
    assert main(base + ["--datasets", "adbench:all", "--models", TINY, "--protocols", "one-class,one-class"]) == 2
    assert "protocols given more than once: one-class" in capsys.readouterr().err
    assert not (tmp_path / "r.sqlite").exists()


def test_cli_runs_a_grid_and_reports(tmp_path):
    root = make_data_dir(tmp_path)
    results = tmp_path / "r.sqlite"
    argv = ["bench", "--data-dir", str(root), "--results", str(results), "--quiet", "--datasets", "adbench:alpha",
            "--models", TINY, "pyod:IForest", "--seeds", "0", "--protocols", "unsupervised,one-class"]
    assert main(argv) == 0
    assert len(ResultStore(results).records()) == 4
    assert main(["report", str(results), "--out", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").read_text().count("data:image/png;base64,") == 4


def test_concurrent_writers_lose_nothing(tmp_path):
    import threading

    path = tmp_path / "r.sqlite"
    ResultStore(path).close()

    def writer(worker: int) -> None:
        with ResultStore(path) as store:  # its own connection, as another process would have
            for seed in range(40):
                store.write(dict(suite="tabular", dataset=f"d{worker}", model="m", seed=seed, protocol="one-class",
                                 anomalies="real", status="ok", auroc=seed / 40))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert len(ResultStore(path).records()) == 160


def test_local_executor_retries_the_cells_of_a_worker_that_died(tmp_path):
    from bench_data import CrashCell, die_once
    from genad.bench import run_local

    cells = [CrashCell("a", str(tmp_path / "a.died")), CrashCell("b", str(tmp_path / "b.died"))]
    records = list(run_local(cells, jobs=2, task=die_once))
    assert sorted(r["dataset"] for r in records) == ["a", "b"]
    assert all(r["status"] == "ok" for r in records)
    assert (tmp_path / "a.died").exists() and (tmp_path / "b.died").exists()  # both workers really died


def dies_on_bad(cell) -> dict:
    """A task whose worker process dies on the cell named ``bad``, every time (imported by spawned workers); the
    other cells take a moment, so that the pool breaks while some of them are still to run."""
    import os
    import time

    if cell.name == "bad":
        os._exit(1)
    time.sleep(0.3)
    return dict(zip(("suite", "dataset", "model", "seed", "protocol", "anomalies"), cell.key), status="ok")


def test_a_cell_that_always_kills_its_worker_fails_alone_and_the_others_finish(tmp_path):
    from bench_data import CrashCell
    from genad.bench import run_local

    names = ["a", "bad", "b", "c", "d", "e"]
    records = list(run_local([CrashCell(name, "") for name in names], jobs=2, max_restarts=1, task=dies_on_bad))
    by_name = {r["dataset"]: r for r in records}
    assert len(records) == len(names) and set(by_name) == set(names)
    assert by_name["bad"]["status"] == "failed" and "died 2 times" in by_name["bad"]["error"]
    assert all(by_name[name]["status"] == "ok" for name in names if name != "bad")  # before: failed with it


def test_model_groups_expand_to_registered_models_and_baselines():
    import genad
    from genad.bench.models import DEFAULT_BASELINES, expand_model_names

    names = expand_model_names(["ae", "genad:all", "pyod:baselines", "pyod:IForest"])
    tabular = [i.name for i in genad.list_models(modality="tabular")]
    assert names == list(dict.fromkeys(["ae", *tabular, *DEFAULT_BASELINES]))


def _cell(model, seed=0, status="ok", sha="a", auroc=0.9):
    return dict(suite="tabular", dataset="d", model=model, seed=seed, protocol="one-class", anomalies="real",
                status=status, auroc=auroc, scores_sha256=sha, extra={"vus_pr": auroc})


def _results_file(path, *cells):
    with ResultStore(path) as store:
        for cell in cells:
            store.write(cell)
    return path


def test_merge_results_gathers_cells_and_keeps_identical_duplicates_once(tmp_path):
    a = _results_file(tmp_path / "a.sqlite", _cell("ae"), _cell("base"), _cell("ae", seed=1, status="failed"))
    b = _results_file(tmp_path / "b.sqlite", _cell("base"), _cell("vae", auroc=0.7), _cell("ae", seed=1, sha="c"))
    out = tmp_path / "all.sqlite"
    assert main(["merge-results", str(out), str(a), str(b)]) == 0
    rows = {(r["model"], r["seed"]): r for r in ResultStore(out).records()}
    assert set(rows) == {("ae", 0), ("base", 0), ("vae", 0), ("ae", 1)}
    assert rows[("ae", 1)]["status"] == "ok" and rows[("ae", 1)]["scores_sha256"] == "c"  # ok wins over failed
    assert rows[("vae", 0)]["extra"] == {"vus_pr": 0.7} and rows[("vae", 0)]["auroc"] == 0.7
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no partial file left


def test_merge_results_filters_by_model_and_seed(tmp_path):
    from genad.bench.store import merge_results

    a = _results_file(tmp_path / "a.sqlite", _cell("ae"), _cell("ae", seed=1), _cell("vae"))
    counts = merge_results(tmp_path / "ae0.sqlite", [a], models=["ae"], seeds=[0])
    assert counts == {"cells": 1, "duplicates": 0}
    (row,) = ResultStore(tmp_path / "ae0.sqlite").records()
    assert (row["model"], row["seed"]) == ("ae", 0)
    with pytest.raises(ValueError, match="no cells to merge"):
        merge_results(tmp_path / "none.sqlite", [a], models=["dagmm"])
    assert not (tmp_path / "none.sqlite").exists()


def test_merge_results_refuses_conflicting_cells_and_existing_outputs(tmp_path):
    from genad.bench.store import merge_results

    a = _results_file(tmp_path / "a.sqlite", _cell("ae", sha="a"))
    b = _results_file(tmp_path / "b.sqlite", _cell("ae", sha="b"))
    with pytest.raises(ValueError, match="different scores.*nothing was written"):
        merge_results(tmp_path / "all.sqlite", [a, b])
    assert not (tmp_path / "all.sqlite").exists()
    before = b.read_bytes()
    with pytest.raises(ValueError, match="left untouched"):
        merge_results(b, [a])  # an existing results file is never written over
    assert b.read_bytes() == before
    text = tmp_path / "notes.txt"
    text.write_text("keep me")
    with pytest.raises(ValueError, match="new results file only"):
        merge_results(text, [a])
    assert text.read_text() == "keep me"
    with pytest.raises(ValueError, match="at least one"):
        merge_results(tmp_path / "x.sqlite", [])
    with pytest.raises(FileNotFoundError):
        merge_results(tmp_path / "x.sqlite", [tmp_path / "missing.sqlite"])
