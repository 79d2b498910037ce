"""The client's one call layer (client/channel.ts is the TypeScript side): a Channel owns the
gRPC connection to one server and every policy a call needs: credentials (plaintext, TLS, mutual
TLS), the bearer token, the per-call deadline, the refusal of calls after close(), the chunked
tensor streams (_wire.py) and the mapping of every failure to a GluonPsError. Parameters,
trainers and save/load all call through it."""

import os
import re

import grpc

from . import _wire
from ._proto import admin_pb2_grpc, parameter_pb2_grpc, trainer_pb2_grpc
from .errors import GluonPsError, Status, from_rpc_error, invalid_argument, show

DEFAULT_CONNECT_TIMEOUT_MS = 10_000
#: The receive window a stream starts with; the core's BDP probing grows it from there
#: (common/wire/channel.ts FLOW_CONTROL_WINDOW_BYTES: 1 MiB chunks want a window of a few).
FLOW_CONTROL_WINDOW_BYTES = 4 << 20

# Keepalive as the TypeScript client: a ping after 60 s without traffic on a connection with
# calls open (a long sync step), answered within 20 s; none on an idle connection.
_DEFAULT_OPTIONS = (
    ("grpc.max_receive_message_length", _wire.MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", _wire.MAX_MESSAGE_BYTES),
    ("grpc.http2.lookahead_bytes", FLOW_CONTROL_WINDOW_BYTES),
    ("grpc.keepalive_time_ms", 60_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.keepalive_permit_without_calls", 0),
    # The core's own retries would buffer every upload message for a possible replay; the
    # trainer retries its keyed calls itself (_retry.py).
    ("grpc.enable_retries", 0),
)
_TOKEN = re.compile(r"^[\x21-\x7e]+$")

_P = "/gluonps.v1.ParameterService/"
_T = "/gluonps.v1.TrainerService/"


def _pem(who, field, value):
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, (str, os.PathLike)):
        try:
            with open(value, "rb") as f:
                return f.read()
        except OSError as err:
            raise invalid_argument("%s: tls %s: cannot read %s: %s" % (who, field, value, err.strerror))
    raise invalid_argument("%s: tls %s must be PEM bytes or a file path, got %s" % (who, field, show(value)))


def credentials_for(who, tls):
    """None for plaintext; channel credentials for ``tls`` True (system CAs) or a dict {ca, cert, key}."""
    if tls is None or tls is False:
        return None
    if tls is True:
        return grpc.ssl_channel_credentials()
    if not isinstance(tls, dict):
        raise invalid_argument("%s: tls must be True or a dict {ca, cert, key}, got %s" % (who, show(tls)))
    unknown = [k for k in tls if k not in ("ca", "cert", "key")]
    if unknown:
        raise invalid_argument("%s: unknown tls option %s; expected ca, cert, key" % (who, ", ".join(map(repr, unknown))))
    ca, cert, key = (_pem(who, f, tls.get(f)) for f in ("ca", "cert", "key"))
    if (cert is None) != (key is None):
        raise invalid_argument("%s: tls cert and key go together (mutual TLS needs both)" % who)
    return grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)


def _positive_ms(who, field, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise invalid_argument("%s: %s must be a positive number of milliseconds, got %s" % (who, field, show(value)))
    return value


class Channel:
    """One connection; see connect() for the arguments."""

    def __init__(self, address, token=None, tls=None, deadline_ms=None, connect_timeout_ms=None, channel_options=None):
        who = "connect()"
        if not isinstance(address, str) or address == "":
            raise invalid_argument('%s: address must be a non-empty "host:port" string, got %s' % (who, show(address)))
        self.address = address
        self.deadline_ms = None if deadline_ms is None else _positive_ms(who, "deadline_ms", deadline_ms)
        timeout_ms = (
            DEFAULT_CONNECT_TIMEOUT_MS
            if connect_timeout_ms is None
            else _positive_ms(who, "connect_timeout_ms", connect_timeout_ms)
        )
        if token is not None and (not isinstance(token, str) or not _TOKEN.match(token)):
            raise invalid_argument("%s: token must be a non-empty string of visible ASCII characters" % who)
        self._metadata = (("authorization", "Bearer " + token),) if token is not None else None
        creds = credentials_for(who, tls)
        options = dict(_DEFAULT_OPTIONS)
        for k, v in (channel_options.items() if isinstance(channel_options, dict) else (channel_options or ())):
            options[k] = v
        options = list(options.items())
        self._channel = (
            grpc.secure_channel(address, creds, options=options)
            if creds is not None
            else grpc.insecure_channel(address, options=options)
        )
        self._closed = False
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout_ms / 1000)
        except grpc.FutureTimeoutError:
            self._channel.close()
            raise GluonPsError(
                Status.UNAVAILABLE,
                "cannot connect to the gluon-ps server at %s: not ready after %g ms" % (address, timeout_ms),
            ) from None
        self.parameters = parameter_pb2_grpc.ParameterServiceStub(self._channel)
        self.trainers = trainer_pb2_grpc.TrainerServiceStub(self._channel)
        self.admin = admin_pb2_grpc.AdminServiceStub(self._channel)
        # Raw streams: requests are bytes we framed, replies bytes we walk (_wire.py).
        ch = self._channel
        self._pull_stubs = {}
        for path in ("Data", "ListData", "Grad", "ListGrad", "RowSparseData", "ListRowSparseData"):
            self._pull_stubs[_P + path] = ch.unary_stream(_P + path)
        self._pull_stubs[_T + "SaveStates"] = ch.unary_stream(_T + "SaveStates")
        self._push_stubs = {}
        for path in (_P + "SetData", _P + "DeclareConstant", _T + "PushGrad", _T + "LoadStates"):
            self._push_stubs[path] = ch.stream_unary(path)

    @property
    def closed(self):
        return self._closed

    def _timeout(self, deadline_ms):
        return None if deadline_ms is None else deadline_ms / 1000

    def _check_open(self):
        if self._closed:
            raise GluonPsError(
                Status.CANCELLED,
                "the gluon-ps client for %s is closed; connect() again to make calls" % self.address,
            )

    def unary(self, method, request, deadline_ms="default"):
        """A unary call through a generated stub method, e.g. ``ch.unary(ch.parameters.Describe, req)``."""
        self._check_open()
        deadline_ms = self.deadline_ms if deadline_ms == "default" else deadline_ms
        try:
            return method(request, timeout=self._timeout(deadline_ms), metadata=self._metadata)
        except grpc.RpcError as err:
            raise from_rpc_error(err) from None

    def pull(self, path, request, count=1, header_of=None, deadline_ms="default"):
        """A server-streaming read of ``count`` tensors (None: any number) into preallocated buffers."""
        self._check_open()
        deadline_ms = self.deadline_ms if deadline_ms == "default" else deadline_ms
        call = self._pull_stubs[path](
            request.SerializeToString(), timeout=self._timeout(deadline_ms), metadata=self._metadata
        )
        try:
            return _wire.assemble(call, count=count, header_of=header_of)
        except grpc.RpcError as err:
            raise from_rpc_error(err) from None
        except GluonPsError:
            call.cancel()
            raise

    def push(self, path, first, data, chunk_field, deadline_ms="default"):
        """A client-streaming upload: ``first`` (the message without its chunk), then ``data`` in
        <= 1 MiB chunks. Returns the reply's raw bytes; the caller parses them."""
        self._check_open()
        deadline_ms = self.deadline_ms if deadline_ms == "default" else deadline_ms
        messages = _wire.upload_messages(first.SerializeToString(), data, chunk_field)
        try:
            return self._push_stubs[path](messages, timeout=self._timeout(deadline_ms), metadata=self._metadata)
        except grpc.RpcError as err:
            raise from_rpc_error(err) from None

    def close(self):
        """Closes the channel; idempotent. Later calls raise CANCELLED."""
        if not self._closed:
            self._closed = True
            self._channel.close()
