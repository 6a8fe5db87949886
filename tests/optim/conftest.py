"""Run the optimizer tests with one torch thread.

Their tensors are small, and on a busy 2-core CI machine the intra-op
threads that spin between parallel calls slowed these tests down by about
1.7 times (torch 2.13, OpenMP).
"""

import pytest
import torch


@pytest.fixture(autouse=True)
def single_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
