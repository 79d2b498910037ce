"""Retries of the trainer's keyed calls (client/retry.ts states the same rule). A push or step
carries an idempotency key and the server caches each key's result, so a call whose outcome is
unknown may be sent again with the SAME key: the server applies it once.

Retried: UNAVAILABLE (the connection failed or the server is restarting), and DEADLINE_EXCEEDED
only when it is gRPC's own deadline of an attempt sent with one (text "Deadline Exceeded"); the
trainer's barrier timeout is DEADLINE_EXCEEDED too, but with the trainer's own text, and it is a
final answer. Everything else is final."""

import random
import re
import time

from .errors import GluonPsError, Status, invalid_argument, show

DEFAULT_RETRY = {"max_attempts": 8, "initial_backoff_ms": 50, "max_backoff_ms": 2000}
_GRPC_DEADLINE_TEXT = re.compile(r"^deadline exceeded\b", re.IGNORECASE)


def settings(who, retry):
    """Checked retry settings with the defaults filled."""
    out = dict(DEFAULT_RETRY)
    if retry is None:
        return out
    if not isinstance(retry, dict):
        raise invalid_argument(
            "%s: retry must be a dict {max_attempts, initial_backoff_ms, max_backoff_ms}, got %s" % (who, show(retry))
        )
    for key, value in retry.items():
        if key not in DEFAULT_RETRY:
            raise invalid_argument(
                "%s: unknown retry option '%s'; expected %s" % (who, key, ", ".join(DEFAULT_RETRY))
            )
        low = 1 if key == "max_attempts" else 0
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise invalid_argument("%s: retry.%s must be an integer >= %d, got %s" % (who, key, low, show(value)))
        out[key] = value
    return out


def is_retryable(err, deadline_set):
    if err.code == Status.UNAVAILABLE:
        return True
    if err.code == Status.DEADLINE_EXCEEDED:
        return deadline_set and bool(_GRPC_DEADLINE_TEXT.match(err.message))
    return False


def backoff_ms(retry, s):
    """initial_backoff_ms doubled per retry, capped, with equal jitter (a random point in its upper half)."""
    base = min(s["max_backoff_ms"], s["initial_backoff_ms"] * 2 ** max(0, retry - 1))
    return base / 2 + random.random() * base / 2


def with_retry(s, attempt, deadline_set):
    """Runs ``attempt()`` (which must send the same request each time) until it succeeds, fails
    with a final answer, or max_attempts ran."""
    n = 1
    while True:
        try:
            return attempt()
        except GluonPsError as err:
            if not is_retryable(err, deadline_set):
                raise
            if n >= s["max_attempts"]:
                if n == 1:
                    raise
                raise GluonPsError(
                    err.code, "%s (gave up after %d attempts with the same idempotency key)" % (err.message, n)
                ) from err
            time.sleep(backoff_ms(n, s) / 1000)
            n += 1
