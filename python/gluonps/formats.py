"""Tensor files, byte-compatible with the TypeScript client's (docs/formats.md restates every
layout): MXNet ``.params`` (``mx.nd.save``'s list format: V2 records written, V1/V2/V3/pre-V1
read, dense and row_sparse), safetensors, and ``.npz``/``.npy`` through numpy's own format module
(stored members, fixed timestamps, as the TypeScript writer emits them). A bad file raises
GluonPsError INVALID_ARGUMENT naming the file and what was expected.

A tensor here is a ``FileTensor``: name, dtype (wire name), shape, a contiguous uint8 ndarray of
its bytes (row_sparse: the stored rows), stype and, for row_sparse, int64 ``indices``."""

import io
import json
import struct
import zipfile

import numpy as np

from . import dtypes as _dt
from .errors import GluonPsError, Status

PARAMS_LIST_MAGIC = 0x112
V1_MAGIC, V2_MAGIC, V3_MAGIC = 0xF993FAC8, 0xF993FAC9, 0xF993FACA
_FLAG_DTYPE = {info[3]: name for name, info in _dt.DTYPES.items()}
_UNSUPPORTED_FLAGS = {7: "bool", 8: "int16", 9: "uint16", 10: "uint32", 11: "uint64"}
_DEV = {1: "cpu", 2: "gpu", 3: "cpu_pinned", 5: "cpu_shared"}
_ST = {"float32": "F32", "float64": "F64", "float16": "F16", "bfloat16": "BF16", "int8": "I8", "uint8": "U8",
       "int32": "I32", "int64": "I64"}
_ST_DTYPE = {v: k for k, v in _ST.items()}
_ST_ALIGN = ["I64", "F64", "F32", "I32", "BF16", "F16", "I8", "U8"]  # the reference writer's order


class FileTensor:
    __slots__ = ("name", "dtype", "shape", "data", "stype", "indices")

    def __init__(self, name, dtype, shape, data, stype="default", indices=None):
        self.name = name
        self.dtype = dtype
        self.shape = tuple(int(d) for d in shape)
        self.data = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data.view(np.uint8).reshape(-1)
        self.stype = stype
        self.indices = indices

    def dense(self):
        """The value as a numpy array of its dtype (row_sparse: stored rows, zeros elsewhere)."""
        if self.stype != "row_sparse":
            return _dt.from_wire(self.shape, self.dtype, self.data)
        rows = _dt.from_wire((len(self.indices),) + self.shape[1:], self.dtype, self.data)
        out = np.zeros(self.shape, dtype=rows.dtype)
        out[self.indices] = rows
        return out


def _bad(source, fmt, detail):
    return GluonPsError(Status.INVALID_ARGUMENT, "%s: %s: %s" % (source, fmt, detail))


def _size(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def detect_format(data, source="<buffer>"):
    """The format from the content, never the extension (docs/formats.md)."""
    head = bytes(data[:16])
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "npz"
    if len(head) >= 16 and struct.unpack("<QQ", head) == (PARAMS_LIST_MAGIC, 0):
        return "params"
    if len(data) >= 9 and bytes(data[8:9]) == b"{":
        return "safetensors"
    raise _bad(source, "unknown", "not a .params, safetensors, .npy or .npz file (first bytes %s)" % head[:8].hex())


# --- MXNet .params -------------------------------------------------------------------------------

class _Reader:
    def __init__(self, data, source):
        self.b = memoryview(data)
        self.pos = 0
        self.source = source

    def take(self, n, what):
        if n < 0 or self.pos + n > len(self.b):
            raise _bad(self.source, "MXNet .params", "truncated: %s needs %d bytes, %d remain"
                       % (what, n, len(self.b) - self.pos))
        out = self.b[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt, what):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))[0]

    def tshape(self, what):
        ndim = self.unpack("<i", what + ": ndim")
        if ndim == -1:
            return None
        if ndim < 0 or ndim > 32:
            raise _bad(self.source, "MXNet .params", "%s: ndim %d out of range" % (what, ndim))
        dims = struct.unpack("<%dq" % ndim, self.take(8 * ndim, what + ": dims"))
        return None if any(d == -1 for d in dims) else dims


def decode_params(data, source="<buffer>"):
    r = _Reader(data, source)
    fail = lambda detail: _bad(source, "MXNet .params", detail)  # noqa: E731
    magic, reserved, n = r.unpack("<Q", "list magic"), r.unpack("<Q", "reserved"), r.unpack("<Q", "array count")
    if magic != PARAMS_LIST_MAGIC:
        raise fail("list magic is 0x%x, expected 0x112 (not an MXNet NDArray list file)" % magic)
    if reserved != 0:
        raise fail("reserved header word is %d, expected 0" % reserved)
    if n * 4 > len(r.b) - r.pos:
        raise fail("array count %d is more than the file can hold" % n)
    records = []
    for i in range(n):
        where = "record %d" % i
        magic = r.unpack("<I", where + ": magic")
        sparse = False
        if magic in (V2_MAGIC, V3_MAGIC):
            stype = r.unpack("<i", where + ": stype")
            if stype not in (0, 1):
                raise fail("%s: stype %d is not supported (default and row_sparse only)" % (where, stype))
            sparse = stype == 1
            sshape = r.tshape(where + ": storage shape") if sparse else None
            shape = r.tshape(where + ": shape")
            none = shape is None or (magic == V2_MAGIC and len(shape) == 0)
        elif magic == V1_MAGIC:
            shape = r.tshape(where + ": shape")
            none = not shape
        else:  # pre-V1: the first word is ndim, then u32 dims
            if magic > 32:
                raise fail("%s: magic 0x%x is not a record magic" % (where, magic))
            shape = struct.unpack("<%dI" % magic, r.take(4 * magic, where + ": dims"))
            none = magic == 0
        if none:
            raise fail("%s: an empty ('none') NDArray, which gluon-ps cannot store" % where)
        dev_type, dev_id = r.unpack("<i", where + ": dev_type"), r.unpack("<i", where + ": dev_id")
        if dev_type not in _DEV or dev_id < 0:
            raise fail("%s: context (%d, %d) is not a known device" % (where, dev_type, dev_id))
        flag = r.unpack("<i", where + ": type flag")
        if flag in _UNSUPPORTED_FLAGS:
            raise fail("%s: dtype %s (type flag %d) is not supported" % (where, _UNSUPPORTED_FLAGS[flag], flag))
        if flag not in _FLAG_DTYPE:
            raise fail("%s: unknown type flag %d" % (where, flag))
        dtype = _FLAG_DTYPE[flag]
        size = _dt.size_of(dtype)
        if not sparse:
            payload = r.take(_size(shape) * size, where + ": data")
            records.append(FileTensor(None, dtype, shape, np.frombuffer(payload, np.uint8).copy()))
            continue
        nnr = sshape[0] if sshape else 0
        if sshape is None or tuple(sshape[1:]) != tuple(shape[1:]) or nnr > shape[0]:
            raise fail("%s: row_sparse storage shape %s does not match shape %s" % (where, sshape, list(shape)))
        if r.unpack("<i", where + ": aux type flag") != 6:
            raise fail("%s: row_sparse aux idx type flag is not 6 (int64)" % where)
        if r.tshape(where + ": aux shape") != (nnr,):
            raise fail("%s: row_sparse aux idx shape is not [%d]" % (where, nnr))
        payload = np.frombuffer(r.take(_size(sshape) * size, where + ": data"), np.uint8).copy()
        idx = np.frombuffer(r.take(8 * nnr, where + ": row ids"), "<i8").astype(np.int64)
        if nnr and (np.any(np.diff(idx) <= 0) or idx[0] < 0 or idx[-1] >= shape[0]):
            raise fail("%s: row ids are not strictly increasing within [0, %d)" % (where, shape[0]))
        records.append(FileTensor(None, dtype, shape, payload, "row_sparse", idx))
    m = r.unpack("<Q", "names count")
    if m not in (0, n):
        raise fail("names count is %d, expected 0 or %d" % (m, n))
    for i in range(m):
        length = r.unpack("<Q", "name %d: length" % i)
        try:
            records[i].name = bytes(r.take(length, "name %d" % i)).decode("utf-8")
        except UnicodeDecodeError:
            raise fail("name %d: not valid UTF-8" % i)
    if r.pos != len(r.b):
        raise fail("%d unexpected bytes after the names list" % (len(r.b) - r.pos))
    seen = set()
    for i, t in enumerate(records):
        if t.name is None:
            t.name = str(i)
        if t.name in seen:
            raise fail("record %d (%r): the name appears twice" % (i, t.name))
        seen.add(t.name)
    return records


def encode_params(tensors, numpy_shape=False):
    """The .params file as a list of byte chunks (the tensors' own buffers are not copied)."""
    out = [struct.pack("<QQQ", PARAMS_LIST_MAGIC, 0, len(tensors))]

    def tshape(dims):
        return struct.pack("<i%dq" % len(dims), len(dims), *dims)

    for t in tensors:
        if numpy_shape:
            if t.stype == "row_sparse":
                raise _bad("<writer>", "MXNet .params", "tensor %r: row_sparse cannot be written as V3" % t.name)
            out.append(struct.pack("<Ii", V3_MAGIC, 0) + tshape(t.shape))
        else:
            if len(t.shape) == 0:
                raise _bad("<writer>", "MXNet .params", "tensor %r: a scalar (shape []) cannot be written in a V2 "
                           "record, where ndim 0 means 'none'; write with numpy_shape (V3 records)" % t.name)
            if t.stype == "row_sparse":
                out.append(struct.pack("<Ii", V2_MAGIC, 1) + tshape((len(t.indices),) + t.shape[1:]) + tshape(t.shape))
            else:
                out.append(struct.pack("<Ii", V2_MAGIC, 0) + tshape(t.shape))
        out.append(struct.pack("<iii", 1, 0, _dt.DTYPES[t.dtype][3]))
        if t.stype == "row_sparse":
            out.append(struct.pack("<i", 6) + tshape((len(t.indices),)))
            out.append(t.data)
            out.append(np.ascontiguousarray(t.indices, dtype="<i8").view(np.uint8))
        else:
            out.append(t.data)
    out.append(struct.pack("<Q", len(tensors)))
    for t in tensors:
        name = t.name.encode("utf-8")
        out.append(struct.pack("<Q", len(name)) + name)
    return out


# --- safetensors ---------------------------------------------------------------------------------

def decode_safetensors(data, source="<buffer>"):
    fail = lambda detail: _bad(source, "safetensors", detail)  # noqa: E731
    if len(data) < 8:
        raise fail("HeaderTooSmall: the file is shorter than 8 bytes")
    (n,) = struct.unpack("<Q", bytes(data[:8]))
    if n > 100_000_000 or 8 + n > len(data):
        raise fail("InvalidHeaderLength: header size %d does not fit the file" % n)
    try:
        header = json.loads(bytes(data[8:8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise fail("InvalidHeaderDeserialization: %s" % err)
    if not isinstance(header, dict):
        raise fail("InvalidHeaderDeserialization: the header is not an object")
    body = memoryview(data)[8 + n:]
    entries = []
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(e, dict) or e.get("dtype") not in _ST_DTYPE:
            raise fail("tensor %r: unsupported or missing dtype %r" % (name, e.get("dtype") if isinstance(e, dict) else e))
        begin, end = e["data_offsets"]
        dtype = _ST_DTYPE[e["dtype"]]
        if end - begin != _size(e["shape"]) * _dt.size_of(dtype):
            raise fail("TensorInvalidInfo: tensor %r: offsets do not match its shape and dtype" % name)
        entries.append((begin, end, name, dtype, e["shape"]))
    entries.sort()
    pos = 0
    out = []
    for begin, end, name, dtype, shape in entries:
        if begin != pos:
            raise fail("InvalidOffset: tensor %r" % name)
        pos = end
        out.append(FileTensor(name, dtype, shape, np.frombuffer(body[begin:end], np.uint8).copy()))
    if pos != len(body):
        raise fail("MetadataIncompleteBuffer: the data is %d bytes, the entries cover %d" % (len(body), pos))
    return out


def encode_safetensors(tensors):
    order = sorted(tensors, key=lambda t: (_ST_ALIGN.index(_ST[t.dtype]), t.name.encode("utf-8")))
    header = {}
    pos = 0
    for t in order:
        if t.stype == "row_sparse":
            raise _bad("<writer>", "safetensors", "tensor %r: row_sparse cannot be written" % t.name)
        header[t.name] = {"dtype": _ST[t.dtype], "shape": list(t.shape), "data_offsets": [pos, pos + t.data.nbytes]}
        pos += t.data.nbytes
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return [struct.pack("<Q", len(text)) + text] + [t.data for t in order]


# --- npy / npz -----------------------------------------------------------------------------------

_BF16_RECORD = np.dtype([("bfloat16", "<u2")])


def _npy_bytes(t):
    arr = _dt.from_wire(t.shape, t.dtype, t.data)
    if t.dtype == "bfloat16":
        arr = arr.view("<u2").view(_BF16_RECORD)
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _from_npy(name, data, source):
    try:
        arr = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError) as err:
        raise _bad(source, "npy", "%s: %s" % (name, err))
    if arr.dtype == _BF16_RECORD:
        dtype = "bfloat16"
        arr = arr.view("<u2")
    else:
        dtype = _dt.numpy_dtype_name(arr.dtype)
        if dtype is None:
            raise _bad(source, "npy", "%s: dtype %s is not supported" % (name, arr.dtype))
    arr = np.ascontiguousarray(arr.astype(arr.dtype.newbyteorder("<")))
    return FileTensor(name, dtype, arr.shape, arr.view(np.uint8).reshape(-1))


def encode_npz(tensors):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        for t in tensors:
            info = zipfile.ZipInfo(t.name + ".npy", (1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o600 << 16
            z.writestr(info, _npy_bytes(t))
    return [buf.getvalue()]


def decode_npz(data, source="<buffer>"):
    try:
        z = zipfile.ZipFile(io.BytesIO(bytes(data)))
    except zipfile.BadZipFile as err:
        raise _bad(source, "npz", str(err))
    out = []
    for info in z.infolist():
        name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        out.append(_from_npy(name, z.read(info), source))
    return out


# --- files ---------------------------------------------------------------------------------------

def read_tensor_file(path, format=None):
    with open(path, "rb") as f:
        data = f.read()
    fmt = format or detect_format(data, path)
    if fmt == "params":
        return fmt, decode_params(data, path)
    if fmt == "safetensors":
        return fmt, decode_safetensors(data, path)
    if fmt == "npz":
        return fmt, decode_npz(data, path)
    stem = path.rsplit("/", 1)[-1]
    return fmt, [_from_npy(stem[:-4] if stem.endswith(".npy") else stem, data, path)]


def encode(format, tensors, numpy_shape=False):
    if format == "params":
        return encode_params(tensors, numpy_shape)
    if format == "safetensors":
        return encode_safetensors(tensors)
    return encode_npz(tensors)
