"""The shared core: thresholds, the training loop, persistence, data reading and the registry."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

import genad
from conftest import make_planted
from genad.data import read_table
from genad.thresholds import ContaminationThreshold, FPRThreshold, POTThreshold, make_threshold
from genad.nn import Dropout
from genad.training import DivergenceError, adam, resolve_device, seeded, train_module


# --- thresholds -----------------------------------------------------------------------------------

def test_contamination_threshold_flags_the_requested_share():
    scores = np.arange(1000.0)
    rule = ContaminationThreshold(0.05).fit(scores)
    assert rule.predict(scores).sum() == 50


def test_fpr_threshold_p_values_are_conformal():
    rng = np.random.default_rng(0)
    calibration = rng.normal(size=2000)
    rule = FPRThreshold(0.1).fit(calibration)
    fresh = rng.normal(size=20000)
    assert abs(rule.predict(fresh).mean() - 0.1) < 0.02
    p = rule.p_values(fresh)
    assert abs((p <= 0.1).mean() - 0.1) < 0.02  # valid p-values are uniform under the null
    assert rule.p_values(np.array([100.0]))[0] == pytest.approx(1 / 2001)


def test_pot_recovers_an_exponential_tail_quantile():
    # Exponential(1) scores: the exact quantile at risk q is -log(q).
    scores = np.random.default_rng(0).exponential(size=200_000)
    rule = POTThreshold(risk=1e-4, level=0.98).fit(scores)
    assert rule.threshold_ == pytest.approx(-np.log(1e-4), rel=0.05)
    assert abs(rule.gamma_) < 0.05


def test_pot_on_a_heavy_tail_estimates_a_positive_shape():
    scores = stats.pareto(b=3.0).rvs(size=100_000, random_state=1)
    rule = POTThreshold(risk=1e-3).fit(scores)
    assert rule.gamma_ == pytest.approx(1 / 3, abs=0.08)
    assert rule.threshold_ == pytest.approx(stats.pareto(b=3.0).isf(1e-3), rel=0.15)


def test_auto_contamination_means_pot():
    assert isinstance(make_threshold("auto"), POTThreshold)
    with pytest.raises(ValueError, match="contamination"):
        make_threshold(0.6)


def test_detector_calibrate_controls_false_positives(planted):
    X_train, _, _ = planted
    normal = make_planted(n_normal=3000, seed=5)[0]  # exchangeable normal rows: fit, calibrate, held out
    det = genad.create("ae", epochs=3, random_state=0).fit(normal[:300])
    calibration, held_out = normal[300:1300], normal[1300:]
    for fpr in (0.1, 0.02):
        det.calibrate(calibration, fpr=fpr)
        assert isinstance(det.threshold_rule_, FPRThreshold)
        assert abs(det.predict(held_out).mean() - fpr) < max(0.3 * fpr, 0.01)  # the requested share, not another
    p = det.p_values(held_out)
    assert p.shape == (len(held_out),) and ((p > 0) & (p <= 1)).all()
    for q in (0.05, 0.1, 0.25, 0.5, 0.75, 0.9):  # conformal p-values of new normal rows are about uniform
        assert abs((p <= q).mean() - q) < 0.04, q
    with pytest.raises(ValueError, match="calibrate"):
        genad.create("ae", epochs=1).fit(X_train).p_values(X_train)


# --- training loop --------------------------------------------------------------------------------

def _regression_problem():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 3, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    with seeded(0):  # the same initial weights in every run: these tests must not depend on luck
        module = torch.nn.Linear(3, 1)
    return module, (x, y)


def test_train_module_minimises_the_loss():
    module, data = _regression_problem()
    history = train_module(module, lambda b: (module(b[0]) - b[1]).pow(2).mean(), data,
                           epochs=40, batch_size=64, lr=0.05)
    assert history["loss"][-1] < 1e-3 < history["loss"][0]


def test_min_steps_adds_epochs_until_enough_optimizer_steps():
    module, data = _regression_problem()  # 512 rows: 8 batches of 64 per epoch
    loss = lambda b: (module(b[0]) - b[1]).pow(2).mean()  # noqa: E731
    assert len(train_module(module, loss, data, epochs=2, batch_size=64, min_steps=20)["loss"]) == 3
    assert len(train_module(module, loss, data, epochs=2, batch_size=64, min_steps=16)["loss"]) == 2
    assert len(train_module(module, loss, data, epochs=2, batch_size=511, min_steps=5)["loss"]) == 5  # 1 batch


def test_min_steps_is_checked(planted):
    with pytest.raises(ValueError, match="min_steps"):
        genad.create("ae", min_steps=-1).fit(planted[0])


def test_early_stopping_restores_best_weights_and_stops():
    module, data = _regression_problem()
    history = train_module(module, lambda b: (module(b[0]) - b[1]).pow(2).mean(), data, epochs=500,
                           batch_size=64, lr=0.05, validation_fraction=0.2, patience=3,
                           generator=torch.Generator().manual_seed(0))
    assert len(history["val_loss"]) < 500
    assert min(history["val_loss"]) < 1e-3


def test_callers_validation_rows_and_loss_and_keep_best():
    """Held-out rows and a validation loss of the caller's choosing; keep_best restores the best epoch's
    weights without early stopping."""
    module, data = _regression_problem()
    train, held_out = tuple(t[:200] for t in data), tuple(t[200:] for t in data)
    squared = lambda b: (module(b[0]) - b[1]).pow(2).mean()  # noqa: E731
    absolute = lambda b: (module(b[0]) - b[1]).abs().mean()  # noqa: E731
    # lr 1.0 overshoots: the validation loss is lowest in epoch 28 of 30, not at the end
    history = train_module(module, squared, train, epochs=30, batch_size=64, lr=1.0, validation_data=held_out,
                           validation_loss_fn=absolute, keep_best=True, generator=torch.Generator().manual_seed(0))
    assert len(history["val_loss"]) == 30 and history["val_loss"][-1] > 1.2 * min(history["val_loss"])
    with torch.no_grad():
        assert float(absolute(held_out)) == pytest.approx(min(history["val_loss"]), rel=1e-5)


def test_nan_loss_stops_with_a_clear_error():
    module, data = _regression_problem()
    with pytest.raises(DivergenceError, match="diverged"):
        train_module(module, lambda b: module(b[0]).sum() * float("nan"), data, epochs=2, batch_size=64)


def test_diverging_model_raises_at_fit(planted):
    X_train, _, _ = planted
    with pytest.raises(FloatingPointError):
        genad.create("ae", lr=1e12, epochs=20, random_state=0).fit(X_train * 1e6)


def test_seeded_does_not_touch_global_rng():
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    with seeded(5):
        torch.rand(10)
    assert torch.equal(torch.rand(1), expected)


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            resolve_device("cuda")


# --- persistence ----------------------------------------------------------------------------------

def test_load_rejects_foreign_and_corrupt_files(tmp_path, planted):
    X_train, _, _ = planted
    foreign = tmp_path / "foreign.genad"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(ValueError, match="not a genad model"):
        genad.load(foreign)
    good = tmp_path / "good.genad"
    genad.create("ae", epochs=1, random_state=0).fit(X_train).save(good)
    corrupt = tmp_path / "corrupt.genad"
    corrupt.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(ValueError, match="not a readable genad model"):
        genad.load(corrupt)
    text = tmp_path / "text.genad"
    text.write_text("hello")
    with pytest.raises(ValueError):
        genad.load(text)


def test_unfitted_detector_cannot_score_or_save(planted, tmp_path):
    from sklearn.exceptions import NotFittedError

    det = genad.create("ae")
    with pytest.raises(NotFittedError):
        det.decision_function(planted[1])
    with pytest.raises(NotFittedError):
        det.save(tmp_path / "x.genad")


def test_save_and_load_name_a_bad_path(planted, tmp_path):
    det = genad.create("ae", epochs=1, random_state=0).fit(planted[0])
    with pytest.raises(TypeError, match="path must be"):
        det.save(None)
    with pytest.raises(ValueError, match="does not exist"):
        det.save(tmp_path / "missing" / "m.genad")
    with pytest.raises(ValueError, match="is a folder"):
        det.save(tmp_path)
    no_model = tmp_path / "no_model.genad"
    torch.save({"format": "genad-model", "format_version": 1}, no_model)
    with pytest.raises(ValueError, match="does not hold a genad detector"):
        genad.load(no_model)


def test_a_failed_refit_leaves_the_fitted_detector_as_it_was(planted, monkeypatch):
    X_train, X_test, _ = planted
    det = genad.create("ae", epochs=1, random_state=0).fit(X_train)
    scores, threshold, module = det.decision_function(X_test), det.threshold_, det.module_

    def fail(data):
        raise RuntimeError("failed after training")
    monkeypatch.setattr(det, "_after_training", fail)
    with pytest.raises(RuntimeError, match="failed after training"):
        det.fit(X_train[:, :3])
    assert det.module_ is module and det.n_features_in_ == X_train.shape[1] and det.threshold_ == threshold
    np.testing.assert_array_equal(det.decision_function(X_test), scores)


@pytest.mark.parametrize("name, bad, error, fragment", [
    ("ae", {"activation": "foo"}, ValueError, "activation"),
    ("ae", {"activation": ["relu"]}, ValueError, "activation"),
    ("ae", {"batch_norm": "x"}, ValueError, "batch_norm"),
    ("ae", {"batch_size": 1}, ValueError, "batch_norm"),
    ("ae", {"verbose": "no"}, ValueError, "verbose"),
    ("ae", {"device": "gpu"}, ValueError, "device"),
    ("cae_ocsvm", {"nu": 1.0}, ValueError, "nu"),
])
def test_parameters_that_would_fail_inside_training_are_rejected_at_fit(planted, name, bad, error, fragment):
    with pytest.raises(error, match=fragment):
        genad.create(name, epochs=1, **bad).fit(planted[0])


@pytest.mark.parametrize("name, bad", [("ddpm_recon", {"t_start": 10 ** 6}), ("dsebm", {"score": "foo"}),
                                       ("iwae", {"k_score": 0})])
def test_parameters_changed_after_fit_are_checked_before_scoring(planted, name, bad):
    det = genad.create(name, epochs=1, random_state=0).fit(planted[0])
    det.set_params(**bad)
    with pytest.raises(ValueError, match=next(iter(bad))):
        det.decision_function(planted[1])


def test_dataframe_columns_must_match_those_seen_in_fit(planted):
    X_train, X_test, _ = planted
    names = [f"f{i}" for i in range(X_train.shape[1])]
    det = genad.create("ae", epochs=1, random_state=0).fit(pd.DataFrame(X_train, columns=names))
    assert det.feature_names_in_ == names
    same = det.decision_function(pd.DataFrame(X_test, columns=names))
    np.testing.assert_array_equal(same, det.decision_function(X_test))  # arrays are taken as they are
    with pytest.raises(ValueError, match="another order"):
        det.decision_function(pd.DataFrame(X_test, columns=names)[names[::-1]])
    with pytest.raises(ValueError, match="missing"):
        det.decision_function(pd.DataFrame(X_test, columns=[*names[:-1], "other"]))


def test_patience_without_a_validation_split_and_2d_labels_are_refused(planted):
    with pytest.raises(ValueError, match="validation_fraction"):
        genad.create("ae", epochs=1, patience=3).fit(planted[0])
    from genad.validation import as_labels

    with pytest.raises(ValueError, match="must be 1-D"):
        as_labels(np.zeros((2, 30)), 60)


def test_explain_never_returns_silent_infinities(planted, monkeypatch):
    det = genad.create("ae", epochs=1, random_state=0).fit(planted[0])
    monkeypatch.setattr(det, "_explain", lambda X: np.full(X.shape, np.inf))
    with pytest.raises(FloatingPointError, match="non-finite explanations"):
        det.explain(planted[1])


def test_input_beyond_float32_sparse_and_bfloat16_get_clear_answers():
    from scipy import sparse

    from genad.validation import as_2d_float

    with pytest.raises(ValueError, match="float32 range"):
        as_2d_float(np.ones((3, 2)) * 1e39)
    with pytest.raises(TypeError, match="sparse"):
        as_2d_float(sparse.csr_matrix(np.ones((3, 2))))
    assert as_2d_float(torch.ones(3, 2, dtype=torch.bfloat16)).dtype == np.float32


# --- data in --------------------------------------------------------------------------------------

def test_read_table_formats(tmp_path):
    X = np.arange(12.0).reshape(4, 3)
    y = np.array([0, 1, 0, 0])
    np.savez(tmp_path / "d.npz", X=X, y=y)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(label=y)
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet")
    for name in ("d.npz", "d.csv", "d.parquet"):
        X_read, y_read = read_table(tmp_path / name)
        np.testing.assert_array_equal(np.asarray(X_read, dtype=float), X)
        np.testing.assert_array_equal(y_read, y)
    with pytest.raises(ValueError, match="label column"):
        read_table(tmp_path / "d.csv", label_column="missing")
    (tmp_path / "d.txt").write_text("1")
    with pytest.raises(ValueError, match="unsupported"):
        read_table(tmp_path / "d.txt")
    with pytest.raises(FileNotFoundError):
        read_table(tmp_path / "absent.csv")


def test_detectors_accept_files(tmp_path, planted):
    X_train, _, _ = planted
    np.savez(tmp_path / "train.npz", X=X_train)
    det = genad.create("ae", epochs=1, random_state=0).fit(tmp_path / "train.npz")
    assert det.n_features_in_ == X_train.shape[1]


# --- registry -------------------------------------------------------------------------------------

def test_unknown_model_name_lists_known_names():
    with pytest.raises(ValueError, match="known models: .*ae"):
        genad.create("no_such_model")


def test_unknown_parameter_is_a_type_error():
    with pytest.raises(TypeError, match="ae"):
        genad.create("ae", no_such_param=1)


def test_a_one_row_last_batch_is_folded_into_the_previous_one(planted):
    X_train, _, _ = planted
    det = genad.create("ae", epochs=1, batch_size=len(X_train) - 1, batch_norm=True, random_state=0)
    det.fit(X_train)  # would fail inside batch norm on a one-row batch
    assert np.isfinite(det.decision_scores_).all()


def test_dropout_drops_at_rate_p_keeps_the_mean_and_is_seeded():
    with seeded(0):
        layer = Dropout(0.2)
    x = torch.ones(400, 500, requires_grad=True)
    y = layer(x)
    kept = y != 0
    assert abs(1 - kept.float().mean().item() - 0.2) < 0.005  # drop rate p
    assert abs(y.mean().item() - 1.0) < 0.01  # inverted dropout keeps the expectation
    y.sum().backward()
    assert torch.equal(x.grad != 0, kept)  # gradients flow through kept units only
    with seeded(0):
        again = Dropout(0.2)
    assert torch.equal(again(torch.ones(400, 500)), y.detach())  # same seed, same masks
    layer.eval()
    assert torch.equal(layer(x), x)
    with pytest.raises(ValueError, match="dropout rate"):
        Dropout(1.0)


def test_adam_is_fused_on_cpu_and_trains():
    with seeded(0):
        net = torch.nn.Linear(3, 1)
        x = torch.randn(64, 3)
    optimizer = adam(net.parameters(), lr=0.1)
    assert optimizer.defaults["fused"]
    target = x @ torch.tensor([1.0, -2.0, 0.5]) + 1
    for _ in range(300):
        optimizer.zero_grad()
        loss = (net(x).squeeze(1) - target).pow(2).mean()
        loss.backward()
        optimizer.step()
    assert loss.item() < 1e-3
