import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The suite runs under pytest-xdist with one worker per core; a multi-threaded
# torch in each worker would oversubscribe the cores many times over.
torch.set_num_threads(1)
