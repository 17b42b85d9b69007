"""helpers.guidance (notebook 07): the guided eps, the class-conditional net and its null label,
training with label dropout; helpers.vae_density's bounds; the two new distances of
helpers.metrics.
"""

import numpy as np
import pytest
import torch

from helpers.diffusion import NoiseSchedule
from helpers.guidance import (ConditionalEpsNet, GuidedEpsFn, _elbo_level, guided_eps,
                              train_guided_eps_fn)
from helpers.metrics import mean_pairwise_distance, nearest_neighbours
from helpers.nets import frozen
from helpers.noise_schedule import log_sigma_from_alpha_bar
from helpers.vae_density import VAR_MIN, DensityVAE, density_bounds, train_density_vae


def small_net(seed=0, d=3, n_classes=4):
    torch.manual_seed(seed)
    return frozen(ConditionalEpsNet(d, n_classes, hidden=16, n_layers=2).double())


def test_guided_eps_formula():
    rng = np.random.default_rng(0)
    c, u = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    for w in (0.0, 1.0, 2.5):
        np.testing.assert_allclose(guided_eps(c, u, w), c + w * (c - u), atol=1e-12)
    np.testing.assert_array_equal(guided_eps(c, u, 0), c)       # w = 0: the conditional model


def test_float32_evaluation_is_the_float64_models_to_float32_rounding():
    # train_guided_eps_fn trains in float32 whatever dtype it returns: the two dtypes hold the
    # same weights, in_float64() of the float32 model is the float64 model exactly, and their
    # predictions differ by float32 rounding only
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    x = rng.normal(size=(200, 3))
    kw = dict(n_classes=2, steps=20, hidden=16, n_layers=2, progress=False)
    a32 = train_guided_eps_fn(x, y, dtype="float32", **kw)
    a64 = train_guided_eps_fn(x, y, **kw)
    assert a32.net.freqs.dtype == torch.float32 and a64.net.freqs.dtype == torch.float64
    np.testing.assert_array_equal(a32.history, a64.history)
    probe, labels = rng.normal(size=(50, 3)), rng.integers(0, 2, 50)
    exact = a64(probe, 0.3, labels, 2.0)
    np.testing.assert_array_equal(a32.in_float64()(probe, 0.3, labels, 2.0), exact)
    assert a64.in_float64() is a64
    close = a32(probe, 0.3, labels, 2.0)
    assert close.dtype == np.float64 and 0 < np.abs(close - exact).max() < 1e-5
    with pytest.raises(ValueError, match="dtype must be .* got 'half'"):
        train_guided_eps_fn(x, y, dtype="half", **kw)


def test_guided_eps_works_on_torch():
    c, u = torch.ones(2, 2), torch.zeros(2, 2)
    assert torch.equal(guided_eps(c, u, 3.0), torch.full((2, 2), 4.0))


def test_null_label_is_the_last_one_hot_and_differs_from_classes():
    net = small_net()
    assert net.null == 4
    x = torch.randn(6, 3, dtype=torch.float64)
    outs = [net(x, 0.0, torch.full((6,), label)) for label in range(5)]
    for a in range(5):
        for b in range(a + 1, 5):
            assert not torch.allclose(outs[a], outs[b])
    # the null row's one-hot: index 4 of 5
    onehot = torch.nn.functional.one_hot(torch.tensor([net.null]), 5)
    assert onehot[0, -1] == 1 and onehot[0, :-1].sum() == 0


def test_eps_fn_unconditional_is_the_null_label_and_guided_is_the_formula():
    net = small_net()
    f = GuidedEpsFn(net, np.zeros(1), 0.0)
    x = np.random.default_rng(1).normal(size=(5, 3))
    ab = 0.3
    log_sigma = log_sigma_from_alpha_bar(ab)
    with torch.no_grad():
        null = net(torch.as_tensor(x), log_sigma, torch.full((5,), 4)).numpy()
        y = np.array([0, 1, 2, 3, 0])
        cond = net(torch.as_tensor(x), log_sigma, torch.as_tensor(y)).numpy()
    np.testing.assert_allclose(f.eps_fn()(x, ab), null, atol=1e-12)
    np.testing.assert_allclose(f.eps_fn(y=y, w=2.0)(x, ab), 3 * cond - 2 * null, atol=1e-12)
    np.testing.assert_allclose(f.eps_fn(y=y, w=0.0)(x, ab), cond, atol=1e-12)
    with pytest.warns(DeprecationWarning, match="takes y, w as keywords"):
        np.testing.assert_array_equal(f.eps_fn(y, 2.0)(x, ab), f.eps_fn(y=y, w=2.0)(x, ab))
    # chunks of 3 rows cut the 2n = 10 rows [x; x] and their labels [y; null] alike
    np.testing.assert_allclose(f(x, ab, y, 2.0, chunk_size=3), 3 * cond - 2 * null, atol=1e-12)
    with pytest.warns(DeprecationWarning, match="chunk_size"):
        np.testing.assert_array_equal(f(x, ab, y, 2.0, batch_size=3),
                                      f(x, ab, y, 2.0, chunk_size=3))
    schedule = NoiseSchedule.cosine(10)
    np.testing.assert_allclose(f.eps_model(schedule)(x, 4),
                               f.eps_fn()(x, float(schedule.alpha_bar[3])), atol=1e-12)


def test_training_is_seeded_and_learns_the_class():
    # two well-separated classes in 2-D: the conditional eps at a small level must point each
    # class's noisy points back to their own mean, the unconditional one to the nearer mean
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 800)
    x = np.where(y[:, None] == 0, -2.0, 2.0) + 0.1 * rng.normal(size=(800, 2))
    a = train_guided_eps_fn(x, y, n_classes=2, steps=300, hidden=32, n_layers=2, lr=5e-3,
                            progress=False)
    b = train_guided_eps_fn(x, y, n_classes=2, steps=300, hidden=32, n_layers=2, lr=5e-3,
                            progress=False)
    np.testing.assert_array_equal(a.history, b.history)
    assert a.history[-50:].mean() < a.history[:50].mean()
    # at x = 0 and sigma = 1, E[x_0 | x, y] is the class's mean: eps points away from it
    ab = 0.5
    probe = np.zeros((2, 2))
    eps = a.eps_fn(y=np.array([0, 1]), w=0.0)(probe, ab)
    assert eps[0].sum() > 0 > eps[1].sum()


def test_eps_models_share_calls_and_equal_separate_eps_models():
    f = GuidedEpsFn(small_net(), np.zeros(1), 0.0)
    schedule = NoiseSchedule.cosine(10)
    y = np.array([0, 1, 3])
    x = np.random.default_rng(0).normal(size=(3, 3))
    calls = []
    net_forward = f.net.forward
    f.net.forward = lambda *a: calls.append(1) or net_forward(*a)
    models = f.eps_models(schedule, y=y, ws=(0, 1, 3))
    for w, model in zip((0, 1, 3), models):
        for t in (1, 5, 10):
            np.testing.assert_array_equal(model(x, t), f.eps_model(schedule, y=y, w=w)(x, t))
    # the shared models called the net once per step (3), the separate ones 9 times
    assert len(calls) == 3 + 9
    # another x_t at the same step is computed afresh
    np.testing.assert_array_equal(models[1](x + 1, 5), f.eps_model(schedule, y=y, w=1)(x + 1, 5))


def test_elbo_weighting_draws_log_sigma_uniformly_with_weight_one():
    net = ConditionalEpsNet(3, 2, hidden=8, n_layers=1, sigma_min=0.01, sigma_max=80.0)
    log_sigma, ab, weight = _elbo_level(net, 20000, torch.Generator().manual_seed(0))
    lo, hi = np.log(0.01), np.log(80.0)
    assert weight == 1.0
    u = (log_sigma.numpy() - lo) / (hi - lo)
    assert u.min() >= 0 and u.max() <= 1
    # uniform on [0, 1]: mean 1/2 and variance 1/12, within 4 standard errors
    assert abs(u.mean() - 0.5) < 4 * np.sqrt(1 / 12 / u.size)
    assert abs(u.var() - 1 / 12) < 4 * np.sqrt(1 / 180 / u.size)
    # alpha_bar = 1 / (1 + sigma^2)
    np.testing.assert_allclose(ab[:, 0].numpy(), 1 / (1 + np.exp(2 * log_sigma.numpy())), rtol=1e-5)


def test_elbo_weighting_trains_an_unconditional_model_with_p_uncond_one():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    x = np.where(y[:, None] == 0, -2.0, 2.0) + 0.1 * rng.normal(size=(400, 2))
    kw = dict(n_classes=2, steps=200, hidden=32, n_layers=2, lr=5e-3, progress=False)
    a = train_guided_eps_fn(x, y, p_uncond=1.0, weighting="elbo", **kw)
    b = train_guided_eps_fn(x, y, p_uncond=1.0, weighting="ode", **kw)
    assert a.history[-50:].mean() < a.history[:50].mean()
    # another weighting draws other levels: another loss from the first step
    assert a.history[0] != b.history[0]


def test_bad_input():
    f = GuidedEpsFn(small_net(), np.zeros(1), 0.0)
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match="w"):
        guided_eps(x, x, -1.0)
    with pytest.raises(ValueError, match="eps_cond"):
        guided_eps(x, np.zeros((2, 2)), 1.0)
    with pytest.raises(ValueError, match="y"):
        f.eps_fn(y=[0, 7])
    with pytest.raises(ValueError, match="alpha_bar"):
        f(x, 1.5)
    with pytest.raises(ValueError, match="x"):
        f(np.zeros((2, 5)), 0.5)
    with pytest.raises(ValueError, match="float32 or float64"):
        GuidedEpsFn(frozen(ConditionalEpsNet(3, 4, hidden=8, n_layers=1).half()), np.zeros(1), 0.0)
    with pytest.raises(ValueError, match="schedule"):
        f.eps_model("cosine")
    with pytest.raises(ValueError, match="labels"):
        train_guided_eps_fn(x, [0, 3], n_classes=2, steps=1, progress=False)
    with pytest.raises(ValueError, match="p_uncond"):
        train_guided_eps_fn(x, [0, 1], n_classes=2, p_uncond=1.5, steps=1, progress=False)
    with pytest.raises(ValueError, match="weighting.*'vlb'"):
        train_guided_eps_fn(x, [0, 1], n_classes=2, weighting="vlb", steps=1, progress=False)
    with pytest.raises(ValueError, match="n_classes"):
        ConditionalEpsNet(3, 0)


# --- helpers.vae_density ------------------------------------------------------------------------

def test_density_vae_bounds_order_and_seed():
    rng = np.random.default_rng(0)
    x = rng.random((300, 4))
    a = train_density_vae(x, z_dim=2, hidden=(16,), steps=200, progress=False)
    b = train_density_vae(x, z_dim=2, hidden=(16,), steps=200, progress=False)
    np.testing.assert_array_equal(a.history, b.history)
    bounds = density_bounds(a.model, x[:50], k=64, rng=0)
    assert bounds.elbo.shape == bounds.iwae.shape == (50,)
    assert np.all(bounds.iwae >= bounds.elbo - 1e-9)   # log-mean-exp >= mean (Jensen), per row


def test_density_vae_log_likelihood_against_scipy():
    from scipy import stats
    torch.manual_seed(0)
    model = frozen(DensityVAE(3, 2, hidden=(8,)))
    x = torch.rand(4, 3)
    z = torch.randn(4, 2)
    pixels = model.decode_with_var(z)
    mean, var = pixels.mean, pixels.var
    expected = stats.norm.logpdf(x.numpy(), mean.numpy(), np.sqrt(var.numpy())).sum(1)
    np.testing.assert_allclose(model.log_px_z(x, z).numpy(), expected, rtol=1e-5)


def test_density_bounds_k1_iwae_equals_elbo():
    torch.manual_seed(0)
    model = frozen(DensityVAE(3, 2, hidden=(8,)))
    b = density_bounds(model, np.random.default_rng(0).random((5, 3)), k=1, rng=0)
    np.testing.assert_allclose(b.iwae, b.elbo, atol=1e-12)


def _linear_density_vae_with_its_exact_posterior(W, b, v):
    """A DensityVAE whose decoder is p(x | z) = N(W z + b, v I) and whose encoder is that
    model's exact posterior, N(S W^T (x - b) / v, S) with S = (I + W^T W / v)^-1 (diagonal:
    W's columns are orthogonal). Written out with numpy, independently of the helpers."""
    d, k = W.shape
    model = DensityVAE(d, k, hidden=(), decoder_mean="identity")
    with torch.no_grad():   # the encoder's floor on sigma: softplus(0) + floor at zero weights
        model.encoder[0].weight.zero_()
        model.encoder[0].bias.zero_()
        floor = float(model.encode(torch.zeros(1, d))[1][0, 0]) - np.log(2)
    S = np.linalg.inv(np.eye(k) + W.T @ W / v)
    assert np.allclose(S, np.diag(np.diag(S)))
    inv_softplus = lambda y: np.log(np.expm1(y))  # noqa: E731
    with torch.no_grad():
        dec, enc = model.decoder[0], model.encoder[0]
        dec.weight.copy_(torch.as_tensor(np.vstack([W, np.zeros((d, k))])))
        dec.bias.copy_(torch.as_tensor(np.concatenate([b, np.full(d, inv_softplus(v - VAR_MIN))])))
        A = S @ W.T / v
        enc.weight.copy_(torch.as_tensor(np.vstack([A, np.zeros((k, d))])))
        enc.bias.copy_(torch.as_tensor(np.concatenate(
            [-A @ b, inv_softplus(np.sqrt(np.diag(S)) - floor)])))
    return frozen(model)


def test_density_bounds_are_the_exact_evidence_when_q_is_the_exact_posterior():
    """With q(z | x) = p(z | x), every importance weight p(x, z) / q(z | x) equals p(x): the ELBO
    and the IWAE bound both equal log p(x) of the linear-Gaussian model, for any k. A wrong sign
    on log q, or an IWAE without its - log k, misses by nats."""
    from scipy import stats

    Q, _ = np.linalg.qr(np.random.default_rng(3).standard_normal((5, 2)))
    W, b, v = Q * np.array([1.5, 0.7]), np.array([0.1, -0.2, 0.3, 0.0, 0.5]), 0.3
    model = _linear_density_vae_with_its_exact_posterior(W, b, v)
    x = np.random.default_rng(4).standard_normal((20, 5))
    exact = stats.multivariate_normal(b, W @ W.T + v * np.eye(5)).logpdf(x)
    for k in (1, 64):
        bounds = density_bounds(model, x, k=k, rng=0)
        np.testing.assert_allclose(bounds.elbo, exact, atol=2e-4)
        np.testing.assert_allclose(bounds.iwae, exact, atol=2e-4)


def test_density_bounds_with_a_poor_q_are_below_the_exact_evidence_and_iwae_closes_in():
    """With q the exact posterior shifted by one posterior sd, the ELBO is below log p(x) by
    KL(q || p(z | x)) = 1/2 per latent (here 1 nat for two); the IWAE bound with 2000 draws
    closes most of that gap."""
    from scipy import stats

    Q, _ = np.linalg.qr(np.random.default_rng(3).standard_normal((5, 2)))
    W, b, v = Q * np.array([1.5, 0.7]), np.zeros(5), 0.3
    model = _linear_density_vae_with_its_exact_posterior(W, b, v)
    S = np.linalg.inv(np.eye(2) + W.T @ W / v)
    with torch.no_grad():
        model.encoder[0].bias[:2] += torch.as_tensor(np.sqrt(np.diag(S)), dtype=torch.float32)
    x = np.random.default_rng(5).standard_normal((40, 5))
    exact = stats.multivariate_normal(b, W @ W.T + v * np.eye(5)).logpdf(x)
    bounds = density_bounds(model, x, k=2000, rng=0)
    gap = exact - bounds.elbo                 # a Monte-Carlo mean of 2000 draws per row
    assert abs(gap.mean() - 1.0) < 0.05
    # the IWAE estimate of one row may land above log p(x); its expectation may not
    assert np.all(bounds.iwae > bounds.elbo) and -0.02 < (exact - bounds.iwae).mean() < 0.1


def test_density_bad_input():
    with pytest.raises(ValueError, match="model"):
        density_bounds(object(), np.zeros((2, 3)), k=2)
    with pytest.raises(ValueError, match="steps"):
        train_density_vae(np.zeros((4, 3)), steps=0)


# --- helpers.metrics additions -----------------------------------------------------------------

def test_nearest_neighbours_by_brute_force():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(20, 5)), rng.normal(size=(30, 5))
    found = nearest_neighbours(a, b)
    index, dist = found.index, found.distance
    full = np.linalg.norm(a[:, None] - b[None], axis=-1)
    np.testing.assert_array_equal(index, full.argmin(1))
    np.testing.assert_allclose(dist, full.min(1), rtol=1e-10)


def test_mean_pairwise_distance_by_brute_force():
    x = np.random.default_rng(1).normal(size=(12, 3))
    full = [np.linalg.norm(x[i] - x[j]) for i in range(12) for j in range(i + 1, 12)]
    assert mean_pairwise_distance(x) == pytest.approx(np.mean(full), rel=1e-10)
    with pytest.raises(ValueError, match="x"):
        mean_pairwise_distance(x[:1])
