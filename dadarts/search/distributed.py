"""Data parallelism under `torchrun`: torch.distributed with gloo on CPU, NCCL on CUDA.

Every process draws the same global batch and takes its slice rank::world_size. The search
alternates two backward passes over different parameter sets (w, then α/β/γ), which
DistributedDataParallel's one-backward-per-forward reducer does not fit, so gradients are
averaged here with one all_reduce of the flattened gradient list per step. Parameters start equal
(broadcast from rank 0) and receive equal averaged gradients, so they stay equal; BatchNorm buffers
are re-broadcast from rank 0 before every evaluation and checkpoint.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_from_env(device_type: str) -> DistInfo:
    """Join the process group torchrun describes in the environment; a single process otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    return DistInfo(rank=dist.get_rank(), world_size=dist.get_world_size(),
                    local_rank=int(os.environ.get("LOCAL_RANK", "0")))


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def average_(tensors: list[torch.Tensor], info: DistInfo) -> None:
    """Average tensors in place across processes with one all_reduce."""
    if not info.enabled or not tensors:
        return
    flat = torch.cat([t.reshape(-1).float() for t in tensors])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= info.world_size
    offset = 0
    for t in tensors:
        n = t.numel()
        t.copy_(flat[offset:offset + n].view_as(t))
        offset += n


def sum_(values: torch.Tensor, info: DistInfo) -> torch.Tensor:
    if info.enabled:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def broadcast_state_(module: torch.nn.Module, info: DistInfo, buffers_only: bool = False) -> None:
    """Copy rank 0's parameters (unless buffers_only) and buffers to every process."""
    if not info.enabled:
        return
    tensors = list(module.buffers()) if buffers_only else [*module.parameters(), *module.buffers()]
    with torch.no_grad():
        for t in tensors:
            dist.broadcast(t.data, src=0)
