"""Initializers with MXNet's names (``mx.init.Xavier(magnitude=2)``, ``init='zeros'``), sent as
typed data (gluonps.v1.Initializer): the server runs them in its kernels. An argument left as
None takes MXNet's default on the server (uniform 0.07, normal 0.01, xavier uniform/avg/3,
msraprelu avg/0.25, orthogonal 1.414/uniform)."""

import numbers

from ._proto import parameter_pb2 as pb
from .errors import invalid_argument, show


class Initializer:
    """Base of the initializers; ``kind`` names the server's initializer."""

    kind = None
    _fields = ()

    def __init__(self, **kwargs):
        for key in self._fields:
            setattr(self, key, kwargs.get(key))

    def __eq__(self, other):
        return type(self) is type(other) and all(getattr(self, k) == getattr(other, k) for k in self._fields)

    def __repr__(self):
        args = ", ".join("%s=%r" % (k, getattr(self, k)) for k in self._fields if getattr(self, k) is not None)
        return "%s(%s)" % (type(self).__name__, args)


class Uniform(Initializer):
    """U(-scale, scale); scale defaults to 0.07."""

    kind = "uniform"
    _fields = ("scale",)

    def __init__(self, scale=None):
        super().__init__(scale=scale)


class Normal(Initializer):
    """N(0, sigma^2); sigma defaults to 0.01."""

    kind = "normal"
    _fields = ("sigma",)

    def __init__(self, sigma=None):
        super().__init__(sigma=sigma)


class Xavier(Initializer):
    """Xavier/Glorot: rnd_type 'uniform' | 'gaussian', factor_type 'avg' | 'in' | 'out', magnitude 3."""

    kind = "xavier"
    _fields = ("rnd_type", "factor_type", "magnitude")

    def __init__(self, rnd_type=None, factor_type=None, magnitude=None):
        super().__init__(rnd_type=rnd_type, factor_type=factor_type, magnitude=magnitude)


class MSRAPrelu(Initializer):
    """MSRA PReLU (He): factor_type 'avg', slope 0.25."""

    kind = "msraprelu"
    _fields = ("factor_type", "slope")

    def __init__(self, factor_type=None, slope=None):
        super().__init__(factor_type=factor_type, slope=slope)


class Constant(Initializer):
    """Every element ``value``; a sequence gives one value per element (row-major) or a single one."""

    kind = "constant"
    _fields = ("value",)

    def __init__(self, value):
        super().__init__(value=value)


class Zero(Initializer):
    """Every element 0."""

    kind = "zero"


class One(Initializer):
    """Every element 1."""

    kind = "one"


class Orthogonal(Initializer):
    """A random orthogonal matrix times scale (1.414); rand_type 'uniform' | 'normal'."""

    kind = "orthogonal"
    _fields = ("scale", "rand_type")

    def __init__(self, scale=None, rand_type=None):
        super().__init__(scale=scale, rand_type=rand_type)


_KINDS = {
    "uniform": (pb.INITIALIZER_KIND_UNIFORM, Uniform),
    "normal": (pb.INITIALIZER_KIND_NORMAL, Normal),
    "xavier": (pb.INITIALIZER_KIND_XAVIER, Xavier),
    "msraprelu": (pb.INITIALIZER_KIND_MSRAPRELU, MSRAPrelu),
    "constant": (pb.INITIALIZER_KIND_CONSTANT, Constant),
    "zero": (pb.INITIALIZER_KIND_ZERO, Zero),
    "one": (pb.INITIALIZER_KIND_ONE, One),
    "orthogonal": (pb.INITIALIZER_KIND_ORTHOGONAL, Orthogonal),
}
# MXNet's registry names: init='zeros', 'ones', 'xavier', ...
_NAMES = {"zeros": Zero, "ones": One, "zero": Zero, "one": One, "uniform": Uniform, "normal": Normal,
          "xavier": Xavier, "msraprelu": MSRAPrelu, "orthogonal": Orthogonal}


def _number(who, key, v):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise invalid_argument("%s: init.%s must be a number, got %s" % (who, key, show(v)))
    return float(v)


def to_proto(who, init):
    """An Initializer or an initializer name as the wire's Initializer; None stays None."""
    if init is None:
        return None
    if isinstance(init, str):
        cls = _NAMES.get(init.lower())
        if cls is None:
            raise invalid_argument(
                "%s: unknown initializer %s, expected one of %s, or a gluonps.init object"
                % (who, show(init), ", ".join(sorted(_NAMES)))
            )
        init = cls()
    if not isinstance(init, Initializer) or init.kind not in _KINDS:
        raise invalid_argument("%s: expected an initializer (gluonps.init.*) or its name, got %s" % (who, show(init)))
    out = pb.Initializer(kind=_KINDS[init.kind][0])
    for key in init._fields:
        v = getattr(init, key)
        if v is None:
            continue
        if key in ("scale", "sigma", "magnitude", "slope"):
            setattr(out, key, _number(who, key, v))
        elif key in ("rnd_type", "factor_type", "rand_type"):
            if not isinstance(v, str):
                raise invalid_argument("%s: init.%s must be a string, got %s" % (who, key, show(v)))
            setattr(out, key, v)
        elif key == "value":
            if isinstance(v, numbers.Real) and not isinstance(v, bool):
                out.value = float(v)
            else:
                import numpy as np

                try:
                    flat = np.asarray(v, dtype="f8").ravel()
                except (TypeError, ValueError):
                    raise invalid_argument("%s: init.value must be a number or numbers, got %s" % (who, show(v)))
                out.values.extend(flat.tolist())
    return out


def from_proto(m):
    """A received Initializer as an object (None when unset)."""
    if m is None or m.kind == pb.INITIALIZER_KIND_UNSPECIFIED:
        return None
    for kind, (code, cls) in _KINDS.items():
        if code != m.kind:
            continue
        if kind == "constant":
            return Constant(list(m.values) if len(m.values) > 0 else (m.value if m.HasField("value") else 0.0))
        obj = cls.__new__(cls)
        for key in cls._fields:
            if key in ("rnd_type", "factor_type", "rand_type"):
                setattr(obj, key, getattr(m, key) or None)
            else:
                setattr(obj, key, getattr(m, key) if m.HasField(key) else None)
        return obj
    return None
