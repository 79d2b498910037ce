"""One demo worker in Python (`npm run demo -- --python-workers N` starts it beside TypeScript
workers; demo/worker.ts is the TypeScript worker it mirrors): the same seeded data (the
generators of demo/data.ts, ported), the same models (demo/models/mlp.ts and mf.ts, in numpy),
the same sync trainers and the same JSON events on stdout, through the gluonps Python client.

  python3 demo/python_worker.py --server HOST:PORT --workers N --worker-id I [--epochs E] [--models mlp,mf]
"""

import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import numpy as np  # noqa: E402

import gluonps as gps  # noqa: E402

# demo/recipes.ts
MLP = dict(n=4096, dim=16, classes=4, blobs_per_class=2, spread=1.2, seed=20240501, hidden=32, global_batch=128,
           optimizer="sgd", optimizer_params={"learning_rate": 0.1, "momentum": 0.9}, init_seed=7)
MF = dict(num_users=400, num_items=300, rank=4, n=24000, noise=0.1, seed=20240502, dim=8, global_batch=256,
          optimizer="adam", optimizer_params={"learning_rate": 0.02}, init_sigma=0.1, init_seed=11)
MLP_PARAM_NAMES = ("dense0_weight", "dense0_bias", "dense1_weight", "dense1_bias")
M32 = 0xFFFFFFFF


# --- demo/data.ts ---------------------------------------------------------------------------------

def rng(seed):
    """mulberry32, as demo/data.ts (32-bit integer arithmetic, Math.imul)."""
    state = [seed & M32]

    def imul(a, b):
        return (a * b) & M32

    def next_():
        state[0] = (state[0] + 0x6D2B79F5) & M32
        t = state[0]
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & M32
        return ((t ^ (t >> 14)) & M32) / 4294967296

    return next_


def gaussian(next_):
    spare = [None]

    def g():
        if spare[0] is not None:
            s, spare[0] = spare[0], None
            return s
        u = 0.0
        while u == 0:
            u = next_()
        v = next_()
        r = math.sqrt(-2 * math.log(u))
        spare[0] = r * math.sin(2 * math.pi * v)
        return r * math.cos(2 * math.pi * v)

    return g


def permutation(n, next_):
    p = list(range(n))
    for i in range(n - 1, 0, -1):
        j = math.floor(next_() * (i + 1))
        p[i], p[j] = p[j], p[i]
    return np.array(p, dtype=np.int64)


def make_blobs(o):
    g = gaussian(rng(o["seed"]))
    centres = np.array([o["spread"] * g() for _ in range(o["classes"] * o["blobs_per_class"] * o["dim"])],
                       np.float32)
    x = np.zeros(o["n"] * o["dim"], np.float32)
    y = np.zeros(o["n"], np.int64)
    pick = rng(o["seed"] ^ 0x5BD1E995)
    for i in range(o["n"]):
        cls = i % o["classes"]
        blob = cls * o["blobs_per_class"] + math.floor(pick() * o["blobs_per_class"])
        y[i] = cls
        for d in range(o["dim"]):
            x[i * o["dim"] + d] = float(centres[blob * o["dim"] + d]) + g()  # float64 sum, stored as float32
    return x.reshape(o["n"], o["dim"]), y


def make_ratings(o):
    next_ = rng(o["seed"])
    g = gaussian(next_)
    s = 1 / math.sqrt(math.sqrt(o["rank"]))
    p = np.array([s * g() for _ in range(o["num_users"] * o["rank"])], np.float32).reshape(-1, o["rank"])
    q = np.array([s * g() for _ in range(o["num_items"] * o["rank"])], np.float32).reshape(-1, o["rank"])
    cells = permutation(o["num_users"] * o["num_items"], next_)[: o["n"]]
    users, items = cells // o["num_items"], cells % o["num_items"]
    ratings = np.zeros(o["n"], np.float32)
    for k in range(o["n"]):
        r = 0.0
        for d in range(o["rank"]):
            r += float(p[users[k], d]) * float(q[items[k], d])
        ratings[k] = r + o["noise"] * g()
    return users, items, ratings


def shard_indices(n, workers, worker_id):
    return np.arange(worker_id, n, workers, dtype=np.int64)


def steps_per_epoch(n, workers, batch):
    return (n // workers) // batch


def epoch_order(n, workers, worker_id, epoch, seed):
    shard = shard_indices(n, workers, worker_id)
    perm = permutation(len(shard), rng(seed + 1000003 * (epoch + 1) + 7919 * worker_id))
    return shard[perm]


def worker_batch(global_batch, workers):
    return max(1, global_batch // workers)


# --- demo/models (numpy, float64 sums as the TypeScript models) ----------------------------------

def mlp_loss_and_grad(p, x, y, with_grad=True):
    w0, b0, w1, b1 = (p[n].astype(np.float64) for n in MLP_PARAM_NAMES)
    h = np.tanh(x.astype(np.float64) @ w0.T + b0)
    logits = h @ w1.T + b1
    m = logits.max(axis=1, keepdims=True)
    e = np.exp(logits - m)
    z = e.sum(axis=1, keepdims=True)
    loss = float((m[:, 0] + np.log(z[:, 0]) - logits[np.arange(len(y)), y]).sum())
    if not with_grad:
        return loss, None, (logits.argmax(axis=1) == y).mean()
    g = e / z
    g[np.arange(len(y)), y] -= 1
    dh = (g @ w1) * (1 - h * h)
    grads = {"dense1_bias": g.sum(0), "dense1_weight": g.T @ h, "dense0_bias": dh.sum(0),
             "dense0_weight": dh.T @ x.astype(np.float64)}
    return loss, {k: v.astype(np.float32) for k, v in grads.items()}, None


def mf_loss_and_grad(user_rows, item_rows, users, items, ratings, with_grad=True):
    u_pos = np.searchsorted(user_rows.indices, users)
    i_pos = np.searchsorted(item_rows.indices, items)
    uv = user_rows.data[u_pos].astype(np.float64)
    iv = item_rows.data[i_pos].astype(np.float64)
    e = (uv * iv).sum(axis=1) - ratings
    loss = float((0.5 * e * e).sum())
    if not with_grad:
        return loss, None, None
    ug = np.zeros(user_rows.data.shape, np.float64)
    ig = np.zeros(item_rows.data.shape, np.float64)
    np.add.at(ug, u_pos, e[:, None] * iv)
    np.add.at(ig, i_pos, e[:, None] * uv)
    return loss, ug.astype(np.float32), ig.astype(np.float32)


# --- the worker ----------------------------------------------------------------------------------

def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def run_epochs(model, tr, o, wid, n, recipe, evaluate, batch):
    b = worker_batch(recipe["global_batch"], o.workers)
    steps = steps_per_epoch(n, o.workers, b)
    started = time.perf_counter()
    applied = 0
    evaluate(0, 0)
    for epoch in range(1, o.epochs + 1):
        order = epoch_order(n, o.workers, wid, epoch - 1, recipe["seed"])
        running = 0.0
        for s in range(steps):
            rows = order[s * b:(s + 1) * b]
            running += batch(rows) / len(rows)
            applied = tr.step(len(rows)).step
            emit({"event": "batch", "model": model, "worker": wid, "epoch": epoch, "done": s + 1, "steps": steps,
                  "loss": running / (s + 1)})
        evaluate(epoch, applied)
    tr.leave()
    emit({"event": "done", "model": model, "worker": wid, "steps": applied, "seconds": time.perf_counter() - started})


def trainer_options(o, wid):
    return dict(mode="sync", num_workers=o.workers, worker_id=wid, step_timeout_ms=o.step_timeout_ms)


def train_mlp(ps, o, wid):
    R = MLP
    x, y = make_blobs(R)
    shapes = {"dense0_weight": (R["hidden"], R["dim"]), "dense0_bias": (R["hidden"],),
              "dense1_weight": (R["classes"], R["hidden"]), "dense1_bias": (R["classes"],)}
    params = []
    for k, name in enumerate(MLP_PARAM_NAMES):
        p = ps.parameter("mlp_" + name, shape=shapes[name],
                         init=gps.init.Xavier() if name.endswith("weight") else gps.init.Zero())
        p.initialize(ctx=gps.cpu(0), seed=R["init_seed"] + k)  # a no-op when another worker did it
        params.append(p)
    tr = ps.trainer("mlp", params, R["optimizer"], R["optimizer_params"], **trainer_options(o, wid))
    shard = shard_indices(R["n"], o.workers, wid)

    def read():
        return {name: p.data() for name, p in zip(MLP_PARAM_NAMES, params)}

    def evaluate(epoch, step):
        loss, _, acc = mlp_loss_and_grad(read(), x[shard], y[shard], with_grad=False)
        emit({"event": "epoch", "model": "mlp", "worker": wid, "epoch": epoch, "lossSum": loss,
              "count": len(shard), "step": step, "accuracy": float(acc)})

    def batch(rows):
        loss, g, _ = mlp_loss_and_grad(read(), x[rows], y[rows])
        for name, p in zip(MLP_PARAM_NAMES, params):
            tr.push_grad(p, g[name])
        return loss

    run_epochs("mlp", tr, o, wid, R["n"], R, evaluate, batch)


def train_mf(ps, o, wid):
    R = MF
    users, items, ratings = make_ratings(R)

    def declare(name, rows, seed):
        p = ps.parameter(name, shape=(rows, R["dim"]), stype="row_sparse", grad_stype="row_sparse",
                         init=gps.init.Normal(sigma=R["init_sigma"]))
        p.initialize(ctx=gps.cpu(0), seed=seed)
        return p

    user_p = declare("mf_user_weight", R["num_users"], R["init_seed"])
    item_p = declare("mf_item_weight", R["num_items"], R["init_seed"] + 1)
    tr = ps.trainer("mf", [user_p, item_p], R["optimizer"], R["optimizer_params"], **trainer_options(o, wid))
    shard = shard_indices(R["n"], o.workers, wid)

    def rows_of(rows):
        return user_p.row_sparse_data(np.unique(users[rows])), item_p.row_sparse_data(np.unique(items[rows]))

    def evaluate(epoch, step):
        u, i = rows_of(shard)
        loss, _, _ = mf_loss_and_grad(u, i, users[shard], items[shard], ratings[shard], with_grad=False)
        emit({"event": "epoch", "model": "mf", "worker": wid, "epoch": epoch, "lossSum": loss,
              "count": len(shard), "step": step})

    def batch(rows):
        # Only the rows this batch touches travel, both ways.
        u, i = rows_of(rows)
        loss, ug, ig = mf_loss_and_grad(u, i, users[rows], items[rows], ratings[rows])
        tr.push_grad(user_p, (u.indices, ug))
        tr.push_grad(item_p, (i.indices, ig))
        return loss

    run_epochs("mf", tr, o, wid, R["n"], R, evaluate, batch)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", default=os.environ.get("GLUONPS_SERVER", "127.0.0.1:50051"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--worker-id", type=int, required=True)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--models", default="mlp,mf")
    ap.add_argument("--step-timeout-ms", type=int, default=120_000)
    o = ap.parse_args()
    token = os.environ.get("GLUONPS_TOKEN") or None
    ps = gps.connect(o.server, token=token, connect_timeout_ms=30_000)
    try:
        emit({"event": "ready", "worker": o.worker_id})
        for model in o.models.split(","):
            (train_mlp if model == "mlp" else train_mf)(ps, o, o.worker_id)
    except gps.GluonPsError as err:
        sys.stderr.write("demo: python worker %d: %s: %s\n" % (o.worker_id, err.status.name, err.message))
        sys.exit(1)
    finally:
        ps.close()


if __name__ == "__main__":
    main()
