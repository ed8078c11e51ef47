"""Datasets by name and by path, and the errors that say where the runner looked."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench_data import make_data_dir, planted_table
from genad.bench.datasets import load_dataset, resolve_datasets


def test_adbench_names_with_or_without_number_prefix_and_any_case(tmp_path):
    root = make_data_dir(tmp_path, names=("6_cardio", "42_WBC"))
    for spec in ("adbench:cardio", "adbench:6_cardio", "adbench:CARDIO"):
        (ref,) = resolve_datasets([spec], data_dir=root)
        assert ref.name == "cardio" and ref.path.endswith("6_cardio.npz")
    assert [r.name for r in resolve_datasets(["adbench:all"], data_dir=root)] == ["WBC", "cardio"]
    X, y = load_dataset(resolve_datasets(["adbench:wbc"], data_dir=root)[0])
    assert X.dtype == np.float64 and set(np.unique(y)) == {0, 1}


def test_data_dir_from_environment(tmp_path, monkeypatch):
    make_data_dir(tmp_path)
    monkeypatch.setenv("GENAD_DATA", str(tmp_path))
    assert [r.name for r in resolve_datasets(["adbench:all"])] == ["alpha", "beta"]


def test_missing_directory_and_unknown_name_say_where_they_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nothing")):
        resolve_datasets(["adbench:cardio"], data_dir=tmp_path / "nothing")
    root = make_data_dir(tmp_path)
    with pytest.raises(ValueError, match=r"unknown ADBench dataset 'cardio'.*known: alpha, beta"):
        resolve_datasets(["adbench:cardio"], data_dir=root)
    with pytest.raises(FileNotFoundError, match="no such file"):
        resolve_datasets([str(tmp_path / "missing.csv")])
    with pytest.raises(ValueError, match="more than once"):
        resolve_datasets(["adbench:alpha", "adbench:1_alpha"], data_dir=root)


def test_plain_csv_with_a_named_label_column(tmp_path):
    X, y = planted_table(n=50)
    path = tmp_path / "mine.csv"
    pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]).assign(is_bad=y).to_csv(path, index=False)
    (ref,) = resolve_datasets([str(path)], label_column="is_bad")
    X_read, y_read = load_dataset(ref)
    np.testing.assert_allclose(X_read, X)
    np.testing.assert_array_equal(y_read, y)
    (unlabelled,) = resolve_datasets([str(path)])
    with pytest.raises(ValueError, match="no label column"):
        load_dataset(unlabelled)


def test_embedding_sets_and_the_development_group(tmp_path):
    from genad.bench.datasets import DEV_CLASSICAL
    root = make_data_dir(tmp_path, names=[f"{k}_{name}" for k, name in enumerate(DEV_CLASSICAL)] + ["40_wine"])
    kinds = {"CV_by_ResNet18": ("MVTec-AD_bottle", "MVTec-AD_grid"), "NLP_by_BERT": ("20news_3",)}
    for kind, names in kinds.items():
        for name in names:
            (tmp_path / "adbench_embeddings" / kind).mkdir(parents=True, exist_ok=True)
            X, y = planted_table(n=40)
            np.savez(tmp_path / "adbench_embeddings" / kind / f"{name}.npz", X=X, y=y)
    (ref,) = resolve_datasets(["adbench-emb:mvtec-ad_grid"], data_dir=root)
    assert ref.name == "MVTec-AD_grid" and "CV_by_ResNet18" in ref.path
    dev = [r.name for r in resolve_datasets(["dev:tabular"], data_dir=root)]
    assert dev == list(DEV_CLASSICAL) + ["20news_3", "MVTec-AD_bottle", "MVTec-AD_grid"]
    assert "wine" not in dev  # the rest of the suite stays out of development
    with pytest.raises(ValueError, match="unknown development group 'dev:images'.*dev:tabular"):
        resolve_datasets(["dev:images"], data_dir=root)
    with pytest.raises(ValueError, match="unknown ADBench embedding dataset 'cats'"):
        resolve_datasets(["adbench-emb:cats"], data_dir=root)


def test_missing_embedding_folder_says_where_it_looked(tmp_path):
    root = make_data_dir(tmp_path)
    with pytest.raises(FileNotFoundError, match="adbench_embeddings"):
        resolve_datasets(["adbench-emb:all"], data_dir=root)
