"""mixingbuddy-train silences known-harmless library notices, and only those."""

from __future__ import annotations

import logging
import warnings

from training.cli import quiet_known_library_noise


def test_transformers_future_warnings_are_silenced_others_are_not():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_known_library_noise()
        warnings.warn_explicit("`is_gradient_checkpointing` is deprecated and will be removed in v6.", FutureWarning,
                               "modeling_utils.py", 3312, module="transformers.modeling_utils")
        warnings.warn_explicit("something changes", FutureWarning, "ours.py", 1, module="training.train")
        warnings.warn_explicit("a real problem", UserWarning, "modeling_utils.py", 1, module="transformers.modeling_utils")
    assert [str(w.message) for w in caught] == ["something changes", "a real problem"]


def test_bitsandbytes_kernel_notice_is_dropped_other_records_are_kept(caplog):
    quiet_known_library_noise()
    log = logging.getLogger("bitsandbytes.backends.cpu.ops")
    with caplog.at_level(logging.WARNING, logger=log.name):
        log.warning("Failed to load CPU gemm_4bit_forward from kernels-community: %s. Please make sure you "
                    "already `pip install kernels`", "No module named 'kernels'")
        log.warning("a different bitsandbytes warning")
    assert [r.getMessage() for r in caplog.records] == ["a different bitsandbytes warning"]
