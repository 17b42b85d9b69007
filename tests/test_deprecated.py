"""Names that release 0.2 changed keep working for one release: each old spelling gives the new
one's result, with a DeprecationWarning that says what to write instead."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers.diffusion import GaussianMixture1D, NoiseSchedule, ddim_sample, ddpm_sample  # noqa: E402
from helpers.elbo import fit_q  # noqa: E402
from helpers.evidence import LinearGaussian  # noqa: E402
from helpers.naive_decoder import (decoder_log_evidence, decoder_samples,  # noqa: E402
                                   train_naive_decoder)
from helpers.nets import mlp  # noqa: E402

S = NoiseSchedule.cosine(10)
MIX = GaussianMixture1D([0.5, 0.5], [-1.0, 1.0], [0.3, 0.3])


def star(x, t):
    return MIX.eps_star(x, t, S)


def _x(n=20, d=4, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, d))


def test_train_naive_decoder_old_argument_and_field_names():
    kw = dict(z_dim=2, c=0.1, n_samples=8, batch_size=8, hidden=4, seed=1)
    new = train_naive_decoder(_x(), steps=3, progress=False, **kw)
    with pytest.warns(DeprecationWarning, match=r"n_steps=\.\.\.\) is now .*steps="):
        old = train_naive_decoder(_x(), n_steps=3, progress=False, **kw)
    np.testing.assert_array_equal(old.history, new.history)
    with pytest.warns(DeprecationWarning, match="show_progress"):
        train_naive_decoder(_x(), steps=1, show_progress=False, **kw)
    with pytest.warns(DeprecationWarning, match=r"\.train_log_evidence is now \.history"):
        assert old.train_log_evidence is old.history
    with pytest.warns(DeprecationWarning, match=r"\.wall_time is now \.train_s"):
        assert old.wall_time == old.train_s
    with pytest.raises(ValueError, match="both n_steps= and its new name steps="):
        train_naive_decoder(_x(), n_steps=3, steps=3, progress=False, **kw)


def test_decoder_functions_take_rng_instead_of_seed():
    f = mlp(2, 4, 4)
    with pytest.warns(DeprecationWarning, match=r"seed=\.\.\.\) is now .*rng="):
        old = decoder_samples(f, 5, z_dim=2, seed=3)
    np.testing.assert_array_equal(old, decoder_samples(f, 5, z_dim=2, rng=3))
    with pytest.warns(DeprecationWarning, match="seed"):
        old = decoder_log_evidence(f, _x(), 0.1, 2, method="naive", n_samples=64, seed=3)
    np.testing.assert_array_equal(
        old, decoder_log_evidence(f, _x(), 0.1, 2, method="naive", n_samples=64, rng=3))


def test_train_vae_old_names():
    from helpers.vae import train_vae

    kw = dict(c=0.1, z_dim=2, hidden=4, steps=2, batch_size=8, seed=0)
    with pytest.warns(DeprecationWarning, match="show_progress"):
        old = train_vae(_x(), show_progress=False, **kw)
    new = train_vae(_x(), progress=False, **kw)
    np.testing.assert_array_equal(old.history.train, new.history.train)
    with pytest.warns(DeprecationWarning, match=r"TrainResult\.wall_time is now \.train_s"):
        assert old.wall_time == old.train_s


def test_helpers_vae_adam_moved_to_helpers_nets():
    import helpers.nets
    import helpers.vae

    with pytest.warns(DeprecationWarning, match="helpers.nets.Adam"):
        assert helpers.vae.Adam is helpers.nets.Adam
    with pytest.raises(AttributeError):
        helpers.vae.NoSuchName  # noqa: B018


def test_trained_eps_model_old_field_names():
    from helpers.denoiser import train_eps_model

    r = train_eps_model(_x(d=1), S, steps=2, batch_size=4, hidden=4, n_layers=1, progress=False)
    with pytest.warns(DeprecationWarning, match=r"\.losses is now \.history"):
        assert r.losses is r.history
    with pytest.warns(DeprecationWarning, match=r"\.train_time is now \.train_s"):
        assert r.train_time == r.train_s


def test_samplers_still_accept_the_old_positional_order():
    with pytest.warns(DeprecationWarning, match=r"takes d, rng as keywords now"):
        old = ddpm_sample(star, S, 7, 1, 5)
    np.testing.assert_array_equal(old, ddpm_sample(star, S, 7, d=1, rng=5))
    with pytest.warns(DeprecationWarning, match=r"takes steps, d, rng as keywords now"):
        old = ddim_sample(star, S, 7, 4, 1, 5)
    np.testing.assert_array_equal(old, ddim_sample(star, S, 7, steps=4, d=1, rng=5))
    with pytest.raises(ValueError, match="rng both by position and as rng="):
        ddpm_sample(star, S, 7, 1, 5, rng=5)
    with pytest.raises(ValueError, match="positional"):
        ddpm_sample(star, S, 7, 1, 5, 6)


def test_fit_q_n_steps_is_now_steps():
    m = LinearGaussian(np.eye(2), np.zeros(2), 0.5)
    x, q0 = np.array([1.0, -1.0]), (np.zeros(2), np.ones(2))
    with pytest.warns(DeprecationWarning, match="n_steps"):
        old = fit_q(m, x, *q0, n_steps=5)
    new = fit_q(m, x, *q0, steps=5)
    for field in ("q_mean", "q_std", "history"):
        np.testing.assert_array_equal(getattr(old, field), getattr(new, field))
