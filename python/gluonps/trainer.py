"""A worker's handle on a named server-side trainer (client/trainer.ts is the TypeScript side,
with the same wire behaviour):

- the worker's step counter: the step its pushes and next step() belong to; it starts at the
  trainer's step count, advances to what step() returns, and is refreshed from the server when
  a sync step fails or a push is refused because its step closed;
- an idempotency key per push and step: (worker_id, incarnation, sequence), incarnation a random
  53-bit integer per handle, sequence + 1 per call; a call that fails in transport (UNAVAILABLE,
  gRPC's own deadline) is sent again with the SAME key, and the server applies it once;
- every gradient pushed for the open step is kept (a reference, no copy) until that step's
  step() settles: a server that restarted lost its staged pushes and answers the worker's next
  push or step once with FAILED_PRECONDITION `step k restarted: push again`; the handle then
  pushes every kept gradient again (fresh keys; "already pushed a gradient for" means the server
  has it), repeating the round when another restart hits it, and sends the call again (a step
  with its same key), invisibly to the caller;
- step() is sent with a deadline of the trainer's step timeout plus a margin, so a sync step
  waiting at the barrier gets the server's own answer.
"""

import numbers
import os
import re
import secrets
import threading

import numpy as np

from . import dtypes as _dt
from . import _retry
from ._channel import _T
from ._proto import trainer_pb2 as tpb
from .errors import GluonPsError, Status, invalid_argument, show
from .parameter import Parameter, RowSparseArray, row_ids, upload_header

STEP_DEADLINE_MARGIN_MS = 10_000
MAX_RESTART_ROUNDS = 3
UINT32_MAX = 0xFFFFFFFF

_RESTARTED = re.compile(r"\bstep \d+ restarted: push again\b")
_ALREADY_PUSHED = re.compile(r"\balready pushed a gradient for\b")

OPTIMIZERS = {
    "sgd": tpb.OPTIMIZER_KIND_SGD,
    "nag": tpb.OPTIMIZER_KIND_NAG,
    "adam": tpb.OPTIMIZER_KIND_ADAM,
    "adamw": tpb.OPTIMIZER_KIND_ADAMW,
    "adagrad": tpb.OPTIMIZER_KIND_ADAGRAD,
    "rmsprop": tpb.OPTIMIZER_KIND_RMSPROP,
    "ftrl": tpb.OPTIMIZER_KIND_FTRL,
    "lamb": tpb.OPTIMIZER_KIND_LAMB,
}
_OPTIMIZER_NAME = {v: k for k, v in OPTIMIZERS.items()}
_NUMBER_SETTINGS = ("learning_rate", "wd", "rescale_grad", "clip_gradient", "momentum", "beta1", "beta2", "epsilon",
                    "gamma1", "gamma2", "clip_weights", "lamda1", "beta", "lower_bound", "upper_bound")
_BOOL_SETTINGS = ("lazy_update", "centered", "bias_correction")
_SCHEDULER_KINDS = ("factor", "multifactor", "cosine", "poly")
_SCHEDULER_INTS = ("step", "max_update", "warmup_steps")
_SCHEDULER_FLOATS = ("factor", "stop_factor_lr", "base_lr", "final_lr", "pwr", "warmup_begin_lr")
_MODES = {"sync": tpb.TRAINER_MODE_SYNC, "async": tpb.TRAINER_MODE_ASYNC}
_POLICIES = {"fail": tpb.TIMEOUT_POLICY_FAIL, "quorum": tpb.TIMEOUT_POLICY_QUORUM}


def _is_restarted(err):
    return isinstance(err, GluonPsError) and err.code == Status.FAILED_PRECONDITION and bool(_RESTARTED.search(err.message))


def _finite(who, field, v):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v):
        raise invalid_argument("%s: %s must be a finite number, got %s" % (who, field, show(v)))
    return float(v)


def _int_in(who, field, v, low, high):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not low <= v <= high:
        raise invalid_argument("%s: %s must be an integer in [%d, %d], got %s" % (who, field, low, high, show(v)))
    return int(v)


def optimizer_to_proto(who, optimizer, params):
    """The optimizer and MXNet's settings (snake_case) as an OptimizerSpec; unknown names refused."""
    if optimizer not in OPTIMIZERS:
        raise invalid_argument("%s: unknown optimizer %s, expected one of %s" % (who, show(optimizer), ", ".join(OPTIMIZERS)))
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise invalid_argument("%s: optimizer_params must be a dict such as {'learning_rate': 0.1}, got %s"
                               % (who, show(params)))
    known = _NUMBER_SETTINGS + _BOOL_SETTINGS + ("lr_scheduler",)
    unknown = [k for k in params if k not in known]
    if unknown:
        raise invalid_argument("%s: unknown optimizer setting%s %s; expected %s"
                               % (who, "s" if len(unknown) > 1 else "", ", ".join("'%s'" % k for k in unknown),
                                  ", ".join(known)))
    out = tpb.OptimizerSpec(kind=OPTIMIZERS[optimizer])
    for key, v in params.items():
        if v is None:  # "none": no clipping, no bound (the server's default)
            continue
        if key in _NUMBER_SETTINGS:
            setattr(out, key, _finite(who, "optimizer setting " + key, v))
        elif key in _BOOL_SETTINGS:
            if not isinstance(v, bool):
                raise invalid_argument("%s: optimizer setting %s must be a bool, got %s" % (who, key, show(v)))
            setattr(out, key, v)
        else:
            out.lr_scheduler.CopyFrom(_scheduler_to_proto(who, v))
    return out


def _scheduler_to_proto(who, s):
    if not isinstance(s, dict):
        raise invalid_argument("%s: lr_scheduler must be a dict {'kind': ..., ...}, got %s" % (who, show(s)))
    keys = ("kind", "steps", "warmup_mode") + _SCHEDULER_INTS + _SCHEDULER_FLOATS
    unknown = [k for k in s if k not in keys]
    if unknown:
        raise invalid_argument("%s: unknown lr_scheduler setting %s; expected %s"
                               % (who, ", ".join("'%s'" % k for k in unknown), ", ".join(keys)))
    if s.get("kind") not in _SCHEDULER_KINDS:
        raise invalid_argument("%s: lr_scheduler kind must be one of %s, got %s"
                               % (who, ", ".join(_SCHEDULER_KINDS), show(s.get("kind"))))
    out = tpb.LrScheduler(kind=s["kind"])
    for key in _SCHEDULER_INTS:
        if s.get(key) is not None:
            setattr(out, key, _int_in(who, "lr_scheduler." + key, s[key], 0, 2 ** 53 - 1))
    for key in _SCHEDULER_FLOATS:
        if s.get(key) is not None:
            setattr(out, key, _finite(who, "lr_scheduler." + key, s[key]))
    if s.get("steps") is not None:
        out.steps.extend(_int_in(who, "lr_scheduler.steps[%d]" % i, v, 0, 2 ** 53 - 1) for i, v in enumerate(s["steps"]))
    if s.get("warmup_mode") is not None:
        if s["warmup_mode"] not in ("linear", "constant"):
            raise invalid_argument("%s: lr_scheduler warmup_mode must be 'linear' or 'constant', got %s"
                                   % (who, show(s["warmup_mode"])))
        out.warmup_mode = s["warmup_mode"]
    return out


def optimizer_from_proto(m):
    """A received OptimizerSpec as (name, params dict)."""
    params = {}
    for key in _NUMBER_SETTINGS + _BOOL_SETTINGS:
        if m.HasField(key):
            params[key] = getattr(m, key)
    if m.HasField("lr_scheduler") and m.lr_scheduler.kind:
        s = m.lr_scheduler
        sched = {"kind": s.kind}
        for key in _SCHEDULER_INTS + _SCHEDULER_FLOATS:
            if s.HasField(key):
                sched[key] = getattr(s, key)
        if len(s.steps):
            sched["steps"] = list(s.steps)
        if s.warmup_mode:
            sched["warmup_mode"] = s.warmup_mode
        params["lr_scheduler"] = sched
    return _OPTIMIZER_NAME.get(m.kind, "unknown"), params


class TrainerDescriptor:
    """What the server says about a trainer (describe(), leave())."""

    def __init__(self, info):
        self.name = info.name
        self.params = list(info.params)
        self.mode = "async" if info.mode == tpb.TRAINER_MODE_ASYNC else "sync"
        self.num_workers = info.num_workers
        self.step = info.step
        self.learning_rate = info.learning_rate
        self.workers_seen = list(info.workers_seen)
        self.workers_left = list(info.workers_left)
        self.waiting_for = list(info.waiting_for)
        self.step_timeout_ms = info.step_timeout_ms
        self.timeout_policy = "quorum" if info.timeout_policy == tpb.TIMEOUT_POLICY_QUORUM else "fail"
        self.quorum = info.quorum
        self.optimizer = optimizer_from_proto(info.optimizer)

    def __repr__(self):
        return "TrainerDescriptor(%s)" % ", ".join("%s=%r" % kv for kv in vars(self).items())


class StepResult:
    """What step() returns: steps applied so far (this one included), the version of every
    parameter after it (trainer order; ``version`` is the first's), and the workers it combined."""

    __slots__ = ("step", "version", "versions", "workers")

    def __init__(self, reply):
        self.step = reply.step
        self.versions = list(reply.versions)
        self.version = self.versions[0] if self.versions else 0
        self.workers = list(reply.workers)

    def __repr__(self):
        return "StepResult(step=%d, versions=%r, workers=%r)" % (self.step, self.versions, self.workers)


def _param_name(who, p, what):
    n = p.name if isinstance(p, Parameter) else p
    if not isinstance(n, str) or n == "":
        raise invalid_argument("%s: %s must be a Parameter or a parameter name, got %s" % (who, what, show(p)))
    return n


def create_trainer(channel, name, params, optimizer, optimizer_params, mode, num_workers, worker_id, step_timeout_ms,
                   timeout_policy, quorum, incarnation, retry):
    if not isinstance(name, str) or name == "":
        raise invalid_argument("trainer(): the trainer name must be a non-empty string, got %s" % show(name))
    who = "trainer '%s'" % name
    if isinstance(params, (str, Parameter)) or not hasattr(params, "__iter__"):
        raise invalid_argument("%s: params must be a list of Parameter handles or names, got %s" % (who, show(params)))
    names = [_param_name(who, p, "params[%d]" % i) for i, p in enumerate(params)]
    spec = optimizer_to_proto(who, optimizer, optimizer_params)
    if mode not in _MODES:
        raise invalid_argument("%s: mode must be 'sync' or 'async', got %s" % (who, show(mode)))
    if timeout_policy not in _POLICIES:
        raise invalid_argument("%s: timeout_policy must be 'fail' or 'quorum', got %s" % (who, show(timeout_policy)))
    num_workers = _int_in(who, "num_workers", num_workers, 1, UINT32_MAX)
    worker_id = _int_in(who, "worker_id", worker_id, 0, num_workers - 1)
    quorum = _int_in(who, "quorum", quorum, 0, num_workers)
    incarnation = secrets.randbits(53) if incarnation is None else _int_in(who, "incarnation", incarnation, 0, 2 ** 53 - 1)
    request = tpb.CreateTrainerRequest(name=name, params=names, optimizer=spec, mode=_MODES[mode],
                                       num_workers=num_workers, timeout_policy=_POLICIES[timeout_policy],
                                       quorum=quorum, worker_id=worker_id)
    if step_timeout_ms is not None:
        request.step_timeout_ms = _int_in(who, "step_timeout_ms", step_timeout_ms, 1, UINT32_MAX)
    settings = _retry.settings(who, retry)
    # Attaching is idempotent, so a transport failure is retried like a keyed call.
    info = _retry.with_retry(settings, lambda: channel.unary(channel.trainers.CreateTrainer, request),
                             channel.deadline_ms is not None)
    return Trainer(channel, info, worker_id, incarnation, settings)


class Trainer:
    """One worker's handle on a server-side trainer. Pushes for different parameters may run in
    threads concurrently; step() is not meant to run concurrently with itself."""

    def __init__(self, channel, info, worker_id, incarnation, retry):
        self._ch = channel
        self._retry = retry
        self.name = info.name
        #: Parameter names, in the trainer's order (the order of StepResult.versions).
        self.params = list(info.params)
        self.mode = "async" if info.mode == tpb.TRAINER_MODE_ASYNC else "sync"
        self.num_workers = info.num_workers
        self.worker_id = worker_id
        self.incarnation = incarnation
        self._sequence = 0
        self._lock = threading.Lock()
        self._repush_lock = threading.Lock()
        self._step = info.step
        self._has_scheduler = info.optimizer.HasField("lr_scheduler") and bool(info.optimizer.lr_scheduler.kind)
        self._learn(info)
        #: Gradients pushed for the open step, by parameter: what a restart makes us push again.
        self._kept = {}
        self._repushed_step = -1

    @property
    def _who(self):
        return "trainer '%s'" % self.name

    @property
    def current_step(self):
        """The step this worker's pushes and next step() belong to."""
        return self._step

    @property
    def learning_rate(self):
        """The learning rate the next step uses: the base rate from the server's last answer, or,
        with a scheduler, the server's schedule value for this worker's step (asked when stale)."""
        if self._has_scheduler and self._lr_step != self._step:
            self.describe()
        return self._learning_rate

    def set_learning_rate(self, lr):
        """Sets the base learning rate of the next steps (FAILED_PRECONDITION with a scheduler)."""
        lr = _finite(self._who, "learning rate", lr)
        if lr < 0:
            raise invalid_argument("%s: learning rate must be >= 0, got %s" % (self._who, show(lr)))
        req = tpb.SetLearningRateRequest(trainer=self.name, learning_rate=lr)
        # Setting the same value twice is harmless, so transport failures are retried.
        self._learn(self._retried_unary(self._ch.trainers.SetLearningRate, req))

    def push_grad(self, param, grad, dtype=None):
        """Pushes this worker's gradient of ``param`` for its current step: a dense array (the
        parameter's shape; nested numbers travel as float64) or row_sparse rows, a RowSparseArray
        or an (indices, values) pair with one row of values per index. Returns the step it was
        recorded for. The array is sent in place: do not change it until step() returns."""
        who = self._who
        pname = _param_name(who, param, "push_grad's param")
        header, arr = _grad_upload("%s: gradient for '%s'" % (who, pname), grad, dtype)
        step = self._step
        first = tpb.GradUpload(trainer=self.name, param=pname, key=self._next_key(), step=step, header=header)
        self._kept[pname] = (header, arr)
        try:
            try:
                reply = self._send_push(first, arr)
                return reply.step
            except GluonPsError as err:
                if _is_restarted(err):
                    self._push_again(step)
                    return step
                if self._repushed_step == step and _ALREADY_PUSHED.search(err.message):
                    return step
                raise
        except GluonPsError as err:
            if self.mode == "sync" and err.reason == "stale-step":
                self._refresh_step()
            raise

    def step(self, batch_size):
        """Completes this worker's step: sync returns once every active worker stepped and the
        summed update was applied; async applies this worker's gradients at once. ``batch_size``
        is the number of samples behind this worker's gradients. Returns a StepResult."""
        batch_size = _int_in(self._who, "step(): batch_size", batch_size, 1, UINT32_MAX)
        request = tpb.StepRequest(trainer=self.name, key=self._next_key(), step=self._step, batch_size=batch_size)
        try:
            for round_ in range(MAX_RESTART_ROUNDS + 1):
                try:
                    reply = self._send_step(request)
                    break
                except GluonPsError as err:
                    if not _is_restarted(err) or round_ >= MAX_RESTART_ROUNDS:
                        raise
                    # The same key again: the step was never applied, so it is applied once.
                    self._push_again(request.step)
        except GluonPsError:
            self._kept.clear()
            if self.mode == "sync":
                self._refresh_step()
            raise
        self._kept.clear()
        self._step = reply.step
        return StepResult(reply)

    def leave(self):
        """Leaves the trainer (end of this worker's data): sync steps stop waiting for it."""
        req = tpb.LeaveRequest(trainer=self.name, worker_id=self.worker_id)
        return self._learn(self._ch.unary(self._ch.trainers.Leave, req))

    def describe(self):
        """The trainer's state: step, mode, learning rate, workers seen and left, whom an open step waits for."""
        return self._learn(self._retried_unary(self._ch.trainers.DescribeTrainer, tpb.TrainerRef(name=self.name)))

    def save_states(self, fname=None):
        """An opaque snapshot of every optimizer state, update count, step and learning rate, as
        bytes; also written to ``fname`` when given (Gluon's Trainer.save_states)."""
        req = tpb.TrainerRef(name=self.name)

        def header_of(f):
            # The first message's own byte_length plays the tensor header's part.
            if header_of.first:
                header_of.first = False
                return None, f.get(2, 0), 3
            return None

        def attempt():
            header_of.first = True
            return self._ch.pull(_T + "SaveStates", req, 1, header_of)[0].data

        data = _retry.with_retry(self._retry, attempt, self._ch.deadline_ms is not None).tobytes()
        if fname is not None:
            with open(fname, "wb") as f:
                f.write(data)
        return data

    def load_states(self, states):
        """Restores a save_states() snapshot: bytes, or the file save_states(fname) wrote."""
        if isinstance(states, (str, os.PathLike)):
            with open(states, "rb") as f:
                states = f.read()
        if not isinstance(states, (bytes, bytearray, memoryview, np.ndarray)):
            raise invalid_argument("%s: load_states needs the bytes save_states() returned or its file, got %s"
                                   % (self._who, show(states)))
        data = np.frombuffer(states, dtype=np.uint8)
        first = tpb.StatesChunk(trainer=self.name, byte_length=data.nbytes)
        info = tpb.TrainerInfo.FromString(self._ch.push(_T + "LoadStates", first, data, 3))
        self._learn(info)
        self._step = info.step

    def __repr__(self):
        return "Trainer(%s, worker %d)" % (self.name, self.worker_id)

    # --- internals ---

    def _next_key(self):
        with self._lock:
            self._sequence += 1
            return tpb.IdempotencyKey(worker_id=self.worker_id, incarnation=self.incarnation, sequence=self._sequence)

    def _send_push(self, first, arr):
        def attempt():
            return tpb.PushGradResponse.FromString(self._ch.push(_T + "PushGrad", first, arr, 6))

        return _retry.with_retry(self._retry, attempt, self._ch.deadline_ms is not None)

    def _send_step(self, request):
        deadline = self._step_timeout_ms + max(STEP_DEADLINE_MARGIN_MS, self._ch.deadline_ms or 0)
        return _retry.with_retry(self._retry, lambda: self._ch.unary(self._ch.trainers.Step, request, deadline), True)

    def _push_again(self, step):
        """After `step k restarted: push again`: every kept gradient of step k pushed again; a
        restart during the round loses what it pushed too, so the round is repeated."""
        with self._repush_lock:
            self._repushed_step = step
            for round_ in range(MAX_RESTART_ROUNDS + 1):
                errors = []
                for pname, (header, arr) in list(self._kept.items()):
                    first = tpb.GradUpload(trainer=self.name, param=pname, key=self._next_key(), step=step,
                                           header=header)
                    try:
                        self._send_push(first, arr)
                    except GluonPsError as err:
                        if not _ALREADY_PUSHED.search(err.message):
                            errors.append(err)
                if not errors:
                    return
                other = next((e for e in errors if not _is_restarted(e)), None)
                if other is not None or round_ >= MAX_RESTART_ROUNDS:
                    raise other or errors[0]

    def _retried_unary(self, method, request):
        return _retry.with_retry(self._retry, lambda: self._ch.unary(method, request), self._ch.deadline_ms is not None)

    def _learn(self, info):
        self._learning_rate = info.learning_rate
        self._lr_step = info.step
        self._step_timeout_ms = info.step_timeout_ms
        return TrainerDescriptor(info)

    def _refresh_step(self):
        """After a failed sync step or a stale push: the trainer's step count becomes this worker's (best effort)."""
        try:
            info = self._ch.unary(self._ch.trainers.DescribeTrainer, tpb.TrainerRef(name=self.name))
            self._learn(info)
            self._step = info.step
        except GluonPsError:
            pass  # the original error is what the caller needs


def _grad_upload(who, grad, dtype):
    """A gradient as (TensorHeader, contiguous ndarray); rows for a row_sparse one."""
    indices = None
    if isinstance(grad, RowSparseArray):
        indices, values = grad.indices, grad.data
    elif isinstance(grad, tuple) and len(grad) == 2:
        indices, values = grad
    if indices is None:
        shape, name, arr = _dt.to_wire("%s: gradient" % who, grad, "float64", dtype)
        return upload_header(who, shape, name, arr.nbytes), arr
    ids = row_ids(who, indices)
    shape, name, arr = _dt.to_wire("%s: row_sparse gradient values" % who, values, "float64", dtype)
    if len(shape) == 0 or shape[0] != len(ids):
        raise invalid_argument("%s: a row_sparse gradient needs one row of values per index: %d indices, values of "
                               "shape %s" % (who, len(ids), list(shape)))
    header = upload_header(who, shape, name, arr.nbytes)
    header.row_ids.extend(ids)
    return header, arr
