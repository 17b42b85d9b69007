"""helpers.data: the bundled 8x8 digits, split once and for all, no download."""

import socket

import numpy as np
import pytest

from helpers import data
from helpers.data import load_digits, load_digits_with_labels


def test_split_sizes_dtype_and_range():
    train, test = load_digits_with_labels("train"), load_digits_with_labels("test")
    x_train, y_train, x_test, y_test = train.x, train.labels, test.x, test.labels
    assert x_train.shape == (1438, 64) and x_test.shape == (359, 64)
    assert y_train.shape == (1438,) and y_test.shape == (359,)
    for x in (x_train, x_test):
        assert x.dtype == np.float32
        assert x.min() == 0.0 and x.max() == 1.0
        # the raw pixels are the integers 0..16, so every value is a multiple of 1/16
        assert np.array_equal(x * 16, np.round(x * 16))
    assert set(np.unique(np.concatenate([y_train, y_test]))) == set(range(10))


def test_split_is_a_fixed_partition_of_the_whole_set():
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    x_train, x_test = load_digits("train"), load_digits("test")
    both = np.concatenate([x_train, x_test]) * 16
    # same multiset of images: sort rows lexicographically and compare
    key = lambda a: a[np.lexsort(a.T[::-1])]
    assert np.array_equal(key(both), key(bunch.data.astype(np.float32)))
    # the split depends on nothing but the seed: recompute it from scratch
    data._split.cache_clear()
    assert np.array_equal(load_digits("train"), x_train)
    assert np.array_equal(load_digits("test"), x_test)


def test_callers_get_a_copy():
    x = load_digits("train")
    x[:] = -1.0
    assert load_digits("train").min() == 0.0


def test_no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("load_digits tried to open a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    data._split.cache_clear()
    assert load_digits("test").shape == (359, 64)


@pytest.mark.parametrize("split", ["validation", "", None, 0])
def test_bad_split(split):
    with pytest.raises(ValueError, match="split"):
        load_digits(split)


def test_two_moons_shape_seed_and_moments():
    from helpers.data import two_moons

    x = two_moons(8000, rng=1)
    assert x.shape == (8000, 2)
    np.testing.assert_array_equal(x, two_moons(8000, rng=1))
    assert not np.array_equal(x, two_moons(8000, rng=2))
    # Before the mapping, half the points are (cos a, sin a) and half (1 - cos a, 1/2 - sin a) with
    # a ~ U(0, pi): means (1/2, 1/4). Mapped by (x + 0.3) 2 - 1 and (y + 0.3) 3 - 1: (0.6, 0.65).
    # Tolerance: 5 standard errors of each sample mean (sd / sqrt(n)).
    se = x.std(axis=0) / np.sqrt(len(x))
    assert np.all(np.abs(x.mean(axis=0) - [0.6, 0.65]) < 5 * se), (x.mean(axis=0), se)
    # with no noise every point lies on one of the two unit half circles (before the mapping)
    raw = two_moons(500, rng=3, noise=0.0)
    u, v = (raw[:, 0] + 1) / 2 - 0.3, (raw[:, 1] + 1) / 3 - 0.3
    on_outer = np.isclose(u**2 + v**2, 1.0) & (v >= -1e-12)
    on_inner = np.isclose((1 - u) ** 2 + (0.5 - v) ** 2, 1.0) & (v <= 0.5 + 1e-12)
    assert np.all(on_outer | on_inner)
    assert 0.4 < on_outer.mean() < 0.6


@pytest.mark.parametrize("kwargs, match", [({"n": 0}, "n must"), ({"n": 5, "noise": -0.1}, "noise"),
                                           ({"n": 5, "noise": float("nan")}, "noise")])
def test_two_moons_bad_input(kwargs, match):
    from helpers.data import two_moons

    with pytest.raises(ValueError, match=match):
        two_moons(**kwargs)


def test_labels_come_from_their_own_function_and_return_labels_is_retired():
    test = load_digits_with_labels("test")
    np.testing.assert_array_equal(test.x, load_digits("test"))
    assert test.labels.shape == (len(test.x),) and set(test.labels) == set(range(10))
    with pytest.warns(DeprecationWarning, match="load_digits_with_labels"):
        x, y = load_digits("test", return_labels=True)
    np.testing.assert_array_equal(y, test.labels)
    with pytest.warns(DeprecationWarning):
        np.testing.assert_array_equal(load_digits("test", return_labels=False), test.x)
    with pytest.raises(ValueError, match="split"):
        load_digits_with_labels("validation")
