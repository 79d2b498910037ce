"""The chunked tensor wire (protos/gluonps/v1/tensor.proto; common/wire/chunks.ts is the
TypeScript side): a tensor moves as messages carrying at most 1 MiB of its bytes each, the first
one also carrying its header. The hot messages are framed by hand so that a tensor's bytes are
copied as few times as the runtime allows:

- writes: the first message is the header message serialized by protobuf with the chunk field
  appended by hand (protobuf accepts fields in any order); later messages are just the chunk
  field. Each message is one bytes object made from the tensor's memory (one copy; the gRPC
  core copies it once more into its own buffers, as grpc-js does on the TypeScript side).
- reads: the stub's deserializer is the identity, so each reply arrives as the bytes gRPC made;
  the top-level fields are walked here, the small header parsed by protobuf, and the chunk,
  a memoryview of the reply, copied once into one preallocated buffer per tensor.
"""

import numpy as np

from ._proto import tensor_pb2
from .errors import GluonPsError, Status

#: Largest data payload of one message (common/wire/channel.ts MAX_CHUNK_BYTES).
MAX_CHUNK_BYTES = 1 << 20
#: Largest single message either end accepts (a chunk plus a header).
MAX_MESSAGE_BYTES = 8 << 20
_WIRE_LEN = 2


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_prefix(field, length):
    """Tag and length of a length-delimited field."""
    return _varint((field << 3) | _WIRE_LEN) + _varint(length)


def upload_messages(first_bytes, data, chunk_field, chunk_bytes=MAX_CHUNK_BYTES):
    """The messages of one upload: ``first_bytes`` (the serialized first message without its
    chunk) plus the first chunk, then one message per further chunk of ``data`` (a contiguous
    ndarray or bytes-like). A generator, so gRPC pulls messages as flow control allows and at
    most a few chunks are alive at once."""
    view = memoryview(data).cast("B") if not isinstance(data, memoryview) or data.format != "B" else data
    total = view.nbytes
    n = min(chunk_bytes, total)
    yield b"".join((first_bytes, field_prefix(chunk_field, n), view[:n])) if n > 0 else bytes(first_bytes)
    offset = n
    while offset < total:
        n = min(chunk_bytes, total - offset)
        yield b"".join((field_prefix(chunk_field, n), view[offset : offset + n]))
        offset += n


def fields(msg):
    """The top-level fields of a serialized message: {field: value}; length-delimited values as
    memoryviews of ``msg`` (no copy), varints as ints. Fixed-width fields are skipped."""
    view = memoryview(msg)
    out = {}
    pos = 0
    end = len(view)
    while pos < end:
        tag, pos = _read_varint(view, pos)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _read_varint(view, pos)
        elif wire == 2:
            length, pos = _read_varint(view, pos)
            if pos + length > end:
                raise GluonPsError(Status.INTERNAL, "a malformed message from the server (field %d past the end)" % field)
            value = view[pos : pos + length]
            pos += length
        elif wire == 1:
            pos += 8
            continue
        elif wire == 5:
            pos += 4
            continue
        else:
            raise GluonPsError(Status.INTERNAL, "a malformed message from the server (wire type %d)" % wire)
        out[field] = value
    return out


def _read_varint(view, pos):
    result = 0
    shift = 0
    while True:
        if pos >= len(view):
            raise GluonPsError(Status.INTERNAL, "a malformed message from the server (truncated varint)")
        b = view[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


class Assembled:
    """One received tensor: its header message and its bytes (a uint8 ndarray)."""

    __slots__ = ("header", "data")

    def __init__(self, header, data):
        self.header = header
        self.data = data


def assemble(replies, count=None, header_of=None):
    """Reads a stream of tensor messages (raw bytes) into one preallocated buffer per tensor.

    ``header_of(fields)`` returns (header, byte_length, chunk_field) for a message that opens a
    tensor, or None; the default reads TensorChunk (header = field 1, chunk = field 2).
    ``count`` is the number of tensors the stream must hold (None: any number). A chunk that
    would overflow the tensor, a tensor left short, or a wrong count is INTERNAL.
    """
    header_of = header_of or _tensor_chunk_header
    out = []
    buf = None
    view = None
    filled = 0
    chunk_field = 2
    for msg in replies:
        f = fields(msg)
        opened = header_of(f)
        if opened is not None:
            if buf is not None and filled != buf.nbytes:
                raise _short(filled, buf.nbytes)
            header, length, chunk_field = opened
            buf = np.empty(length, dtype=np.uint8)
            view = memoryview(buf)
            filled = 0
            out.append(Assembled(header, buf))
        chunk = f.get(chunk_field)
        if chunk is None or len(chunk) == 0:
            continue
        if buf is None:
            raise GluonPsError(Status.INTERNAL, "the server sent tensor bytes before a header")
        n = len(chunk)
        if filled + n > buf.nbytes:
            raise GluonPsError(
                Status.INTERNAL, "the server sent more bytes than the header's %d for a tensor" % buf.nbytes
            )
        view[filled : filled + n] = chunk
        filled += n
    if buf is not None and filled != buf.nbytes:
        raise _short(filled, buf.nbytes)
    if count is not None and len(out) != count:
        raise GluonPsError(Status.INTERNAL, "the stream closed with %d tensors, expected %d" % (len(out), count))
    return out


def _tensor_chunk_header(f):
    raw = f.get(1)
    if raw is None:
        return None
    header = tensor_pb2.TensorHeader.FromString(raw)
    return header, header.byte_length, 2


def _short(filled, total):
    return GluonPsError(
        Status.INTERNAL, "the stream closed before the tensor was complete (%d of %d bytes)" % (filled, total)
    )
