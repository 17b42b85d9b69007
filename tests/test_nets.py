"""helpers.nets: the hand-written Adam is torch.optim.Adam, step for step and call for call; the
MLP; threads; hidden sizes; frozen models."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers.nets import (Adam, evaluate_in_chunks, frozen, hidden_sizes, mlp,  # noqa: E402
                         torch_threads)


def _problem(seed):
    """A small regression problem with a tanh MLP, in float64 so that the two optimizers'
    different arrangements of one formula differ by ~1e-16 per step, not by float32 rounding."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(32, 3, generator=gen, dtype=torch.float64)
    y = torch.sin(x.sum(1, keepdim=True)) + 0.1 * torch.randn(32, 1, generator=gen,
                                                              dtype=torch.float64)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = mlp(3, 16, 1).double()
    return net, x, y


@pytest.mark.parametrize("lr, betas, eps", [(1e-2, (0.9, 0.999), 1e-8), (3e-3, (0.5, 0.9), 1e-6),
                                            (1e-1, (0.0, 0.99), 1e-8)])
def test_adam_matches_torch_optim_adam_step_for_step(lr, betas, eps):
    ours_net, x, y = _problem(0)
    ref_net, _, _ = _problem(0)
    ours = Adam(ours_net.parameters(), lr, betas=betas, eps=eps)
    ref = torch.optim.Adam(ref_net.parameters(), lr=lr, betas=betas, eps=eps, foreach=False)
    for step in range(50):
        # the same three calls for both: the interface every PyTorch tutorial uses
        ours.zero_grad()
        ((ours_net(x) - y) ** 2).mean().backward()
        ours.step()
        ref.zero_grad()
        ((ref_net(x) - y) ** 2).mean().backward()
        ref.step()
        for p, q in zip(ours_net.parameters(), ref_net.parameters()):
            torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-9, atol=1e-12,
                                       msg=lambda m: f"step {step + 1}: {m}")
    start = _problem(0)[0]
    moved = sum(float((p - q).detach().abs().sum()) for p, q in zip(ours_net.parameters(),
                                                                     start.parameters()))
    assert moved > 0.1, "the parameters barely moved: the comparison would prove nothing"


def test_adam_first_step_is_lr_times_the_gradient_sign():
    """After one step, Adam moves every parameter by lr * g / (|g| + eps) (bias-corrected)."""
    w = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    opt = Adam([w], lr=0.1)
    (w * torch.tensor([2.0, -0.5, 1e-3])).sum().backward()
    opt.step()
    step = torch.tensor([1.0, -1.0, 1e-3 / (1e-3 + 1e-8)])  # g / (|g| + eps)
    expected = torch.tensor([1.0, -2.0, 3.0]) - 0.1 * step
    torch.testing.assert_close(w.detach(), expected)


def test_mlp_layers_and_bad_sizes():
    net = mlp(2, 8, 8, 5, activation="relu")
    assert [type(m).__name__ for m in net] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert net(torch.zeros(4, 2)).shape == (4, 5)
    with pytest.raises(ValueError, match="sizes"):
        mlp(2)
    with pytest.raises(ValueError, match="activation"):
        mlp(2, 3, activation="gelu")


def test_torch_threads_sets_and_restores_the_count():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="num_threads"):
        torch_threads(0)


def test_adam_keeps_each_parameter_its_own_tensor():
    """The module still sees its own Parameters, with their shapes, and a step moves them."""
    net = mlp(3, 4, 2)
    params_before = [id(p) for p in net.parameters()]
    shapes = [p.shape for p in net.parameters()]
    opt = Adam(net.parameters(), lr=0.1)
    assert [id(p) for p in net.parameters()] == params_before
    assert [p.shape for p in net.parameters()] == shapes
    last = list(net.parameters())[-1].detach().clone()
    net(torch.ones(5, 3)).sum().backward()
    opt.step()
    assert not torch.equal(list(net.parameters())[-1].detach(), last)


def _run_both(make_ours, make_ref, steps=20, between=None):
    """Train two copies of one problem, ours and torch.optim.Adam's, with the same calls; return
    the two nets. ``between(ours_opt, ref_opt, ours_net, ref_net)`` may replace things midway."""
    ours_net, x, y = _problem(2)
    ref_net, _, _ = _problem(2)
    ours, ref = make_ours(ours_net), make_ref(ref_net)
    for step in range(steps):
        if between is not None and step == steps // 2:
            ours, ref, ours_net, ref_net = between(ours, ref, ours_net, ref_net)
        for opt, net in ((ours, ours_net), (ref, ref_net)):
            opt.zero_grad()
            ((net(x.to(next(net.parameters()).dtype)) - y.to(next(net.parameters()).dtype))
             ** 2).mean().backward()
            opt.step()
    return ours_net, ref_net


def _same(ours_net, ref_net):
    for p, q in zip(ours_net.parameters(), ref_net.parameters()):
        torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-9, atol=1e-12)


def test_adam_after_the_model_changes_dtype_keeps_training_it():
    """net.float() after the optimiser was made: ours moves its state along and keeps training the
    Parameters the model reads (the old flat-buffer Adam silently stopped here; torch.optim.Adam
    raises a dtype error). The reference: torch.optim.Adam whose state is converted by hand."""
    def to_float(ours, ref, ours_net, ref_net):
        for st in ref.state.values():
            for key in ("exp_avg", "exp_avg_sq"):
                st[key] = st[key].float()
        return ours, ref, ours_net.float(), ref_net.float()

    ours_net, ref_net = _run_both(lambda n: Adam(n.parameters(), 1e-2),
                                  lambda n: torch.optim.Adam(n.parameters(), 1e-2, foreach=False),
                                  between=to_float)
    assert next(ours_net.parameters()).dtype == torch.float32
    for p, q in zip(ours_net.parameters(), ref_net.parameters()):
        torch.testing.assert_close(p.detach(), q.detach())
    halfway = _run_both(lambda n: Adam(n.parameters(), 1e-2),
                        lambda n: Adam(n.parameters(), 1e-2), steps=10)[0].float()
    assert sum(float((p - q).detach().abs().sum()) for p, q in zip(ours_net.parameters(),
                                                                   halfway.parameters())) > 0.05


def test_the_first_adam_still_trains_after_a_second_is_made_on_the_same_parameters():
    """A learner re-runs a cell that makes another optimiser, then steps the first one: with
    torch.optim the parameters keep moving (the old flat-buffer Adam silently stopped)."""
    def second(ours, ref, ours_net, ref_net):
        Adam(ours_net.parameters(), 1e-2)
        torch.optim.Adam(ref_net.parameters(), 1e-2, foreach=False)
        return ours, ref, ours_net, ref_net

    _same(*_run_both(lambda n: Adam(n.parameters(), 1e-2),
                     lambda n: torch.optim.Adam(n.parameters(), 1e-2, foreach=False),
                     between=second))


@pytest.mark.parametrize("source", ["ours", "torch.optim"])
def test_state_dict_restores_a_run_midway(source):
    """Save midway, load into a fresh optimiser, and continue: the same steps as without the
    break, for our dictionary and for torch.optim.Adam's."""
    saved = {}

    def reload(ours, ref, ours_net, ref_net):
        state = ours.state_dict() if source == "ours" else ref.state_dict()
        fresh = Adam(ours_net.parameters(), 0.5, betas=(0.1, 0.2), eps=1.0)   # all overwritten
        fresh.load_state_dict(state)
        saved["state"] = state
        return fresh, ref, ours_net, ref_net

    _same(*_run_both(lambda n: Adam(n.parameters(), 1e-2, betas=(0.8, 0.99), eps=1e-7),
                     lambda n: torch.optim.Adam(n.parameters(), 1e-2, betas=(0.8, 0.99), eps=1e-7,
                                                foreach=False), between=reload))
    assert saved["state"]["state"], "nothing was saved: the test would prove nothing"


def test_torch_optim_adam_continues_from_our_state_dict():
    def reload(ours, ref, ours_net, ref_net):
        fresh = torch.optim.Adam(ref_net.parameters(), 0.5, foreach=False)
        fresh.load_state_dict(ours.state_dict())
        return ours, fresh, ours_net, ref_net

    _same(*_run_both(lambda n: Adam(n.parameters(), 1e-2),
                     lambda n: torch.optim.Adam(n.parameters(), 1e-2, foreach=False),
                     between=reload))


def test_a_parameter_of_another_dtype_trains_alongside():
    a = torch.tensor([1.0], requires_grad=True)
    b = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    opt = Adam([a, b], lr=0.1)
    (a * b).sum().backward()
    opt.step()
    assert a.item() == pytest.approx(0.9) and b.item() == pytest.approx(1.9)


def test_zero_grad_forgets_the_last_gradient():
    """Without zero_grad, backward accumulates (as with torch.optim); with it, each step sees only
    its own gradient."""
    w = torch.tensor([1.0], requires_grad=True)
    opt = Adam([w], lr=0.1)
    (3 * w).sum().backward()
    (3 * w).sum().backward()
    assert w.grad.item() == 6.0
    opt.zero_grad()
    assert w.grad is None
    (2 * w).sum().backward()
    assert w.grad.item() == 2.0


def test_a_parameter_without_gradient_does_not_move():
    a = torch.tensor([1.0], requires_grad=True)
    b = torch.tensor([5.0], requires_grad=True)
    opt = Adam([a, b], lr=0.1)
    (a * 2).sum().backward()
    opt.step()
    assert b.item() == 5.0 and a.item() != 1.0


def test_old_step_with_a_loss_still_works_and_warns():
    net_old, x, y = _problem(1)
    net_new, _, _ = _problem(1)
    old, new = Adam(net_old.parameters(), 1e-2), Adam(net_new.parameters(), 1e-2)
    for _ in range(3):
        with pytest.warns(DeprecationWarning, match="zero_grad"):
            old.step(((net_old(x) - y) ** 2).mean())
        new.zero_grad()
        ((net_new(x) - y) ** 2).mean().backward()
        new.step()
    for p, q in zip(net_old.parameters(), net_new.parameters()):
        assert torch.equal(p.detach(), q.detach())


def test_adam_bad_input():
    w = torch.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match="lr"):
        Adam([w], lr=0.0)
    with pytest.raises(ValueError, match="params"):
        Adam([], lr=0.1)
    with pytest.raises(ValueError, match="params"):
        Adam([torch.zeros(1)], lr=0.1)                     # no grad: it could never move
    for betas in [(0.9,), (1.0, 0.999), (0.9, -0.1), "ab"]:
        with pytest.raises(ValueError, match="betas"):
            Adam([w], lr=0.1, betas=betas)
    for eps in [-1e-8, float("nan"), float("inf")]:
        with pytest.raises(ValueError, match="eps"):
            Adam([w], lr=0.1, eps=eps)
    opt = Adam([w], lr=0.1)
    with pytest.raises(ValueError, match="one group of 1"):
        opt.load_state_dict(Adam([w, torch.zeros(2, requires_grad=True)]).state_dict())
    (2 * w).sum().backward()
    opt.step()
    with pytest.raises(ValueError, match="shape"):
        Adam([torch.zeros(3, requires_grad=True)]).load_state_dict(opt.state_dict())
    ref = torch.optim.Adam([w], lr=0.1, amsgrad=True)
    with pytest.raises(ValueError, match="amsgrad"):
        opt.load_state_dict(ref.state_dict())


def test_hidden_sizes_and_frozen():
    assert hidden_sizes(8) == (8,) and hidden_sizes((4, 5)) == (4, 5) and hidden_sizes(()) == ()
    assert hidden_sizes(None) == ()
    for bad in (0, (8, 0), "x", 2.5):
        with pytest.raises(ValueError, match="hidden"):
            hidden_sizes(bad)
    net = mlp(2, 3, 1)
    assert frozen(net) is net and not net.training
    assert not any(p.requires_grad for p in net.parameters())


def test_a_learning_rate_schedule_written_for_torch_optim_works_unchanged():
    """Notebook 05's cosine decay sets opt.param_groups[0]["lr"]: the same line must drive both
    optimizers, step for step (a plain attribute would be ignored by one of them, silently)."""
    import math

    ours_net, x, y = _problem(2)
    ref_net, _, _ = _problem(2)
    ours, ref = Adam(ours_net.parameters(), 1e-2), torch.optim.Adam(ref_net.parameters(), 1e-2,
                                                                    foreach=False)
    for step in range(30):
        for opt, net in ((ours, ours_net), (ref, ref_net)):
            opt.param_groups[0]["lr"] = 1e-2 * 0.5 * (1 + math.cos(math.pi * step / 30))
            opt.zero_grad()
            ((net(x) - y) ** 2).mean().backward()
            opt.step()
    for p, q in zip(ours_net.parameters(), ref_net.parameters()):
        torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-9, atol=1e-12)
    assert ours.lr == ours.param_groups[0]["lr"] == pytest.approx(1e-2 * 0.5 * (1 + math.cos(math.pi * 29 / 30)))
    constant_net, _, _ = _problem(2)
    constant = Adam(constant_net.parameters(), 1e-2)
    for _ in range(30):
        constant.zero_grad()
        ((constant_net(x) - y) ** 2).mean().backward()
        constant.step()
    assert not torch.equal(next(constant_net.parameters()), next(ours_net.parameters()))


def test_evaluate_in_chunks_cuts_every_row_argument_alike():
    net = lambda x, y: x * y[:, None]  # noqa: E731 - a row-wise "network" with per-row labels
    x = torch.arange(14, dtype=torch.float32).reshape(7, 2)
    y = torch.arange(7, dtype=torch.float32)
    whole = (x * y[:, None]).numpy().astype(np.float64)
    for chunk_size in (1, 3, 7, 100):
        out = evaluate_in_chunks(net, x, y, chunk_size=chunk_size)
        assert out.dtype == np.float64
        np.testing.assert_array_equal(out, whole)
    grad = torch.ones(3, 2, requires_grad=True)
    assert evaluate_in_chunks(lambda v: v * 2, grad, chunk_size=2).shape == (3, 2)  # no_grad
    assert evaluate_in_chunks(lambda v: v, torch.zeros(0, 4), chunk_size=5).shape == (0, 4)


def test_cosine_lr_falls_from_lr_to_zero_along_half_a_cosine():
    from helpers.nets import cosine_lr

    lr, steps = 0.3, 1000
    assert cosine_lr(lr, 0, steps) == lr and cosine_lr(lr, steps, steps) == pytest.approx(0, abs=1e-15)
    assert cosine_lr(lr, steps // 2, steps) == pytest.approx(lr / 2, rel=1e-12)
    # a quarter of the way: (1 + cos(pi / 4)) / 2 = 0.8536 of lr, not the linear 0.75
    assert cosine_lr(lr, steps // 4, steps) == pytest.approx(lr * (2 + 2**0.5) / 4, rel=1e-12)
    values = [cosine_lr(lr, s, steps) for s in range(steps + 1)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_float_dtype_and_in_float64():
    from helpers.nets import float_dtype, in_float64

    assert (float_dtype("float32"), float_dtype("float64")) == (torch.float32, torch.float64)
    with pytest.raises(ValueError, match="dtype must be .* got 'float16'"):
        float_dtype("float16")
    torch.manual_seed(0)
    net32 = frozen(mlp(3, 8, 2))
    net64 = in_float64(net32)
    assert next(net32.parameters()).dtype == torch.float32          # the original is left as it was
    assert next(net64.parameters()).dtype == torch.float64 and not net64.training
    assert not any(p.requires_grad for p in net64.parameters())
    for p32, p64 in zip(net32.parameters(), net64.parameters()):
        assert torch.equal(p32.double(), p64)                           # the same weights, widened
    assert in_float64(net64) is net64                                   # float64 already: itself


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_flat_moments_give_the_bits_of_the_per_parameter_loop(dtype):
    """In the usual loop Adam keeps m and v in one flat buffer each; with a parameter that never
    gets a gradient it runs its per-parameter loop. Both must train a net to the same bits."""
    def train(extra):
        torch.manual_seed(3)
        net = mlp(5, 48, 48, 7).to(dtype)   # sizes that are no multiple of a vector width
        params = list(net.parameters()) + ([torch.zeros(3, requires_grad=True)] if extra else [])
        opt = Adam(params, 3e-3)
        gen = torch.Generator().manual_seed(4)
        for _ in range(100):
            x = torch.randn(64, 5, generator=gen, dtype=dtype)
            opt.zero_grad()
            ((net(x) - x.sum(1, keepdim=True).sin()) ** 2).mean().backward()
            opt.step()
        return net, opt

    flat_net, flat_opt = train(extra=False)
    loop_net, loop_opt = train(extra=True)
    storages = {st["exp_avg"].untyped_storage().data_ptr() for st in flat_opt.state.values()}
    assert len(storages) == 1, "the usual loop did not use one flat buffer"
    assert len({st["exp_avg"].untyped_storage().data_ptr()
                for st in loop_opt.state.values()}) == len(loop_opt.state)
    for p, q in zip(flat_net.parameters(), loop_net.parameters()):
        assert torch.equal(p, q)
    assert all(st["step"] == 100 for st in flat_opt.state.values())
