"""helpers._logsumexp: clamping before exp skips its slow underflow path and changes no result."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers._logsumexp import FLOOR, logsumexp_torch  # noqa: E402
from helpers.evidence import log_mean_exp  # noqa: E402


def _spread_table(dtype, seed=0):
    """Rows whose entries span thousands of nats below their maximum: most terms underflow."""
    gen = torch.Generator().manual_seed(seed)
    return (-torch.rand(64, 3000, generator=gen, dtype=torch.float64) * 3000 + 5).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_equals_torch_logsumexp_bit_for_bit(dtype):
    t = _spread_table(dtype)
    assert (t - t.amax(1, keepdim=True) < FLOOR[str(dtype).split(".")[1]]).float().mean() > 0.5
    for dim in (0, 1):
        assert torch.equal(logsumexp_torch(t, dim), torch.logsumexp(t, dim))


def test_gradient_is_the_softmax():
    t = (_spread_table(torch.float64) / 30).requires_grad_(True)  # some weights are not tiny
    logsumexp_torch(t, 1).sum().backward()
    torch.testing.assert_close(t.grad, torch.softmax(t.detach(), 1), rtol=1e-12, atol=1e-300)


def test_minus_infinity_entries_and_rows():
    t = torch.tensor([[0.0, -np.inf, -np.inf], [-np.inf, -np.inf, -np.inf], [1.0, 1.0, -1e30]])
    out = logsumexp_torch(t, 1)
    assert out[0] == 0.0 and out[1] == -np.inf
    torch.testing.assert_close(out[2], torch.tensor(1.0 + np.log(2.0), dtype=torch.float32))
    a = t.numpy().astype(np.float64)
    out = log_mean_exp(a[:2])  # log(1/3) to rounding (NumPy versions round log differently)
    assert out[1] == -np.inf and out[0] == pytest.approx(np.log(1 / 3), rel=1e-15)


def test_log_mean_exp_unchanged_by_the_clamp():
    """log_mean_exp (the clamp of logsumexp_np, minus log L) against the plain shifted formula,
    bit for bit; a tensor goes through the torch twin, log_mean_exp_torch."""
    a = _spread_table(torch.float64, seed=1).numpy()
    shift = a.max(axis=1, keepdims=True)
    with np.errstate(under="ignore"):
        plain = np.log(np.sum(np.exp(a - shift), axis=1)) + shift[:, 0] - np.log(a.shape[1])
    np.testing.assert_array_equal(log_mean_exp(a, axis=1), plain)
    t = torch.as_tensor(a)
    assert torch.equal(log_mean_exp(t, axis=1), torch.logsumexp(t, 1) - np.log(a.shape[1]))


def test_numpy_version_matches_scipy_and_handles_minus_infinity():
    from scipy.special import logsumexp

    from helpers._logsumexp import logsumexp_np

    a = _spread_table(torch.float64, seed=2).numpy().reshape(8, 8, 3000)
    for axis in (0, 1, -1):
        for keepdims in (False, True):
            np.testing.assert_allclose(logsumexp_np(a, axis, keepdims),
                                       logsumexp(a, axis=axis, keepdims=keepdims), rtol=1e-14)
    b = np.array([[-np.inf, -np.inf], [0.0, -np.inf], [0.0, 0.0]])
    np.testing.assert_array_equal(logsumexp_np(b), [-np.inf, 0.0, np.log(2.0)])
