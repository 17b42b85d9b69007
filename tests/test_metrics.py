"""helpers.metrics: W1 against scipy, the sliced W1's exact properties, MMD against closed forms.

Monte-Carlo tolerances are Z = 5 standard errors (SE) of the statistic compared, as in
test_diffusion.py: a correct implementation passes for any seed.
"""

import math

import numpy as np
import pytest
from scipy import optimize, stats

from helpers.metrics import Reference, mmd, prepare_reference, sliced_wasserstein_1, wasserstein_1

Z = 5.0


# --- wasserstein_1 -----------------------------------------------------------------------------

@pytest.mark.parametrize("n, m", [(1, 1), (5, 7), (100, 100), (3, 6), (1000, 37), (64, 1)])
def test_wasserstein_1_matches_scipy(n, m):
    rng = np.random.default_rng(n * 1000 + m)
    a, b = rng.standard_normal(n), rng.exponential(size=m) + 0.3
    expected = stats.wasserstein_distance(a, b)
    assert wasserstein_1(a, b) == pytest.approx(expected, rel=1e-12, abs=1e-14)
    # (n, 1) columns are the same data
    assert wasserstein_1(a[:, None], b[:, None]) == pytest.approx(expected, rel=1e-12, abs=1e-14)


def test_wasserstein_1_known_values():
    assert wasserstein_1([0.0, 1.0], [0.0, 1.0]) == 0.0
    # a shift moves every unit of mass by |s|
    x = np.random.default_rng(0).standard_normal(500)
    assert wasserstein_1(x, x + 2.5) == pytest.approx(2.5, rel=1e-12)
    # point masses: the distance between them
    assert wasserstein_1([3.0], [-1.0]) == pytest.approx(4.0)
    # half the mass moves by 1
    assert wasserstein_1([0.0, 0.0], [0.0, 1.0]) == pytest.approx(0.5)


# --- sliced_wasserstein_1 ----------------------------------------------------------------------

def _cloud(n, d, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)) @ rng.standard_normal((d, d))


def test_sliced_w1_is_zero_on_itself_and_symmetric():
    a, b = _cloud(300, 2, 1), _cloud(300, 2, 2) + 0.5
    assert sliced_wasserstein_1(a, a, rng=0) == 0.0
    assert sliced_wasserstein_1(a, a[::-1], rng=0) == pytest.approx(0.0, abs=1e-12)  # row order
    assert sliced_wasserstein_1(a, b, rng=3) == sliced_wasserstein_1(b, a, rng=3)
    assert sliced_wasserstein_1(a, b, rng=3) > 0


def test_sliced_w1_in_one_dimension_is_w1():
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((200, 1)), rng.gamma(2.0, size=(150, 1))
    assert sliced_wasserstein_1(a, b, n_projections=5, rng=0) == pytest.approx(
        stats.wasserstein_distance(a[:, 0], b[:, 0]), rel=1e-12)


def test_sliced_w1_of_a_shift_is_the_mean_projected_shift():
    a, s = _cloud(400, 2, 5), np.array([3.0, -4.0])
    # exactly: each direction u moves every point by <s, u>, so SW1 = mean_k |<s, u_k>|, with
    # the directions drawn as documented
    z = np.random.default_rng(6).standard_normal((256, 2))
    u = z / np.linalg.norm(z, axis=1, keepdims=True)
    sw = sliced_wasserstein_1(a, a + s, rng=6)
    assert sw == pytest.approx(np.mean(np.abs(u @ s)), rel=1e-10)
    # and in expectation |s| E|cos| = 2 |s| / pi in 2-D; |cos| has sd sqrt(1/2 - 4/pi^2)
    se = 5.0 * math.sqrt(0.5 - 4 / math.pi**2) / math.sqrt(256)
    assert abs(sw - 2 * 5.0 / math.pi) < Z * se


def test_sliced_w1_scales_and_is_below_the_full_w1():
    a, b = _cloud(60, 2, 7), _cloud(60, 2, 8) + [1.0, 0.0]
    sw = sliced_wasserstein_1(a, b, rng=0)
    assert sliced_wasserstein_1(3 * a, 3 * b, rng=0) == pytest.approx(3 * sw, rel=1e-12)
    # every projection is 1-Lipschitz, so SW1 <= W1 in the plane (an optimal matching here)
    cost = np.linalg.norm(a[:, None] - b[None], axis=-1)
    rows, cols = optimize.linear_sum_assignment(cost)
    assert sw <= cost[rows, cols].mean()


def test_sliced_w1_unequal_sizes_agree_with_scipy_per_direction():
    a, b = _cloud(90, 3, 9), _cloud(70, 3, 10)
    z = np.random.default_rng(11).standard_normal((8, 3))
    u = z / np.linalg.norm(z, axis=1, keepdims=True)
    expected = np.mean([stats.wasserstein_distance(a @ v, b @ v) for v in u])
    assert sliced_wasserstein_1(a, b, n_projections=8, rng=11) == pytest.approx(expected, rel=1e-10)


# --- mmd ----------------------------------------------------------------------------------------

def _mmd_by_loops(a, b, h):
    k = lambda x, y: math.exp(-np.sum((x - y) ** 2) / (2 * h * h))  # noqa: E731
    n, m = len(a), len(b)
    kaa = sum(k(a[i], a[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    kbb = sum(k(b[i], b[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kab = sum(k(a[i], b[j]) for i in range(n) for j in range(m)) / (n * m)
    return kaa + kbb - 2 * kab


def test_mmd_is_the_u_statistic_and_symmetric():
    a, b = _cloud(30, 2, 12), _cloud(25, 2, 13) + 0.3
    assert mmd(a, b, bandwidth=0.7) == pytest.approx(_mmd_by_loops(a, b, 0.7), rel=1e-10)
    assert mmd(a, b, bandwidth=0.7) == pytest.approx(mmd(b, a, bandwidth=0.7), rel=1e-12)


def test_mmd_median_heuristic():
    a, b = _cloud(40, 2, 14), _cloud(50, 2, 15)
    pooled = np.concatenate([a, b])
    dists = np.linalg.norm(pooled[:, None] - pooled[None], axis=-1)[np.triu_indices(90, 1)]
    assert mmd(a, b) == pytest.approx(mmd(a, b, bandwidth=np.median(dists)), rel=1e-10)


def test_mmd_is_unbiased_for_equal_distributions():
    # With n = 20 the biased (V-statistic) estimate would average 2 (1 - E k) / n ~ 0.04 > 0.
    vals = [mmd(np.random.default_rng(100 + i).standard_normal((20, 2)),
                np.random.default_rng(500 + i).standard_normal((20, 2)), bandwidth=1.0)
            for i in range(300)]
    assert abs(np.mean(vals)) < Z * np.std(vals) / math.sqrt(len(vals))


def test_mmd_of_two_normals_matches_the_closed_form():
    # a ~ N(0, 1), b ~ N(mu, 1) in 1-D, kernel width h: a - b ~ N(-mu, 2), so
    # MMD^2 = 2 h / sqrt(h^2 + 2) (1 - exp(-mu^2 / (2 (h^2 + 2)))).
    mu, h = 1.0, 1.5
    exact = 2 * h / math.sqrt(h * h + 2) * (1 - math.exp(-mu * mu / (2 * (h * h + 2))))
    vals = [mmd(np.random.default_rng(900 + i).standard_normal(400),
                mu + np.random.default_rng(1900 + i).standard_normal(400), bandwidth=h)
            for i in range(20)]
    assert abs(np.mean(vals) - exact) < Z * np.std(vals) / math.sqrt(len(vals)), (vals, exact)


# --- bad input ---------------------------------------------------------------------------------

GOOD = np.zeros((5, 2)) + np.arange(5)[:, None]


@pytest.mark.parametrize("call, match", [
    (lambda: wasserstein_1([1.0, np.nan], [1.0]), "a must not contain NaN"),
    (lambda: wasserstein_1([1.0], [np.inf]), "b must be finite"),
    (lambda: wasserstein_1([], [1.0]), r"a must have shape"),
    (lambda: wasserstein_1(GOOD, GOOD), "sliced_wasserstein_1"),
    (lambda: sliced_wasserstein_1(GOOD, GOOD[:, :1]), "b must have the dimension d = 2"),
    (lambda: sliced_wasserstein_1(GOOD, GOOD, n_projections=0), "n_projections must be"),
    (lambda: sliced_wasserstein_1(GOOD, GOOD, rng=-1), r"rng .*>= 0"),
    (lambda: sliced_wasserstein_1(np.zeros((2, 2, 2)), GOOD), r"a must have shape"),
    (lambda: mmd(GOOD, GOOD, bandwidth=0.0), "bandwidth must be > 0"),
    (lambda: mmd(GOOD, GOOD, bandwidth=-1.0), "bandwidth must be > 0"),
    (lambda: mmd(GOOD[:1], GOOD), "a must hold at least 2 points"),
    (lambda: mmd(np.zeros((3, 2)), np.zeros((3, 2))), "median distance is 0"),
    (lambda: mmd("x", GOOD), "a must be numeric"),
])
def test_bad_input_raises_a_named_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_nearest_neighbours_read_by_attribute_and_options_by_keyword():
    from helpers.metrics import nearest_neighbours

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(20, 2)), rng.normal(size=(30, 2))
    nn = nearest_neighbours(a, b)
    d = np.linalg.norm(a[:, None] - b[None], axis=-1)
    np.testing.assert_array_equal(nn.index, d.argmin(1))
    np.testing.assert_allclose(nn.distance, d.min(1), rtol=1e-12)
    with pytest.warns(DeprecationWarning, match="unpacking a NearestNeighbours"):
        index, _ = nn
    assert index is nn.index
    with pytest.warns(DeprecationWarning, match="as keywords"):
        old = sliced_wasserstein_1(a, b, 16, 3)
    assert old == sliced_wasserstein_1(a, b, n_projections=16, rng=3)


# --- prepare_reference: the held-out set's share done once, the same values ------------------

@pytest.mark.parametrize("n, m, d", [(300, 300, 1), (257, 1000, 1), (1000, 37, 2), (400, 400, 3)])
def test_a_prepared_reference_gives_the_raw_values_to_the_last_bit(n, m, d):
    rng = np.random.default_rng(n + m + d)
    b = rng.standard_normal((m, d)) + 0.4
    ref = prepare_reference(b, n_projections=64, rng=7, bandwidth=0.8)
    for a in (rng.standard_normal((n, d)), 1.5 * rng.standard_normal((n, d)) - 1.0):
        if d == 1:
            assert wasserstein_1(a, ref) == wasserstein_1(a, b)
            assert wasserstein_1(a[:, 0], ref) == wasserstein_1(a[:, 0], b[:, 0])
        assert sliced_wasserstein_1(a, ref) == sliced_wasserstein_1(a, b, n_projections=64, rng=7)
        assert sliced_wasserstein_1(a, ref, n_projections=64) == sliced_wasserstein_1(
            a, b, n_projections=64, rng=7)
        assert mmd(a, ref) == mmd(a, b, bandwidth=0.8)
        assert mmd(a, ref, bandwidth=0.8) == mmd(a, b, bandwidth=0.8)
        # prepared without a bandwidth: the median heuristic, as for the raw array
        assert mmd(a, prepare_reference(b)) == mmd(a, b)
        assert mmd(a, prepare_reference(b), bandwidth=0.3) == mmd(a, b, bandwidth=0.3)
    # the same directions every call, whatever was drawn in between
    a = rng.standard_normal((n, d))
    assert sliced_wasserstein_1(a, ref) == sliced_wasserstein_1(a, ref)


def test_a_reference_is_frozen_and_read_only_and_does_not_alias_its_input():
    import dataclasses

    b = np.random.default_rng(0).standard_normal((50, 2))
    ref = prepare_reference(b, n_projections=8, rng=0, bandwidth=1.0)
    assert isinstance(ref, Reference)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.bandwidth = 2.0
    for x in (ref.points, ref.sorted_points, ref.directions, ref.sorted_projections):
        with pytest.raises(ValueError, match="read-only"):
            x[0, 0] = 1.0
    a = np.random.default_rng(1).standard_normal((40, 2))
    before = sliced_wasserstein_1(a, ref)
    b[:] = 0.0                                    # the caller's array changes: ref does not
    assert sliced_wasserstein_1(a, ref) == before
    np.testing.assert_array_equal(ref.sorted_points, np.sort(ref.points, axis=0))
    np.testing.assert_allclose(np.linalg.norm(ref.directions, axis=0), 1.0, rtol=1e-12)
    assert prepare_reference(b).directions is None and prepare_reference(b).kernel_sum is None


def _ref(**options):
    return prepare_reference(GOOD, **options)


@pytest.mark.parametrize("call, match", [
    (lambda: _ref(n_projections=0), "n_projections must be a whole number >= 1, got 0"),
    (lambda: _ref(rng=3), r"rng is only used with n_projections, got rng=3"),
    (lambda: _ref(n_projections=4, rng=-1), r"rng .*>= 0"),
    (lambda: _ref(bandwidth=-1.0), "bandwidth must be > 0"),
    (lambda: _ref(bandwidth=np.nan), "bandwidth must not contain NaN"),
    (lambda: prepare_reference([[1.0, np.nan]]), "b must not contain NaN"),
    (lambda: sliced_wasserstein_1(GOOD, _ref()),
     "b must be a Reference prepared with n_projections"),
    (lambda: sliced_wasserstein_1(GOOD, _ref(n_projections=4, rng=0), rng=0),
     "rng must be None with a Reference b.*got 0"),
    (lambda: sliced_wasserstein_1(GOOD, _ref(n_projections=4, rng=0), n_projections=8),
     "n_projections must be None or b's 4, got 8"),
    (lambda: sliced_wasserstein_1(GOOD[:, :1], _ref(n_projections=4, rng=0)),
     "b must have the dimension d = 1"),
    (lambda: mmd(GOOD, _ref(bandwidth=1.0), bandwidth=2.0),
     "bandwidth must be None or b's 1.0, got 2.0"),
    (lambda: wasserstein_1(GOOD[:, 0], _ref()), "b must have the dimension d = 1"),
])
def test_bad_input_with_a_reference_raises_a_named_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
