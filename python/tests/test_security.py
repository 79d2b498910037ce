"""Bearer tokens, TLS and mutual TLS through the Python client, against servers started with
--auth-token / --read-only-token and --tls-cert / --tls-key / --tls-client-ca. Certificates are
made by the openssl CLI (EC keys), as test/fixtures/certs.ts makes them."""

import subprocess

import numpy as np
import pytest

import gluonps as gps
from gluonps import GluonPsError, Status

FULL, READER = "full-access-token-1", "read-only-token-2"


def self_signed(directory, name, cn):
    key, cert = directory / (name + "-key.pem"), directory / (name + "-cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


def test_tokens(make_server, name):
    srv = make_server(args=["--auth-token", FULL, "--read-only-token", READER])
    with gps.connect(srv.address) as anon:
        with pytest.raises(GluonPsError, match="missing bearer token") as e:
            anon.list()
        assert e.value.code == Status.UNAUTHENTICATED
    with gps.connect(srv.address, token="not-a-token") as stranger:
        with pytest.raises(GluonPsError, match="^unknown bearer token$") as e:
            stranger.parameter(name, shape=(2,))
        assert e.value.code == Status.UNAUTHENTICATED
    with gps.connect(srv.address, token=FULL) as ps:
        p = ps.parameter(name, shape=(2,))
        p.initialize(init="ones")
        tr = ps.trainer(name + "_t", [p], "sgd", {"learning_rate": 1.0})
        tr.push_grad(p, np.ones(2, np.float32))
        tr.step(1)
    with gps.connect(srv.address, token=READER) as reader:
        q = reader.get(name)
        assert q.data().tolist() == [0.0, 0.0]
        with pytest.raises(GluonPsError, match="read-only token may not call") as e:
            q.set_data([1.0, 2.0])
        assert e.value.code == Status.PERMISSION_DENIED
        with pytest.raises(GluonPsError, match="read-only token may not call") as e:
            reader.trainer(name + "_t", [q], "sgd", {"learning_rate": 1.0}).push_grad(q, np.ones(2, np.float32))
        assert e.value.code == Status.PERMISSION_DENIED
    with pytest.raises(GluonPsError, match="token must be a non-empty string of visible ASCII") as e:
        gps.connect(srv.address, token="two words")
    assert e.value.code == Status.INVALID_ARGUMENT


def test_tls_and_mutual_tls(make_server, name, tmp_path):
    server_cert, server_key = self_signed(tmp_path, "server", "localhost")
    client_cert, client_key = self_signed(tmp_path, "client", "worker")
    srv = make_server(args=["--tls-cert", str(server_cert), "--tls-key", str(server_key)])
    ca = server_cert.read_bytes()
    with gps.connect(srv.address, tls={"ca": ca}, token=None) as ps:
        p = ps.parameter(name, shape=(3,))
        p.initialize(init="ones")
        assert p.data().tolist() == [1.0, 1.0, 1.0]
    # A plaintext client, or one that does not trust the certificate, never gets a channel.
    for tls in (None, True):
        with pytest.raises(GluonPsError, match="cannot connect") as e:
            gps.connect(srv.address, tls=tls, connect_timeout_ms=1000)
        assert e.value.code == Status.UNAVAILABLE

    mtls = make_server(args=["--tls-cert", str(server_cert), "--tls-key", str(server_key),
                             "--tls-client-ca", str(client_cert), "--auth-token", FULL])
    with gps.connect(mtls.address, tls={"ca": str(server_cert), "cert": str(client_cert), "key": str(client_key)},
                     token=FULL) as ps:
        p = ps.parameter(name, shape=(2, 2))
        p.initialize(init="zeros")
        p.set_data(np.eye(2))
        assert np.array_equal(p.data(), np.eye(2, dtype=np.float32))
    with pytest.raises(GluonPsError, match="cannot connect") as e:
        gps.connect(mtls.address, tls={"ca": ca}, token=FULL, connect_timeout_ms=1000)
    assert e.value.code == Status.UNAVAILABLE
    with pytest.raises(GluonPsError, match="cert and key go together") as e:
        gps.connect(mtls.address, tls={"ca": ca, "cert": client_cert.read_bytes()})
    assert e.value.code == Status.INVALID_ARGUMENT
