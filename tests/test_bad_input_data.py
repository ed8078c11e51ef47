"""Bad input at the data doors: read_table, the stream and time-series loaders, the registry, the demo.

Every case is a tiny fake file in ``tmp_path``; no real data is read. Each error must name the file (or
the parameter) and the problem, never surface from deep inside pandas, numpy or pickle.
"""
from __future__ import annotations

import gzip
import json
import pickle
import shutil
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest

import genad
from genad.data import asd_entities, load_asd, load_nab, load_smd, nab_series, read_table, smd_machines
from genad.data.streams import STREAMS, load_concept_drift, load_stream

SMD = ("smd", "processed_interfusion")


# --- read_table -----------------------------------------------------------------------------------

def write(path, text: str):
    path.write_text(text)
    return path


@pytest.mark.parametrize("value, match", [(b"data.csv", "decode it"), (3, "got int 3"), (None, "got NoneType"),
                                          (["a.csv"], "got list")])
def test_read_table_wants_a_path(value, match):
    with pytest.raises(TypeError, match=f"path must be a str or pathlib.Path.*{match}"):
        read_table(value)


def test_read_table_refuses_folders_empty_files_and_other_types(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        read_table(tmp_path / "absent.csv")
    (tmp_path / "dir.csv").mkdir()
    for folder in (tmp_path, tmp_path / "dir.csv"):
        with pytest.raises(ValueError, match="is a folder"):
            read_table(folder)
    with pytest.raises(ValueError, match="empty.csv is empty"):
        read_table(write(tmp_path / "empty.csv", ""))
    (tmp_path / "d.csv.gz").write_bytes(gzip.compress(b"a\n1\n"))
    with pytest.raises(ValueError, match="'.gz'.*decompress it first"):
        read_table(tmp_path / "d.csv.gz")
    for name in ("d.txt", "d.xlsx", "d.pkl", "noext"):
        with pytest.raises(ValueError, match="unsupported data file type"):
            read_table(write(tmp_path / name, "1"))
    with pytest.raises(TypeError, match="label_column must be a column name"):
        read_table(write(tmp_path / "ok.csv", "a\n1\n"), label_column=3)


@pytest.mark.parametrize("text, error, match", [
    ("a,b,label\n", ValueError, "has no data rows"),
    ("label\n0\n1\n", ValueError, "no feature columns"),
    ("a,b\n1,x\n2,y\n", TypeError, r"column 'b' is not numeric \(it holds \['x'\]\)"),
    ("a,b\n1,2\nx,3\n", TypeError, r"column 'a' is not numeric \(it holds \['x'\]\)"),
    ("a,b\n1,2,3\n4,5\n", ValueError, "more fields than the header"),
    ("a,y,label\n1,0,1\n", ValueError, "both 'y' and 'label'"),
])
def test_read_table_checks_csv_contents(tmp_path, text, error, match):
    path = write(tmp_path / "d.csv", text)
    with pytest.raises(error, match=match) as info:
        read_table(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("values", ["normal,attack", "0,2", "0,", "1,None"])
def test_read_table_labels_must_be_0_or_1(tmp_path, values):
    first, second = values.split(",")
    path = write(tmp_path / "d.csv", f"a,label\n1,{first}\n2,{second}\n")
    with pytest.raises(ValueError, match=r"d.csv: the label column 'label' must hold 0 \(normal\) and 1"):
        read_table(path)


def test_read_table_keeps_valid_files_as_they_were(tmp_path):
    # 0/1 labels as floats or booleans pass unchanged; so does a header of pandas' own names 0, 1, ...
    X, y = read_table(write(tmp_path / "f.csv", "a,label\n1,0.0\n2,1.0\n"))
    assert y.dtype == np.float64 and list(y) == [0.0, 1.0] and list(X.columns) == ["a"]
    X, y = read_table(write(tmp_path / "b.csv", "0,1,label\n1,2,True\n3,4,False\n"))
    assert y.dtype == bool and X.shape == (2, 2)
    X, y = read_table(write(tmp_path / "g.csv", "a,b\n1,\n2,3\n"))  # a gap is the detector's to report
    assert y is None and np.isnan(X["b"][0])
    X, y = read_table(write(tmp_path / "z.csv", "a,y,label\n1,0,1\n"), label_column="y")
    assert list(X.columns) == ["a", "label"] and list(y) == [0]


def test_read_table_checks_npz_archives(tmp_path):
    def npz(name, **arrays):
        np.savez(tmp_path / name, **arrays)
        return tmp_path / name

    cases = [
        (npz("a.npz", A=np.zeros((3, 2))), ValueError, "has no array 'X'"),
        (npz("b.npz", X=np.zeros(3)), ValueError, r"'X' must be 2-D .* shape \(3,\)"),
        (npz("c.npz", X=np.zeros((3, 2, 2))), ValueError, r"'X' must be 2-D .* shape \(3, 2, 2\)"),
        (npz("d.npz", X=np.zeros((0, 2))), ValueError, "'X' is empty"),
        (npz("e.npz", X=np.array([["a", "b"]])), TypeError, "'X' must be numeric"),
        (npz("f.npz", X=np.zeros((3, 2)), y=np.zeros(4)), ValueError, "'y' has 4 labels but X has 3 rows"),
        (npz("g.npz", X=np.zeros((3, 2)), y=np.array([0, 2, 1])), ValueError, "must hold 0"),
        (npz("h.npz", X=np.array([[1, None]], dtype=object)), ValueError, "could not read .* as .npz"),
    ]
    for path, error, match in cases:
        with pytest.raises(error, match=match) as info:
            read_table(path)
        assert str(path) in str(info.value)
    with pytest.raises(ValueError, match="label array 'zz' not in"):
        read_table(tmp_path / "f.npz", label_column="zz")


def test_read_table_refuses_files_that_are_not_npz_archives(tmp_path):
    (tmp_path / "garbage.npz").write_bytes(b"garbage")
    np.save(tmp_path / "plain.npy", np.zeros((3, 2)))
    shutil.copy(tmp_path / "plain.npy", tmp_path / "plain.npz")
    for name in ("garbage.npz", "plain.npz"):
        with pytest.raises(ValueError, match="not a numpy .npz"):
            read_table(tmp_path / name)
    with zipfile.ZipFile(tmp_path / "member.npz", "w") as archive:
        archive.writestr("X.npy", b"not an array")  # numpy would hand back these raw bytes
    with pytest.raises(ValueError, match="member 'X' is not a numpy array"):
        read_table(tmp_path / "member.npz")


# --- time series: SMD, ASD, NAB -------------------------------------------------------------------

def pickle_series(folder, name, train, test, labels):
    folder.mkdir(parents=True, exist_ok=True)
    for part, array in (("train", train), ("test", test), ("test_label", labels)):
        with open(folder / f"{name}_{part}.pkl", "wb") as handle:
            pickle.dump(array, handle)


@pytest.fixture
def smd_root(tmp_path):
    pickle_series(tmp_path.joinpath(*SMD), "machine-9-1", np.ones((20, 3), np.float32), np.ones((10, 3), np.float32),
                  np.r_[np.zeros(8), np.ones(2)].astype(np.float32))
    return tmp_path


def test_smd_reads_a_good_machine(smd_root):
    series = load_smd("machine-9-1", smd_root)
    assert series.train.shape == (20, 3) and series.labels.dtype == np.int64 and series.labels.sum() == 2


@pytest.mark.parametrize("train, test, labels, match", [
    (np.ones((20, 3)), np.ones((10, 4)), np.zeros(10), "training series has 3 channels .* test series has 4"),
    (np.ones((20, 3)), np.ones((10, 3)), np.zeros(12), "has 12 labels but the test series .* has 10 steps"),
    (np.ones((20, 3)), np.ones((10, 3)), np.r_[np.zeros(9), 2.0], r"must hold 0 \(normal\) and 1"),
    (np.ones((20, 3)), np.ones((10, 3)), np.r_[np.zeros(9), np.nan], r"must hold 0 \(normal\) and 1"),
    (np.ones(20), np.ones((10, 3)), np.zeros(10), r"2-D \(time steps, channels\) array, got shape \(20,\)"),
    (np.ones((0, 3)), np.ones((10, 3)), np.zeros(10), r"got shape \(0, 3\)"),
    (np.ones((20, 3)), np.ones((10, 3)), np.zeros((10, 2)), "one label per test step"),
])
def test_smd_checks_the_three_files_against_each_other(tmp_path, train, test, labels, match):
    pickle_series(tmp_path.joinpath(*SMD), "machine-9-2", train, test, labels)
    with pytest.raises(ValueError, match=match) as info:
        load_smd("machine-9-2", tmp_path)
    assert "machine-9-2" in str(info.value)


def test_smd_names_a_corrupt_or_non_numeric_pickle(smd_root):
    folder = smd_root.joinpath(*SMD)
    good = (folder / "machine-9-1_train.pkl").read_bytes()
    for name in ("machine-9-3", "machine-9-4"):
        shutil.copy(folder / "machine-9-1_test.pkl", folder / f"{name}_test.pkl")
        shutil.copy(folder / "machine-9-1_test_label.pkl", folder / f"{name}_test_label.pkl")
    (folder / "machine-9-3_train.pkl").write_bytes(good[: len(good) // 2])  # truncated
    (folder / "machine-9-4_train.pkl").write_bytes(b"garbage bytes")
    for name in ("machine-9-3", "machine-9-4"):
        with pytest.raises(ValueError, match=f"could not read .*{name}_train.pkl: a truncated or corrupt pickle"):
            load_smd(name, smd_root)
    with open(folder / "machine-9-3_train.pkl", "wb") as handle:
        pickle.dump({"not": "an array"}, handle)
    with pytest.raises(TypeError, match="machine-9-3_train.pkl must be numeric"):
        load_smd("machine-9-3", smd_root)
    (folder / "machine-9-4_test_label.pkl").unlink()
    (folder / "machine-9-4_train.pkl").write_bytes(good)
    with pytest.raises(FileNotFoundError, match="missing data file .*machine-9-4_test_label.pkl"):
        load_smd("machine-9-4", smd_root)


@pytest.mark.parametrize("name, error, match", [
    ("machine-0-0", ValueError, "unknown SMD series 'machine-0-0' .* known: machine-9-1"),
    (None, TypeError, "series name must be a str"),
    (3, TypeError, "series name must be a str"),
    ("../../machine-9-1", ValueError, "bad SMD series name"),
    ("", ValueError, "bad SMD series name"),
])
def test_smd_names_must_be_known(smd_root, name, error, match):
    with pytest.raises(error, match=match):
        load_smd(name, smd_root)


def test_time_series_data_folder_must_exist_and_hold_the_suite(tmp_path, smd_root, monkeypatch):
    for lister in (smd_machines, asd_entities, nab_series):
        with pytest.raises(FileNotFoundError, match="looked in"):
            lister(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    for lister, sub in ((smd_machines, "smd/processed_interfusion/"), (asd_entities, "asd/processed/"),
                        (nab_series, "nab/")):
        with pytest.raises(FileNotFoundError, match=f"with {sub} not found; looked in: {empty}"):
            lister(empty)
    with pytest.raises(TypeError, match="data folder must be a str"):
        smd_machines(3)
    # GENAD_DATA naming a missing folder is an error, not a silent fall-back to other data
    monkeypatch.setenv("GENAD_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_smd("machine-9-1")
    monkeypatch.setenv("GENAD_DATA", str(smd_root))
    assert smd_machines() == ["machine-9-1"]


def test_asd_lists_odd_names_after_the_numbered_ones(tmp_path):
    folder = tmp_path / "asd" / "processed"
    for name in ("omi-10", "omi-2", "other"):
        pickle_series(folder, name, np.ones((4, 2)), np.ones((3, 2)), np.zeros(3))
    assert asd_entities(tmp_path) == ["omi-2", "omi-10", "other"]
    with pytest.raises(ValueError, match="unknown ASD series 'omi-99'"):
        load_asd("omi-99", tmp_path)


@pytest.fixture
def nab_root(tmp_path):
    (tmp_path / "nab" / "labels").mkdir(parents=True)
    (tmp_path / "nab" / "data" / "f").mkdir(parents=True)
    stamps = pd.date_range("2020-01-01", periods=20, freq="min")
    pd.DataFrame({"timestamp": stamps, "value": np.arange(20.0)}).to_csv(tmp_path / "nab/data/f/a.csv", index=False)
    windows = {"f/a.csv": [[str(stamps[15]), str(stamps[17])]], "f/gone.csv": [], "f/badwin.csv": [["x", "y"]],
               "f/noval.csv": [], "f/text.csv": []}
    (tmp_path / "nab/labels/combined_windows.json").write_text(json.dumps(windows))
    pd.DataFrame({"timestamp": stamps[:3], "value": 1.0}).to_csv(tmp_path / "nab/data/f/badwin.csv", index=False)
    pd.DataFrame({"timestamp": stamps[:3], "v": 1.0}).to_csv(tmp_path / "nab/data/f/noval.csv", index=False)
    pd.DataFrame({"timestamp": stamps[:3], "value": ["1", "x", "2"]}).to_csv(tmp_path / "nab/data/f/text.csv",
                                                                             index=False)
    return tmp_path


def test_nab_reads_a_good_series(nab_root):
    series = load_nab("f/a.csv", nab_root)
    assert series.train.shape == (3, 1) and series.labels.sum() == 3


@pytest.mark.parametrize("key, kwargs, error, match", [
    ("f/zzz.csv", {}, ValueError, "unknown NAB series 'f/zzz.csv'"),
    (None, {}, TypeError, "NAB series key must be a str"),
    ("f/gone.csv", {}, FileNotFoundError, "missing NAB data file .*gone.csv"),
    ("f/badwin.csv", {}, ValueError, "label window of f/badwin.csv has a bad time 'x'"),
    ("f/noval.csv", {}, ValueError, "noval.csv has no 'value' column"),
    ("f/text.csv", {}, ValueError, "text.csv: the 'value' column holds values that are not numbers"),
    ("f/a.csv", {"train_fraction": 0.0}, ValueError, r"train_fraction must be in \(0.0, 1.0\)"),
    ("f/a.csv", {"train_fraction": 1.5}, ValueError, r"train_fraction must be in \(0.0, 1.0\)"),
    ("f/a.csv", {"train_fraction": "0.1"}, TypeError, "train_fraction must be a number"),
    ("f/a.csv", {"train_fraction": 0.01}, ValueError, "leaves no training steps"),
    ("f/a.csv", {"max_train": 0}, ValueError, "max_train must be"),
])
def test_nab_names_the_bad_series_or_parameter(nab_root, key, kwargs, error, match):
    with pytest.raises(error, match=match):
        load_nab(key, nab_root, **kwargs)


@pytest.mark.parametrize("text, match", [("{not json", "could not read NAB label file"),
                                         ("[1, 2]", "must map each series to a list of"),
                                         ('{"f/a.csv": [["2020"]]}', "must map each series to a list of")])
def test_nab_label_file_must_be_windows(nab_root, text, match):
    (nab_root / "nab/labels/combined_windows.json").write_text(text)
    with pytest.raises(ValueError, match=match):
        nab_series(nab_root)


# --- streams ----------------------------------------------------------------------------------------

@pytest.fixture
def stream_root(tmp_path):
    folder = tmp_path / "streaming" / "memstream"
    folder.mkdir(parents=True)
    write(folder / "syn.txt", "0.1\n0.2\n0.3\n")
    write(folder / "synlabel.txt", "0\n0\n1\n")
    return tmp_path


@pytest.mark.parametrize("name, error, match", [("nope", ValueError, "unknown stream 'nope'; expected one of"),
                                                (None, TypeError, "stream name must be a str"),
                                                (3, TypeError, "stream name must be a str")])
def test_stream_names_must_be_known(stream_root, name, error, match):
    with pytest.raises(error, match=match) as info:
        load_stream(name, stream_root)
    assert "nsl_kdd" in str(info.value)  # the list shows every stream, not only the ADBench ones


def test_syn_reads_a_good_stream(stream_root):
    X, y = load_stream("syn", stream_root)
    assert X.shape == (3, 1) and X.dtype == np.float32 and y.dtype == np.int64 and list(y) == [0, 0, 1]


@pytest.mark.parametrize("data, labels, match", [
    ("0.1\n0.2\n0.3\n", "0\n1\n", "synlabel.txt has 2 labels but .*syn.txt has 3 records"),
    ("0.1\n0.2\n0.3\n", "0\n1\n2\n", r"synlabel.txt must hold 0 \(normal\) and 1"),
    ("0.1\n0.2\n0.3\n", "0\nnormal\n1\n", "could not read SYN label file .*synlabel.txt"),
    ("0.1\nx\n0.3\n", "0\n1\n0\n", "could not read SYN file .*syn.txt"),
    ("", "0\n", "could not read SYN file .*syn.txt"),
    ("1,2\n3,4\n", "0\n1\n", "syn.txt must hold one value a line, got 2 columns"),
])
def test_syn_files_are_checked(stream_root, data, labels, match):
    folder = stream_root / "streaming" / "memstream"
    write(folder / "syn.txt", data)
    write(folder / "synlabel.txt", labels)
    with pytest.raises(ValueError, match=match):
        load_stream("syn", stream_root)


def test_stream_files_and_folders_must_exist(stream_root, tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="missing NSL-KDD file"):
        load_stream("nsl_kdd", stream_root)
    with pytest.raises(FileNotFoundError, match="no folder with adbench_classical/ found"):
        load_stream("cardio", stream_root)
    monkeypatch.setenv("GENAD_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="no folder with streaming/ found; looked in .*nowhere"):
        load_stream("syn")
    with pytest.raises(TypeError, match="data_dir must be a str"):
        load_stream("syn", 3)


def test_nsl_kdd_records_need_every_field(stream_root):
    folder = stream_root / "streaming" / "nsl_kdd"
    folder.mkdir()
    record = ",".join(["0", "tcp", "http", "SF"] + ["1"] * 37 + ["normal", "21"])
    write(folder / "KDDTrain+_20Percent.txt", record + "\n")
    write(folder / "KDDTest+.txt", record + "\n" + record.replace("normal", "neptune") + "\n")
    X, y = load_stream("nsl_kdd", stream_root)
    assert X.shape == (3, 41) and list(y) == [0, 0, 1]
    write(folder / "KDDTest+.txt", record + "\n1,2,3\n")  # would become NaN features labelled "attack"
    with pytest.raises(ValueError, match=r"KDDTest\+.txt: every record must have 43 fields"):
        load_stream("nsl_kdd", stream_root)
    write(folder / "KDDTest+.txt", record.replace(",1,", ",x,", 1) + "\n")
    with pytest.raises(ValueError, match="hold values that are not numbers"):
        load_stream("nsl_kdd", stream_root)


def test_adbench_streams_check_their_file(stream_root):
    folder = stream_root / "adbench_classical"
    folder.mkdir()
    np.savez(folder / "6_cardio.npz", X=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="6_cardio.npz has no labels"):
        load_stream("cardio", stream_root)
    np.savez(folder / "6_cardio.npz", X=np.zeros((3, 2)), y=np.zeros(4))
    with pytest.raises(ValueError, match="6_cardio.npz: .* has 4 labels but X has 3 rows"):
        load_stream("cardio", stream_root)
    (folder / "6_cardio.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="6_cardio.npz .*not a numpy .npz"):
        load_stream("cardio", stream_root)


@pytest.mark.parametrize("kwargs, error, match", [({"share": 2.0}, ValueError, "share must be in"),
                                                  ({"share": -0.1}, ValueError, "share must be in"),
                                                  ({"seed": "a"}, TypeError, "seed must be an integer"),
                                                  ({"share": 0.5}, ValueError, "cannot plant 1 anomalies")])
def test_concept_drift_parameters(stream_root, kwargs, error, match):
    write(stream_root / "streaming" / "memstream" / "conceptdriftdata.txt", "0.1\n0.2\n")
    with pytest.raises(error, match=match):
        load_concept_drift(stream_root, **kwargs)


# --- registry and demo ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, error, match", [
    ("nope", ValueError, "unknown model 'nope'; known models: .*ae"),
    ("AE", ValueError, "did you mean 'ae'"),
    ("ae?epochs=5", ValueError, "parse_spec"),
    (None, TypeError, "model name must be a str .* known models: .*ae"),
    (3, TypeError, "model name must be a str"),
    (["ae"], TypeError, "model name must be a str"),
])
def test_registry_names(name, error, match):
    for call in (genad.create, genad.get_info):
        with pytest.raises(error, match=match):
            call(name)


def test_create_takes_parameters_as_keywords():
    with pytest.raises(TypeError, match=r"as keywords.*genad.create\('ae', \*\*params\)"):
        genad.create("ae", {"epochs": 5})
    with pytest.raises(TypeError, match="bad parameter for model 'ae'"):
        genad.create("ae", epochs_=5)
    assert genad.create("ae", epochs=2).epochs == 2


@pytest.mark.parametrize("kwargs, error, match", [({"modality": "audio"}, ValueError, "unknown modality 'audio'"),
                                                  ({"modality": "Tabular"}, ValueError, "known: tabular"),
                                                  ({"family": "nope"}, ValueError, "unknown family 'nope'"),
                                                  ({"modality": 3}, TypeError, "modality must be a str"),
                                                  ({"family": ["hybrid"]}, TypeError, "family must be a str")])
def test_list_models_filters_must_exist(kwargs, error, match):
    with pytest.raises(error, match=match):
        genad.list_models(**kwargs)


def test_list_models_filters_still_filter():
    assert {i.name for i in genad.list_models(modality="stream")} >= {"memstream", "meter"}
    assert all(i.family == "hybrid" for i in genad.list_models(family="hybrid"))
    assert set(STREAMS) >= {"syn", "nsl_kdd"}


@pytest.mark.parametrize("kwargs, error, match", [({"epochs": 0}, ValueError, "epochs must be in"),
                                                  ({"epochs": "5"}, TypeError, "epochs must be an integer"),
                                                  ({"seed": -1}, ValueError, "seed must be in"),
                                                  ({"seed": 1.5}, TypeError, "seed must be an integer")])
def test_demo_checks_its_parameters_before_any_work(kwargs, error, match):
    from genad.demo import run_demo

    with pytest.raises(error, match=match):
        run_demo(**kwargs)


def test_numeric_column_names_are_a_header_like_any_other_but_warned_about(tmp_path):
    """Wavelengths or thresholds as column names (450.5, 455.7) are names, so the file is read as it is; but a
    file without a header row looks the same and would lose its first row, so genad says so."""
    with pytest.warns(UserWarning, match=r"every column name of .*bands.csv is a number \(450.5, 455.7\).*no header"):
        X, y = read_table(write(tmp_path / "bands.csv", "450.5,455.7\n0.1,0.2\n0.3,0.4\n"))
    assert X.shape == (2, 2) and y is None


@pytest.mark.parametrize("header", ["a,b", "0,1", "band_450,1e3x"])
def test_named_columns_and_pandas_default_names_give_no_warning(tmp_path, header):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X, _ = read_table(write(tmp_path / "named.csv", f"{header}\n0.1,0.2\n"))
    assert X.shape == (1, 2)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_time_stamp_column_in_a_file_is_named_with_the_way_to_keep_it(tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=30, freq="h"), "v": np.arange(30.0)})
    path = tmp_path / f"t{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path)
    with pytest.raises(TypeError, match=r"column 'when' holds time stamps \('2024-01-01 00:00:00', \.\.\.\).*"
                                        r"set_index\('when'\)"):
        genad.create("ae").fit(path)


def test_text_that_is_not_a_time_keeps_the_encoding_message(tmp_path):
    pd.DataFrame({"proto": ["tcp", "udp"] * 15, "v": np.arange(30.0)}).to_csv(tmp_path / "p.csv", index=False)
    with pytest.raises(TypeError, match="encode text/categorical"):
        genad.create("ae").fit(tmp_path / "p.csv")
