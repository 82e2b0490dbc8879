"""CUDA tests (marker ``gpu``): skipped with a reason where torch sees no CUDA device.

Run them on a GPU machine with ``pytest -m gpu tests/gpu`` (``benchmarks/gpu_session.sh`` does it
together with the GPU benchmarks).
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (torch.cuda.is_available() is False on this machine)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    from training.tiny_models import write_tiny_models

    return write_tiny_models(tmp_path_factory.mktemp("tiny-models-gpu"), mert_safetensors=True)
