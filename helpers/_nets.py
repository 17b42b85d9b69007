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


class torch_threads:
    """Run a block with ``n`` torch threads (None: leave torch's choice), then restore the count.

    Training defaults to one thread. These networks are small (64 pixels, a few hundred hidden
    units): on a shared 2-core machine a second thread mostly waits for the first (steps measured
    4 to 20 times slower with two threads while other jobs ran), and one thread keeps results
    reproducible bit for bit. The second core is better used by an independent job, or by
    training a grid of models in one batched pass.
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
    """Adam (Kingma and Ba, 2015), written out: the update of ``torch.optim.Adam`` with its defaults.

    Written out because constructing any ``torch.optim`` optimizer first imports
    ``torch._dynamo``, which costs 2-5 s on a laptop-class CPU: most of the time budget of a
    notebook's training cell. ``step(loss)`` computes the gradients itself.

    The parameters are moved into one flat buffer (each parameter becomes a view of its slice),
    so a step is five whole-buffer operations instead of five per tensor. The arithmetic per
    element is unchanged; for the small networks here the per-tensor version spent about a
    fifth of every training step on launching those small operations.
    """

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8):
        import torch

        self.params = list(params)
        self.lr, self.betas, self.eps, self.t = lr, betas, eps, 0
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

    def step(self, loss):
        import torch

        grads = torch.autograd.grad(loss, self.params)
        self.t += 1
        b1, b2 = self.betas
        with torch.no_grad():
            g = torch.cat([g.reshape(-1) for g in grads])
            self.m.mul_(b1).add_(g, alpha=1 - b1)
            self.v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (self.v / (1 - b2**self.t)).sqrt_().add_(self.eps)
            self.flat.addcdiv_(self.m, denom, value=-self.lr / (1 - b1**self.t))
