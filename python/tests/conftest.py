"""pytest fixtures: the server bundle (built once per session), one shared plaintext server for
most tests, and a factory for servers with their own flags (tokens, TLS, data dirs) that are
stopped at the end of the test. Every server listens on 127.0.0.1 only."""

import itertools
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))  # the gluonps package of this checkout
sys.path.insert(0, os.path.dirname(__file__))

import gluonps as gps  # noqa: E402
from server import Server, bundle  # noqa: E402

_names = itertools.count()


@pytest.fixture(scope="session")
def server_script():
    path = bundle("gluonps-pytest-%d" % os.getpid())
    yield path
    os.unlink(path)


@pytest.fixture(scope="session")
def server(server_script):
    s = Server(server_script).start()
    yield s
    s.stop()


@pytest.fixture
def ps(server):
    client = gps.connect(server.address, connect_timeout_ms=5000)
    yield client
    client.close()


@pytest.fixture
def make_server(server_script):
    started = []

    def make(args=(), data_dir="none", env=None):
        s = Server(server_script, args=args, data_dir=data_dir, env=env).start()
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


@pytest.fixture
def name(request):
    """A parameter/trainer name unique in the session (tests share one server)."""
    return "%s_%d" % (request.node.name.replace("[", "_").replace("]", "").replace("-", "_"), next(_names))
