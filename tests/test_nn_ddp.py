"""Under DistributedDataParallel (2 CPU processes, gloo) penalized.nn trains like one process
on the whole batch: the Regularizer's λ is not scaled by the world size, and the prox keeps
the replicas in sync."""

import pytest

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")

from torch import nn  # noqa: E402

import penalized as pz  # noqa: E402
from penalized.nn import ProxAdamW, Regularizer  # noqa: E402

STEPS = 5


def make_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))


def make_data():
    g = torch.Generator().manual_seed(1)
    return torch.randn(32, 6, generator=g), torch.randint(0, 3, (32,), generator=g)


def train(model, x, y, mode):
    """``mode``: "loss" (L2 in the loss, SGD) or "prox" (L1 by ProxAdamW)."""
    if mode == "loss":
        reg = Regularizer(model, pz.L2(0.05))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
    else:
        reg = None
        opt = ProxAdamW(Regularizer(model, pz.L1(0.02)).param_groups(), lr=0.05)
    for _ in range(STEPS):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        if reg is not None:
            loss = loss + reg()
        loss.backward()
        opt.step()
    return model


def worker(rank, world, init_file, out_dir):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        x, y = make_data()
        half = slice(rank * 16, (rank + 1) * 16)
        for mode in ("loss", "prox"):
            ddp = nn.parallel.DistributedDataParallel(make_model())
            train(ddp, x[half], y[half], mode)
            torch.save(ddp.module.state_dict(), f"{out_dir}/{mode}-{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow  # two processes that import torch: ~10-25 s
@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")
def test_ddp_matches_single_process_full_batch(tmp_path):
    import torch.multiprocessing as mp

    mp.spawn(worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    x, y = make_data()
    for mode in ("loss", "prox"):
        reference = train(make_model(), x, y, mode).state_dict()
        states = [torch.load(tmp_path / f"{mode}-{r}.pt", weights_only=True) for r in range(2)]
        for key, value in reference.items():
            assert torch.equal(states[0][key], states[1][key]), f"{mode}: replicas out of sync at {key}"
            torch.testing.assert_close(states[0][key], value, rtol=1e-5, atol=1e-6)
        if mode == "prox":
            assert int((states[0]["0.weight"] == 0).sum()) > 0
