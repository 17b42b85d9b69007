"""helpers.flow_matching against closed forms: on Gaussian data the best velocity is known.

Data x_0 ~ N(m, s^2) (one dimension per column), eps ~ N(0, 1) and x_t = (1 - t) x_0 + t eps are
jointly Gaussian, with V = Var(x_t) = (1 - t)^2 s^2 + t^2, so

    E[eps - x_0 | x_t] = -m + (t - (1 - t) s^2) (x_t - (1 - t) m) / V,
    Var(eps - x_0 | x_t) = 1 + s^2 - (t - (1 - t) s^2)^2 / V,

the exact velocity and the floor of the flow-matching loss.
"""

import math

import numpy as np
import pytest
from scipy import integrate

torch = pytest.importorskip("torch")

from helpers.diffusion import GaussianMixture1D  # noqa: E402
from helpers.flow_matching import (TrainedVelocity, euler_in_time, sigma_from_time,  # noqa: E402
                                   time_from_sigma, train_velocity, velocity_from_eps)
from helpers.score import pf_ode_sample, pf_ode_velocity  # noqa: E402

M, S = 1.5, 0.5
GAUSS = GaussianMixture1D([1.0], [M], [S])
MIX = GaussianMixture1D([0.4, 0.3, 0.3], [-1.5, 0.5, 2.0], [0.25, 0.25, 0.5])


def exact_velocity(x_t, t, m=M, s=S):
    v = (1 - t) ** 2 * s**2 + t**2
    return -m + (t - (1 - t) * s**2) * (x_t - (1 - t) * m) / v


def loss_floor(s=S):
    """E_t Var(eps - x_0 | x_t) for t ~ U[0, 1): the smallest possible L_FM per dimension."""
    def var(t):
        return 1 + s**2 - (t - (1 - t) * s**2) ** 2 / ((1 - t) ** 2 * s**2 + t**2)
    return integrate.quad(var, 0, 1)[0]


class ExactNet(torch.nn.Module):
    """The exact velocity of N(M, S^2) data as a module on [x_t, t]: the form train_velocity's
    networks take."""

    def forward(self, inputs):
        x_t, t = inputs[:, :-1], inputs[:, -1:]
        return exact_velocity(x_t, t)


def test_clocks_known_values_and_round_trip():
    assert sigma_from_time(0.5) == 1.0 and sigma_from_time(0.0) == 0.0
    assert time_from_sigma(1.0) == 0.5 and time_from_sigma(3.0) == 0.75
    t = np.linspace(0, 0.999, 50)
    np.testing.assert_allclose(time_from_sigma(sigma_from_time(t)), t, rtol=1e-13, atol=1e-16)
    with pytest.raises(ValueError, match="^t must lie in"):
        sigma_from_time(1.0)
    with pytest.raises(ValueError, match="^sigma must be >= 0"):
        time_from_sigma(-0.1)


@pytest.mark.parametrize("t", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_velocity_from_the_exact_eps_is_the_exact_velocity(t):
    # a wrong conversion (v = eps_hat - x_t, or alpha_bar at t itself) misses this by O(1)
    x_t = np.linspace(-3, 4, 41)[:, None]
    np.testing.assert_allclose(velocity_from_eps(GAUSS.eps_at)(x_t, t), exact_velocity(x_t, t),
                               rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("alpha_bar", [0.999, 0.7, 0.3, 1e-3])
def test_trained_velocity_as_an_eps_fn_is_eps_hat(alpha_bar):
    # with the exact velocity inside, eps_fn must be the exact E[eps | x]
    exact = TrainedVelocity(ExactNet(), np.zeros(1), 0.0)
    x = np.linspace(-2, 3, 11)[:, None]
    np.testing.assert_allclose(exact.eps_fn(x, alpha_bar), GAUSS.eps_at(x, alpha_bar),
                               rtol=1e-9, atol=1e-10)
    t = 0.25
    np.testing.assert_allclose(exact(x, t), exact_velocity(x, t), rtol=1e-12)
    # chunked evaluation gives the same numbers
    np.testing.assert_allclose(exact.eps_fn(x, alpha_bar, chunk_size=4),
                               exact.eps_fn(x, alpha_bar), rtol=1e-15)


def test_euler_in_time_is_euler_in_sigma_on_the_probability_flow_ode():
    # (t' - t) / ((1 - t)(1 - t')) = sigma' - sigma: the same steps, to rounding
    start = np.random.default_rng(10).standard_normal((300, 1))
    t_grid = np.linspace(80 / 81, 0.002 / 1.002, 11)
    x_t = euler_in_time(velocity_from_eps(MIX.eps_at),
                        start * (1 - t_grid[0]) * math.sqrt(1 + 80**2), t_grid)
    xbar = start * math.sqrt(1 + 80**2)
    sigmas = sigma_from_time(t_grid)
    for s0, s1 in zip(sigmas[:-1], sigmas[1:]):
        xbar = xbar + (s1 - s0) * pf_ode_velocity(MIX.eps_at, xbar, s0)
    np.testing.assert_allclose(x_t / (1 - t_grid[-1]), xbar, rtol=0, atol=1e-10)


@pytest.fixture(scope="module")
def trained():
    # notebook 06's recipe (the defaults: 1500 steps of 256, lr 5e-3, three layers of 64)
    return train_velocity(GAUSS.sample(4000, rng=0), seed=3, progress=False)


def test_training_reaches_the_loss_floor(trained):
    # On fresh draws of (x_0, eps, t), L_FM of the network = floor + E (v_theta - v*)^2: the
    # network's excess over the exact velocity is small, and its loss sits at the exact floor
    # plus that excess, within 4 standard errors. A wrong target (x_0 - eps, or eps alone) or
    # a wrong path cannot reach the floor.
    rng, n = np.random.default_rng(9), 20000
    x0, eps, t = GAUSS.sample(n, rng=10), rng.standard_normal((n, 1)), rng.uniform(size=(n, 1))
    x_t = (1 - t) * x0 + t * eps
    with torch.no_grad():
        v = trained.net(torch.cat([torch.as_tensor(x_t), torch.as_tensor(t)], 1)).numpy()
    excess = ((v - exact_velocity(x_t, t)) ** 2)[:, 0]
    loss = ((v - (eps - x0)) ** 2)[:, 0]
    assert excess.mean() < 0.03, excess.mean()
    se = loss.std(ddof=1) / math.sqrt(n)
    assert abs(loss.mean() - (loss_floor() + excess.mean())) < 4 * se, (loss.mean(), se)
    # the recorded batch losses of the last 300 steps agree (their own standard error)
    last = trained.history[-300:]
    se_last = last.std(ddof=1) / math.sqrt(last.size)
    assert abs(last.mean() - (loss_floor() + excess.mean())) < 4 * se_last + 0.01
    assert trained.history[:50].mean() > loss_floor() + 0.5


def test_trained_velocity_samples_the_data(trained):
    # its probability-flow samples: mean and variance of N(M, S^2), within 5 standard errors
    # of 4000 samples plus 0.03 for the network and the 24-step solver
    x = pf_ode_sample(trained.eps_fn, 4000, nfe=24, rng=5)[:, 0]
    assert abs(x.mean() - M) < 5 * S / math.sqrt(x.size) + 0.03
    assert abs(x.var() - S**2) < 5 * S**2 * math.sqrt(2 / x.size) + 0.03


def test_training_is_seeded_and_leaves_torch_global_state_alone():
    x0 = GAUSS.sample(200, rng=1)
    state = torch.random.get_rng_state()
    a = train_velocity(x0, steps=20, hidden=8, seed=4, progress=False)
    assert torch.equal(torch.random.get_rng_state(), state)
    b = train_velocity(x0, steps=20, hidden=8, seed=4, progress=False)
    c = train_velocity(x0, steps=20, hidden=8, seed=5, progress=False)
    np.testing.assert_array_equal(a.history, b.history)
    assert not np.array_equal(a.history, c.history)
    assert a.train_s > 0 and not any(p.requires_grad for p in a.net.parameters())
    assert a(np.zeros((3, 1)), 0.5).shape == (3, 1)


@pytest.mark.parametrize("call, match", [
    (lambda: train_velocity(np.zeros(5)), "x0"),
    (lambda: train_velocity(np.zeros((5, 1)), steps=0), "steps"),
    (lambda: train_velocity(np.zeros((5, 1)), lr=-1.0), "lr"),
    (lambda: train_velocity(np.zeros((5, 1)), seed=-1), "seed"),
    (lambda: velocity_from_eps("eps"), "eps_fn"),
    (lambda: velocity_from_eps(MIX.eps_at)(np.zeros((2, 1)), 1.0), "t"),
    (lambda: euler_in_time(lambda x, t: x, np.zeros((2, 1)), [0.5]), "t_grid"),
    (lambda: euler_in_time(lambda x, t: x, np.zeros(2), [0.5, 0.1]), "x_start"),
    (lambda: TrainedVelocity(ExactNet(), np.zeros(1), 0.0)(np.zeros((2, 1)), 1.0), "t"),
    (lambda: TrainedVelocity(ExactNet(), np.zeros(1), 0.0).eps_fn(np.zeros((2, 1)), 0.0),
     "alpha_bar"),
])
def test_bad_input_raises_a_named_value_error(call, match):
    with pytest.raises(ValueError, match=f"^{match} "):
        call()

