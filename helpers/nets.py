"""The small torch building blocks of every trained model: the MLP, Adam, torch threads.

Notebook 02's naive decoder, notebook 04's VAE and notebook 05's noise predictor are trained with
what is here, and the training loops that notebooks 04 and 05 show use ``Adam`` the way every
PyTorch tutorial uses ``torch.optim.Adam``:

    opt = Adam(net.parameters(), lr=3e-3)
    for step in range(steps):
        loss = ...
        opt.zero_grad()
        loss.backward()
        opt.step()

The naive decoder and the VAE share one ``mlp``, so a comparison between them compares
objectives, not architectures.
"""

from __future__ import annotations

import numbers
import warnings

__all__ = ["mlp", "hidden_sizes", "frozen", "torch_threads", "keeps_torch_rng", "Adam"]


def hidden_sizes(hidden):
    """Hidden layer widths as a tuple: an int gives one layer, a sequence one per entry, ``()`` or
    None none (a linear map)."""
    from ._checks import count

    if hidden is None:
        return ()
    if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
        return (count("hidden", hidden),)
    try:
        return tuple(count("hidden", h) for h in hidden)
    except TypeError:
        raise ValueError(f"hidden must be a whole number, a sequence of them, or (), got "
                         f"{hidden!r}") from None


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


def frozen(module):
    """``module`` itself, switched to eval mode with its parameters frozen: a trained model."""
    module.eval()
    module.requires_grad_(False)
    return module


def keeps_torch_rng(train):
    """Decorate a trainer so that torch's global random state is the same after it as before.

    The trainer may seed the global generator for its initial weights (``torch.manual_seed``);
    it does so inside ``torch.random.fork_rng``, so nothing a learner draws later depends on it.
    """
    import functools

    @functools.wraps(train)
    def wrapper(*args, **kwargs):
        import torch

        with torch.random.fork_rng(devices=[]):
            return train(*args, **kwargs)

    return wrapper


class torch_threads:
    """Run a block with ``n`` torch threads (None: leave torch's choice), then restore the count.

    Training defaults to one thread. These networks are small (64 pixels, a few hundred hidden
    units): on a shared 2-core machine a second thread mostly waits for the first (steps measured
    4 to 20 times slower with two threads while other jobs ran), and one thread keeps results
    repeatable bit for bit on one machine (another CPU's kernels round differently). The second
    core is better used by an independent job, or by training a grid of models in one batched
    pass.
    """

    def __init__(self, n=1):
        from ._checks import count

        self.n = None if n is None else count("num_threads", n)

    def __enter__(self):
        import torch

        self.saved = torch.get_num_threads()
        if self.n is not None:
            torch.set_num_threads(self.n)
        return self

    def __exit__(self, *exc):
        import torch

        torch.set_num_threads(self.saved)
        return False


class Adam:
    """Adam (Kingma and Ba, 2015): ``torch.optim.Adam``'s update and interface, written out.

    Use it as ``torch.optim.Adam``: ``opt.zero_grad()``, ``loss.backward()``, ``opt.step()``, and
    set the learning rate as ``opt.param_groups[0]["lr"] = ...`` (one group). With equal settings
    it takes the same steps (``tests/test_nets.py`` checks them step by step):

        m <- beta_1 m + (1 - beta_1) g,      v <- beta_2 v + (1 - beta_2) g^2,
        p <- p - lr / (1 - beta_1^t) * m / (sqrt(v / (1 - beta_2^t)) + eps).

    Why not ``torch.optim.Adam`` itself: constructing the first ``torch.optim`` optimizer in a
    fresh kernel imports ``torch._dynamo``, which took 1.4-1.6 s here (torch 2.13, measured when
    this class was written). Three notebooks train models, so that would cost several seconds
    of a course whose notebooks run in about a minute all together.

    The parameters are moved into one flat buffer (each parameter becomes a view of its slice),
    so a step is five whole-buffer operations instead of five per tensor: for the small networks
    here the per-tensor version spent about a fifth of every training step on launching them.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        import torch

        from ._checks import positive_scalar

        self.params = list(params)
        if not self.params:
            raise ValueError("params must hold at least one tensor, got an empty sequence")
        # torch.optim's place for the learning rate, so that a schedule written for it,
        # opt.param_groups[0]["lr"] = ..., works here too (one group: every parameter)
        self.param_groups = [{"params": self.params, "lr": positive_scalar("lr", lr)}]
        self.betas, self.eps, self.t = betas, eps, 0
        dtypes = {p.dtype for p in self.params}
        if len(dtypes) != 1:
            raise ValueError(f"params must share one dtype, got {sorted(map(str, dtypes))}")
        with torch.no_grad():
            self.flat = torch.cat([p.detach().reshape(-1) for p in self.params])
            start = 0
            for p in self.params:  # p now lives in its slice of the flat buffer
                p.data = self.flat[start:start + p.numel()].view_as(p)
                start += p.numel()
        self.m = torch.zeros_like(self.flat)  # running mean of the gradient
        self.v = torch.zeros_like(self.flat)  # running mean of its square

    @property
    def lr(self):
        """The learning rate, ``param_groups[0]["lr"]`` (the two names are one value)."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value):
        self.param_groups[0]["lr"] = value

    def zero_grad(self):
        """Forget the gradients of the last step (``torch.optim``'s default: set them to None)."""
        for p in self.params:
            p.grad = None

    def step(self, loss=None):
        """One Adam update from the gradients that ``loss.backward()`` left in each ``p.grad``.

        A parameter without a gradient counts as gradient 0. ``step(loss)``, which computed the
        gradients itself, is deprecated: call ``loss.backward()`` first.
        """
        import torch

        if loss is not None:
            warnings.warn("Adam.step(loss) is deprecated: call opt.zero_grad(), loss.backward(), "
                          "opt.step()", DeprecationWarning, stacklevel=2)
            grads = torch.autograd.grad(loss, self.params)
        else:
            grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in self.params]
        self.t += 1
        b1, b2 = self.betas
        with torch.no_grad():
            g = torch.cat([g.reshape(-1) for g in grads])
            self.m.mul_(b1).add_(g, alpha=1 - b1)
            self.v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (self.v / (1 - b2**self.t)).sqrt_().add_(self.eps)
            self.flat.addcdiv_(self.m, denom, value=-self.param_groups[0]["lr"] / (1 - b1**self.t))
