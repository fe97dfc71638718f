# Measurement stand-in: Debian's torch 1.13 lacks torch.library.custom_op (torch >= 2.4), which
# causal_conv1d/cpp_functions.py uses at import time to register the CUDA ops. The fallback path never
# calls those ops; this no-op decorator only lets the module import on torch 1.13.
import torch
import torch.library

if not hasattr(torch.library, "custom_op"):
    def custom_op(name, fn=None, *, mutates_args=(), device_types=None, schema=None):
        def wrap(f):
            f.register_fake = lambda g: g
            f.register_autograd = lambda *a, **k: None
            return f
        return wrap if fn is None else wrap(fn)

    torch.library.custom_op = custom_op
