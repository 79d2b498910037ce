"""Device contexts, MXNet's ``mx.cpu(i)`` / ``mx.gpu(i)``, and their wire form."""

from ._proto import tensor_pb2
from .errors import invalid_argument, show


class Context:
    """A device context: ``cpu(0)``, ``gpu(1)``. Compares and hashes by value."""

    __slots__ = ("device_type", "device_id")

    def __init__(self, device_type, device_id=0):
        if device_type not in ("cpu", "gpu"):
            raise invalid_argument("context device_type must be 'cpu' or 'gpu', got %s" % show(device_type))
        if isinstance(device_id, bool) or not isinstance(device_id, int) or not 0 <= device_id <= 0xFFFFFFFF:
            raise invalid_argument("context device_id must be an integer >= 0, got %s" % show(device_id))
        self.device_type = device_type
        self.device_id = device_id

    def __eq__(self, other):
        return isinstance(other, Context) and (self.device_type, self.device_id) == (other.device_type, other.device_id)

    def __hash__(self):
        return hash((self.device_type, self.device_id))

    def __repr__(self):
        return "%s(%d)" % (self.device_type, self.device_id)


def cpu(device_id=0):
    """Host memory context ``device_id`` (the server allows 0 <= i < 8 by default)."""
    return Context("cpu", device_id)


def gpu(device_id=0):
    """CUDA device ``device_id``; only on a server built with CUDA that has that GPU."""
    return Context("gpu", device_id)


def to_proto(who, ctx):
    if not isinstance(ctx, Context):
        raise invalid_argument("%s: a context must be cpu(i) or gpu(i), got %s" % (who, show(ctx)))
    kind = tensor_pb2.DEVICE_TYPE_GPU if ctx.device_type == "gpu" else tensor_pb2.DEVICE_TYPE_CPU
    return tensor_pb2.Context(device_type=kind, device_id=ctx.device_id)


def list_to_proto(who, ctx):
    """One context or a list of them (None: the server's default, [cpu(0)])."""
    if ctx is None:
        return []
    if isinstance(ctx, Context):
        return [to_proto(who, ctx)]
    if not isinstance(ctx, (list, tuple)):
        raise invalid_argument("%s: ctx must be a context or a list of contexts, got %s" % (who, show(ctx)))
    return [to_proto(who, c) for c in ctx]


def from_proto(ctx):
    # UNSPECIFIED is CPU by the wire contract.
    return Context("gpu" if ctx.device_type == tensor_pb2.DEVICE_TYPE_GPU else "cpu", ctx.device_id)
