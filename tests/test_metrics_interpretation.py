"""HitRate@P%, NDCG@P% and segment-wise IPS of per-channel explanations: hand-computed cases, ties, and
scikit-learn's NDCG."""
import numpy as np
import pytest
from sklearn.metrics import ndcg_score

from genad.data.timeseries import read_interpretation
from genad.metrics.interpretation import interpretation_performance_score, interpretation_scores, random_hit_rate


def test_hand_computed_case():
    # channels 0 and 3 explain the step; ranking 0, 2, 3, 1. @100%: top 2 = {0, 2}; @150%: top 3 = {0, 2, 3}
    contributions, channels = np.array([[0.9, 0.1, 0.5, 0.3]]), np.array([[1, 0, 0, 1]])
    result = interpretation_scores(contributions, channels)
    ideal = 1 + 1 / np.log2(3)
    assert result["hit@100"] == pytest.approx(0.5) and result["hit@150"] == pytest.approx(1.0)
    assert result["ndcg@100"] == pytest.approx(1 / ideal)
    assert result["ndcg@150"] == pytest.approx((1 + 1 / np.log2(4)) / ideal)


def test_steps_without_labelled_channels_are_skipped():
    contributions, channels = np.array([[0.9, 0.1, 0.5, 0.3]]), np.array([[1, 0, 0, 1]])
    padded = interpretation_scores(np.r_[contributions, [[5, 4, 3, 2]]], np.r_[channels, [[0, 0, 0, 0]]])
    assert padded == interpretation_scores(contributions, channels)


def test_ips_ranks_each_segment_once_by_its_largest_contributions_and_weighs_it_by_its_steps():
    # steps 0-2: channel 0 explains them; it stands out only at step 1 (the segment's worst moment)
    # steps 3-4: channels 1 and 2 (a new channel set starts a new segment); step 5 unlabelled
    contributions = np.array([[0.1, 0.5, 0.2], [0.9, 0.5, 0.2], [0.1, 0.5, 0.2],
                              [0.3, 0.8, 0.1], [0.3, 0.8, 0.1], [9.0, 0.0, 0.0]])
    channels = np.array([[1, 0, 0], [1, 0, 0], [1, 0, 0], [0, 1, 1], [0, 1, 1], [0, 0, 0]])
    step_wise = interpretation_scores(contributions, channels)
    assert step_wise["hit@100"] == pytest.approx((0 + 1 + 0 + 0.5 + 0.5) / 5)
    ips = interpretation_performance_score(contributions, channels)
    # first segment: maxima (0.9, 0.5, 0.2) put channel 0 first: 1 for each of its 3 steps; second: 1/2 for 2 steps
    assert ips["ips@100"] == pytest.approx((3 * 1 + 2 * 0.5) / 5)
    assert ips["ips@150"] == pytest.approx((3 * 1 + 2 * 1.0) / 5)  # floor(1.5 x 2) = 3 places for the second
    # only the steps a detector flagged: the first segment without its worst moment, so channel 1 leads there
    flagged = np.array([1, 0, 1, 0, 1, 1])
    assert interpretation_performance_score(contributions, channels, steps=flagged)["ips@100"] == pytest.approx(
        (2 * 0 + 1 * 0.5) / 3)
    # the step-wise HitRate on the same steps: steps 0 and 2 miss channel 0, step 4 finds one of its two
    assert interpretation_scores(contributions, channels, steps=flagged)["hit@100"] == pytest.approx(0.5 / 3)


def test_ips_of_a_random_order_and_its_bad_inputs():
    channels = np.array([[1, 0, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0]])
    tied = interpretation_performance_score(np.ones((3, 4)), channels)
    assert tied["ips@100"] == pytest.approx(random_hit_rate(channels)["hit@100"])  # every channel tied
    with pytest.raises(ValueError, match="leaves out every labelled time step"):
        interpretation_performance_score(np.ones((3, 4)), channels, steps=[0, 0, 0])
    with pytest.raises(ValueError, match="leaves out every labelled time step"):
        interpretation_scores(np.ones((3, 4)), channels, steps=[0, 0, 0])
    with pytest.raises(ValueError, match="steps has 2 labels but X has 3 rows"):
        interpretation_performance_score(np.ones((3, 4)), channels, steps=[1, 0])
    with pytest.raises(ValueError, match="steps must hold 0"):
        interpretation_performance_score(np.ones((3, 4)), channels, steps=[2, 0, 1])


def test_ndcg_agrees_with_scikit_learn_with_and_without_ties():
    rng = np.random.default_rng(0)
    channels = rng.random((50, 12)) < 0.3
    channels[:, 0] = True  # every step has a labelled channel
    for contributions in (rng.random((50, 12)), rng.integers(0, 3, (50, 12)).astype(float)):  # ties in the second
        result = interpretation_scores(contributions, channels)
        for percent in (100, 150):
            expected = np.mean([ndcg_score(c[None].astype(int), s[None],
                                           k=min(int(np.floor(percent / 100 * c.sum())), 12))
                                for s, c in zip(contributions, channels)])
            assert result[f"ndcg@{percent}"] == pytest.approx(expected, abs=1e-12)


def test_ties_score_what_a_random_order_would():
    channels = np.array([[1, 1, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0]])
    flat = interpretation_scores(np.zeros(channels.shape), channels)
    assert flat["hit@100"] == pytest.approx(random_hit_rate(channels)["hit@100"])
    assert random_hit_rate(channels) == pytest.approx({"hit@100": (2 / 6 + 1 / 6) / 2, "hit@150": (3 / 6 + 1 / 6) / 2})
    perfect = interpretation_scores(channels.astype(float), channels)
    assert perfect == pytest.approx({"hit@100": 1.0, "ndcg@100": 1.0, "hit@150": 1.0, "ndcg@150": 1.0})


@pytest.mark.parametrize("contributions, channels, message", [
    (np.zeros((3, 2)), np.zeros((3, 3)), "same time steps"),
    (np.zeros(3), np.zeros(3), "2-D"),
    (np.array([[np.nan, 1.0]]), np.array([[1, 0]]), "NaN"),
    (np.zeros((1, 2)), np.array([[2, 0]]), "0 and 1"),
    (np.zeros((1, 2)), np.array([[0, 0]]), "nothing to explain"),
])
def test_bad_inputs_are_named(contributions, channels, message):
    with pytest.raises(ValueError, match=message):
        interpretation_scores(contributions, channels)
    if message in ("0 and 1", "nothing to explain"):  # the random expectation reads the same labels
        with pytest.raises(ValueError, match=message):
            random_hit_rate(channels)


def test_interpretation_files_are_read_and_checked(tmp_path):
    labels = np.zeros(20, dtype=int)
    labels[5:9] = 1
    path = tmp_path / "m.txt"
    path.write_text("5-9:1,3\n\n")
    channels = read_interpretation(path, labels, 3)
    assert channels.sum() == 8 and channels[5:9][:, [0, 2]].all()  # step 9 is not labelled
    for text, message in [("5-9 1,3", "expected 'start-end"), ("5-9:0", r"1\.\.3"), ("5-20:1", "within the 20"),
                          ("9-5:1", "start <= end")]:
        path.write_text(text + "\n")
        with pytest.raises(ValueError, match=message):
            read_interpretation(path, labels, 3)
