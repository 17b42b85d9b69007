"""The small torch networks shared by notebook 02's naive decoder and notebook 04's VAE.

Both use the same multilayer perceptron, so a comparison between them compares objectives, not
architectures.
"""

from __future__ import annotations


def mlp(*sizes, activation="tanh"):
    """``torch.nn.Sequential`` of Linear layers of the given sizes with ``activation`` between them.

    ``mlp(2, 128, 64)`` maps R^2 to R^64 through one hidden layer of 128 units; no activation
    follows the last layer.
    """
    import torch

    acts = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "softplus": torch.nn.Softplus}
    if activation not in acts:
        raise ValueError(f"activation must be one of {sorted(acts)}, got {activation!r}")
    if len(sizes) < 2 or any(int(s) != s or s < 1 for s in sizes):
        raise ValueError(f"sizes must be at least two positive whole numbers, got {sizes!r}")
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(int(n_in), int(n_out)))
        if i < len(sizes) - 2:
            layers.append(acts[activation]())
    return torch.nn.Sequential(*layers)
