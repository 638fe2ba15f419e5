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
