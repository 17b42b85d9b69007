"""Notebook 07's diffusion model for bits per pixel, trained longer than a notebook can: weights.

Notebook 07 trains one network live, for samples and guidance (``train_guided_eps_fn`` with the
ODE's weighting). For bits per pixel it sets beside it this one: the same architecture and
weighting (``RECIPE``), no labels, trained for ``RECIPE["steps"]`` steps (40.5 times the
notebook's) on the training digits minus a validation split (``validation_split``), so that the
discrete decoder's stopping step can be chosen on digits the network never saw
(``helpers.discrete_decoder.choose_decoder``). The ELBO's weighting (``weighting="elbo"``), the
usual advice for likelihood, did worse at this length in one run (notebook 07, §4).
``tools/digits_weights.py`` (``make weights``) trains it and writes ``WEIGHTS``;
``load_likelihood_model`` reads it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._checks import count
from .bits import dequantise, to_pixels

__all__ = ["WEIGHTS", "RECIPE", "Split", "validation_split", "train_likelihood_model",
           "load_likelihood_model"]

WEIGHTS = Path(__file__).with_name("weights") / "digits_long.pt"
# every argument of the training run, so the script and the test rebuild the same model
RECIPE = dict(steps=24300, batch_size=256, lr=2e-3, hidden=256, n_layers=3, sigma_min=0.01,
              sigma_max=80.0, p_uncond=1.0, weighting="ode", seed=0)
N_VALIDATION = 238     # of the 1438 training digits; 1200 train the network


@dataclass(frozen=True)
class Split:
    """Indices of the digits that train (``train``) and of those held out (``validation``)."""

    train: np.ndarray
    validation: np.ndarray


def validation_split(n, *, n_validation=N_VALIDATION):
    """The fixed split of n training digits into ``Split(train, validation)``, each sorted.

    Fixed, as ``load_digits``' train/test split is: a permutation drawn with seed 0, its first
    ``n_validation`` indices held out. The committed weights were trained on its ``train``.
    """
    n, n_validation = count("n", n), count("n_validation", n_validation)
    if n_validation >= n:
        raise ValueError(f"n_validation must be below n = {n}, got {n_validation!r}")
    order = np.random.default_rng(0).permutation(n)
    return Split(np.sort(order[n_validation:]), np.sort(order[:n_validation]))


def _training_data(x_train, labels):
    """The training rows of ``validation_split``, dequantised 16 times (seed 0) on x' = 2x - 1,
    and their labels, as ``train_guided_eps_fn`` takes them."""
    train = validation_split(len(x_train)).train
    pixels = to_pixels(np.asarray(x_train)[train])
    x0 = 2 * dequantise(np.tile(pixels, (16, 1)), rng=0) - 1
    return x0, np.tile(np.asarray(labels)[train], 16)


def train_likelihood_model(x_train, labels, *, steps=None, weighting=None, progress=True):
    """Train ``RECIPE``'s model (``steps`` and ``weighting``, "ode" or "elbo", override its own):
    a ``GuidedEpsFn``."""
    from .guidance import train_guided_eps_fn

    recipe = dict(RECIPE) if steps is None else dict(RECIPE, steps=count("steps", steps))
    if weighting is not None:
        recipe["weighting"] = weighting       # train_guided_eps_fn checks it
    x0, y0 = _training_data(x_train, labels)
    return train_guided_eps_fn(x0, y0, n_classes=10, progress=progress,
                               desc="eps_theta for likelihood", **recipe)


def load_likelihood_model(*, path=WEIGHTS, dtype="float64"):
    """The committed model as a frozen ``GuidedEpsFn`` in ``dtype`` ("float64" or "float32", as
    ``train_guided_eps_fn``'s; the file holds float32 weights); its history is the loss."""
    import torch

    from .guidance import ConditionalEpsNet, GuidedEpsFn
    from .nets import float_dtype, frozen

    dtype = float_dtype(dtype)
    state = torch.load(path, map_location="cpu", weights_only=True)
    r = RECIPE
    net = ConditionalEpsNet(64, 10, hidden=r["hidden"], n_layers=r["n_layers"],
                            sigma_min=r["sigma_min"], sigma_max=r["sigma_max"])
    net.load_state_dict({k: v.float() for k, v in state["net"].items()})
    return GuidedEpsFn(frozen(net.to(dtype)), state["history"].double().numpy(),
                       float(state["train_s"]))
