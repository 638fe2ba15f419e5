"""A counter-based random number generator shared by the CPU and CUDA kernels.

``hash_uniform(seed, step, i)`` is a pure function of three integers: the
SplitMix64 finalizer (Steele, Lea & Flood 2014) applied to a combination of
them, turned into a float in [0, 1) with 24 random bits. The CPU module
compiles it with ``numba.njit`` and the CUDA module as a device function, so
the same seed draws the same dropout masks on either device, kernels keep no
random state, and nothing random crosses between host and device.
"""

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_STEP = np.uint64(0xD1B54A32D192ED03)
_SHIFT_30 = np.uint64(30)
_SHIFT_27 = np.uint64(27)
_SHIFT_31 = np.uint64(31)
_SHIFT_40 = np.uint64(40)
_INV_2_24 = np.float32(1.0 / (1 << 24))


def hash_uniform(seed, step, i):
    """A float32 in [0, 1) determined by ``(seed, step, i)`` (all non-negative ints)."""
    z = np.uint64(seed) + np.uint64(step) * _STEP + np.uint64(i) * _GOLDEN
    z = (z ^ (z >> _SHIFT_30)) * _MIX_1
    z = (z ^ (z >> _SHIFT_27)) * _MIX_2
    z = z ^ (z >> _SHIFT_31)
    return np.float32(z >> _SHIFT_40) * _INV_2_24
