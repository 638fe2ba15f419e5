"""Settings shared by every compiled kernel.

One place holds the fastmath flag set so that no kernel can silently opt into
``nnan``/``ninf``: those flags would let LLVM assume that NaN and inf never
occur, and divergence detection (a non-finite loss) would stop working.
"""

#: LLVM fast-math flags for every Numba kernel: reassociation and contraction
#: let reductions and fused multiply-adds vectorize; NaN/inf semantics are kept.
FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

#: Arrays with at least this many elements are processed by the parallel
#: variant of a kernel; below it, thread start-up costs more than it saves
#: (a fused pass over a 64x256 batch takes about a microsecond serially).
PARALLEL_THRESHOLD = 65536

#: Rows per chunk in chunked reductions. Fixed, so that the order in which
#: partial sums are combined never depends on the number of threads.
REDUCTION_CHUNK = 64


def _cuda_simulated():
    import numba

    return bool(numba.config.ENABLE_CUDASIM)


#: Threads per block of the elementwise CUDA kernels, and the side of the
#: square tiles of the CUDA matrix product. Under Numba's CUDA simulator every
#: simulated thread is a Python thread, so the tests run with tiny blocks.
CUDA_SIMULATED = _cuda_simulated()
CUDA_THREADS = 16 if CUDA_SIMULATED else 256
CUDA_TILE = 4 if CUDA_SIMULATED else 16
#: Upper bound on blocks per launch; kernels use grid-stride loops beyond it.
CUDA_MAX_BLOCKS = 4 if CUDA_SIMULATED else 4096
