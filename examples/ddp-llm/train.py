"""Train TinyLM with DistributedDataParallel (one process per GPU)."""
import argparse
import os

import torch
import torch.distributed as dist
from torch.cuda.amp import GradScaler, autocast
from torch.nn.parallel import DistributedDataParallel as DDP

from model import TinyLM


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()

    dist.init_process_group(backend="nccl")
    rank = dist.get_rank()
    torch.cuda.set_device(rank)
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True

    model = TinyLM().cuda()
    model = DDP(model, device_ids=[rank])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    scaler = GradScaler()

    for step in range(args.steps):
        tokens = torch.randint(0, 32000, (8, 256), device=f"cuda:{rank}")
        with autocast(dtype=torch.bfloat16):
            logits = model(tokens)
            loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), tokens.view(-1))
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
        if rank == 0 and step % 10 == 0:
            mem = torch.cuda.max_memory_allocated() / 2**20
            print(f"step {step} loss {loss.item():.3f} peak {mem:.0f} MiB on cuda")

    torch.cuda.synchronize()
    if rank == 0:
        torch.save(model.module.state_dict(), os.environ.get("CKPT", "tinylm.pt"))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
