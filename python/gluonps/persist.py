"""save_parameters / load_parameters (client/persist/ is the TypeScript side, same semantics and
the same bytes; docs/api.md "Saving and loading parameters"), with Gluon's names:
Block.save_parameters / load_parameters and Parameter._load_init.

Saving reads each value (the copy on its first context; row_sparse ones whole, as row_sparse
records in .params) and writes the file under a temporary name renamed over ``filename`` when
complete. Loading checks every name, shape, dtype and context before it writes anything."""

import os
import secrets

import numpy as np

from . import context as _ctx
from .errors import GluonPsError, Status, invalid_argument, show
from .formats import FileTensor, encode, read_tensor_file

SAVE_FORMATS = ("params", "safetensors", "npz")
LOAD_FORMATS = ("params", "safetensors", "npz", "npy")
ROWS_PER_READ = 65536


def _names(who, names):
    if names is None:
        return None
    if isinstance(names, str) or not all(isinstance(n, str) and n for n in names):
        raise invalid_argument("%s: names must be a list of parameter names, got %s" % (who, show(names)))
    return list(names)


def save_parameters(ps, filename, names=None, format="params", numpy_shape=False):
    """Returns {'file', 'format', 'names', 'bytes'}."""
    who = "save_parameters()"
    if format not in SAVE_FORMATS:
        raise invalid_argument("%s: format must be one of %s, got %s" % (who, ", ".join(SAVE_FORMATS), show(format)))
    names = _names(who, names)
    descs = {d.name: d for d in ps.list()}
    order = list(descs) if names is None else names
    unknown = [n for n in order if n not in descs]
    if unknown:
        raise GluonPsError(Status.NOT_FOUND, "%s: no parameter named %s" % (who, ", ".join(map(repr, unknown))))
    uninit = [n for n in order if not descs[n].initialized]
    if uninit:
        raise GluonPsError(Status.FAILED_PRECONDITION, "%s: not initialized: %s" % (
            who, ", ".join("%r%s" % (n, " (deferred)" if descs[n].deferred else "") for n in uninit)))
    tensors = []
    for n in order:
        d = descs[n]
        p = _handle(ps, n)
        if d.stype == "row_sparse":
            rows = d.shape[0]
            parts = [p.row_sparse_data(np.arange(s, min(rows, s + ROWS_PER_READ)), ctx=d.ctx[0])
                     for s in range(0, rows, ROWS_PER_READ)]
            data = np.concatenate([r.data for r in parts]) if parts else np.zeros((0,) + d.shape[1:])
            idx = np.concatenate([r.indices for r in parts]) if parts else np.zeros(0, np.int64)
            if format == "params":
                tensors.append(FileTensor(n, d.dtype, d.shape, np.ascontiguousarray(data), "row_sparse", idx))
                continue
            value = np.zeros(d.shape, dtype=data.dtype)
            value[idx] = data
        else:
            value = p.data(d.ctx[0])
        tensors.append(FileTensor(n, d.dtype, value.shape, np.ascontiguousarray(value)))
    chunks = encode(format, tensors, numpy_shape)
    directory = os.path.dirname(os.path.abspath(filename))
    tmp = os.path.join(directory, ".%s.%s.tmp" % (os.path.basename(filename), secrets.token_hex(4)))
    size = 0
    try:
        with open(tmp, "wb") as f:
            for c in chunks:
                f.write(c)
                size += memoryview(c).nbytes
        os.replace(tmp, filename)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return {"file": filename, "format": format, "names": [t.name for t in tensors], "bytes": size}


def _handle(ps, name):
    from .parameter import Parameter

    return Parameter(ps._ch, name)


def _strip(name):
    return name[4:] if name.startswith(("arg:", "aux:")) else name


def load_parameters(ps, filename, ctx=None, allow_missing=False, ignore_extra=False, cast_dtype=False,
                    dtype_source="current", names=None, declare=False, format=None):
    """Returns {'format', 'loaded', 'declared', 'missing', 'extra'}."""
    who = "load_parameters()"
    for field, v in (("allow_missing", allow_missing), ("ignore_extra", ignore_extra), ("cast_dtype", cast_dtype),
                     ("declare", declare)):
        if not isinstance(v, bool):
            raise invalid_argument("%s: %s must be a bool, got %s" % (who, field, show(v)))
    if dtype_source not in ("current", "saved"):
        raise invalid_argument("%s: dtype_source must be 'current' or 'saved', got %s" % (who, show(dtype_source)))
    if format is not None and format not in LOAD_FORMATS:
        raise invalid_argument("%s: format must be one of %s, got %s" % (who, ", ".join(LOAD_FORMATS), show(format)))
    names = _names(who, names)
    ctx_list = None if ctx is None else ([ctx] if isinstance(ctx, _ctx.Context) else list(ctx))
    if ctx_list is not None:
        _ctx.list_to_proto(who, ctx_list)
        if not ctx_list:
            raise invalid_argument("%s: ctx must name at least one context" % who)
    try:
        fmt, entries = read_tensor_file(os.fspath(filename), format)
    except FileNotFoundError:
        raise GluonPsError(Status.NOT_FOUND, "%s: %s: no such file" % (who, filename)) from None
    by_file = {}
    for e in entries:
        stripped = _strip(e.name)
        if stripped in by_file:
            raise invalid_argument("%s: %s: the entries %r and %r are both parameter %r once the arg:/aux: prefix "
                                   "is stripped" % (who, filename, by_file[stripped].name, e.name, stripped))
        by_file[stripped] = e
    server = {d.name: d for d in ps.list()}
    to_declare = []
    if names is not None:
        unknown = [n for n in names if n not in server and not (declare and n in by_file)]
        if unknown:
            raise GluonPsError(Status.NOT_FOUND, "%s: parameter%s %s do%s not exist" % (
                who, "s" if len(unknown) > 1 else "", ", ".join(map(repr, unknown)), "" if len(unknown) > 1 else "es"))
        to_declare = [n for n in names if n not in server]
        targets = names
    else:
        to_declare = [n for n in by_file if n not in server] if declare else []
        targets = list(server) + to_declare
    target_set = set(targets)
    missing = [n for n in targets if n not in by_file]
    if missing and not allow_missing:
        raise invalid_argument("%s: parameter%s %s missing in file %r, which contains %s. Set allow_missing to True "
                               "to ignore missing parameters." % (
                                   who, "s" if len(missing) > 1 else "", ", ".join(map(repr, missing)), filename,
                                   ", ".join(map(repr, by_file)) or "no parameters"))
    extra = [n for n in by_file if n not in target_set]
    if extra and not ignore_extra:
        raise invalid_argument("%s: parameter%s %s loaded from file %r not present %s. Set ignore_extra to True to "
                               "ignore them." % (who, "s" if len(extra) > 1 else "", ", ".join(map(repr, extra)),
                                                 filename, "on the server" if names is None else "in names"))
    plans = []
    problems = []
    for n, e in by_file.items():
        if n not in target_set:
            continue
        d = server.get(n)
        if d is None:
            plans.append((n, e, None, "init", None, False))
            continue
        p = "parameter %r" % n
        if d.shape is not None and (len(d.shape) != len(e.shape) or any(a != 0 and a != b for a, b in zip(d.shape, e.shape))):
            problems.append("%s: shape incompatible: expected %s vs saved %s in %s" % (p, list(d.shape), list(e.shape), filename))
        cast_to = None
        if d.dtype != e.dtype:
            if not cast_dtype:
                problems.append("%s: dtype incompatible: expected %s vs saved %s in %s; set cast_dtype to True to "
                                "convert" % (p, d.dtype, e.dtype, filename))
            elif dtype_source == "saved":
                cast_to = e.dtype
        if ctx_list is not None and (d.initialized or d.deferred) and set(ctx_list) != set(d.ctx):
            problems.append("%s: cannot load on %s because it was %s on %s" % (
                p, ctx_list, "initialized" if d.initialized else "deferred", d.ctx))
        mode = "set" if d.initialized or d.deferred else "init"
        fill = mode == "init" and (d.shape is None or 0 in d.shape)
        plans.append((n, e, d, mode, cast_to, fill))
    if problems:
        raise invalid_argument("%s: nothing was loaded: %s" % (who, "; ".join(problems[:8]) +
                                                              ("; and %d more" % (len(problems) - 8) if len(problems) > 8 else "")))
    declared = []
    for n, e, d, *_ in plans:
        if d is None:
            ps.parameter(n, shape=e.shape, dtype=e.dtype, **({"stype": "row_sparse"} if e.stype == "row_sparse" else {}))
            declared.append(n)
    for n, e, d, mode, cast_to, fill in plans:
        p = _handle(ps, n)
        if cast_to is not None:
            p.cast(cast_to)
        if mode == "init":
            # Parameter._init_impl(data, ctx): the server creates copies through initialize(),
            # so zeros are written, then replaced by the file's value.
            if fill:
                p.set_shape(e.shape)
            p.initialize(init="zeros", ctx=ctx_list)
        value = e.dense()
        p.set_data(value, dtype=e.dtype if e.dtype == "bfloat16" else None)
    return {"format": fmt, "loaded": [pl[0] for pl in plans], "declared": declared, "missing": missing, "extra": extra}
