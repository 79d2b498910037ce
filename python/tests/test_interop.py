"""Python and TypeScript workers on one server (the TypeScript side is test/python/ts-worker.ts,
bundled once per session): a Python worker and a TypeScript worker train one sync trainer and
reach the weights of a single process training on the summed batches, bit for bit; values one
language writes the other reads back bit-exact; and both clients write identical files."""

import json
import os
import subprocess
import threading

import numpy as np
import pytest

import gluonps as gps
from server import NODE, ROOT

DTYPES = ["float32", "float64", "float16", "bfloat16", "int8", "uint8", "int32", "int64"]


@pytest.fixture(scope="session")
def ts_worker():
    name = "gluonps-pytest-ts-worker-%d" % os.getpid()
    subprocess.run([NODE, "scripts/bundle.mjs", "test/python/ts-worker.ts", name], cwd=ROOT, check=True, timeout=120)
    path = os.path.join(ROOT, ".build", name + ".mjs")
    yield path
    os.unlink(path)


def run_ts(script, job):
    out = subprocess.run([NODE, script, json.dumps(job)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def grad_value(k, w, size):
    """The gradient formula of ts-worker.ts: multiples of 1/16, exact in float32."""
    i = np.arange(size)
    return ((((i * 7 + k * 13 + w * 5) % 17) - 8) / 16).astype(np.float32)


def test_python_and_typescript_workers_train_one_sync_trainer(server, ps, ts_worker, name):
    shape, steps, batches = (6, 5), 5, (3, 5)
    opt = ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "wd": 0.01})
    w0 = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    for suffix in ("", "_ref"):
        p = ps.parameter(name + suffix, shape=shape)
        p.initialize(init="zeros")
        p.set_data(w0)
    ts_result = {}
    ts = threading.Thread(target=lambda: ts_result.update(run_ts(ts_worker, {
        "op": "train", "server": server.address, "trainer": name + "_t", "param": name, "workerId": 1,
        "numWorkers": 2, "steps": steps, "batchSize": batches[1], "optimizer": opt[0],
        "optimizerParams": {"learningRate": 0.1, "momentum": 0.9, "wd": 0.01}})))
    ts.start()
    tr = ps.trainer(name + "_t", [name], *opt, num_workers=2, worker_id=0)
    py_steps = []
    for k in range(steps):
        tr.push_grad(name, grad_value(k, 0, 30).reshape(shape))
        r = tr.step(batches[0])
        assert r.workers == [0, 1]
        py_steps.append(r.step)
    ts.join(120)
    assert py_steps == ts_result["steps"] == [1, 2, 3, 4, 5]
    ref = ps.trainer(name + "_single", [name + "_ref"], *opt)
    for k in range(steps):
        ref.push_grad(name + "_ref", (grad_value(k, 0, 30) + grad_value(k, 1, 30)).reshape(shape))
        ref.step(sum(batches))
    assert ps.get(name).data().tobytes() == ps.get(name + "_ref").data().tobytes()
    assert not np.array_equal(ps.get(name).data(), w0)


def test_values_cross_languages_bit_exact(server, ps, ts_worker, name):
    names = []
    for dt in DTYPES:
        p = ps.parameter("%s_%s" % (name, dt), shape=(3, 257), dtype=dt)
        p.initialize(init="zeros")
        names.append(p.name)
    # TypeScript writes random bits, Python reads them.
    written = run_ts(ts_worker, {"op": "write", "server": server.address, "names": names})["values"]
    for n in names:
        assert ps.get(n).data().tobytes().hex() == written[n]
    # Python writes, TypeScript reads.
    rng = np.random.default_rng(9)
    mine = {}
    for dt, n in zip(DTYPES, names):
        if dt == "bfloat16":
            v = gps.float32_to_bfloat16(rng.standard_normal((3, 257)) * 100)
            ps.get(n).set_data(v, dtype="bfloat16")
        elif dt.startswith("float"):
            v = (rng.standard_normal((3, 257)) * 1000).astype(dt)
            ps.get(n).set_data(v)
        else:
            info = np.iinfo(dt)
            v = rng.integers(info.min, info.max, (3, 257), dtype=dt, endpoint=True)
            ps.get(n).set_data(v)
        mine[n] = v.tobytes().hex()
    read = run_ts(ts_worker, {"op": "read", "server": server.address, "names": names})["values"]
    assert read == mine


@pytest.mark.parametrize("fmt", ["params", "safetensors", "npz"])
def test_both_clients_write_identical_files(server, ps, ts_worker, name, tmp_path, fmt):
    names = []
    rng = np.random.default_rng(2)
    for dt in ("float32", "float16", "int64", "bfloat16"):
        p = ps.parameter("%s_%s" % (name, dt), shape=(4, 3), dtype=dt)
        p.initialize(init="zeros")
        if dt == "bfloat16":
            p.set_data(gps.float32_to_bfloat16(rng.standard_normal((4, 3))), dtype="bfloat16")
        else:
            p.set_data(rng.standard_normal((4, 3)) * 50)
        names.append(p.name)
    if fmt == "params":
        emb = ps.parameter(name + "_emb", shape=(6, 2), stype="row_sparse")
        emb.initialize(init="ones")
        names.append(emb.name)
    ts_file, py_file = tmp_path / ("ts." + fmt), tmp_path / ("py." + fmt)
    run_ts(ts_worker, {"op": "save", "server": server.address, "names": names, "file": str(ts_file), "format": fmt})
    ps.save_parameters(str(py_file), names=names, format=fmt)
    assert py_file.read_bytes() == ts_file.read_bytes()
    # And each reads the other's: Python loads the TypeScript file.
    for n in names:
        if not n.endswith("_emb"):
            ps.get(n).set_data(np.zeros((4, 3)))
    ps.load_parameters(str(ts_file), names=names)
    ps.save_parameters(str(py_file), names=names, format=fmt)
    assert py_file.read_bytes() == ts_file.read_bytes()
