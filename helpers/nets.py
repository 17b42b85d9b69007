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

import math
import numbers

from ._deprecated import deprecated_use

__all__ = ["mlp", "hidden_sizes", "frozen", "float_dtype", "in_float64", "torch_threads",
           "keeps_torch_rng", "Adam", "cosine_lr", "evaluate_in_chunks"]


def cosine_lr(lr, step, steps):
    """The learning rate at ``step`` of ``steps`` under cosine decay (Loshchilov and Hutter, 2017).

    It falls from ``lr`` at step 0 to 0 at step ``steps`` as lr (1 + cos(pi step / steps)) / 2:
    the one schedule every trainer here uses.
    """
    return lr * 0.5 * (1 + math.cos(math.pi * step / steps))


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


def float_dtype(dtype):
    """torch's float32 or float64 for the option ``dtype`` = "float32" or "float64"."""
    import torch

    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    return getattr(torch, dtype)


def in_float64(net):
    """``net`` itself if it is float64, else a frozen float64 copy (``net`` is left as it was):
    what finite differences of a float32-trained network need."""
    import copy

    import torch

    if next(net.parameters()).dtype == torch.float64:
        return net
    return frozen(copy.deepcopy(net).double())


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
    it takes the same steps (``tests/test_nets.py`` checks them step by step), per parameter:

        m <- beta_1 m + (1 - beta_1) g,      v <- beta_2 v + (1 - beta_2) g^2,
        p <- p - lr / (1 - beta_1^t) * m / (sqrt(v / (1 - beta_2^t)) + eps).

    As in torch.optim, each parameter keeps its own state (``state[i]``: its step count t and m,
    v), a parameter whose ``grad`` is None is skipped, the state follows the parameter to another
    dtype or device (``net.double()`` after the optimiser was made), two optimisers on the same
    parameters both move them, and ``state_dict`` / ``load_state_dict`` save and restore a run
    (they read torch.optim.Adam's dictionaries too).

    Why not ``torch.optim.Adam`` itself: constructing the first ``torch.optim`` optimizer in a
    fresh kernel imports ``torch._dynamo``, which costs seconds per kernel (torch 2.x). Five
    notebooks train models, and the course's notebooks are meant to run in about a minute all
    together.

    Speed: while every parameter has a gradient, one dtype and device, and the same step count
    (the usual training loop), the m and v of all parameters live in one flat buffer each
    (``state[i]``'s tensors are views into them), so the moment updates are a handful of calls
    instead of a handful per parameter. Each element goes through the same operations in the same
    order as in the per-parameter loop, which is used otherwise, so the two give the same bits.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        import torch

        from ._checks import positive_scalar

        self.params = list(params)
        if not self.params:
            raise ValueError("params must hold at least one tensor, got an empty sequence")
        for p in self.params:
            if not isinstance(p, torch.Tensor) or not p.requires_grad or not p.is_leaf:
                raise ValueError(f"params must be leaf tensors that require grad, got {p!r}"[:200])
        try:
            b1, b2 = (float(b) for b in betas)
        except (TypeError, ValueError):
            raise ValueError(f"betas must be two numbers, got {betas!r}") from None
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"betas must each lie in [0, 1), got {betas!r}")
        eps = float(eps)
        if not (eps >= 0 and math.isfinite(eps)):
            raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
        # torch.optim's place for the settings, so that a schedule written for it,
        # opt.param_groups[0]["lr"] = ..., works here too (one group: every parameter)
        self.param_groups = [{"params": self.params, "lr": positive_scalar("lr", lr),
                              "betas": (b1, b2), "eps": eps}]
        self.state = {}  # parameter index -> {"step": t, "exp_avg": m, "exp_avg_sq": v}
        self._flat = None  # _FlatMoments while state[i]'s m and v are views into one buffer each

    @property
    def lr(self):
        """The learning rate, ``param_groups[0]["lr"]`` (the two names are one value)."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value):
        self.param_groups[0]["lr"] = value

    @property
    def betas(self):
        return self.param_groups[0]["betas"]

    @property
    def eps(self):
        return self.param_groups[0]["eps"]

    def zero_grad(self):
        """Forget the gradients of the last step (``torch.optim``'s default: set them to None)."""
        for p in self.params:
            p.grad = None

    def _state(self, i, p):
        """Parameter i's state, created at zero, or moved to p's dtype and device if p moved."""
        import torch

        st = self.state.get(i)
        if st is None:
            st = self.state[i] = {"step": 0, "exp_avg": torch.zeros_like(p),
                                  "exp_avg_sq": torch.zeros_like(p)}
        elif st["exp_avg"].dtype != p.dtype or st["exp_avg"].device != p.device:
            for key in ("exp_avg", "exp_avg_sq"):
                st[key] = st[key].to(p)
        return st

    def step(self, loss=None):
        """One Adam update from the gradients that ``loss.backward()`` left in each ``p.grad``.

        A parameter without a gradient is skipped, as in torch.optim. ``step(loss)``, which
        computed the gradients itself, is deprecated: call ``loss.backward()`` first.
        """
        import torch

        if loss is not None:
            deprecated_use("Adam.step(loss) is now opt.zero_grad(); loss.backward(); opt.step()")
            grads = torch.autograd.grad(loss, self.params)
        else:
            grads = [p.grad for p in self.params]
        group = self.param_groups[0]
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        with torch.no_grad():
            flat = self._flat_moments(grads)
            if flat is not None:
                flat.step(self.params, grads, lr, b1, b2, eps)
                return
            for i, (p, g) in enumerate(zip(self.params, grads)):
                if g is None:
                    continue
                st = self._state(i, p)
                st["step"] += 1
                denom, value = _adam_moments(st["exp_avg"], st["exp_avg_sq"], g, st["step"], lr,
                                             b1, b2, eps)
                p.addcdiv_(st["exp_avg"], denom, value=value)

    def _flat_moments(self, grads):
        """The flat buffers behind ``state``, made or adopted if they can serve this step, or None
        (then the per-parameter loop runs)."""
        flat = self._flat
        if flat is not None and flat.serves(self.state, self.params, grads):
            return flat
        self._flat = None
        p0 = self.params[0]
        if any(g is None for g in grads) or any(p.dtype != p0.dtype or p.device != p0.device
                                               for p in self.params):
            return None
        if not self.state:
            steps = {0}
        elif len(self.state) == len(self.params):
            steps = {st["step"] for st in self.state.values()}
        else:
            return None
        if len(steps) != 1:
            return None
        self._flat = _FlatMoments(self.state, self.params, steps.pop(), self._state)
        return self._flat

    def state_dict(self):
        """The settings and each parameter's state, in ``torch.optim.Adam``'s layout (copies)."""
        group = {k: v for k, v in self.param_groups[0].items() if k != "params"}
        # torch.optim.Adam's names for what this Adam does not do, so that it can load the result
        group.update(weight_decay=0.0, amsgrad=False, maximize=False,
                     params=list(range(len(self.params))))
        state = {i: {"step": st["step"], "exp_avg": st["exp_avg"].clone(),
                     "exp_avg_sq": st["exp_avg_sq"].clone()} for i, st in self.state.items()}
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict`` saved (ours or ``torch.optim.Adam``'s, with one group)."""
        groups = state_dict["param_groups"]
        if len(groups) != 1 or len(groups[0]["params"]) != len(self.params):
            raise ValueError(f"state_dict must hold one group of {len(self.params)} parameters, "
                             f"got groups of {[len(g['params']) for g in groups]}")
        if groups[0].get("amsgrad") or groups[0].get("weight_decay") or groups[0].get("maximize"):
            raise ValueError("state_dict uses amsgrad, weight decay or maximize, which this Adam "
                             "does not implement")
        saved, self.state = state_dict["state"], {}
        for i, p in enumerate(self.params):
            st = saved.get(groups[0]["params"][i])
            if st is None:
                continue
            if st["exp_avg"].shape != p.shape:
                raise ValueError(f"state_dict's state {i} has shape {tuple(st['exp_avg'].shape)}, "
                                 f"but parameter {i} has shape {tuple(p.shape)}")
            self.state[i] = {"step": int(st["step"]),
                             "exp_avg": st["exp_avg"].detach().to(p, copy=True),
                             "exp_avg_sq": st["exp_avg_sq"].detach().to(p, copy=True)}
        self.param_groups[0].update(lr=groups[0]["lr"], betas=tuple(groups[0]["betas"]),
                                    eps=groups[0]["eps"])


def _adam_moments(m, v, g, t, lr, b1, b2, eps, *, out=None):
    """Adam's update of m and v (in place) at step t from the gradient g, per element; returns
    the denominator sqrt(v / (1 - beta_2^t)) + eps (written into ``out`` if given) and the step
    factor -lr / (1 - beta_1^t): p <- p + factor * m / denominator. The one home of the formula,
    for the per-parameter loop and the flat buffers alike (so both give the same bits)."""
    import torch

    m.mul_(b1).add_(g, alpha=1 - b1)
    v.mul_(b2).addcmul_(g, g, value=1 - b2)
    denom = torch.div(v, 1 - b2**t, out=out).sqrt_().add_(eps)
    return denom, -lr / (1 - b1**t)


class _FlatMoments:
    """Adam's m and v for all parameters in two flat buffers; ``state[i]`` holds views into them.

    Made from zeros, or from the state it finds (every parameter at the same step count). It
    serves a step only while ``state`` still holds its views and every parameter has a gradient of
    the buffers' dtype and device: a reload, ``net.double()`` or a skipped parameter ends it.
    """

    def __init__(self, state, params, step, moved_state):
        import torch

        p0 = params[0]
        sizes = [p.numel() for p in params]
        self.m = torch.zeros(sum(sizes), dtype=p0.dtype, device=p0.device)
        self.v, self.denom = torch.zeros_like(self.m), torch.empty_like(self.m)
        self.state, self.t, self.dtype, self.device = state, step, p0.dtype, p0.device
        self.m_views, self.v_views, self.denom_views = [], [], []
        for i, (p, part_m, part_v, part_d) in enumerate(zip(
                params, self.m.split(sizes), self.v.split(sizes), self.denom.split(sizes))):
            views = part_m.view_as(p), part_v.view_as(p)
            if i in state:
                old = moved_state(i, p)   # on p's dtype and device
                views[0].copy_(old["exp_avg"])
                views[1].copy_(old["exp_avg_sq"])
            state[i] = {"step": step, "exp_avg": views[0], "exp_avg_sq": views[1]}
            self.m_views.append(views[0])
            self.v_views.append(views[1])
            self.denom_views.append(part_d.view_as(p))

    def serves(self, state, params, grads):
        if state is not self.state:
            return False
        for i, (p, g) in enumerate(zip(params, grads)):
            st = state.get(i)
            if (g is None or st is None or st["exp_avg"] is not self.m_views[i]
                    or st["exp_avg_sq"] is not self.v_views[i] or st["step"] != self.t
                    or p.dtype != self.dtype or p.device != self.device):
                return False
        return True

    def step(self, params, grads, lr, b1, b2, eps):
        """The per-parameter loop's operations, in its order, on all parameters at once."""
        import torch

        g = torch.cat([g.reshape(-1) for g in grads])
        self.t += 1
        for st in self.state.values():
            st["step"] = self.t
        _, value = _adam_moments(self.m, self.v, g, self.t, lr, b1, b2, eps, out=self.denom)
        for p, m, denom in zip(params, self.m_views, self.denom_views):
            p.addcdiv_(m, denom, value=value)


def evaluate_in_chunks(net, x, *rows, chunk_size):
    """``net(x, *rows)`` evaluated ``chunk_size`` rows at a time, without gradients on one torch
    thread, as float64 numpy: the one batched ``__call__`` of every trained eps wrapper.

    ``x`` and each of ``rows`` (per-row tensors, e.g. labels) are tensors of one length n, cut
    alike; a ``net`` of extra, non-row arguments is a closure. Returns an (n, ...) array; an empty
    x gives an empty float64 array of x's shape.
    """
    import numpy as np
    import torch

    with torch.no_grad(), torch_threads(1):
        out = [net(x[i:i + chunk_size], *(r[i:i + chunk_size] for r in rows))
               for i in range(0, len(x), chunk_size)]
    if not out:
        return np.zeros(tuple(x.shape))
    return torch.cat(out).numpy().astype(np.float64, copy=False)
