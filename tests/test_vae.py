"""Tests for helpers.vae (notebook 04): eqs. 2.6-2.8, the reparameterisation, importance sampling."""

import math

import numpy as np
import pytest
import torch

from helpers.data import load_digits
from helpers.elbo import gaussian_kl
from helpers.linear_gaussian import LinearGaussian
from helpers.plots.vae import plot_c_tradeoff
from helpers.vae import (GaussianVAE, importance_log_likelihood, negative_elbo, negative_elbo_terms,
                         train_vae)
from helpers.vae_analysis import active_units, c_grid_summary, reparam_vs_score_function

torch.set_num_threads(1)


def _linear_vae(lg, sigma_scale=1.5):
    """A GaussianVAE with hidden=() holding the LinearGaussian decoder and a near-posterior encoder.

    The encoder mean is the exact posterior mean; its std is ``sigma_scale`` times the exact
    marginal posterior std (a deliberately imperfect proposal for importance sampling).
    """
    mean_map_w = np.linalg.inv(np.eye(lg.z_dim) + lg.W.T @ lg.W / lg.c) @ lg.W.T / lg.c  # (k, d)
    _, cov = lg.posterior(np.zeros(lg.d))
    target_sigma = sigma_scale * np.sqrt(np.diag(cov))
    model = GaussianVAE(lg.d, lg.z_dim, hidden=())
    with torch.no_grad():
        enc = model.encoder[0]
        enc.weight.zero_()
        enc.weight[: lg.z_dim] = torch.tensor(mean_map_w)
        enc.bias[: lg.z_dim] = torch.tensor(-mean_map_w @ lg.b)
        enc.bias[lg.z_dim:] = torch.tensor(np.log(np.expm1(target_sigma - 1e-4)))
        model.decoder[0].weight.copy_(torch.tensor(lg.W))
        model.decoder[0].bias.copy_(torch.tensor(lg.b))
    model.requires_grad_(False)
    return model


@pytest.fixture(scope="module")
def linear_model():
    rng = np.random.default_rng(3)
    d, k = 6, 2
    lg = LinearGaussian(rng.normal(size=(d, k)), rng.normal(size=d), c=0.3)
    x, _ = lg.sample(64, rng=rng)
    return lg, x.astype(np.float32)


def test_shapes_and_positive_sigma():
    torch.manual_seed(0)
    model = GaussianVAE(64, 3, hidden=16)
    x = torch.rand(5, 64)
    mu_phi, sigma_phi = model.encode(x)
    assert mu_phi.shape == sigma_phi.shape == (5, 3)
    assert model.decode(mu_phi).shape == (5, 64)
    assert negative_elbo(model, x, 0.1, n_samples=4, rng=0).shape == (5,)
    with torch.no_grad():  # a pre-activation of -100 would give softplus = 0 in float32
        model.encoder[-1].bias[3:] = -100.0
    assert (model.encode(x)[1] > 0).all()
    assert torch.isfinite(negative_elbo(model, x, 0.1, rng=0)).all()


def test_negative_elbo_matches_formula_with_constant():
    torch.manual_seed(1)
    model = GaussianVAE(10, 2, hidden=8)
    x = torch.rand(7, 10)
    c, L = 0.05, 3
    terms = negative_elbo_terms(model, x, c, n_samples=L, rng=11)
    total, rec, kl = terms.total, terms.reconstruction, terms.kl
    eps = torch.randn(L, 7, 2, generator=torch.Generator().manual_seed(11))
    with torch.no_grad():
        mu_phi, sigma_phi = model.encode(x)
        f = model.decode(mu_phi + sigma_phi * eps)
    sq = ((x - f) ** 2).sum(-1).mean(0)
    expected_rec = sq / (2 * c) + 0.5 * 10 * math.log(2 * math.pi * c)
    torch.testing.assert_close(rec.detach(), expected_rec)
    torch.testing.assert_close(kl.detach(), gaussian_kl(mu_phi, sigma_phi))
    torch.testing.assert_close(total.detach(), expected_rec + kl.detach())


def test_constant_term_makes_c_values_comparable(linear_model):
    # On a linear decoder E_q[-log p(x|z)] + KL is the exact negative ELBO of LinearGaussian.elbo,
    # which includes every constant; the Monte-Carlo mean must match it within 4 standard errors.
    lg, x = linear_model
    model = _linear_vae(lg)
    mu_phi, sigma_phi = model.encode(torch.tensor(x))
    exact = -lg.elbo(x, mu_phi.double().numpy(), sigma_phi.double().numpy())
    draws = torch.stack([negative_elbo(model, x, lg.c, rng=s) for s in range(400)]).double()
    mc, se = draws.mean(0).numpy(), draws.std(0).numpy() / math.sqrt(400)
    assert np.all(np.abs(mc - exact) < 4 * se + 1e-4)


def test_gradients_flow_through_reparameterisation():
    torch.manual_seed(2)
    model = GaussianVAE(12, 3, hidden=8)
    x = torch.rand(9, 12)
    rec = negative_elbo_terms(model, x, 0.1, rng=0).reconstruction
    rec.sum().backward()  # the reconstruction alone reaches the encoder only through z
    grad_w = model.encoder[-1].weight.grad
    assert grad_w[:3].abs().sum() > 0  # rows producing mu_phi
    assert grad_w[3:].abs().sum() > 0  # rows producing sigma_phi
    c = torch.tensor(0.1, requires_grad=True)
    negative_elbo(model, x, c, rng=0).sum().backward()
    assert c.grad is not None and torch.isfinite(c.grad) and c.grad != 0


def test_importance_bound_above_elbo_and_tends_to_exact(linear_model):
    lg, x = linear_model
    model = _linear_vae(lg)
    exact = lg.log_evidence(x)
    elbo = -negative_elbo(model, x, lg.c, n_samples=1000, rng=0).double().numpy()
    gaps = {}
    for k in (1, 10, 1000):
        iw = importance_log_likelihood(model, x, lg.c, k, rng=k).numpy()
        gaps[k] = (exact - iw).mean(), (exact - iw).std() / math.sqrt(len(x))
    iw100 = importance_log_likelihood(model, x, lg.c, 100, rng=5).numpy()
    assert iw100.mean() > elbo.mean()
    # k = 1 is an unbiased ELBO estimate: its mean gap is KL(q || posterior) > 0
    assert abs(gaps[1][0] - (exact - elbo).mean()) < 4 * gaps[1][1]
    assert gaps[1][0] > gaps[10][0] > gaps[1000][0]
    assert abs(gaps[1000][0]) < 4 * gaps[1000][1] + 1e-3


def test_importance_exact_with_true_posterior():
    # With q equal to the exact posterior every weight equals p(x): exact for any k.
    rng = np.random.default_rng(4)
    lg = LinearGaussian(rng.normal(size=(5, 1)), rng.normal(size=5), c=0.2)  # k = 1: cov diagonal
    x, _ = lg.sample(16, rng=rng)
    model = _linear_vae(lg, sigma_scale=1.0)
    iw = importance_log_likelihood(model, x, lg.c, 3, rng=0).numpy()
    np.testing.assert_allclose(iw, lg.log_evidence(x), atol=1e-3)


@pytest.fixture(scope="module")
def digits():
    return load_digits("train")[:512], load_digits("test")[:128]


def test_training_lowers_held_out_negative_elbo_and_is_reproducible(digits):
    x, xt = digits
    kw = dict(c=0.05, z_dim=2, hidden=32, steps=60, batch_size=64, lr=3e-3, eval_every=10,
              progress=False)
    r1, r2 = train_vae(x, xt, seed=3, **kw), train_vae(x, xt, seed=3, **kw)
    test = r1.history.test[:, 0]
    assert test[-1] < test[0] - 10
    np.testing.assert_array_equal(test, r2.history.test[:, 0])


@pytest.mark.parametrize("c", [0.05, [0.05, 0.5]], ids=["one model", "a stacked grid"])
def test_equal_seeds_give_equal_models_and_torch_is_left_alone(digits, c):
    x, xt = digits
    kw = dict(c=c, z_dim=2, hidden=16, steps=5, batch_size=32, progress=False)
    state = torch.random.get_rng_state()
    a, b, other = train_vae(x, xt, seed=0, **kw), train_vae(x, xt, seed=0, **kw), train_vae(
        x, xt, seed=1, **kw)
    assert torch.equal(state, torch.random.get_rng_state())   # the global generator untouched
    np.testing.assert_array_equal(a.history.train, b.history.train)
    assert not np.array_equal(a.history.train, other.history.train)
    # the result does not depend on what drew from the global generator before
    torch.rand(7)
    np.testing.assert_array_equal(train_vae(x, xt, seed=0, **kw).history.train, a.history.train)


@pytest.mark.parametrize("c", [0.05, [0.05, 0.5]], ids=["one model", "a stacked grid"])
def test_snapshot_is_the_model_a_shorter_run_ends_with(digits, c):
    """A snapshot after s steps equals, bit for bit, the models of an s-step run (same batches
    and noise, constant lr), for one model and for a vmapped grid; the run goes on past it."""
    x, xt = digits
    kw = dict(c=c, z_dim=2, hidden=16, batch_size=64, eval_every=10, seed=1, progress=False)
    long, short = train_vae(x, xt, steps=30, snapshot_steps=(10,), **kw), train_vae(x, xt, steps=10, **kw)
    assert list(long.snapshots) == [10] and len(long.snapshots[10]) == len(short.models)
    for snap, ref, final in zip(long.snapshots[10], short.models, long.models):
        for p, q in zip(snap.parameters(), ref.parameters()):
            assert torch.equal(p, q) and not p.requires_grad
        assert not torch.equal(next(snap.parameters()), next(final.parameters()))
    np.testing.assert_array_equal(long.history.test[0], short.history.test[-1])
    with pytest.raises(ValueError, match="snapshot_steps"):
        train_vae(x, steps=5, snapshot_steps=(6,), progress=False)


def test_large_c_collapses_small_c_keeps_latents(digits):
    x, xt = digits
    res = train_vae(x, c=[0.01, 1.0], z_dim=4, hidden=64, steps=250, batch_size=128, lr=3e-3,
                    progress=False)
    small, large = res.models
    kl_small = negative_elbo_terms(small, xt, 0.01, rng=0).kl.mean().item()
    kl_large = negative_elbo_terms(large, xt, 1.0, rng=0).kl.mean().item()
    assert kl_large < 0.1 and active_units(large, xt).n_active == 0
    assert kl_small > 5 and active_units(small, xt).n_active == 4


def test_best_c_is_per_pixel_mse_and_learn_c_moves_there(digits):
    x, xt = digits
    torch.manual_seed(5)
    model = GaussianVAE(64, 2, hidden=16)
    with torch.no_grad():  # the same noise (rng=0) for every c: only c changes
        rec = negative_elbo_terms(model, xt, 1.0, rng=0).reconstruction
    mse = ((rec - 32 * math.log(2 * math.pi)) * 2 / 64).mean().item()  # (1/d) E||x - f||^2
    grads = []
    for c_try in (0.5 * mse, mse, 2 * mse):
        c = torch.tensor(c_try, dtype=torch.float64, requires_grad=True)
        negative_elbo(model, xt, c, rng=0).mean().backward()
        grads.append(c.grad.item())
    assert grads[0] < 0 < grads[2] and abs(grads[1]) < 1e-6 * abs(grads[0])
    res = train_vae(x, c=1.0, learn_c=True, z_dim=2, hidden=32, steps=100, batch_size=128,
                    lr=1e-2, progress=False)
    assert res.c[0] < 0.5  # started at 1, moving down towards the per-pixel squared error


@pytest.mark.parametrize("c", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_c(c):
    model = GaussianVAE(4, 2, hidden=3)
    x = torch.rand(2, 4)
    with pytest.raises(ValueError, match="c must"):
        negative_elbo(model, x, c)
    with pytest.raises(ValueError, match="c must"):
        importance_log_likelihood(model, x, c, 5)
    with pytest.raises(ValueError, match="c must"):
        train_vae(x, c=c, steps=1, progress=False)
    with pytest.raises(ValueError, match="c must"):
        negative_elbo(model, x, torch.tensor(c))


def test_other_bad_arguments():
    model = GaussianVAE(4, 2, hidden=3)
    x = torch.rand(2, 4)
    with pytest.raises(ValueError, match="x must"):
        negative_elbo(model, torch.rand(2, 5), 0.1)
    with pytest.raises(ValueError, match="x must"):
        negative_elbo(model, np.full((2, 4), np.nan), 0.1)
    with pytest.raises(ValueError, match="n_samples"):
        negative_elbo(model, x, 0.1, n_samples=0)
    with pytest.raises(ValueError, match="k must"):
        importance_log_likelihood(model, x, 0.1, 0)
    with pytest.raises(ValueError, match="z_dim"):
        GaussianVAE(4, 0)
    with pytest.raises(ValueError, match="rng"):
        negative_elbo(model, x, 0.1, rng=-1)
    with pytest.raises(ValueError, match="sigma"):
        reparam_vs_score_function(0.0, 0.0, 1.0, 10)


def test_reparam_and_score_function_unbiased_reparam_less_noisy():
    est = reparam_vs_score_function(0.5, 1.0, 2.0, 200_000, rng=0)
    for name in ("reparam", "score"):
        v = getattr(est, name)
        assert abs(v.mean() - est.exact) < 4 * v.std() / math.sqrt(len(v))
    assert est.score.var() > 5 * est.reparam.var()


@pytest.fixture(scope="module")
def c_summary(digits):
    """c_grid_summary of three small untrained VAEs at c = 0.01, 0.1, 1 (the c slider's input)."""
    _, xt = digits
    torch.manual_seed(0)
    models = [GaussianVAE(64, 3, hidden=8) for _ in range(3)]
    for m in models:
        m.requires_grad_(False)
    return c_grid_summary(models, [0.01, 0.1, 1.0], xt, rng=0)


def test_c_slider_picture_from_precomputed_summary(c_summary):
    summary = c_summary
    assert summary.reconstructions.shape == (3, 8, 64)
    assert summary.kl_per_dim.shape == (3, 3)
    np.testing.assert_allclose(summary.kl_per_dim.sum(1), summary.kl, rtol=1e-5)
    fig = plot_c_tradeoff(0.09, summary)  # snaps to the nearest trained c
    assert "0.1" in fig.axes[0].get_title()


def test_c_slider_picture_has_a_log_axis_and_the_whole_negative_elbo(c_summary):
    summary = c_summary
    fig = plot_c_tradeoff(0.1, summary)
    ax_split = fig.axes[2]
    assert ax_split.get_yscale() == "log"
    twin = [ax for ax in fig.axes if ax is not ax_split and ax.bbox.bounds == ax_split.bbox.bounds]
    assert len(twin) == 1  # -ELBO with its constant, on its own linear axis
    np.testing.assert_allclose(twin[0].lines[0].get_ydata(),
                               summary.reconstruction + summary.constant + summary.kl)
    assert "-ELBO" in ax_split.get_title()


def test_c_slider_picture_draws_all_digits_at_one_scale(c_summary):
    fig = plot_c_tradeoff(0.1, c_summary)
    fig.canvas.draw()
    rec, smp = fig.axes[0], fig.axes[1]
    # the same screen pixels per image pixel in both mosaics, and the same height
    scales = [ax.bbox.width / ax.images[0].get_array().shape[1] for ax in (rec, smp)]
    np.testing.assert_allclose(scales[0], scales[1], rtol=0.02)
    np.testing.assert_allclose(rec.bbox.height, smp.bbox.height, rtol=0.02)
    assert rec.title.get_fontsize() >= 9 and fig.axes[2].title.get_fontsize() >= 9


def test_per_point_q_starts_at_the_encoder_and_can_only_help(linear_model):
    from helpers.vae_analysis import fit_per_point_q

    lg, x = linear_model
    model = _linear_vae(lg, sigma_scale=1.5)  # the encoder's sd is 1.5x too wide
    fit0 = fit_per_point_q(model, x, lg.c, steps=1, lr=1e-12, n_eval=256, rng=0)
    np.testing.assert_allclose(fit0.elbo_per_point, fit0.elbo_encoder, atol=1e-5)
    fit = fit_per_point_q(model, x, lg.c, steps=300, n_samples=16, lr=0.05, n_eval=256, rng=0)
    # the best diagonal q has 1 / sigma_j^2 = the posterior precision's diagonal (notebook 03):
    # the fitted sigmas move there (averaged over x; each one still carries SGD noise)
    _, cov = lg.posterior(np.zeros(lg.d))
    best_sigma = 1 / np.sqrt(np.diag(np.linalg.inv(cov)))
    np.testing.assert_allclose(fit.sigma.mean(0), best_sigma, rtol=0.1)
    assert fit.elbo_per_point.mean() > fit.elbo_encoder.mean()
    assert np.all(fit.elbo_per_point <= lg.log_evidence(x) + 0.05)
    with pytest.raises(ValueError, match="c"):
        fit_per_point_q(model, x, -1.0)
    with pytest.raises(ValueError, match="steps"):
        fit_per_point_q(model, x, lg.c, steps=0)


# --- one home per formula: eq. 2.8 and the IWAE live in helpers.vae_bounds ---------------------

def _linear_density_vae(lg, sigma_scale=1.0):
    """A DensityVAE holding the LinearGaussian model: linear mean W z + b, variance c per pixel."""
    from helpers.vae_density import VAR_MIN, DensityVAE

    vae = _linear_vae(lg, sigma_scale)
    model = DensityVAE(lg.d, lg.z_dim, hidden=(), decoder_mean="identity")
    with torch.no_grad():
        model.encoder.load_state_dict(vae.encoder.state_dict())
        dec = model.decoder[0]
        dec.weight.zero_()
        dec.weight[: lg.d] = torch.tensor(lg.W)
        dec.bias[: lg.d] = torch.tensor(lg.b)
        dec.bias[lg.d:] = float(np.log(np.expm1(lg.c - VAR_MIN)))  # softplus(.) + VAR_MIN = c
    model.requires_grad_(False)
    return model


def test_density_bounds_of_a_linear_density_vae_are_the_exact_evidence():
    """With q the exact posterior every importance weight is p(x): both bounds equal log p(x).

    A sign error in log q, a dropped - log k, or a wrong per-pixel log-density breaks this."""
    from helpers.vae_density import density_bounds

    rng = np.random.default_rng(4)
    lg = LinearGaussian(rng.normal(size=(5, 1)), rng.normal(size=5), c=0.2)  # k = 1: cov diagonal
    x, _ = lg.sample(16, rng=rng)
    model = _linear_density_vae(lg)
    for k in (1, 7):
        b = density_bounds(model, x, k, rng=0, chunk_size=3)
        np.testing.assert_allclose(b.iwae, lg.log_evidence(x), atol=2e-3)
        np.testing.assert_allclose(b.elbo, lg.log_evidence(x), atol=2e-3)
    # a worse q: the ELBO is below, the IWAE between, and both match the GaussianVAE's estimates
    wide = density_bounds(_linear_density_vae(lg, sigma_scale=2.0), x, 400, rng=1)
    iw = importance_log_likelihood(_linear_vae(lg, sigma_scale=2.0), x, lg.c, 400, rng=1).numpy()
    np.testing.assert_allclose(wide.iwae, iw, atol=2e-3)
    assert (wide.elbo < lg.log_evidence(x)).all() and (wide.elbo <= wide.iwae).all()


def test_the_per_pixel_and_the_one_c_negative_elbo_agree_when_every_variance_is_c():
    from helpers.vae_bounds import negative_elbo_from_q

    gen = torch.Generator().manual_seed(0)
    x, f = torch.rand(5, 7, generator=gen), torch.rand(3, 5, 7, generator=gen)
    mu, sigma = torch.randn(5, 2, generator=gen), torch.rand(5, 2, generator=gen) + 0.1
    one_c = negative_elbo_from_q(x, mu, sigma, f, 0.05)
    per_pixel = negative_elbo_from_q(x, mu, sigma, f, torch.full_like(f, 0.05))
    torch.testing.assert_close(per_pixel.reconstruction, one_c.reconstruction)
    torch.testing.assert_close(per_pixel.kl, one_c.kl)
    # the formula itself: (1/L) sum_l ||x - f_l||^2 / (2c) + (d/2) log(2 pi c), KL closed form
    expected = ((x - f) ** 2).sum(-1).mean(0) / 0.1 + 3.5 * math.log(2 * math.pi * 0.05)
    torch.testing.assert_close(one_c.reconstruction, expected)
    torch.testing.assert_close(one_c.total, one_c.reconstruction + gaussian_kl(mu, sigma))


def test_negative_elbo_terms_and_the_retired_return_terms(linear_model):
    lg, x = linear_model
    model = _linear_vae(lg)
    terms = negative_elbo_terms(model, x, lg.c, n_samples=3, rng=2)
    torch.testing.assert_close(terms.total, negative_elbo(model, x, lg.c, 3, rng=2))
    with pytest.warns(DeprecationWarning, match="negative_elbo_terms"):
        total, rec, kl = negative_elbo(model, x, lg.c, 3, rng=2, return_terms=True)
    assert torch.equal(rec, terms.reconstruction) and torch.equal(kl, terms.kl)
    with pytest.warns(DeprecationWarning, match="rng"):
        assert torch.equal(negative_elbo(model, x, lg.c, 3, 2), terms.total)
    with pytest.warns(DeprecationWarning, match="unpacking a VAEOutput"):
        mu_phi, _, _ = model(torch.as_tensor(x), torch.zeros(1, len(x), lg.z_dim))
    assert torch.equal(mu_phi, model.encode(torch.as_tensor(x))[0])


def test_train_vae_batch_size_none_is_deprecated_and_means_the_whole_set(digits):
    x, _ = digits
    kw = dict(c=0.1, z_dim=2, hidden=8, steps=3, eval_every=3, progress=False)
    with pytest.warns(DeprecationWarning, match="batch_size=len"):
        old = train_vae(x[:40], batch_size=None, **kw)
    new = train_vae(x[:40], batch_size=40, **kw)
    np.testing.assert_array_equal(old.history.train, new.history.train)


def test_results_that_were_tuples_read_by_attribute(digits):
    from helpers.vae_analysis import gradient_noise

    _, xt = digits
    torch.manual_seed(0)
    model = GaussianVAE(64, 3, hidden=8)
    units = active_units(model, xt)
    assert units.n_active == int((units.variance > 0.01).sum())
    noise = gradient_noise(model, xt[:16], 0.1, 2, n_repeats=3, rng=0)
    with pytest.warns(DeprecationWarning, match="unpacking a GradientNoise"):
        variance, mean_sq = noise
    assert (variance, mean_sq) == (noise.variance, noise.mean_sq_norm)
