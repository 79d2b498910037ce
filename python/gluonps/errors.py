"""The one exception the client raises: GluonPsError, carrying the numeric gRPC status and the
server's own message, whether the server answered with a status, the transport broke, or the
client refused bad input before sending anything (INVALID_ARGUMENT). Mirrors client/errors.ts."""

import enum

import grpc


class Status(enum.IntEnum):
    """The gRPC status codes, as numbers (``err.code == Status.NOT_FOUND``)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class GluonPsError(Exception):
    """A failed call: ``code`` is the numeric gRPC status, ``message`` the server's text."""

    def __init__(self, code, message, reason=None):
        super().__init__(message)
        self.code = int(code)
        self.message = message
        #: The status details as the server sent them (equal to ``message``).
        self.details = message
        #: A machine-readable reason for the refusals a client acts on, from the status's
        #: ``gluonps-reason`` metadata (docs/api.md, "Errors"): ``"stale-step"`` for a push or
        #: step for a step that is closed or not open yet; None otherwise.
        self.reason = reason

    @property
    def status(self):
        """``code`` as a Status member (UNKNOWN for a number outside the table)."""
        try:
            return Status(self.code)
        except ValueError:
            return Status.UNKNOWN

    def __str__(self):
        return self.message

    def __repr__(self):
        return "GluonPsError(%s, %r)" % (self.status.name, self.message)


def invalid_argument(message):
    """A client-side check failed: INVALID_ARGUMENT, nothing was sent."""
    return GluonPsError(Status.INVALID_ARGUMENT, message)


def from_rpc_error(err):
    """A grpc.RpcError (or anything else a call raised) as a GluonPsError."""
    if isinstance(err, GluonPsError):
        return err
    if isinstance(err, grpc.RpcError) and hasattr(err, "code"):
        code = err.code()
        number = code.value[0] if isinstance(code, grpc.StatusCode) else int(Status.UNKNOWN)
        details = err.details() if hasattr(err, "details") else None
        return GluonPsError(
            number, details or (code.name if isinstance(code, grpc.StatusCode) else str(err)), _reason_of(err)
        )
    return GluonPsError(Status.UNKNOWN, str(err))


#: The reasons this client knows (common/error-reason.ts); a newer server's other reasons read as None.
_REASONS = ("stale-step",)


def _reason_of(err):
    """The ``gluonps-reason`` entry of a call's trailing metadata, when it is one this client knows."""
    try:
        metadata = err.trailing_metadata() or ()
    except Exception:  # not every RpcError carries metadata
        return None
    for key, value in metadata:
        if key == "gluonps-reason" and value in _REASONS:
            return value
    return None


def show(value):
    """A user value for an error message, short."""
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
