"""GANF (Dai & Chen, ICLR 2022): the detector contract on (T, D) series, and what makes GANF itself: a
window's density factorised along a learned acyclic graph among the series, each point conditioned on its
parents and its own past, scored by the window's negative log density."""
import copy

import numpy as np
import pytest
import torch

import genad
from genad.metrics import auroc
from genad.models.timeseries.ganf import _ConditionalAffineFlow
from series_data import check_registered, check_reproducible_and_saved, check_step_scores

FAST = dict(window=16, train_stride=2, score_stride=2, batch_size=64, epochs=30)


def coupled_series(n: int, seed: int) -> np.ndarray:
    """``(n, 3)`` float32: a noisy periodic channel, a second channel that follows it closely, and an
    independent third. Only the first channel explains the second's noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    lead = np.sin(t / 6) + 0.4 * rng.normal(size=n)
    follower = 0.9 * lead + 0.05 * rng.normal(size=n)
    other = np.sin(t / 9) + 0.4 * rng.normal(size=n)
    return np.c_[lead, follower, other].astype(np.float32)


@pytest.fixture(scope="module")
def data():
    """Four 12-step stretches in which the follower stops following (it takes another draw of the same
    distribution): each channel alone looks normal there, only the dependency is broken."""
    train, test = coupled_series(800, seed=0), coupled_series(400, seed=1)
    replacement = coupled_series(400, seed=2)
    labels = np.zeros(len(test), dtype=int)
    for start in (60, 150, 240, 330):
        test[start:start + 12, 1] = replacement[start:start + 12, 1]
        labels[start:start + 12] = 1
    return train, test, labels


@pytest.fixture(scope="module")
def fitted(data):
    return genad.create("ganf", random_state=0, **FAST).fit(data[0])


# --- the detector contract ------------------------------------------------------------------------------
def test_registered_with_its_paper():
    check_registered("ganf", "density-explicit", "ICLR", 2022, {"explain", "restore"})


def test_scores_one_per_step_and_broken_dependencies_rank_high(fitted, data):
    train, test, labels = data
    assert auroc(labels, check_step_scores(fitted, train, test)) >= 0.9


def test_same_seed_same_scores_clone_save_load(fitted, data, tmp_path):
    check_reproducible_and_saved("ganf", FAST, fitted, data[0], data[1], tmp_path)
    assert not hasattr(fitted, "_rho") and not hasattr(fitted, "_alpha")  # training state is dropped


def test_explain_sums_to_the_score_and_blames_the_coupled_pair(fitted, data):
    """A broken dependency shows in the child's conditional, and which of the pair is the child depends on
    the direction the graph learned; the independent channel is not blamed."""
    _, test, labels = data
    contributions = fitted.explain(test)
    assert contributions.shape == test.shape
    np.testing.assert_allclose(contributions.sum(1), fitted.decision_function(test), rtol=1e-5, atol=1e-6)
    assert (contributions[labels == 1].argmax(1) != 2).mean() >= 0.9


def test_restore_gives_each_point_its_conditional_median(fitted, data):
    _, test, labels = data
    restored = fitted.restore(test)
    assert restored.shape == test.shape
    normal = labels == 0  # the follower is expected where its lead says, not where the broken stretch put it
    error = np.mean((restored[normal, 1] - test[normal, 1]) ** 2)
    assert error < 0.25 * np.var(test[normal, 1])


# --- what makes GANF itself ------------------------------------------------------------------------------
def test_the_learned_graph_is_acyclic_and_links_the_coupled_channels(fitted):
    a = fitted.adjacency_
    assert a.min() >= 0 and a.max() <= 1
    assert fitted.history_["acyclicity"][-1] <= 10 * fitted.dag_tolerance
    # NOTEARS' h(A) = tr(exp(A * A)) - D vanishes only without cycles
    assert np.trace(torch.matrix_exp(torch.as_tensor(a * a, dtype=torch.float64)).numpy()) - 3 < 1e-3
    coupled = a[0, 1] + a[1, 0]
    assert coupled > 0.1 and coupled > 5 * max(a[0, 2] + a[2, 0], a[1, 2] + a[2, 1])  # the useless edges fade


def test_a_channel_constant_in_training_is_left_out_of_the_density(fitted, data):
    """As the authors drop series with zero standard deviation: a constant channel has no density, and a
    later move of it must not take over the score (its learned scale would have shrunk without end)."""
    train, test, _ = data
    with_constant = lambda x, level: np.insert(x, 1, level, axis=1)  # noqa: E731
    detector = genad.create("ganf", random_state=0, **FAST).fit(with_constant(train, 2.0))
    moved = with_constant(test, 2.0)
    moved[100:140, 1] = 50.0
    np.testing.assert_array_equal(detector.decision_function(moved), fitted.decision_function(test))
    assert np.all(detector.explain(moved)[:, 1] == 0)
    assert np.all(detector.restore(moved)[:, 1] == 2.0)
    graph = detector.adjacency_
    assert np.all(graph[1] == 0) and np.all(graph[:, 1] == 0)
    np.testing.assert_array_equal(np.delete(np.delete(graph, 1, 0), 1, 1), fitted.adjacency_)
    with pytest.raises(ValueError, match="constant"):
        genad.create("ganf", **FAST).fit(np.ones((100, 2), dtype=np.float32))


def test_a_point_is_conditioned_on_its_parents_and_its_own_past_only(fitted, data):
    """The condition of series j at step t reads its parents up to t and itself before t, never x_t^j."""
    net = fitted.module_
    window = torch.as_tensor(data[1][None, :16])
    t, j = 9, 1
    changed = window.clone()
    changed[0, t, j] += 3.0
    with torch.no_grad():
        before, after = net.encoder(window, net.graph), net.encoder(changed, net.graph)
    np.testing.assert_allclose(after[0, j, :t + 1].numpy(), before[0, j, :t + 1].numpy(), atol=1e-6)
    assert not torch.allclose(after[0, j, t + 1], before[0, j, t + 1])  # its own future reads it
    # with no edges a series' conditions ignore every other series
    empty = torch.zeros_like(net.adjacency)
    other = window.clone()
    other[0, :, 0] += 1.0
    with torch.no_grad():
        np.testing.assert_allclose(net.encoder(other, empty)[0, j].numpy(), net.encoder(window, empty)[0, j].numpy(),
                                   atol=1e-6)


@pytest.mark.parametrize("blocks", [1, 2])
def test_each_conditional_is_a_proper_density(blocks):
    """The shift and scale read the condition only, so exp(log p(x | c)) integrates to 1 over x (the
    authors' one-input MADE let x feed its own shift and scale, which this rules out)."""
    torch.manual_seed(0)
    flow = _ConditionalAffineFlow(condition_size=4, hidden_size=8, n_hidden=1, n_blocks=blocks)
    grid = torch.linspace(-60, 60, 240001, dtype=torch.float64)
    flow = flow.double()
    for condition in torch.randn(3, 4, dtype=torch.float64):
        density = flow.log_prob(grid, condition.expand(len(grid), 4)).exp()
        assert torch.trapezoid(density, grid).item() == pytest.approx(1.0, abs=1e-6)


def test_score_is_the_windows_negative_log_density_per_point(fitted, data):
    _, test, _ = data
    windows = torch.as_tensor(np.stack([test[s:s + 16] for s in range(0, 385, 2)]))
    with torch.no_grad():
        expected = -fitted.module_.point_log_prob(windows).mean((1, 2)).double().numpy()
    # the steps of the first stride are covered by the first window only
    np.testing.assert_allclose(fitted.decision_function(test)[:2], expected[0], rtol=1e-5)


def scored_by_step(fitted):
    """The same fitted model, scoring each step by its own density (``score_unit`` changes scoring only)."""
    return copy.copy(fitted).set_params(score_unit="step")


def test_step_unit_scores_each_step_by_its_own_negative_log_density(fitted, data):
    """``score_unit="step"``: the first two steps (covered by the first window only) score their own
    ``-log p`` averaged over the series; explain still sums to the score. Same fit, only scoring changes."""
    _, test, _ = data
    stepwise = scored_by_step(fitted)
    first_window = torch.as_tensor(test[None, :FAST["window"]])
    with torch.no_grad():
        expected = -fitted.module_.point_log_prob(first_window).mean(2)[0, :2].double().numpy()
    scores = stepwise.decision_function(test)
    np.testing.assert_allclose(scores[:2], expected, rtol=1e-5)
    np.testing.assert_allclose(stepwise.explain(test).sum(1), scores, rtol=1e-5, atol=1e-6)


def test_step_unit_keeps_a_one_step_spike_sharp(fitted, data):
    """A one-step spike in every channel: a window's score spreads it over the 16 steps of each window
    that holds it, a step's score keeps it at the spike."""
    _, test, _ = data
    spiked = test.copy()
    spiked[200] += 4.0
    stepwise = scored_by_step(fitted)
    window_rise = fitted.decision_function(spiked) - fitted.decision_function(test)
    step_rise = stepwise.decision_function(spiked) - stepwise.decision_function(test)
    assert (window_rise > 0.5 * window_rise.max()).sum() >= 16
    assert step_rise.argmax() == 200 and (step_rise > 0.5 * step_rise.max()).sum() <= 3


@pytest.mark.parametrize("bad, message", [
    (dict(score_unit="point"), "score_unit"),
    (dict(dag_rounds=0), "dag_rounds"), (dict(dag_steps=-1), "dag_steps"),
    (dict(dag_tolerance=0.0), "dag_tolerance"), (dict(rho_max=1.0), "rho_max"),
    (dict(clip_grad_value=0.0), "clip_grad_value"), (dict(flow_blocks=0), "flow_blocks"),
    (dict(flow_layers=-1), "flow_layers"),
])
def test_bad_parameters_are_named(bad, message, data):
    with pytest.raises(ValueError, match=message):
        genad.create("ganf", **bad).fit(data[0])
