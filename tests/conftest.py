import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The suite runs under pytest-xdist with one worker per core; a multi-threaded
# torch in each worker would oversubscribe the cores many times over.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A finished one-epoch arithmetic run at base 16 (read it; copy it to change it)."""
    from neurocompiler.augment import AugmentConfig, BackboneConfig
    from neurocompiler.train import TrainConfig, train

    out = tmp_path_factory.mktemp("tiny") / "run"
    model = AugmentConfig(parsing="slots", base=16, cells=2, backbone=BackboneConfig(dim=16, layers=2, heads=2, kv_heads=1))
    train(TrainConfig(task="arithmetic", examples=40, epochs=1, batch_size=16, out=str(out), model=model),
          progress=False, log=lambda line: None)
    return out
