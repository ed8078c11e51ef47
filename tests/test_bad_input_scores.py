"""Bad scores, labels and parameters are refused at the door of thresholds and metrics, by name."""
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from genad.metrics import (auprc, auroc, best_f1, point_adjust, point_adjusted_f1, range_auc,
                           range_precision_recall_f1, ranges, vus)
from genad.thresholds import ContaminationThreshold, FPRThreshold, POTThreshold
from genad.timeseries.thresholds import DSPOT, SPOT, DynamicThreshold

REFERENCE = np.arange(100.0)  # enough scores for every rule, POT's default level included
LABELS = np.array([0, 0, 0, 1, 1, 0, 0, 0])
SCORES = np.array([0.1, 0.2, 0.1, 0.9, 0.8, 0.3, 0.2, 0.1])

RULES = {
    "pot": POTThreshold,
    "spot": SPOT,
    "dspot": DSPOT,
    "contamination": ContaminationThreshold,
    "fpr": FPRThreshold,
    "dynamic": lambda: DynamicThreshold(window=10, step=5),
}


# --- thresholds ---------------------------------------------------------------------------------

@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("scores, error, message", [
    (np.r_[REFERENCE, np.nan], ValueError, "1 NaN or infinite"),
    (np.r_[REFERENCE, np.inf], ValueError, "1 NaN or infinite"),
    (None, TypeError, "scores are missing"),
    ([], ValueError, "scores are empty"),
    (["a", "b"], TypeError, "scores must be numeric"),
    (REFERENCE + 1j, TypeError, "real-valued"),
])
def test_threshold_fit_refuses_bad_scores(rule, scores, error, message):
    with pytest.raises(error, match=message):
        RULES[rule]().fit(scores)


@pytest.mark.parametrize("rule", RULES)
def test_threshold_predict_refuses_bad_scores(rule):
    fitted = RULES[rule]().fit(REFERENCE)
    with pytest.raises(ValueError, match="NaN or infinite"):
        fitted.predict([1.0, np.nan])
    with pytest.raises(TypeError, match="scores are missing"):
        fitted.predict(None)


@pytest.mark.parametrize("rule", ["pot", "spot", "dspot", "contamination", "fpr"])
def test_threshold_predict_before_fit_is_named(rule):
    with pytest.raises(NotFittedError, match="call fit"):
        RULES[rule]().predict(REFERENCE)


def test_fpr_p_values_need_fit_and_finite_scores():
    with pytest.raises(NotFittedError, match="call fit"):
        FPRThreshold().p_values(REFERENCE)
    with pytest.raises(ValueError, match="NaN or infinite"):
        FPRThreshold().fit(REFERENCE).p_values([np.nan])


@pytest.mark.parametrize("rule", [POTThreshold, SPOT])
def test_pot_needs_scores_above_its_initial_quantile(rule):
    with pytest.raises(ValueError, match="at least 50 are needed"):
        rule(level=0.98).fit(REFERENCE[:49])
    rule(level=0.98).fit(REFERENCE[:50])  # 1 / (1 - 0.98) scores suffice


def test_dspot_needs_its_window_and_the_calibration_scores():
    with pytest.raises(ValueError, match="at least 60 are needed.*depth=10"):
        DSPOT(depth=10).fit(REFERENCE[:59])
    DSPOT(depth=10).fit(REFERENCE[:60])
    with pytest.raises(ValueError, match="depth"):
        DSPOT(depth=0)


@pytest.mark.parametrize("rule", [POTThreshold, SPOT, DSPOT])
def test_pot_risk_must_be_below_the_share_above_the_initial_quantile(rule):
    with pytest.raises(ValueError, match="risk must be below 1 - level"):
        rule(risk=0.5, level=0.98)


@pytest.mark.parametrize("z_values, error, message", [
    ((np.nan,), ValueError, "z_values entries must be finite"),
    ((), TypeError, "non-empty sequence"),
    ((2.0, -1.0), ValueError, "z_values entries must be in"),
    ((0.0,), ValueError, "z_values entries must be in"),
    ("ab", TypeError, "non-empty sequence"),
])
def test_dynamic_threshold_refuses_bad_z_values(z_values, error, message):
    with pytest.raises(error, match=message):
        DynamicThreshold(z_values=z_values)


def test_dynamic_threshold_fit_needs_two_scores():
    with pytest.raises(ValueError, match="at least 2 are needed"):
        DynamicThreshold().fit([1.0])


# --- metrics of scores --------------------------------------------------------------------------

SCORE_METRICS = {
    "auroc": auroc,
    "auprc": auprc,
    "best_f1": best_f1,
    "point_adjusted_f1": point_adjusted_f1,
    "vus": lambda labels, scores: vus(labels, scores, max_buffer=2),
    "range_auc": lambda labels, scores: range_auc(labels, scores, buffer=2),
}


@pytest.mark.parametrize("metric", SCORE_METRICS)
@pytest.mark.parametrize("labels, scores, error, message", [
    ([], [], ValueError, "labels and scores are empty"),
    (LABELS, SCORES + 1j, TypeError, "real-valued"),
    (LABELS, None, TypeError, "scores are missing"),
    (None, SCORES, TypeError, "labels are missing"),
    (LABELS, ["a"] * 8, TypeError, "scores must be numeric"),
    (["a"] * 8, SCORES, TypeError, "labels must be numeric"),
    (LABELS, np.r_[SCORES[:-1], np.inf], ValueError, "NaN or infinite"),
    (np.r_[LABELS[:-1], 2], SCORES, ValueError, "0 \\(normal\\) and 1"),
    (LABELS, SCORES[:-1], ValueError, "same time steps"),
])
def test_score_metrics_refuse_bad_input(metric, labels, scores, error, message):
    with pytest.raises(error, match=message):
        SCORE_METRICS[metric](labels, scores)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"buffer": -1}, ValueError, "buffer must be in"),
    ({"buffer": 2.5}, TypeError, "buffer must be an integer"),
    ({"buffer": "a"}, TypeError, "buffer must be an integer"),
    ({"buffer": 2, "n_thresholds": 0}, ValueError, "n_thresholds must be in"),
    ({"buffer": 2, "n_thresholds": -1}, ValueError, "n_thresholds must be in"),
    ({"buffer": 2, "n_thresholds": 1}, ValueError, "n_thresholds must be in"),
])
def test_range_auc_checks_its_parameters_like_vus(kwargs, error, message):
    with pytest.raises(error, match=message):
        range_auc(LABELS, SCORES, **kwargs)


# --- metrics of 0/1 predictions -----------------------------------------------------------------

PREDICTION_METRICS = {"point_adjust": point_adjust, "range_precision_recall_f1": range_precision_recall_f1}


@pytest.mark.parametrize("metric", PREDICTION_METRICS)
@pytest.mark.parametrize("labels, predictions, error, message", [
    (LABELS, np.r_[np.zeros(7), np.nan], ValueError, "predictions must hold 0"),
    (LABELS, np.full(8, 0.7), ValueError, "predictions must hold 0"),
    (LABELS, np.full(8, 2), ValueError, "predictions must hold 0"),
    (LABELS, SCORES, ValueError, "threshold scores first"),
    (["a"] * 8, np.zeros(8), TypeError, "labels must be numeric"),
    (LABELS, None, TypeError, "predictions are missing"),
    ([], [], ValueError, "labels and predictions are empty"),
    (LABELS, np.zeros(7), ValueError, "same time steps"),
])
def test_prediction_metrics_refuse_bad_input(metric, labels, predictions, error, message):
    with pytest.raises(error, match=message):
        PREDICTION_METRICS[metric](labels, predictions)


def test_valid_predictions_still_work():
    np.testing.assert_array_equal(point_adjust(LABELS, SCORES > 0.85), LABELS)  # booleans are 0/1
    zeros = {"range_precision": 0.0, "range_recall": 0.0, "range_f1": 0.0}
    assert range_precision_recall_f1(np.zeros(4), [0, 1, 0, 0]) == zeros  # no anomaly to recall: documented


def test_ranges_refuse_missing_and_nan_values():
    with pytest.raises(TypeError, match="values are missing"):
        ranges(None)
    with pytest.raises(ValueError, match="NaN or infinite"):
        ranges([0, np.nan, 1])
