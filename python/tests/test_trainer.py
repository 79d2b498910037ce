"""The trainer through the Python client: sync training by two workers (threads with their own
connections) equals one worker training on the summed batch, bit for bit; async training;
row_sparse gradients; optimizer states; learning rates and schedules; leave; barrier timeouts;
and the errors."""

import threading

import numpy as np
import pytest

import gluonps as gps
from gluonps import GluonPsError, Status

RNG = np.random.default_rng(42)


def grads(n, shape):
    return [RNG.standard_normal(shape).astype(np.float32) for _ in range(n)]


def run_workers(fns):
    errors = []

    def wrap(fn):
        try:
            fn()
        except BaseException as err:  # surfaced in the test thread
            errors.append(err)

    threads = [threading.Thread(target=wrap, args=(fn,)) for fn in fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]


@pytest.mark.parametrize("optimizer,params", [
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-3}),
    ("adam", {"learning_rate": 0.01}),
])
def test_sync_two_workers_equal_one_worker_on_the_summed_batch(server, ps, name, optimizer, params):
    shape = (8, 5)
    steps = 4
    g = [grads(2, shape) for _ in range(steps)]
    batches = (3, 5)
    w0 = RNG.uniform(-0.5, 0.5, shape).astype(np.float32)
    for suffix in ("_w", "_ref"):
        p = ps.parameter(name + suffix, shape=shape)
        p.initialize(init="zeros", ctx=[gps.cpu(0), gps.cpu(1)])
        p.set_data(w0)
    results = {}

    def worker(wid):
        with gps.connect(server.address) as conn:
            tr = conn.trainer(name + "_sync", [name + "_w"], optimizer, params, num_workers=2, worker_id=wid,
                              step_timeout_ms=30_000)
            for k in range(steps):
                tr.push_grad(name + "_w", g[k][wid])
                r = tr.step(batches[wid])
                assert r.workers == [0, 1] and r.step == k + 1
            results[wid] = tr.current_step

    run_workers([lambda: worker(0), lambda: worker(1)])
    assert results == {0: steps, 1: steps}
    ref = ps.trainer(name + "_single", [name + "_ref"], optimizer, params)
    for k in range(steps):
        ref.push_grad(name + "_ref", g[k][0] + g[k][1])
        ref.step(sum(batches))
    w, r = ps.get(name + "_w"), ps.get(name + "_ref")
    assert w.data().tobytes() == r.data().tobytes()
    assert w.data(gps.cpu(1)).tobytes() == r.data(gps.cpu(1)).tobytes()


def test_async_workers_apply_every_step(server, ps, name):
    p = ps.parameter(name, shape=(16,))
    p.initialize(init="zeros")

    def worker(wid):
        with gps.connect(server.address) as conn:
            tr = conn.trainer(name + "_async", [p], "sgd", {"learning_rate": 1.0}, mode="async", num_workers=2,
                              worker_id=wid)
            for _ in range(5):
                tr.push_grad(p, np.full(16, wid + 1, np.float32))
                r = tr.step(1)
                assert r.workers == [wid]

    run_workers([lambda: worker(0), lambda: worker(1)])
    # Integer-valued steps: exact whatever the order: -(5 * 1 + 5 * 2).
    assert np.array_equal(p.data(), np.full(16, -15, np.float32))
    assert ps.trainer(name + "_async", [p], "sgd", {"learning_rate": 1.0}, mode="async", num_workers=2).describe().step == 10


def test_row_sparse_gradients_update_only_their_rows(ps, name):
    emb = ps.parameter(name, shape=(100, 4), stype="row_sparse", grad_stype="row_sparse")
    emb.initialize(init="ones")
    tr = ps.trainer(name + "_t", [emb], "sgd", {"learning_rate": 1.0})
    tr.push_grad(emb, (np.array([7, 3, 7]), np.array([[1, 1, 1, 1], [2, 2, 2, 2], [3, 3, 3, 3]], np.float32)))
    tr.step(1)
    rows = emb.row_sparse_data(range(100))
    dense = rows.todense((100, 4))
    expected = np.ones((100, 4), np.float32)
    expected[3] -= 2
    expected[7] -= 4  # duplicates are summed
    assert np.array_equal(dense, expected)
    tr.push_grad(emb, gps.RowSparseArray(np.array([0]), np.full((1, 4), 0.5, np.float32), (100, 4)))
    tr.step(1)
    assert emb.row_sparse_data([0]).data.tolist() == [[0.5] * 4]


def test_states_learning_rate_and_schedules(ps, name, tmp_path):
    p = ps.parameter(name, shape=(6,))
    p.initialize(init=gps.init.Constant(1.0))
    tr = ps.trainer(name + "_adam", [p], "adam", {"learning_rate": 0.05})
    g = np.linspace(-1, 1, 6).astype(np.float32)
    tr.push_grad(p, g)
    tr.step(1)
    w1 = p.data()
    states = tr.save_states(str(tmp_path / "adam.states"))
    assert isinstance(states, bytes) and len(states) > 0
    tr.push_grad(p, g)
    tr.step(1)
    w2 = p.data()
    p.set_data(w1)
    tr.load_states(str(tmp_path / "adam.states"))  # from the file save_states wrote
    assert tr.current_step == 1 and tr.describe().step == 1
    tr.push_grad(p, g)
    tr.step(1)
    assert p.data().tobytes() == w2.tobytes()
    tr.load_states(states)  # from bytes
    assert tr.learning_rate == 0.05
    tr.set_learning_rate(0.01)
    assert tr.learning_rate == 0.01 and tr.describe().optimizer[1]["learning_rate"] == 0.01

    q = ps.parameter(name + "_q", shape=(2,))
    q.initialize(init="zeros")
    sched = ps.trainer(name + "_sched", [q], "sgd",
                       {"learning_rate": 1.0, "lr_scheduler": {"kind": "factor", "step": 1, "factor": 0.5}})
    assert sched.describe().optimizer[1]["lr_scheduler"]["kind"] == "factor"
    seen = [sched.learning_rate]
    for _ in range(3):
        sched.push_grad(q, np.ones(2, np.float32))
        sched.step(1)
        seen.append(sched.learning_rate)
    assert seen[0] > seen[1] > seen[2] > seen[3]
    with pytest.raises(GluonPsError, match="scheduler") as e:
        sched.set_learning_rate(0.5)
    assert e.value.code == Status.FAILED_PRECONDITION


def test_leave_and_barrier_timeout(server, ps, name):
    p = ps.parameter(name, shape=(3,))
    p.initialize(init="zeros")
    tr = ps.trainer(name + "_t", [p], "sgd", {"learning_rate": 1.0}, num_workers=2, worker_id=0,
                    step_timeout_ms=300)
    tr.push_grad(p, np.ones(3, np.float32))
    with pytest.raises(GluonPsError, match="waiting for worker 1") as e:
        tr.step(1)
    assert e.value.code == Status.DEADLINE_EXCEEDED
    assert tr.current_step == 0 and np.array_equal(p.data(), np.zeros(3, np.float32))
    with gps.connect(server.address) as conn:
        other = conn.trainer(name + "_t", [p], "sgd", {"learning_rate": 1.0}, num_workers=2, worker_id=1,
                             step_timeout_ms=300)
        assert other.leave().workers_left == [1]
    tr.push_grad(p, np.ones(3, np.float32))
    assert tr.step(1).workers == [0]
    assert np.array_equal(p.data(), -np.ones(3, np.float32))


def test_a_push_for_a_closed_step_says_so_and_the_handle_moves_on(server, ps, name):
    p = ps.parameter(name, shape=(3,))
    p.initialize(init="zeros")
    tr0 = ps.trainer(name + "_t", [p], "sgd", {"learning_rate": 1.0}, num_workers=2, worker_id=0,
                     step_timeout_ms=200, timeout_policy="quorum", quorum=1)
    with gps.connect(server.address) as conn:
        tr1 = conn.trainer(name + "_t", [p], "sgd", {"learning_rate": 1.0}, num_workers=2, worker_id=1,
                           step_timeout_ms=200, timeout_policy="quorum", quorum=1)
        tr0.push_grad(p, np.ones(3, np.float32))
        assert tr0.step(1).workers == [0]
        # Worker 1 is still at step 0, which closed without it (a quorum of one).
        with pytest.raises(GluonPsError, match="step 0 is closed") as e:
            tr1.push_grad(p, np.ones(3, np.float32))
        assert e.value.code == Status.FAILED_PRECONDITION and e.value.reason == "stale-step"
        assert tr1.current_step == 1
        # Other refusals carry no reason.
        tr1.push_grad(p, np.ones(3, np.float32))
        with pytest.raises(GluonPsError, match="already pushed") as e:
            tr1.push_grad(p, np.ones(3, np.float32))
        assert e.value.reason is None


def test_trainer_errors(ps, name):
    p = ps.parameter(name, shape=(3,))
    p.initialize(init="zeros")
    c = ps.constant(name + "_c", [1.0, 2.0])
    c.initialize()
    with pytest.raises(GluonPsError, match="unknown optimizer 'sgdd'") as e:
        ps.trainer(name + "_t", [p], "sgdd")
    assert e.value.code == Status.INVALID_ARGUMENT
    with pytest.raises(GluonPsError, match="unknown optimizer setting 'lr'") as e:
        ps.trainer(name + "_t", [p], "sgd", {"lr": 0.1})
    assert e.value.code == Status.INVALID_ARGUMENT
    with pytest.raises(GluonPsError, match="worker_id must be an integer in") as e:
        ps.trainer(name + "_t", [p], "sgd", num_workers=2, worker_id=2)
    with pytest.raises(GluonPsError, match=name) as e:
        ps.trainer(name + "_t", [name + "_nope"], "sgd")
    assert e.value.code == Status.NOT_FOUND
    tr = ps.trainer(name + "_t", [p, c], "sgd", {"learning_rate": 0.1})
    with pytest.raises(GluonPsError, match="ALREADY|already exists|different") as e:
        ps.trainer(name + "_t", [p, c], "sgd", {"learning_rate": 0.2})
    assert e.value.code == Status.ALREADY_EXISTS
    with pytest.raises(GluonPsError, match="constant '%s_c' takes no gradient" % name) as e:
        tr.push_grad(c, np.ones(2, np.float32))
    assert e.value.code == Status.FAILED_PRECONDITION
    with pytest.raises(GluonPsError, match=name) as e:
        tr.push_grad(p, np.ones(4, np.float32))
    assert e.value.code == Status.INVALID_ARGUMENT
    tr.push_grad(p, np.ones(3, np.float32))
    with pytest.raises(GluonPsError, match="already pushed a gradient for") as e:
        tr.push_grad(p, np.ones(3, np.float32))
    assert e.value.code == Status.FAILED_PRECONDITION
    with pytest.raises(GluonPsError, match="batch_size must be an integer") as e:
        tr.step(0)
    assert tr.step(1).step == 1
