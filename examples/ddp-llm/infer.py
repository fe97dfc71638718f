"""Generate with a trained TinyLM checkpoint."""
import os
import sys

import torch

from model import TinyLM

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "0")


def generate(ckpt, prompt_tokens, new_tokens=32):
    device = torch.device("cuda", 0)
    model = TinyLM()
    model.load_state_dict(torch.load(ckpt, map_location="cuda:0"))
    model = model.to(device).eval().half()
    tokens = torch.tensor([prompt_tokens], device=device)
    with torch.no_grad():
        for _ in range(new_tokens):
            nxt = model(tokens)[:, -1].argmax(-1, keepdim=True)
            tokens = torch.cat([tokens, nxt], dim=1)
    torch.cuda.synchronize()
    return tokens[0].tolist()


if __name__ == "__main__":
    if not torch.cuda.is_available():
        sys.exit("this script needs a CUDA GPU")
    print(generate(sys.argv[1], [1, 2, 3]))
