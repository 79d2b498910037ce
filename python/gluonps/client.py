"""connect() and the connection object users call ``ps`` (client/client.ts is the TypeScript
side): declares parameters and constants, looks them up, lists them, creates trainers, saves and
loads parameter files, asks for checkpoints. Every call goes through its Channel."""

from . import dtypes as _dt
from . import parameter as _param
from ._channel import _P, Channel
from ._proto import admin_pb2
from ._proto import parameter_pb2 as pb
from ._proto import tensor_pb2
from .errors import invalid_argument, show
from .parameter import Parameter, ParameterDescriptor


def connect(address, token=None, tls=None, deadline_ms=None, connect_timeout_ms=None, channel_options=None):
    """Opens a channel to the gluon-ps server at ``address`` ("host:port") and waits until it is
    ready, so a wrong address or a server that is down fails here (UNAVAILABLE naming the address).

    token: sent as ``authorization: Bearer <token>`` on every call.
    tls: True (the system's CAs) or a dict {ca, cert, key} of PEM bytes or file paths (``ca`` to
        trust a self-signed or private-CA server certificate, ``cert`` + ``key`` for mutual TLS).
    deadline_ms: the deadline of every call, streams included; default none.
    connect_timeout_ms: how long to wait for the channel (default 10000).
    channel_options: extra gRPC channel options, e.g. {"grpc.ssl_target_name_override": "x"}.
    """
    return ParameterServer(Channel(address, token, tls, deadline_ms, connect_timeout_ms, channel_options))


def _check_name(who, name):
    if not isinstance(name, str) or name == "":
        raise invalid_argument("%s: a parameter name must be a non-empty string, got %s" % (who, show(name)))
    return name


class ParameterServer:
    """A connection to one server (``ps`` in the docs). Usable as a context manager (closes)."""

    def __init__(self, channel):
        self._ch = channel

    @property
    def address(self):
        return self._ch.address

    def parameter(self, name, shape=None, dtype=None, init=None, grad_req=None, stype=None, grad_stype=None,
                  allow_deferred_init=None, differentiable=None, lr_mult=None, wd_mult=None):
        """Declares a Parameter with Gluon's constructor arguments and returns its handle.

        shape: a tuple (0 or -1 for a dim not known yet) or an int; None: even the rank is unknown.
        dtype: 'float32' (default), 'float64', 'float16', 'bfloat16', 'int8', 'uint8', 'int32',
        'int64' or the numpy type. grad_req: 'write' | 'add' | 'null'. stype, grad_stype:
        'default' | 'row_sparse'. init: a gluonps.init initializer or its name. Declaring a name
        again with an identical spec returns it; a different spec is ALREADY_EXISTS."""
        _check_name("parameter()", name)
        spec = _param.spec_to_proto(name, shape, dtype, init, grad_req, stype, grad_stype, allow_deferred_init,
                                    differentiable, lr_mult, wd_mult)
        self._ch.unary(self._ch.parameters.Declare, pb.DeclareRequest(spec=spec))
        return Parameter(self._ch, name)

    def constant(self, name, value, dtype=None):
        """Declares a Gluon Constant holding ``value`` (grad_req 'null', never changed by a
        trainer) and returns its handle; initialize() then creates its copies. A numpy array keeps
        its dtype; nested numbers make a float32 constant (as Gluon's Constant)."""
        _check_name("constant()", name)
        who = "constant '%s'" % name
        shape, dt, arr = _dt.to_wire("%s: value" % who, value, "float32", dtype)
        first = tensor_pb2.TensorUpload(name=name, header=_param.upload_header(who, shape, dt, arr.nbytes))
        self._ch.push(_P + "DeclareConstant", first, arr, 3)
        return Parameter(self._ch, name)

    def get(self, name):
        """The handle of an existing parameter or constant; NOT_FOUND if there is none."""
        _check_name("get()", name)
        self._ch.unary(self._ch.parameters.Get, pb.GetRequest(name=name))
        return Parameter(self._ch, name)

    def list(self):
        """Descriptions of every parameter and constant, in declaration order."""
        reply = self._ch.unary(self._ch.parameters.List, pb.ListRequest())
        return [ParameterDescriptor(p) for p in reply.parameters]

    def trainer(self, name, params, optimizer, optimizer_params=None, mode="sync", num_workers=1, worker_id=0,
                step_timeout_ms=None, timeout_policy="fail", quorum=0, incarnation=None, retry=None):
        """Creates the trainer ``name`` over ``params`` (handles or names) with ``optimizer``
        ('sgd', 'nag', 'adam', 'adamw', 'adagrad', 'rmsprop', 'ftrl', 'lamb') and MXNet's
        optimizer_params (learning_rate, wd, momentum, ..., lr_scheduler as a dict), or attaches to
        the identical existing one, and returns this worker's handle (see gluonps.trainer)."""
        from .trainer import create_trainer

        return create_trainer(self._ch, name, params, optimizer, optimizer_params, mode, num_workers, worker_id,
                              step_timeout_ms, timeout_policy, quorum, incarnation, retry)

    def save_parameters(self, filename, names=None, format="params", numpy_shape=False):
        """Gluon's save_parameters: the value of every parameter and constant (or of ``names``)
        to ``filename``: MXNet .params (default), safetensors or npz. See gluonps.persist."""
        from .persist import save_parameters

        return save_parameters(self, filename, names, format, numpy_shape)

    def load_parameters(self, filename, ctx=None, allow_missing=False, ignore_extra=False, cast_dtype=False,
                        dtype_source="current", names=None, declare=False, format=None):
        """Gluon's load_parameters: every parameter (or those in ``names``) from the entries of
        ``filename`` with the same name. See gluonps.persist."""
        from .persist import load_parameters

        return load_parameters(self, filename, ctx, allow_missing, ignore_extra, cast_dtype, dtype_source, names,
                               declare, format)

    def checkpoint(self, reason="on demand"):
        """Asks the server to checkpoint its data directory now: returns (id, data_dir)."""
        if not isinstance(reason, str):
            raise invalid_argument("checkpoint(): reason must be a string, got %s" % show(reason))
        reply = self._ch.unary(self._ch.admin.Checkpoint, admin_pb2.CheckpointRequest(reason=reason))
        return reply.id, reply.data_dir

    def close(self):
        """Closes the channel; later calls raise CANCELLED. Idempotent."""
        self._ch.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
