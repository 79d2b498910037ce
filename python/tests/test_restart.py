"""Exactly once across server restarts: the server runs on a data dir with a write-ahead log and
is killed (kill -9) at the worst moments, then restarted on the same port. The worker's keyed
pushes and steps are retried with the same keys, and after `step k restarted: push again` its
kept gradients are pushed again, so every step is applied exactly once: the weights equal those
of the same sequence on a server that never crashed, bit for bit."""

import threading

import numpy as np

import gluonps as gps

# Reconnect fast and retry long enough to span a restart (test/integration/crash-harness.ts).
FAST_RECONNECT = {"grpc.initial_reconnect_backoff_ms": 50, "grpc.min_reconnect_backoff_ms": 50,
                  "grpc.max_reconnect_backoff_ms": 250}
RESTART_RETRY = {"max_attempts": 80, "initial_backoff_ms": 50, "max_backoff_ms": 250}


def train_step(tr, params, g, batch):
    for p, grad in zip(params, g):
        tr.push_grad(p, grad)
    return tr.step(batch)


def test_steps_apply_exactly_once_across_kill_9(make_server, ps, name, tmp_path):
    steps = 6
    rng = np.random.default_rng(3)
    shapes = [(300, 7), (5,)]
    g = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(steps)]
    w0 = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    opt = ("sgd", {"learning_rate": 0.05, "momentum": 0.9})

    # The subject: its second step's record is durable when the failpoint kills the server,
    # before the worker hears the answer.
    srv = make_server(args=["--durability", "wal-always"], data_dir=str(tmp_path / "data"),
                      env={"GLUONPS_FAILPOINTS": "step.after-log-before-ack=2"})

    def restart_after_failpoint():
        srv.proc.wait(60)
        srv.restart(env={})

    watcher = threading.Thread(target=restart_after_failpoint, daemon=True)
    watcher.start()
    conn = gps.connect(srv.address, channel_options=FAST_RECONNECT)
    try:
        params = []
        for i, s in enumerate(shapes):
            p = conn.parameter("%s_%d" % (name, i), shape=s)
            p.initialize(init="zeros")
            p.set_data(w0[i])
            params.append(p)
        tr = conn.trainer(name + "_t", params, *opt, retry=RESTART_RETRY)
        results = []
        for k in range(steps):
            if k == 4:
                # Pushes staged, then kill -9: the restarted server lost them and says
                # `step 4 restarted: push again`; the trainer pushes its kept gradients again.
                for p, grad in zip(params, g[k]):
                    tr.push_grad(p, grad)
                srv.restart()
                results.append(tr.step(2).step)
                continue
            results.append(train_step(tr, params, g[k], 2).step)
        watcher.join(60)
        assert results == list(range(1, steps + 1))
        assert tr.describe().step == steps
        got = [p.data() for p in params]
    finally:
        conn.close()
    assert srv.output().count('"listening"') >= 1

    ref_params = []
    for i, s in enumerate(shapes):
        p = ps.parameter("%s_ref_%d" % (name, i), shape=s)
        p.initialize(init="zeros")
        p.set_data(w0[i])
        ref_params.append(p)
    ref = ps.trainer(name + "_ref", ref_params, *opt)
    for k in range(steps):
        train_step(ref, ref_params, g[k], 2)
    for a, p in zip(got, ref_params):
        assert a.tobytes() == p.data().tobytes()
