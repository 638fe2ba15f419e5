"""Explicit 512-bit vectors inside Numba kernels, for register-blocked loops.

LLVM vectorizes a loop over contiguous elements, but it does not keep a block
of outputs in registers across an outer loop (the register blocking of a
matrix-multiply micro-kernel): written with arrays, the accumulators are
loaded and stored at every step. These intrinsics give a kernel a vector value
type, so a handful of accumulators live in registers for a whole reduction:
the convolution of :mod:`skneuro.kernels.cpu.lanes` runs at ~115 GFLOP/s on
one AVX-512 core this way, against ~60 for OpenBLAS on its unfolded input.

A vector holds 64 bytes of the array's dtype (16 float32 or 8 float64); on a
CPU with narrower registers LLVM splits each operation in two. Nothing here
checks bounds: callers guarantee that ``index + width(array)`` elements
exist.
"""

import numba
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

#: Bytes in one vector.
VECTOR_BYTES = 64


class SimdVector(types.Type):
    """A 64-byte vector of ``dtype`` (a Numba float type)."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.count = VECTOR_BYTES * 8 // dtype.bitwidth
        super().__init__(name=f"SimdVector({dtype}x{self.count})")


@register_model(SimdVector)
class _SimdVectorModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        element = ir.FloatType() if fe_type.dtype.bitwidth == 32 else ir.DoubleType()
        super().__init__(dmm, fe_type, ir.VectorType(element, fe_type.count))


def _vector_of(array_type):
    # Contiguous only: the address is data + index, strides are not applied.
    if not (isinstance(array_type, types.Array) and array_type.ndim == 1
            and array_type.layout == "C"
            and array_type.dtype in (types.float32, types.float64)):
        return None
    return SimdVector(array_type.dtype)


def _address(context, builder, array_type, array, index):
    data = context.make_array(array_type)(context, builder, array).data
    return builder.gep(data, [index])


@intrinsic
def width(typingctx, array):
    """The number of elements in a vector of ``array``'s dtype (a compile-time constant)."""
    vector = _vector_of(array)
    if vector is None:
        return None

    def codegen(context, builder, signature, args):
        return ir.Constant(ir.IntType(64), vector.count)

    return types.int64(array), codegen


@intrinsic
def zeros(typingctx, array):
    """A vector of zeros of ``array``'s dtype."""
    vector = _vector_of(array)
    if vector is None:
        return None

    def codegen(context, builder, signature, args):
        llty = context.get_value_type(vector)
        return ir.Constant(llty, [0.0] * vector.count)

    return vector(array), codegen


@intrinsic
def load(typingctx, array, index):
    """``array[index:index + width]`` as a vector (``array`` 1-D and C-contiguous)."""
    vector = _vector_of(array)
    if vector is None or not isinstance(index, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return _load_vector(context, builder, signature, args, vector)

    return vector(array, index), codegen


def _load_vector(context, builder, signature, args, vector):
    """The vector at ``array[index]``, for an intrinsic called as ``(array, index, ...)``."""
    llty = context.get_value_type(vector)
    address = _address(context, builder, signature.args[0], args[0], args[1])
    return builder.load(builder.bitcast(address, llty.as_pointer()), align=1)


@intrinsic
def store(typingctx, array, index, value):
    """``array[index:index + width] = value``."""
    vector = _vector_of(array)
    if vector is None or value != vector or not isinstance(index, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        llty = context.get_value_type(vector)
        address = _address(context, builder, signature.args[0], args[0], args[1])
        builder.store(args[2], builder.bitcast(address, llty.as_pointer()), align=1)
        return context.get_dummy_value()

    return types.void(array, index, value), codegen


def _first_lanes(builder, count, lanes):
    """The mask ``[0 < count, 1 < count, ..., lanes - 1 < count]``."""
    index_type = ir.VectorType(ir.IntType(64), lanes)
    spread = builder.insert_element(ir.Constant(index_type, ir.Undefined), count,
                                    ir.Constant(ir.IntType(32), 0))
    spread = builder.shuffle_vector(spread, ir.Constant(index_type, ir.Undefined),
                                    ir.Constant(ir.VectorType(ir.IntType(32), lanes),
                                                [0] * lanes))
    return builder.icmp_signed("<", ir.Constant(index_type, list(range(lanes))), spread)


def _masked_operands(context, builder, signature, args, vector):
    """The vector's LLVM type, the pointer at ``array[index]`` and the mask of the
    first ``count`` lanes, for an intrinsic called as ``(array, index, count, ...)``."""
    llty = context.get_value_type(vector)
    address = _address(context, builder, signature.args[0], args[0], args[1])
    count = context.cast(builder, args[2], signature.args[2], types.int64)
    return (llty, builder.bitcast(address, llty.as_pointer()),
            _first_lanes(builder, count, vector.count))


def _masked_function(builder, operation, vector, return_type, argument_types):
    name = f"llvm.masked.{operation}.v{vector.count}f{vector.dtype.bitwidth}.p0"
    return cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(return_type, argument_types), name)


@intrinsic
def load_first(typingctx, array, index, count):
    """``array[index:index + count]`` and zeros after, as a vector (``count`` < width).

    Reads nothing past the ``count`` elements, so a partial vector at the
    end of an array is safe."""
    vector = _vector_of(array)
    if vector is None or not isinstance(index, types.Integer) \
            or not isinstance(count, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        llty, pointer, mask = _masked_operands(context, builder, signature, args, vector)
        function = _masked_function(builder, "load", vector, llty,
                                    [pointer.type, ir.IntType(32), mask.type, llty])
        return builder.call(function, [pointer, ir.Constant(ir.IntType(32), 1), mask,
                                       ir.Constant(llty, [0.0] * vector.count)])

    return vector(array, index, count), codegen


@intrinsic
def store_first(typingctx, array, index, count, value):
    """``array[index:index + count] = value[:count]``; nothing else is written."""
    vector = _vector_of(array)
    if vector is None or value != vector or not isinstance(index, types.Integer) \
            or not isinstance(count, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        llty, pointer, mask = _masked_operands(context, builder, signature, args, vector)
        function = _masked_function(builder, "store", vector, ir.VoidType(),
                                    [llty, pointer.type, ir.IntType(32), mask.type])
        builder.call(function, [args[3], pointer, ir.Constant(ir.IntType(32), 1), mask])
        return context.get_dummy_value()

    return types.void(array, index, count, value), codegen


@intrinsic
def nonzero_bits(typingctx, array, index):
    """Bit ``l`` set where ``array[index + l]`` is not zero (NaN included), for the
    ``width`` elements from ``index``, as an int64."""
    vector = _vector_of(array)
    if vector is None or not isinstance(index, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        value = _load_vector(context, builder, signature, args, vector)
        zero = ir.Constant(context.get_value_type(vector), [0.0] * vector.count)
        nonzero = builder.fcmp_unordered("!=", value, zero)
        bits = builder.bitcast(nonzero, ir.IntType(vector.count))
        return builder.zext(bits, ir.IntType(64))

    return types.int64(array, index), codegen


@intrinsic
def broadcast(typingctx, array, index):
    """A vector with every element ``array[index]``."""
    vector = _vector_of(array)
    if vector is None or not isinstance(index, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        llty = context.get_value_type(vector)
        value = builder.load(_address(context, builder, signature.args[0], args[0], args[1]))
        one = builder.insert_element(ir.Constant(llty, ir.Undefined), value,
                                     ir.Constant(ir.IntType(32), 0))
        mask = ir.Constant(ir.VectorType(ir.IntType(32), vector.count), [0] * vector.count)
        return builder.shuffle_vector(one, ir.Constant(llty, ir.Undefined), mask)

    return vector(array, index), codegen


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c``, element by element, rounded once."""
    if not (isinstance(a, SimdVector) and a == b == c):
        return None

    def codegen(context, builder, signature, args):
        llty = context.get_value_type(a)
        suffix = f"v{a.count}f{a.dtype.bitwidth}"
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(llty, [llty] * 3), f"llvm.fma.{suffix}")
        return builder.call(function, args)

    return a(a, b, c), codegen


@intrinsic
def add(typingctx, a, b):
    """``a + b``, element by element."""
    if not (isinstance(a, SimdVector) and a == b):
        return None

    def codegen(context, builder, signature, args):
        return builder.fadd(args[0], args[1])

    return a(a, b), codegen


@intrinsic
def sub(typingctx, a, b):
    """``a - b``, element by element."""
    if not (isinstance(a, SimdVector) and a == b):
        return None

    def codegen(context, builder, signature, args):
        return builder.fsub(args[0], args[1])

    return a(a, b), codegen


@intrinsic
def mul(typingctx, a, b):
    """``a * b``, element by element."""
    if not (isinstance(a, SimdVector) and a == b):
        return None

    def codegen(context, builder, signature, args):
        return builder.fmul(args[0], args[1])

    return a(a, b), codegen


@intrinsic
def total(typingctx, value):
    """The sum of a vector's elements, added pairwise in a fixed order."""
    if not isinstance(value, SimdVector):
        return None

    def codegen(context, builder, signature, args):
        parts = [builder.extract_element(args[0], ir.Constant(ir.IntType(32), k))
                 for k in range(value.count)]
        while len(parts) > 1:
            parts = [builder.fadd(parts[k], parts[k + 1]) for k in range(0, len(parts), 2)]
        return parts[0]

    return value.dtype(value), codegen


@intrinsic
def totals(typingctx, *vectors):
    """The element sums of 16 vectors, as a tuple of 16 scalars.

    Adding each vector's elements one by one costs ~30 instructions a vector;
    halving trees over pairs of vectors (shuffle the halves of both side by
    side, add) sum ``width`` vectors with ``width - 1`` vector additions.
    The order of the additions is fixed, so the result does not vary.
    """
    if len(vectors) != 16 or not all(isinstance(v, SimdVector) for v in vectors) \
            or len(set(vectors)) != 1:
        return None
    vector = vectors[0]
    lanes = vector.count
    result = types.UniTuple(vector.dtype, 16)

    def codegen(context, builder, signature, args):
        (packed,) = args
        values = cgutils.unpack_tuple(builder, packed, 16)
        sums = []
        for first in range(0, 16, lanes):
            level, group = values[first:first + lanes], lanes
            while group > 1:
                half = group // 2
                lo, hi = [], []
                for side in range(2):  # the groups of a, then those of b
                    for start in range(0, lanes, group):
                        lo += [side * lanes + start + k for k in range(half)]
                        hi += [side * lanes + start + half + k for k in range(half)]
                mask_lo = ir.Constant(ir.VectorType(ir.IntType(32), lanes), lo)
                mask_hi = ir.Constant(ir.VectorType(ir.IntType(32), lanes), hi)
                level = [builder.fadd(builder.shuffle_vector(a, b, mask_lo),
                                      builder.shuffle_vector(a, b, mask_hi))
                         for a, b in zip(level[0::2], level[1::2])]
                group = half
            sums += [builder.extract_element(level[0], ir.Constant(ir.IntType(32), k))
                     for k in range(lanes)]
        return context.make_tuple(builder, result, sums)

    return result(types.StarArgTuple(vectors)), codegen


@intrinsic
def transpose(typingctx, *vectors):
    """The transpose of ``width`` vectors seen as the rows of a square matrix.

    Returns a tuple of vectors: element ``l`` of result ``r`` is element ``r``
    of argument ``l``. Four rounds of shuffles (for 16 lanes), each swapping
    one bit between the row and the column index where they differ.
    """
    if not vectors or not all(isinstance(v, SimdVector) for v in vectors) \
            or len(set(vectors)) != 1 or len(vectors) != vectors[0].count:
        return None
    vector = vectors[0]
    lanes = vector.count
    result = types.UniTuple(vector, lanes)

    def codegen(context, builder, signature, args):
        rows = cgutils.unpack_tuple(builder, args[0], lanes)
        index = ir.VectorType(ir.IntType(32), lanes)
        bit = 1
        while bit < lanes:
            new = list(rows)
            # Row r (bit clear) keeps its columns with the bit clear and takes
            # the partner's columns l ^ bit for the others; the partner the reverse.
            keep = ir.Constant(index, [col if not col & bit else lanes + (col ^ bit)
                                       for col in range(lanes)])
            other = ir.Constant(index, [lanes + col if col & bit else col ^ bit
                                        for col in range(lanes)])
            for r in range(lanes):
                if r & bit:
                    continue
                a, b = rows[r], rows[r | bit]
                new[r] = builder.shuffle_vector(a, b, keep)
                new[r | bit] = builder.shuffle_vector(a, b, other)
            rows, bit = new, bit * 2
        return context.make_tuple(builder, result, rows)

    return result(types.StarArgTuple(vectors)), codegen


@numba.njit(inline="always")
def load_transposed(array, at, stride):
    """The 16 vectors of a float32 ``array`` at ``at``, ``at + stride``, ...,
    ``at + 15 * stride``, transposed (:func:`transpose`): element ``l`` of
    result ``r`` is ``array[at + l * stride + r]``. A 16 x 16 block of a
    matrix with rows ``stride`` apart, read as its columns."""
    return transpose(
        load(array, at), load(array, at + stride),
        load(array, at + 2 * stride), load(array, at + 3 * stride),
        load(array, at + 4 * stride), load(array, at + 5 * stride),
        load(array, at + 6 * stride), load(array, at + 7 * stride),
        load(array, at + 8 * stride), load(array, at + 9 * stride),
        load(array, at + 10 * stride), load(array, at + 11 * stride),
        load(array, at + 12 * stride), load(array, at + 13 * stride),
        load(array, at + 14 * stride), load(array, at + 15 * stride))
