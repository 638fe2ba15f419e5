"""GEMM throughput on a GPU: skneuro's Numba kernel against cuBLAS (through CuPy).

    python asv_bench/gpu_gemm.py                         # the default shapes, float32
    python asv_bench/gpu_gemm.py 4096 4096 4096 --dtype float64 --routes numba cublas

Routes (see skneuro/kernels/cuda/blas.py and dense.py):

* ``numba``: the register-blocked Numba kernel, one launch;
* ``cublas``: ``cupy.matmul`` on zero-copy views, one call (training products);
* ``cublas-rows``: ``matmul(..., exact_rows=True)`` on the cuBLAS route, the
  prediction products: fixed blocks of ``dense.ROW_BLOCK`` rows (this is the
  number to watch when choosing ``ROW_BLOCK``).

Each timing follows a warm-up call (compilation, cuBLAS's handle and
heuristics are never timed) and is bracketed by ``cuda.synchronize()``; the
number of repetitions doubles until a run lasts ``min_time`` seconds. The
result is checked on a few rows against numpy before it is reported. Not an
asv benchmark (asv collects ``asv_bench/benchmarks/`` only): it needs a GPU,
and CuPy for the cuBLAS routes. Under Numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``) the ``numba`` route runs, at tiny sizes only,
which checks this script's logic, not any speed.
"""

import argparse
import time

import numpy as np

ROUTES = ("numba", "cublas", "cublas-rows")

#: (rows, shared, columns): a square product, an MNIST first layer (784 ->
#: 256) on 10,000, 64 and 1 rows, and a training batch's weight gradient shape.
DEFAULT_SHAPES = ((4096, 4096, 4096), (10000, 784, 256), (64, 784, 256), (1, 784, 256),
                  (784, 64, 256))


def gemm_tflops(m, k, n, dtype=np.float32, route="numba", min_time=0.2, seed=0):
    """Time ``out = a @ b`` with ``a`` (m, k), ``b`` (k, n) on ``route``; print and
    return TFLOP/s (``2 m k n`` floating-point operations per product)."""
    from numba import cuda

    from skneuro.kernels.cuda import blas, dense

    if route not in ROUTES:
        raise ValueError(f"route must be one of {ROUTES}, not {route!r}")
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    a_host = rng.standard_normal((m, k)).astype(dtype)
    b_host = rng.standard_normal((k, n)).astype(dtype)
    a, b = cuda.to_device(a_host), cuda.to_device(b_host)
    out = cuda.device_array((m, n), dtype)
    exact_rows = route == "cublas-rows"

    def product():
        dense.matmul(a, b, out, exact_rows=exact_rows)

    with blas.use_product("numba" if route == "numba" else "cublas"):
        product()  # warm-up: compilation, cuBLAS's handle and heuristics
        cuda.synchronize()
        repeats = 1
        while True:
            cuda.synchronize()
            start = time.perf_counter()
            for _ in range(repeats):
                product()
            cuda.synchronize()
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
            repeats *= 2
    rows = min(m, 64)
    expected = a_host[:rows].astype(np.float64) @ b_host.astype(np.float64)
    tol = 1e-3 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(out[:rows].copy_to_host(), expected, rtol=tol,
                               atol=tol * np.sqrt(k))
    tflops = 2.0 * m * k * n * repeats / elapsed / 1e12
    print(f"{route:>12} {dtype.name:>8} {m:>6} x {k:>5} x {n:>5}: {tflops:8.3f} TFLOP/s "
          f"({elapsed / repeats * 1e6:10.1f} us per product, {repeats} repeats)")
    return tflops


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("shape", nargs="*", type=int, help="m k n (default: a few shapes)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--routes", nargs="+", default=list(ROUTES), choices=ROUTES)
    parser.add_argument("--min-time", type=float, default=0.2)
    args = parser.parse_args()
    if args.shape and len(args.shape) != 3:
        parser.error("give the shape as three numbers: m k n")
    shapes = [tuple(args.shape)] if args.shape else DEFAULT_SHAPES

    from skneuro.kernels.cuda import blas

    reason = blas.cublas_unavailable_reason()
    for shape in shapes:
        for route in args.routes:
            if route != "numba" and reason is not None:
                print(f"{route:>12}: skipped, {reason}")
                continue
            gemm_tflops(*shape, dtype=args.dtype, route=route, min_time=args.min_time)


if __name__ == "__main__":
    main()
