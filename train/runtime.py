"""CPU budget of training jobs: the development machine's 2 cores are shared, so torch uses at most 2."""
import torch

MAX_THREADS = 2


def limit_threads() -> None:
    """torch.set_num_threads(min(MAX_THREADS, current))."""
    torch.set_num_threads(min(MAX_THREADS, torch.get_num_threads()))
