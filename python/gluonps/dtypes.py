"""The dtype table of the wire (protos/gluonps/v1/tensor.proto, common/dtype.ts) and the
conversions between numpy arrays and the raw little-endian bytes tensors travel as.

float16 is numpy's own float16. bfloat16 has no numpy dtype: reads give its raw bits as uint16
unless ``ml_dtypes`` is installed (then ``ml_dtypes.bfloat16``); writes take either, a uint16
array being the raw bits only when the call says ``dtype='bfloat16'`` (or ``'float16'``), since
uint16 itself is no wire dtype. ``float32_to_bfloat16`` / ``bfloat16_to_float32`` convert."""

import sys

import numpy as np

from ._proto import tensor_pb2
from .errors import GluonPsError, Status, invalid_argument, show

try:  # optional: a real bfloat16 numpy dtype
    import ml_dtypes as _ml_dtypes

    BFLOAT16 = np.dtype(_ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - depends on the machine
    _ml_dtypes = None
    BFLOAT16 = None

#: dtype name -> (bytes per element, proto enum value, numpy dtype of reads, MXNet type flag)
DTYPES = {
    "float32": (4, tensor_pb2.DTYPE_FLOAT32, np.dtype("<f4"), 0),
    "float64": (8, tensor_pb2.DTYPE_FLOAT64, np.dtype("<f8"), 1),
    "float16": (2, tensor_pb2.DTYPE_FLOAT16, np.dtype("<f2"), 2),
    "bfloat16": (2, tensor_pb2.DTYPE_BFLOAT16, BFLOAT16 if BFLOAT16 is not None else np.dtype("<u2"), 12),
    "int8": (1, tensor_pb2.DTYPE_INT8, np.dtype("i1"), 5),
    "uint8": (1, tensor_pb2.DTYPE_UINT8, np.dtype("u1"), 3),
    "int32": (4, tensor_pb2.DTYPE_INT32, np.dtype("<i4"), 4),
    "int64": (8, tensor_pb2.DTYPE_INT64, np.dtype("<i8"), 6),
}
_BY_PROTO = {info[1]: name for name, info in DTYPES.items()}
_BY_KIND = {
    ("f", 4): "float32",
    ("f", 8): "float64",
    ("f", 2): "float16",
    ("i", 1): "int8",
    ("u", 1): "uint8",
    ("i", 4): "int32",
    ("i", 8): "int64",
}

if sys.byteorder != "little":  # pragma: no cover
    raise ImportError("gluonps: the wire is little-endian and this client supports little-endian hosts only")


def check_dtype(who, dtype):
    """A dtype name (or numpy dtype / type) as the wire's name; INVALID_ARGUMENT otherwise."""
    if isinstance(dtype, str) and dtype in DTYPES:
        return dtype
    try:
        name = numpy_dtype_name(np.dtype(dtype))
    except TypeError:
        name = None
    if name is None:
        raise invalid_argument("%s: unknown dtype %s, expected one of %s" % (who, show(dtype), ", ".join(DTYPES)))
    return name


def numpy_dtype_name(np_dtype):
    """The wire name of a numpy dtype, or None (uint16 included: it is no wire dtype)."""
    if BFLOAT16 is not None and np_dtype == BFLOAT16:
        return "bfloat16"
    return _BY_KIND.get((np_dtype.kind, np_dtype.itemsize))


def to_proto(who, dtype):
    return DTYPES[check_dtype(who, dtype)][1]


def from_proto(value):
    """A received dtype; UNSPECIFIED is float32 by the wire contract, anything unknown a broken peer."""
    if value == tensor_pb2.DTYPE_UNSPECIFIED:
        return "float32"
    name = _BY_PROTO.get(value)
    if name is None:
        raise GluonPsError(Status.INTERNAL, "the server sent an unknown dtype %r" % value)
    return name


def size_of(dtype):
    return DTYPES[dtype][0]


def to_wire(who, value, nested="float64", dtype=None):
    """A user value as (shape, wire dtype name, C-contiguous little-endian ndarray).

    numpy arrays keep their dtype (uint16 needs ``dtype`` 'float16' or 'bfloat16': its values are
    then the raw bits); anything else array-like (nested lists, numbers, objects with
    ``__array__``) becomes ``nested`` (float64 by default: exact for every Python float). With
    ``dtype`` the value is sent as that dtype (converted when it is of another one). The array is
    sent in place when it already is contiguous little-endian: do not change it during the call.
    """
    if isinstance(value, np.ndarray):
        arr = value
    else:
        target = nested if dtype is None else check_dtype(who, dtype)
        as_type = DTYPES[target][2] if target != "bfloat16" or BFLOAT16 is not None else np.dtype("<f4")
        try:
            arr = np.asarray(value, dtype=as_type)
        except (ValueError, TypeError) as err:
            raise invalid_argument(
                "%s: expected a numpy array or nested (rectangular) lists of numbers, got %s (%s)"
                % (who, _describe(value), err)
            )
    if arr.dtype == np.bool_:
        raise invalid_argument("%s: bool arrays have no wire dtype; convert to uint8 or a float type" % who)
    if dtype is not None:
        target = check_dtype(who, dtype)
        if arr.dtype == np.dtype("uint16") and target in ("float16", "bfloat16"):
            name = target
        elif target == "bfloat16" and BFLOAT16 is None:
            arr = float32_to_bfloat16(arr)
            name = "bfloat16"
        else:
            arr = arr.astype(DTYPES[target][2], copy=False)
            name = target
    else:
        name = numpy_dtype_name(arr.dtype)
        if name is None:
            if arr.dtype == np.dtype("uint16"):
                raise invalid_argument(
                    "%s: a uint16 array is ambiguous: pass dtype='bfloat16' or dtype='float16' to send its values "
                    "as raw bits of that dtype" % who
                )
            raise invalid_argument(
                "%s: numpy dtype %s has no wire dtype; expected one of %s" % (who, arr.dtype, ", ".join(DTYPES))
            )
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    arr = np.ascontiguousarray(arr)
    return tuple(int(d) for d in arr.shape), name, arr


def from_wire(shape, dtype, buf):
    """Received bytes (a uint8 ndarray of exactly the tensor's size) viewed as the dtype's array, no copy."""
    shape = tuple(int(d) for d in shape)
    count = 1
    for d in shape:
        count *= d
    if buf.nbytes != count * size_of(dtype):
        raise GluonPsError(
            Status.INTERNAL,
            "received %d bytes for a %s tensor of shape %s, expected %d"
            % (buf.nbytes, dtype, list(shape), count * size_of(dtype)),
        )
    return buf.view(DTYPES[dtype][2]).reshape(shape)


def float32_to_bfloat16(values):
    """bfloat16 bits (uint16) of ``values``, rounded to nearest even as the server's kernels do; NaN stays NaN."""
    f = np.ascontiguousarray(np.asarray(values, dtype="<f4"))
    u = f.view("<u4").astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(f)
    if nan.any():
        rounded[nan] = ((u[nan] >> 16) | 0x40).astype(np.uint16)
    return rounded


def bfloat16_to_float32(bits):
    """float32 values of bfloat16 bits (uint16, or an ml_dtypes bfloat16 array)."""
    b = np.ascontiguousarray(np.asarray(bits))
    if b.dtype.itemsize != 2:
        raise invalid_argument("bfloat16_to_float32: expected 16-bit values, got %s" % b.dtype)
    return (b.view("<u2").astype("<u4") << 16).view("<f4")


def _describe(value):
    if isinstance(value, str):
        return "the string %r" % value[:32]
    return type(value).__name__
