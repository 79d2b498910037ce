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

    def __init__(self, code, message):
        super().__init__(message)
        self.code = int(code)
        self.message = message
        #: The status details as the server sent them (equal to ``message``).
        self.details = message

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
        return GluonPsError(number, details or (code.name if isinstance(code, grpc.StatusCode) else str(err)))
    return GluonPsError(Status.UNKNOWN, str(err))


def show(value):
    """A user value for an error message, short."""
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
