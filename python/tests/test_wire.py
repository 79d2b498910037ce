"""The hand framing of python/gluonps/_wire.py, checked against protobuf's own parser: uploads
are split in messages of at most 1 MiB of data that decode to the right fields, and reads that
break the stream rules (bytes before a header, too many or too few bytes) are INTERNAL."""

import numpy as np
import pytest

from gluonps import GluonPsError, Status
from gluonps import _wire
from gluonps._proto import tensor_pb2, trainer_pb2


def test_uploads_are_1_mib_messages_that_protobuf_decodes():
    data = np.arange(3 * (1 << 18) + 3, dtype=np.float32)  # 3 MiB + 12 bytes
    header = tensor_pb2.TensorHeader(shape=[data.size], dtype=tensor_pb2.DTYPE_FLOAT32, byte_length=data.nbytes)
    first = trainer_pb2.GradUpload(trainer="t", param="w", step=3, header=header)
    msgs = list(_wire.upload_messages(first.SerializeToString(), data, 6))
    decoded = [trainer_pb2.GradUpload.FromString(m) for m in msgs]
    assert [len(d.chunk) for d in decoded] == [1 << 20, 1 << 20, 1 << 20, 12]
    assert decoded[0].trainer == "t" and decoded[0].param == "w" and decoded[0].step == 3
    assert decoded[0].header == header and all(not d.HasField("header") for d in decoded[1:])
    assert b"".join(d.chunk for d in decoded) == data.tobytes()
    # An empty tensor is the first message alone.
    [only] = list(_wire.upload_messages(first.SerializeToString(), np.zeros(0, np.float32), 6))
    assert trainer_pb2.GradUpload.FromString(only).chunk == b""


def chunk_msg(header=None, chunk=b""):
    m = tensor_pb2.TensorChunk(chunk=chunk)
    if header is not None:
        m.header.CopyFrom(header)
    return m.SerializeToString()


def test_reads_assemble_into_one_buffer_per_tensor_and_refuse_broken_streams():
    h = tensor_pb2.TensorHeader(shape=[4], dtype=tensor_pb2.DTYPE_UINT8, byte_length=4)
    [t1, t2] = _wire.assemble([chunk_msg(h, b"ab"), chunk_msg(chunk=b"cd"), chunk_msg(h, b"wxyz")])
    assert t1.data.tobytes() == b"abcd" and t2.data.tobytes() == b"wxyz" and t1.header == h
    cases = [
        ([chunk_msg(chunk=b"ab")], "bytes before a header"),
        ([chunk_msg(h, b"abc"), chunk_msg(chunk=b"de")], "more bytes than the header"),
        ([chunk_msg(h, b"abc")], "before the tensor was complete"),
        ([chunk_msg(h, b"ab"), chunk_msg(h, b"wxyz")], "before the tensor was complete"),
        ([b"\x0a\xff\xff\x03"], "malformed"),
    ]
    for stream, pattern in cases:
        with pytest.raises(GluonPsError, match=pattern) as e:
            _wire.assemble(stream)
        assert e.value.code == Status.INTERNAL
    with pytest.raises(GluonPsError, match="with 2 tensors, expected 1"):
        _wire.assemble([chunk_msg(h, b"abcd"), chunk_msg(h, b"abcd")], count=1)
