"""A handle on one server-side Parameter or Constant, with Gluon's method names (client/parameter.ts
is the TypeScript side). A handle holds only the name and the connection: every method is one
RPC, so handles are cheap and never stale. Reads return numpy arrays the caller owns, each
assembled in one preallocated buffer."""

import numbers

import numpy as np

from . import context as _ctx
from . import dtypes as _dt
from . import init as _init
from ._channel import _P
from ._proto import parameter_pb2 as pb
from ._proto import tensor_pb2
from .errors import GluonPsError, Status, invalid_argument, show

_GRAD_REQ = {"write": pb.GRAD_REQ_WRITE, "add": pb.GRAD_REQ_ADD, "null": pb.GRAD_REQ_NULL}
_GRAD_REQ_NAME = {v: k for k, v in _GRAD_REQ.items()}
_STYPE = {"default": pb.STORAGE_TYPE_DEFAULT, "row_sparse": pb.STORAGE_TYPE_ROW_SPARSE}
_STYPE_NAME = {v: k for k, v in _STYPE.items()}


class ParameterDescriptor:
    """What the server says about a parameter (describe(), ps.list())."""

    __slots__ = ("name", "shape", "dtype", "grad_req", "stype", "grad_stype", "initialized", "deferred", "ctx",
                 "version", "is_constant", "lr_mult", "wd_mult", "differentiable", "allow_deferred_init", "init")

    def __init__(self, info):
        spec = info.spec
        self.name = spec.name
        #: Current shape (0 for a dim still unknown); None when even the rank is unknown.
        self.shape = None if spec.shape_unknown else tuple(spec.shape)
        self.dtype = _dt.from_proto(spec.dtype)
        self.grad_req = _GRAD_REQ_NAME.get(spec.grad_req, "write")
        self.stype = _STYPE_NAME.get(spec.stype, "default")
        self.grad_stype = _STYPE_NAME.get(spec.grad_stype, "default")
        self.initialized = info.initialized
        self.deferred = info.deferred
        self.ctx = [_ctx.from_proto(c) for c in info.ctx]
        self.version = info.version
        self.is_constant = info.is_constant
        self.lr_mult = spec.lr_mult if spec.HasField("lr_mult") else 1.0
        self.wd_mult = spec.wd_mult if spec.HasField("wd_mult") else 1.0
        self.differentiable = spec.differentiable if spec.HasField("differentiable") else True
        self.allow_deferred_init = spec.allow_deferred_init
        self.init = _init.from_proto(spec.init) if spec.HasField("init") else None

    def __repr__(self):
        return "ParameterDescriptor(%s)" % ", ".join("%s=%r" % (k, getattr(self, k)) for k in self.__slots__)


class RowSparseArray:
    """Rows of a row_sparse parameter (Gluon's RowSparseNDArray): sorted unique ``indices``
    (int64) and one row of ``data`` each; ``shape`` is the whole parameter's when known (None
    for rows read from the server, which sends only the rows)."""

    __slots__ = ("indices", "data", "shape", "version", "ctx")

    def __init__(self, indices, data, shape, version=0, ctx=None):
        self.indices = indices
        self.data = data
        self.shape = None if shape is None else tuple(shape)
        self.version = version
        self.ctx = ctx

    def todense(self, shape=None):
        """The dense array: the stored rows, zeros elsewhere (``shape``: the parameter's, when
        this object does not know it)."""
        shape = tuple(shape) if shape is not None else self.shape
        if shape is None:
            raise invalid_argument("todense(): the parameter's shape is not known here; pass shape=")
        out = np.zeros(shape, dtype=self.data.dtype)
        out[self.indices] = self.data
        return out

    asnumpy = todense

    def __repr__(self):
        return "RowSparseArray(indices=%r, data shape %s, shape %s)" % (self.indices, self.data.shape, self.shape)


class SymbolVar:
    """The symbol variable Gluon's var() would build: its name and MXNet's attributes."""

    __slots__ = ("name", "attrs")

    def __init__(self, name, attrs):
        self.name = name
        self.attrs = attrs

    def __repr__(self):
        return "SymbolVar(%r, %r)" % (self.name, self.attrs)


# --- conversions ---------------------------------------------------------------------------------

def declared_shape(who, shape):
    """Declared dims: integers >= -1 (0 and -1 mean unknown); an int n means (n,)."""
    dims = (shape,) if isinstance(shape, numbers.Integral) else shape
    try:
        dims = tuple(dims)
    except TypeError:
        dims = None
    if dims is None or any(isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < -1 for d in dims):
        raise invalid_argument("%s: shape must be a tuple of integers >= -1 (0 or -1 = unknown dim), got %s"
                               % (who, show(shape)))
    return [int(d) for d in dims]


def _one_of(who, field, value, table):
    if value not in table:
        raise invalid_argument("%s: %s must be one of %s, got %s" % (who, field, ", ".join(table), show(value)))
    return table[value]


def spec_to_proto(name, shape=None, dtype=None, init=None, grad_req=None, stype=None, grad_stype=None,
                  allow_deferred_init=None, differentiable=None, lr_mult=None, wd_mult=None):
    """The Declare message; arguments left as None stay unset so the server's defaults apply."""
    who = "parameter '%s'" % name
    out = pb.ParameterSpec(name=name)
    if shape is None:
        out.shape_unknown = True
    else:
        out.shape.extend(declared_shape(who, shape))
    if dtype is not None:
        out.dtype = _dt.to_proto(who, dtype)
    if grad_req is not None:
        out.grad_req = _one_of(who, "grad_req", grad_req, _GRAD_REQ)
    if init is not None:
        out.init.CopyFrom(_init.to_proto(who, init))
    for field, value in (("allow_deferred_init", allow_deferred_init), ("differentiable", differentiable)):
        if value is not None:
            if not isinstance(value, bool):
                raise invalid_argument("%s: %s must be a bool, got %s" % (who, field, show(value)))
            setattr(out, field, value)
    if stype is not None:
        out.stype = _one_of(who, "stype", stype, _STYPE)
    if grad_stype is not None:
        out.grad_stype = _one_of(who, "grad_stype", grad_stype, _STYPE)
    for field, value in (("lr_mult", lr_mult), ("wd_mult", wd_mult)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
                raise invalid_argument("%s: %s must be a finite number, got %s" % (who, field, show(value)))
            setattr(out, field, float(value))
    return out


def row_ids(who, ids):
    """Row ids as a list of Python ints (any int array-like; bigints past 2^63 are refused)."""
    arr = np.asarray(ids)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or (arr.size > 0 and arr.dtype.kind not in "iu"):
        raise invalid_argument("%s: row ids must be a 1-D sequence of integers, got %s" % (who, show(ids)))
    return [int(v) for v in arr.tolist()]


def read_tensor(assembled):
    h = assembled.header
    return _dt.from_wire(h.shape, _dt.from_proto(h.dtype), assembled.data)


def read_rows(assembled):
    h = assembled.header
    values = _dt.from_wire(h.shape, _dt.from_proto(h.dtype), assembled.data)
    if len(h.shape) == 0 or h.shape[0] != len(h.row_ids):
        raise GluonPsError(Status.INTERNAL, "the server sent %d row ids for %s rows of values"
                           % (len(h.row_ids), h.shape[0] if len(h.shape) else 0))
    indices = np.array(h.row_ids, dtype=np.int64)
    ctx = _ctx.from_proto(h.ctx) if h.HasField("ctx") else _ctx.cpu(0)
    return RowSparseArray(indices, values, None, h.version, ctx)


def upload_header(who, shape, dtype, nbytes):
    return tensor_pb2.TensorHeader(shape=list(shape), dtype=_dt.to_proto(who, dtype), byte_length=nbytes)


class Parameter:
    """A handle on the server-side parameter ``name`` (from ps.parameter / constant / get)."""

    def __init__(self, channel, name):
        self._ch = channel
        self.name = name

    @property
    def _who(self):
        return "parameter '%s'" % self.name

    def _info(self, method, request):
        return ParameterDescriptor(self._ch.unary(method, request))

    def initialize(self, init=None, ctx=None, default_init=None, force_reinit=False, structural_name="", seed=None):
        """Gluon's initialize(init, ctx, default_init, force_reinit): creates the copies on ``ctx``
        (default [cpu(0)]) from the first of ``init``, the parameter's own init, ``default_init``,
        Uniform(0.07); defers on an unknown shape when allowed. ``seed`` (an integer in [0, 2^53))
        makes random initializers reproducible. Returns the new description."""
        who = self._who
        if not isinstance(force_reinit, bool):
            raise invalid_argument("%s: force_reinit must be a bool, got %s" % (who, show(force_reinit)))
        if not isinstance(structural_name, str):
            raise invalid_argument("%s: structural_name must be a string" % who)
        req = pb.InitializeRequest(name=self.name, ctx=_ctx.list_to_proto(who, ctx), force_reinit=force_reinit,
                                   structural_name=structural_name)
        if init is not None:
            req.init.CopyFrom(_init.to_proto(who, init))
        if default_init is not None:
            req.default_init.CopyFrom(_init.to_proto(who, default_init))
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2 ** 53:
                raise invalid_argument("%s: seed must be an integer in [0, 2^53), got %s" % (who, show(seed)))
            req.seed = int(seed)
        return self._info(self._ch.parameters.Initialize, req)

    def data(self, ctx=None):
        """A copy of the data on ``ctx`` (default: the only copy, or cpu(0) when there are several)."""
        req = pb.DataRequest(name=self.name)
        if ctx is not None:
            req.ctx.CopyFrom(_ctx.to_proto(self._who, ctx))
        return read_tensor(self._ch.pull(_P + "Data", req)[0])

    def list_data(self):
        """A copy of the data of every context, in context order."""
        return [read_tensor(t) for t in self._ch.pull(_P + "ListData", pb.ListDataRequest(name=self.name), None)]

    def grad(self, ctx=None):
        """A copy of the gradient on ``ctx`` (same default as data())."""
        req = pb.GradRequest(name=self.name)
        if ctx is not None:
            req.ctx.CopyFrom(_ctx.to_proto(self._who, ctx))
        return read_tensor(self._ch.pull(_P + "Grad", req)[0])

    def list_grad(self):
        """A copy of the gradient of every context, in context order."""
        return [read_tensor(t) for t in self._ch.pull(_P + "ListGrad", pb.ListGradRequest(name=self.name), None)]

    def list_ctx(self):
        """The contexts of the copies, or the pending ones while initialization is deferred."""
        reply = self._ch.unary(self._ch.parameters.ListCtx, pb.ListCtxRequest(name=self.name))
        return [_ctx.from_proto(c) for c in reply.ctx]

    def reset_ctx(self, ctx):
        """Moves the copies to ``ctx`` (their mean, fresh zero gradients)."""
        req = pb.ResetCtxRequest(name=self.name, ctx=_ctx.list_to_proto(self._who, ctx))
        return self._info(self._ch.parameters.ResetCtx, req)

    def set_data(self, data, dtype=None):
        """Writes ``data`` into every copy (or completes a deferred initialization with it); the
        server converts it to the parameter's dtype. numpy arrays travel as their dtype, nested
        numbers as float64 (exact); a uint16 array is raw float16/bfloat16 bits with ``dtype``.
        The array is sent in place: do not change it until the call returns."""
        who = self._who
        shape, name, arr = _dt.to_wire("%s: set_data value" % who, data, "float64", dtype)
        first = tensor_pb2.TensorUpload(name=self.name, header=upload_header(who, shape, name, arr.nbytes))
        reply = self._ch.push(_P + "SetData", first, arr, 3)
        return ParameterDescriptor(pb.ParameterInfo.FromString(reply))

    def row_sparse_data(self, row_id, ctx=None):
        """Rows ``row_id`` (any order, duplicates allowed; returned sorted and unique) of a
        row_sparse parameter on ``ctx``, as a RowSparseArray."""
        req = pb.RowSparseDataRequest(name=self.name, row_ids=row_ids(self._who, row_id))
        if ctx is not None:
            req.ctx.CopyFrom(_ctx.to_proto(self._who, ctx))
        return read_rows(self._ch.pull(_P + "RowSparseData", req)[0])

    def list_row_sparse_data(self, row_id):
        """The same rows from every copy, in context order."""
        req = pb.ListRowSparseDataRequest(name=self.name, row_ids=row_ids(self._who, row_id))
        return [read_rows(t) for t in self._ch.pull(_P + "ListRowSparseData", req, None)]

    def zero_grad(self):
        """Sets every gradient copy to zero; a no-op without gradients."""
        return self._info(self._ch.parameters.ZeroGrad, pb.ZeroGradRequest(name=self.name))

    def cast(self, dtype):
        """Converts data and gradients to ``dtype`` (Gluon's cast())."""
        req = pb.CastRequest(name=self.name, dtype=_dt.to_proto(self._who, dtype))
        return self._info(self._ch.parameters.Cast, req)

    def set_shape(self, shape):
        """Fills unknown dims (known ones must match); may complete a deferred initialization."""
        req = pb.SetShapeRequest(name=self.name, shape=declared_shape(self._who, shape))
        return self._info(self._ch.parameters.SetShape, req)

    def var(self):
        """The symbol variable: name and MXNet's attributes (__shape__, __dtype__, ...)."""
        reply = self._ch.unary(self._ch.parameters.Var, pb.VarRequest(name=self.name))
        return SymbolVar(reply.name, dict(reply.attrs))

    def describe(self):
        """Spec, state, contexts and version."""
        return self._info(self._ch.parameters.Describe, pb.DescribeRequest(name=self.name))

    @property
    def shape(self):
        """The current shape (0 for unknown dims; None for an unknown rank); setting it is set_shape()."""
        return self.describe().shape

    @shape.setter
    def shape(self, value):
        self.set_shape(value)

    @property
    def dtype(self):
        """The element type's name; setting it is cast()."""
        return self.describe().dtype

    @dtype.setter
    def dtype(self, value):
        self.cast(value)

    @property
    def grad_req(self):
        return self.describe().grad_req

    @property
    def stype(self):
        return self.describe().stype

    def __repr__(self):
        return "Parameter(%s)" % self.name
