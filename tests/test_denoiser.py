"""helpers.denoiser: the learned eps_theta against the exact eps* of the 1-D mixture.

One model is trained once (module fixture, 1000 steps on 4000 mixture points, cosine T = 100,
about 3 s of one core). Tolerances were measured over training seeds 0, 1, 2 and are about twice
the worst seed, so they hold for any seed while a broken loss, a wrong x_t or a net that ignores t
fails them by far (the best *linear* predictor, exact for Gaussian data with the mixture's mean
and variance, is given beside each bound). Monte-Carlo checks use Z = 5 standard errors.
"""

import inspect
import math

import numpy as np
import pytest
import torch

from helpers.denoiser import EpsNet, TrainedEpsModel, train_eps_model, training_loop
from helpers.diffusion import GaussianMixture1D, NoiseSchedule, ddpm_sample
from helpers.metrics import wasserstein_1

Z = 5.0
MIX = GaussianMixture1D([0.4, 0.3, 0.3], [-1.5, 0.5, 2.0], [0.25, 0.25, 0.5])
_MEAN = float(np.sum(MIX.weights * MIX.means))
_VAR = float(np.sum(MIX.weights * (MIX.stds**2 + MIX.means**2)) - _MEAN**2)
# eps* of Gaussian data with the mixture's mean and variance: the best predictor linear in x_t
GAUSS = GaussianMixture1D([1.0], [_MEAN], [math.sqrt(_VAR)])
SCHEDULE = NoiseSchedule.cosine(100)


@pytest.fixture(scope="module")
def trained():
    return train_eps_model(MIX.sample(4000, rng=0), SCHEDULE, steps=1000, seed=0, progress=False)


@pytest.fixture(scope="module")
def held_out():
    return MIX.sample(4000, rng=1)


def test_result_is_an_eps_model(trained):
    assert isinstance(trained, TrainedEpsModel) and isinstance(trained.net, EpsNet)
    assert trained.schedule is SCHEDULE and trained.history.shape == (1000,)
    assert trained.train_s > 0 and not trained.net.training
    assert not any(p.requires_grad for p in trained.net.parameters())
    x = np.linspace(-3, 3, 7)[:, None]
    out = trained(x, 40)
    assert out.shape == (7, 1) and out.dtype == np.float64
    assert np.array_equal(trained(x, np.int64(40)), out)
    # batched internally: chunks give the same numbers as one pass
    np.testing.assert_allclose(trained(x, 40, batch_size=3), out, rtol=1e-6, atol=1e-7)
    assert trained(np.zeros((0, 1)), 40).shape == (0, 1)


def test_the_loss_decreases_to_its_minimum(trained, held_out):
    first, last = trained.history[:100], trained.history[-100:]
    se = math.hypot(first.std(), last.std()) / math.sqrt(100)
    assert first.mean() - last.mean() > Z * se, (first.mean(), last.mean(), se)
    # the least possible loss, E_t E||eps - eps*||^2, by Monte Carlo on fresh draws
    rng = np.random.default_rng(3)
    floor = []
    for t in range(1, SCHEDULE.T + 1):
        x_t, eps = SCHEDULE.q_sample(held_out[:400], t, rng=rng)
        floor.append((eps - MIX.eps_star(x_t, t, SCHEDULE))[:, 0] ** 2)
    floor = np.concatenate(floor)
    se = math.hypot(floor.std() / math.sqrt(floor.size), last.std() / math.sqrt(100))
    # measured (seeds 0-2): the last 100 batches average 0.495-0.505, at most 0.01 above the
    # floor; an untrained net sits near 0.6 (the first 100 batches), the linear predictor 0.095
    # above it
    assert last.mean() - floor.mean() < 0.02 + Z * se, (last.mean(), floor.mean(), se)


def test_eps_theta_is_close_to_eps_star(trained, held_out):
    # RMS(eps_theta - eps*) over held-out x_t ~ q(x_t | x_0). Measured over seeds 0-2:
    # t = 10: 0.13-0.18, t = 25: 0.08-0.12, t = 50: 0.02-0.04; the linear predictor is at 0.44,
    # 0.53, 0.25, and RMS(eps*) itself at 0.46, 0.61, 0.62. (At t = 1 eps* is tiny, 0.08, and
    # the target eps ~ N(0, 1) hides it: no net learns it from 4000 points; at t = T both are
    # ~ x_T, and the net's form makes that exact.)
    rng = np.random.default_rng(2)
    for t, bound in ((10, 0.3), (25, 0.18), (50, 0.1)):
        x_t, _ = SCHEDULE.q_sample(held_out, t, rng=rng)
        exact = MIX.eps_star(x_t, t, SCHEDULE)
        rms = np.sqrt(np.mean((trained(x_t, t) - exact) ** 2))
        linear = np.sqrt(np.mean((GAUSS.eps_star(x_t, t, SCHEDULE) - exact) ** 2))
        assert rms < bound < linear, (t, rms, bound, linear)
    x_T, _ = SCHEDULE.q_sample(held_out, SCHEDULE.T, rng=rng)
    np.testing.assert_allclose(trained(x_T, SCHEDULE.T), MIX.eps_star(x_T, SCHEDULE.T, SCHEDULE),
                               atol=2e-3)
    # the excess loss E_t E|eps_theta - eps*|^2, averaged over all t: measured 0.004-0.007
    # (seeds 0-2), 4-7 % of the linear predictor's 0.095
    excess, excess_linear = [], []
    for t in range(1, SCHEDULE.T + 1):
        x_t, _ = SCHEDULE.q_sample(held_out[:1000], t, rng=rng)
        exact = MIX.eps_star(x_t, t, SCHEDULE)
        excess.append(np.mean((trained(x_t, t) - exact) ** 2))
        excess_linear.append(np.mean((GAUSS.eps_star(x_t, t, SCHEDULE) - exact) ** 2))
    assert np.mean(excess) < 0.1 * np.mean(excess_linear), (np.mean(excess), np.mean(excess_linear))


def test_ddpm_samples_of_the_trained_model_match_the_mixture(trained, held_out):
    # W1 to 4000 held-out points; two independent 4000-point data draws are 0.02-0.05 apart
    # (5 pairs), the trained model measured 0.047-0.078 (seeds 0-2), N(0, 1) 0.5
    w = wasserstein_1(ddpm_sample(trained, SCHEDULE, 4000, rng=3), held_out)
    assert w < 0.1, w


def _short(seed=0, **kwargs):
    x0 = np.random.default_rng(5).standard_normal((64, 2))
    return train_eps_model(x0, NoiseSchedule.cosine(20), steps=25, batch_size=32, hidden=16,
                           n_layers=2, seed=seed, progress=False, **kwargs)


def test_equal_seeds_give_equal_models_and_torch_is_left_alone():
    state = torch.random.get_rng_state()
    a, b, c = _short(0), _short(0), _short(1)
    assert torch.equal(state, torch.random.get_rng_state())
    np.testing.assert_array_equal(a.history, b.history)
    x = np.random.default_rng(6).standard_normal((10, 2))
    np.testing.assert_array_equal(a(x, 7), b(x, 7))
    assert not np.array_equal(a.history, c.history)
    assert not np.array_equal(a(x, 7), c(x, 7))


def test_plain_eps_form_and_the_built_in_limit():
    x = np.random.default_rng(7).standard_normal((10, 2))
    plain = _short(0, skip=False)
    assert not plain.net.skip
    # with the default form, eps_theta(x, t) - sqrt(1 - alpha_bar_t) x is sqrt(alpha_bar_t) F
    s = NoiseSchedule.cosine(20)
    model = _short(0)
    ab = s.alpha_bar[19]
    f = model.net.mlp(torch.cat([torch.as_tensor(x, dtype=torch.float32),
                                 torch.sin(model.net.freqs).expand(10, -1),
                                 torch.cos(model.net.freqs).expand(10, -1)], 1)).numpy()
    np.testing.assert_allclose(model(x, 20), np.sqrt(1 - ab) * x + np.sqrt(ab) * f,
                               rtol=1e-5, atol=1e-6)


def test_the_training_loop_stays_short_enough_to_show():
    # notebook 05 prints its source as "the training loop"
    body = inspect.getsource(training_loop).split('"""')[-1].strip().splitlines()
    assert len(body) <= 15, len(body)


X0 = np.zeros((8, 1))


@pytest.mark.parametrize("kwargs, match", [
    ({"steps": 0}, "steps must be a whole number >= 1, got 0"),
    ({"steps": 2.5}, "steps must be"),
    ({"batch_size": 0}, "batch_size must be a whole number >= 1, got 0"),
    ({"lr": 0.0}, "lr must be > 0, got 0.0"),
    ({"lr": -1e-3}, "lr must be > 0"),
    ({"lr": float("nan")}, "lr must not contain NaN"),
    ({"hidden": 0}, "hidden must be"),
    ({"n_layers": 0}, "n_layers must be"),
    ({"seed": -1}, "seed must be a whole number >= 0, got -1"),
    ({"seed": 1.5}, "seed must be"),
    ({"x0": np.zeros(8)}, r"x0 must have shape \(n, d\)"),
    ({"x0": np.zeros((0, 1))}, r"x0 must have shape \(n, d\)"),
    ({"x0": np.array([[0.0], [np.nan]])}, "x0 must not contain NaN"),
    ({"x0": np.array([[0.0], [np.inf]])}, "x0 must be finite"),
    ({"schedule": np.linspace(0.01, 0.1, 10)}, "schedule must be a NoiseSchedule"),
])
def test_bad_training_input_raises_a_named_value_error(kwargs, match):
    args = {"x0": X0, "schedule": NoiseSchedule.cosine(10), "steps": 5, "progress": False}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        train_eps_model(args.pop("x0"), args.pop("schedule"), **args)


@pytest.mark.parametrize("x, t, match", [
    (np.zeros((3, 2)), 5, r"x_t must have shape \(n, 1\)"),
    (np.zeros(3), 5, r"x_t must have shape \(n, 1\)"),
    (np.array([[np.nan]]), 5, "x_t must not contain NaN"),
    (np.zeros((3, 1)), 0, r"t must be an int in 1..10, got 0"),
    (np.zeros((3, 1)), 11, r"t must be an int in 1..10, got 11"),
    (np.zeros((3, 1)), 2.0, r"t must be an int in 1..10, got 2.0"),
    (np.zeros((3, 1)), True, r"t must be an int"),
])
def test_bad_call_raises_a_named_value_error(x, t, match):
    model = train_eps_model(X0, NoiseSchedule.cosine(10), steps=2, hidden=4, n_layers=1,
                            progress=False)
    with pytest.raises(ValueError, match=match):
        model(x, t)


@pytest.mark.parametrize("kwargs, match", [
    ({"alpha_bar": [0.5, 0.0]}, "alpha_bar must have shape"),
    ({"alpha_bar": [[0.5]]}, "alpha_bar must have shape"),
    ({"d": 0}, "d must be"),
    ({"max_freq": 0.0}, "max_freq must be > 0"),
    ({"n_freqs": 0}, "n_freqs must be"),
])
def test_bad_net_input_raises_a_named_value_error(kwargs, match):
    args = {"d": 1, "alpha_bar": [0.9, 0.5]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        EpsNet(args.pop("d"), args.pop("alpha_bar"), **args)


def test_the_loop_notebook_05_writes_out_is_train_eps_models_loop():
    """Notebook 05 runs its own copy of the training loop, in a cell a learner can edit, and says
    that ``train_eps_model`` runs the same lines: here that cell runs (as written, every step) on
    other data and a shorter schedule, and its losses and network equal the helper's bit for bit."""
    from pathlib import Path

    import jupytext

    import helpers.nets
    import helpers.progress

    nb = jupytext.read(Path(__file__).resolve().parent.parent / "notebooks" / "05_diffusion.py")
    cell = next(c.source for c in nb.cells
                if c.cell_type == "code" and "opt.zero_grad()" in c.source)
    x_train = np.random.default_rng(8).standard_normal((300, 1))
    schedule = NoiseSchedule.cosine(30)
    names = {"np": np, "torch": torch, "math": math, "time": __import__("time"),
             "x_train": x_train, "schedule": schedule, "EpsNet": EpsNet,
             "TrainedEpsModel": TrainedEpsModel, "Adam": helpers.nets.Adam,
             "frozen": helpers.nets.frozen, "progress_bar": helpers.progress.progress_bar}
    threads = torch.get_num_threads()
    try:
        exec(compile(cell, "05_diffusion.py (training cell)", "exec"), names)
    finally:
        torch.set_num_threads(threads)
    ours = names["eps_theta"]
    helper = train_eps_model(x_train, schedule, seed=0, progress=False)
    assert len(ours.history) == len(helper.history) == 1500
    np.testing.assert_array_equal(ours.history, helper.history)
    for p, q in zip(ours.net.parameters(), helper.net.parameters()):
        assert torch.equal(p, q)
    assert not ours.net.training and not any(p.requires_grad for p in ours.net.parameters())
