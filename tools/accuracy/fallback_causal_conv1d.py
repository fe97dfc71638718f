# Reference fallback measurement (docs/accuracy.md, "Reference fallbacks (session 7)"): calls the
# PORTED public entry points of causal-conv1d (branch kcat/ascend-a2) with the CUDA extension absent,
# against the repository's reference (its tests' oracle, same tolerances) and an independent loop.
# Run with Debian's CPU torch: PYTHONPATH=tools/accuracy/fallback_standins:<port> /usr/bin/python3 <this>
import itertools, sys
import torch
import torch.nn.functional as F
import causal_conv1d
from causal_conv1d import causal_conv1d_fn, causal_conv1d_update
from causal_conv1d import causal_conv1d_interface as ci

assert ci._kcat_causal_conv1d_cuda is None, "the extension must be absent"
torch.manual_seed(0)
ok = bad = 0


def check(name, a, b, rtol=3e-4, atol=1e-3):
    global ok, bad
    if torch.allclose(a, b, rtol=rtol, atol=atol):
        ok += 1
    else:
        bad += 1
        print("MISMATCH", name, (a - b).abs().max().item())


def loop_conv(x, w, bias, silu):  # independent oracle: out[b,d,t] = sum_k w[d,k] x[b,d,t-W+1+k] + bias[d]
    B, D, L = x.shape
    W = w.shape[1]
    xp = F.pad(x, (W - 1, 0))
    out = torch.zeros_like(x)
    for k in range(W):
        out += w[:, k].view(1, D, 1) * xp[:, :, k:k + L]
    if bias is not None:
        out += bias.view(1, D, 1)
    return F.silu(out) if silu else out


# The grid of tests/test_causal_conv1d.py::test_causal_conv1d (fp32; seqlens it uses, width 2..4).
for width, seqlen, has_bias, silu, ret_final, has_init in itertools.product(
        [2, 3, 4], [1, 2, 8, 16, 32, 64, 128, 129, 130, 151, 256, 372, 512, 784, 1024, 1134, 2048, 4096],
        [False, True], [False, True], [False, True], [False, True]):
    x = torch.randn(2, 64, seqlen, requires_grad=True)
    w = torch.randn(64, width, requires_grad=True)
    bias = torch.randn(64, requires_grad=True) if has_bias else None
    init = torch.randn(2, 64, width - 1) if has_init else None
    act = "silu" if silu else None
    out = causal_conv1d_fn(x, w, bias, initial_states=init, return_final_states=ret_final, activation=act)
    ref = ci.causal_conv1d_ref(x, w, bias, initial_states=init, return_final_states=ret_final, activation=act)
    if ret_final:
        check("final", out[1], ref[1])
        out, ref = out[0], ref[0]
    check(f"fn w{width} L{seqlen}", out, ref)
    if not has_init:
        check(f"fn-vs-loop w{width} L{seqlen}", out, loop_conv(x.detach(), w.detach(), None if bias is None else bias.detach(), silu))
    g = torch.randn_like(out)
    out.backward(g)  # the test's backward: gradients flow through the reference
    ok += x.grad is not None and w.grad is not None

# causal_conv1d_update grid (tests/test_causal_conv1d.py::test_causal_conv1d_update), with and without cache_seqlens
for width, seqlen, has_bias, silu, circular in itertools.product([2, 3, 4], [1, 2, 3, 4], [False, True], [False, True], [False, True]):
    state_len = width - 1 + (seqlen - 1 if not circular else 6)
    x = torch.randn(2, 64, seqlen)
    state = torch.randn(2, 64, state_len)
    w = torch.randn(64, width)
    bias = torch.randn(64) if has_bias else None
    cache = torch.randint(0, 1024, (2,), dtype=torch.int32) if circular else None
    act = "silu" if silu else None
    s1, s2 = state.clone(), state.clone()
    out = causal_conv1d_update(x, s1, w, bias, act, cache)
    ref = ci.causal_conv1d_update_ref(x, s2, w, bias, act, cache)
    check(f"update w{width} L{seqlen}", out, ref)
    check("update-state", s1, s2)

# Arguments the reference does not take are refused, not dropped.
for call in (lambda: causal_conv1d_fn(torch.randn(1, 4, 8), torch.randn(4, 3), seq_idx=torch.zeros(1, 8, dtype=torch.int32)),
             lambda: causal_conv1d_update(torch.randn(1, 4), torch.randn(2, 4, 3), torch.randn(4, 3), conv_state_indices=torch.tensor([1], dtype=torch.int32))):
    try:
        call()
        bad += 1
        print("NOT REFUSED")
    except NotImplementedError as e:
        ok += 1
        print("refused:", e)
print(f"checks passed: {ok}, failed: {bad}")
sys.exit(1 if bad else 0)
