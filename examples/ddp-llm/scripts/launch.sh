#!/bin/bash
# Train on two GPUs of this node.
set -e
nvidia-smi
export CUDA_VISIBLE_DEVICES=0,1
export NCCL_DEBUG=WARN
torchrun --nproc_per_node 2 train.py --steps 200
