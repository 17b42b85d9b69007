"""The samplers of benchmarks/flow_matching_seeds.py (issue 31, item 1), on Gaussian data where
the probability-flow ODE is known in closed form.

For data N(mu, c^2 I) the best noise prediction at level alpha_bar is

    E[eps | x] = sqrt(1 - alpha_bar) (x - sqrt(alpha_bar) mu) / (alpha_bar c^2 + 1 - alpha_bar),

i.e. eps_hat = sigma (xbar - mu) / (c^2 + sigma^2) in xbar = x / sqrt(alpha_bar), and the ODE
d xbar / d sigma = eps_hat carries xbar(sigma_max) to

    xbar(0) = mu + c / sqrt(c^2 + sigma_max^2) (xbar(sigma_max) - mu).

With c = 0 (a point mass) the flow's paths are straight lines in flow matching's variables, so
any step rule in that clock lands exactly on mu.
"""

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers.flow_matching import (euler_in_time, flow_clock_sample, flow_clock_times,
                                    midpoint_in_time, sigma_from_time, velocity_from_eps)

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "flow_matching_seeds.py"
_spec = importlib.util.spec_from_file_location("flow_matching_seeds", _PATH)
fms = importlib.util.module_from_spec(_spec)
_saved_path = list(sys.path)
_spec.loader.exec_module(fms)  # it puts benchmarks/ on sys.path for its own imports
sys.path[:] = _saved_path

MU = np.array([0.6, -0.3])


def gaussian_eps(mu, c):
    """The exact eps_fn of N(mu, c^2 I)."""
    def eps_fn(x, alpha_bar):
        return (math.sqrt(1 - alpha_bar) * (x - math.sqrt(alpha_bar) * mu)
                / (alpha_bar * c**2 + 1 - alpha_bar))
    return eps_fn


def exact_end(xbar_max, mu, c, sigma_max):
    """xbar at sigma = 0 on the exact ODE path from xbar_max at sigma_max."""
    return mu + c / math.sqrt(c**2 + sigma_max**2) * (xbar_max - mu)


def start(n, seed, sigma_max):
    """pf_ode_sample's start: xbar ~ N(0, (1 + sigma_max^2) I) drawn by rng = seed."""
    return math.sqrt(1 + sigma_max**2) * np.random.default_rng(seed).standard_normal((n, 2))


def test_flow_clock_times_is_uniform_in_t_from_sigma_max_to_zero():
    t = flow_clock_times(4, sigma_max=80.0)
    assert t.shape == (5,)
    assert t[-1] == 0.0
    assert sigma_from_time(t[0]) == pytest.approx(80.0)
    np.testing.assert_allclose(np.diff(t), -t[0] / 4)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_flow_clock_times_rejects_bad_steps(bad):
    with pytest.raises(ValueError, match="steps"):
        flow_clock_times(bad)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf"), float("nan")])
def test_flow_clock_times_rejects_bad_sigma_max(bad):
    with pytest.raises(ValueError, match="sigma_max"):
        flow_clock_times(4, sigma_max=bad)


@pytest.mark.parametrize("steps", [1, 3])
def test_midpoint_is_exact_on_a_point_mass(steps):
    """Straight paths: x_t = (1 - t) mu + t eps, so one midpoint step from any start lands on mu."""
    x0 = (1 - 0.9) * start(50, 0, 9.0)   # x_t at t = 0.9, sigma = 9
    t_grid = np.linspace(0.9, 0.0, steps + 1)
    out = midpoint_in_time(velocity_from_eps(gaussian_eps(MU, 0.0)), x0, t_grid)
    np.testing.assert_allclose(out, np.broadcast_to(MU, out.shape), atol=1e-12)


def test_midpoint_is_second_order_where_euler_is_first():
    """Error against the exact ODE end, halving the step: about 1/4 (midpoint), 1/2 (Euler)."""
    mu, c, sigma_max = MU, 0.5, 80.0
    velocity = velocity_from_eps(gaussian_eps(mu, c))
    xbar = start(20, 1, sigma_max)
    exact = exact_end(xbar, mu, c, sigma_max)
    err = {}
    for steps in (16, 32):
        t = flow_clock_times(steps, sigma_max=sigma_max)
        x = (1 - t[0]) * xbar
        err["mid", steps] = np.abs(midpoint_in_time(velocity, x, t) - exact).max()
        err["euler", steps] = np.abs(euler_in_time(velocity, x, t) - exact).max()
    # at least second order (on a Gaussian it is third: the ratio is about 1/8)
    assert err["mid", 32] / err["mid", 16] < 0.3
    assert err["euler", 32] / err["euler", 16] == pytest.approx(0.5, abs=0.1)
    assert err["mid", 32] < err["euler", 32] / 10


@pytest.mark.parametrize("nfe", [8, 16, 32])
def test_flow_clock_sample_follows_the_exact_ode(nfe):
    """From pf_ode_sample's start points (same rng), close to the exact ODE's end."""
    mu, c, sigma_max = MU, 1.0, 80.0
    out = flow_clock_sample(gaussian_eps(mu, c), 200, nfe=nfe, d=2, sigma_max=sigma_max,
                                rng=3)
    exact = exact_end(start(200, 3, sigma_max), mu, c, sigma_max)
    assert out.shape == (200, 2)
    assert np.abs(out - exact).max() < {8: 0.01, 16: 1e-3, 32: 2e-4}[nfe]


def test_flow_clock_sample_has_the_data_law_on_gaussian_data():
    mu, c = MU, 0.7
    out = flow_clock_sample(gaussian_eps(mu, c), 20_000, nfe=16, d=2, rng=0)
    np.testing.assert_allclose(out.mean(0), mu, atol=0.02)
    np.testing.assert_allclose(out.std(0), c, atol=0.02)


@pytest.mark.parametrize("bad", [0, 1, 9, 8.5, True])  # 8.0 is a whole number: accepted
def test_flow_clock_sample_rejects_bad_nfe(bad):
    with pytest.raises(ValueError, match="nfe"):
        flow_clock_sample(gaussian_eps(MU, 1.0), 10, nfe=bad, d=2)


def test_flow_clock_sample_starts_where_pf_ode_sample_does():
    """From the same rng both samplers integrate the same ODE from the same points, so on
    N(mu, I) data they end at the same points (each within its solver's error)."""
    from helpers.score import pf_ode_sample

    eps_fn = gaussian_eps(MU, 1.0)
    ours = flow_clock_sample(eps_fn, 100, nfe=32, d=2, rng=7)
    # the course's Heun on the rho = 7 grid needs about 256 calls to come within 2e-3 of the
    # exact end; the midpoint rule on the flow clock is within 1e-4 at 32
    heun = pf_ode_sample(eps_fn, 100, nfe=257, d=2, solver="heun", sigma_min=1e-4, rng=7)
    np.testing.assert_allclose(ours, heun, atol=3e-3)
    exact = exact_end(start(100, 7, 80.0), MU, 1.0, 80.0)
    assert np.abs(ours - exact).max() < 2e-4


def test_midpoint_in_time_rejects_an_ascending_grid():
    with pytest.raises(ValueError, match="t_grid"):
        midpoint_in_time(lambda x, t: x, np.zeros((2, 2)), [0.1, 0.5])


def test_dpmpp_2m_first_step_is_ddim_and_exact_on_a_point_mass():
    """DPM-Solver++(2M)'s step is exact when x0_hat is constant (DDIM's step), and its
    two-step extrapolation of a constant is that constant: exact on a point mass."""
    x0_hat = fms.denoiser(gaussian_eps(MU, 0.0))
    xbar = start(30, 2, 80.0)
    for grid in (fms.karras_grid(8), fms.log_snr_grid(8), fms.flow_clock_sigmas(8)):
        out = fms.dpmpp_2m(x0_hat, xbar, grid)
        np.testing.assert_allclose(out, np.broadcast_to(MU, out.shape), atol=1e-10)


def test_dpmpp_2m_follows_the_exact_ode_on_a_gaussian():
    mu, c, sigma_max = MU, 1.0, 80.0
    xbar = start(50, 4, sigma_max)
    exact = exact_end(xbar, mu, c, sigma_max)
    err = {n: np.abs(fms.dpmpp_2m(fms.denoiser(gaussian_eps(mu, c)), xbar,
                                  fms.log_snr_grid(n, sigma_min=1e-3)) - exact).max()
           for n in (32, 64)}
    assert err[64] / err[32] < 0.3  # second order
    assert err[64] < 0.01
