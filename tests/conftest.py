import os
import sys

# The CUDA kernels are tested on Numba's CUDA simulator, on any machine, unless
# SKNEURO_TEST_DEVICE=cuda asks for a real GPU. numba-cuda's start-up hook has
# imported numba (and read its environment) before this file runs, so the
# switch is made on numba.config too; it must happen before numba.cuda loads.
if os.environ.get("SKNEURO_TEST_DEVICE") != "cuda":
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"  # for subprocesses
    import numba

    assert "numba.cuda" not in sys.modules, "numba.cuda was imported before conftest"
    numba.config.ENABLE_CUDASIM = True

import numpy as np
import pytest
from hypothesis import settings

# Kernels compile on first use; a generous deadline keeps the first example
# of each test from being flagged as slow.
settings.register_profile("skneuro", deadline=None, max_examples=25)
settings.load_profile("skneuro")


@pytest.fixture
def rng():
    return np.random.default_rng(0)
