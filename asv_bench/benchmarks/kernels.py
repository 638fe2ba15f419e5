"""The convolution kernels in lanes on their own, so a regression in them shows
apart from the estimators around them.

Shapes from the networks that use them: the DDPM U-Net's 32 -> 32 channels on
8x8 planes and 128 -> 64 on 4x4 (one shard of a 64-row batch: 32 samples),
and the course's MNIST CNN's 6 -> 16 channels on 14x14 under a 5x5 window.
Besides the times, ``track_*_gflops`` records the throughput (one core: the
kernels run serially, as inside the shards), which is what to compare with
the machine's limit; for the Winograd convolution (3x3 shapes) it counts the
direct convolution's operations, so its "GFLOP/s" is the direct kernel's
rate that would match it.
"""

import time

import numpy as np

from skneuro.kernels.cpu import lanes, winograd
from skneuro.nn.backend import aligned_empty

SHAPES = {  # channels in, filters, plane side, window
    "unet-32x32-8x8": (32, 32, 8, 3),
    "unet-128x64-4x4": (128, 64, 4, 3),
    "cnn-6x16-14x14": (6, 16, 14, 5),
}
SAMPLES = 32


class _LanesArrays:
    """The arrays of one shape, in lanes (a mixin: no benchmarks of its own)."""

    param_names = ["shape"]
    params = (list(SHAPES),)

    def setup(self, shape):
        c, f, side, k = SHAPES[shape]
        p = k // 2
        rng = np.random.default_rng(0)
        nv = lanes.lanes_size(SAMPLES)
        self.k, self.p = k, p
        self.flops = 2.0 * SAMPLES * c * f * k * k * side * side
        self.x = rng.standard_normal((SAMPLES, c, side, side)).astype(np.float32)
        self.xl = aligned_empty((c, side + 2 * p, side + 2 * p, nv), np.float32)
        lanes.to_lanes(self.x, p, p, self.xl)
        self.W = rng.standard_normal((c * k * k, f)).astype(np.float32)
        self.b = rng.standard_normal(f).astype(np.float32)
        self.out = aligned_empty((f, side, side, nv), np.float32)
        delta = rng.standard_normal((SAMPLES, f, side, side)).astype(np.float32)
        self.dl = aligned_empty((f, side + 2 * p, side + 2 * p, nv), np.float32)
        lanes.to_lanes(delta, p, p, self.dl)
        self.dW = np.empty_like(self.W)

    def _gflops(self, run, repeats=20):
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - start)
        return self.flops / best / 1e9


class ConvLanesBenchmark(_LanesArrays):
    """Forward convolution, weight gradient, and the layout change into lanes."""

    def setup(self, shape):
        super().setup(shape)
        # Compile (or load from Numba's cache) outside the timing.
        self.time_forward(shape)
        self.time_weight_grad(shape)

    def time_forward(self, shape):
        lanes.conv_lanes(self.xl, self.W, self.b, self.k, self.k, 0, 0, self.out)

    def time_weight_grad(self, shape):
        lanes.conv_lanes_weight_grad(self.xl, self.dl, self.p, self.p, self.k, self.k, self.dW)

    def time_to_lanes(self, shape):
        lanes.to_lanes(self.x, self.p, self.p, self.xl)

    def track_forward_gflops(self, shape):
        return self._gflops(lambda: self.time_forward(shape))

    def track_weight_grad_gflops(self, shape):
        return self._gflops(lambda: self.time_weight_grad(shape))

    track_forward_gflops.unit = "GFLOP/s"
    track_weight_grad_gflops.unit = "GFLOP/s"


class WinogradBenchmark(_LanesArrays):
    """The weights' transform and the F(2x2, 3x3) convolution, on the 3x3 shapes."""

    params = ([name for name, (_, _, _, k) in SHAPES.items() if k == 3],)

    def setup(self, shape):
        super().setup(shape)
        c, f = SHAPES[shape][:2]
        self.U = aligned_empty((16, c, f), np.float32)
        self.scratch = aligned_empty(winograd.scratch_shape(c, self.xl.shape[3], np.float32),
                                     np.float32)
        self.time_winograd(shape)

    def time_winograd(self, shape):
        winograd.winograd_weights(self.W, self.U)
        winograd.conv_lanes_winograd(self.xl, self.U, self.b, self.scratch, self.out)

    def track_winograd_gflops(self, shape):
        return self._gflops(lambda: self.time_winograd(shape))

    track_winograd_gflops.unit = "GFLOP/s"
