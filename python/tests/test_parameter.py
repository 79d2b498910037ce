"""Every Parameter and Constant method against the real server: values, descriptions, dtypes
(float16 native, bfloat16 as bits), row_sparse reads, multi-chunk tensors both ways, and the
errors (numeric status and the server's message)."""

import numpy as np
import pytest

import gluonps as gps
from gluonps import GluonPsError, Status


def raises(code, pattern):
    return pytest.raises(GluonPsError, match=pattern)


def check_code(excinfo, code):
    assert isinstance(excinfo.value.code, int) and excinfo.value.code == code, repr(excinfo.value)


def test_declare_initialize_read_write(ps, name):
    w = ps.parameter(name, shape=(4, 3), init=gps.init.Xavier())
    d = w.initialize(ctx=[gps.cpu(0), gps.cpu(1)], seed=7)
    assert d.initialized and d.ctx == [gps.cpu(0), gps.cpu(1)] and d.shape == (4, 3) and d.dtype == "float32"
    a0, a1 = w.data(gps.cpu(0)), w.data(gps.cpu(1))
    assert a0.dtype == np.float32 and a0.shape == (4, 3)
    assert np.array_equal(a0, a1) and np.abs(a0).max() > 0  # two equal copies, Xavier-filled
    # The same seed gives the same values: reproducible through the server's Philox fill.
    w.initialize(seed=7, force_reinit=True, ctx=[gps.cpu(0), gps.cpu(1)])
    assert np.array_equal(w.data(), a0)
    value = np.arange(12, dtype=np.float32).reshape(4, 3)
    d = w.set_data(value)
    assert d.version > 0
    assert all(np.array_equal(x, value) for x in w.list_data())
    assert w.list_ctx() == [gps.cpu(0), gps.cpu(1)]
    # Nested lists travel as float64 and are converted by the server.
    w.set_data([[1.5] * 3] * 4)
    assert np.array_equal(w.data(), np.full((4, 3), 1.5, np.float32))
    assert w.shape == (4, 3) and w.dtype == "float32" and w.grad_req == "write" and w.stype == "default"
    assert ps.get(name).name == name and name in [p.name for p in ps.list()]


def test_grad_zero_grad_reset_ctx_var(ps, name):
    w = ps.parameter(name, shape=(2, 2), grad_req="add", lr_mult=0.5, wd_mult=2.0)
    w.initialize(init="ones", ctx=[gps.cpu(0), gps.cpu(1)])
    assert np.array_equal(w.grad(gps.cpu(1)), np.zeros((2, 2), np.float32))
    assert len(w.list_grad()) == 2
    assert w.zero_grad().version >= 1
    w.set_data(np.array([[1, 2], [3, 4]], np.float32))
    d = w.reset_ctx(gps.cpu(2))
    assert d.ctx == [gps.cpu(2)] and np.array_equal(w.data(), [[1, 2], [3, 4]])
    v = w.var()
    assert v.name == name and v.attrs["__shape__"] == "(2, 2)" and v.attrs["__lr_mult__"] == "0.5"
    d = w.describe()
    assert (d.grad_req, d.lr_mult, d.wd_mult) == ("add", 0.5, 2.0)


def test_deferred_init_and_shape_setter(ps, name):
    w = ps.parameter(name, shape=(0, 3), allow_deferred_init=True, init=gps.init.Constant(2.5))
    d = w.initialize(ctx=gps.cpu(0))
    assert d.deferred and not d.initialized and w.list_ctx() == [gps.cpu(0)]
    w.shape = (5, 3)  # Gluon's shape setter fills the unknown dim and completes the init
    assert np.array_equal(w.data(), np.full((5, 3), 2.5, np.float32))
    with pytest.raises(GluonPsError, match=r"shape \[6,3\] does not match \[5,3\]") as e:
        w.set_shape((6, 3))
    check_code(e, Status.INVALID_ARGUMENT)


def test_constant(ps, name):
    c = ps.constant(name, [[1, 2], [3, 4]])
    c.initialize()
    d = c.describe()
    assert d.is_constant and d.grad_req == "null" and d.dtype == "float32"
    assert np.array_equal(c.data(), np.array([[1, 2], [3, 4]], np.float32))
    # The same value again returns it; another value is ALREADY_EXISTS naming it.
    ps.constant(name, [[1, 2], [3, 4]])
    with pytest.raises(GluonPsError, match=name) as e:
        ps.constant(name, [[1, 2], [3, 5]])
    check_code(e, Status.ALREADY_EXISTS)
    c64 = ps.constant(name + "_i64", np.array([2 ** 60, -3], np.int64))
    c64.initialize()
    assert c64.data().tolist() == [2 ** 60, -3]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int8", "uint8", "int32", "int64"])
def test_dtypes_roundtrip(ps, name, dtype):
    np_dtype = np.dtype(dtype)
    w = ps.parameter(name, shape=(3, 5), dtype=dtype)
    w.initialize(init="zeros")
    if np_dtype.kind == "f":
        value = (np.arange(15).reshape(3, 5) * 0.37 - 2).astype(np_dtype)
    else:
        value = (np.arange(15).reshape(3, 5) - 7 if np_dtype.kind == "i" else np.arange(15).reshape(3, 5)).astype(np_dtype)
    w.set_data(value)
    got = w.data()
    assert got.dtype == np_dtype and got.tobytes() == value.tobytes()


def test_float16_and_bfloat16(ps, name):
    h = ps.parameter(name + "_h", shape=(4,), dtype=np.float16)
    h.initialize(init="zeros")
    v = np.array([1.0, -0.5, 65504.0, 6e-8], np.float16)
    h.set_data(v)
    assert h.data().dtype == np.float16 and h.data().tobytes() == v.tobytes()
    h.set_data(np.array([0.1], np.float32).repeat(4))  # converted by the server, rounded to nearest
    assert np.array_equal(h.data(), np.full(4, 0.1, np.float16))
    b = ps.parameter(name + "_b", shape=(3,), dtype="bfloat16")
    b.initialize(init="zeros")
    bits = gps.float32_to_bfloat16([1.0, 3.140625, -2.0])
    b.set_data(bits, dtype="bfloat16")
    got = b.data()
    assert got.view(np.uint16).tolist() == bits.tolist()
    assert gps.bfloat16_to_float32(got).tolist() == [1.0, 3.140625, -2.0]
    # float32 into a bfloat16 parameter: the server rounds as float32_to_bfloat16 does.
    x = np.array([1.00390625, 3.3, -7.77], np.float32)
    b.set_data(x)
    assert b.data().view(np.uint16).tolist() == gps.float32_to_bfloat16(x).tolist()
    with pytest.raises(GluonPsError, match="uint16 array is ambiguous") as e:
        b.set_data(bits)
    check_code(e, Status.INVALID_ARGUMENT)


def test_cast(ps, name):
    w = ps.parameter(name, shape=(3,))
    w.initialize(init=gps.init.Constant([1.25, 2.5, -3.0]))
    d = w.cast("float16")
    assert d.dtype == "float16" and w.data().dtype == np.float16
    w.dtype = "float64"
    assert w.data().tolist() == [1.25, 2.5, -3.0]


def test_multi_chunk_both_ways(ps, name):
    # 3 MiB + 12 bytes: four messages each way, the last one short.
    n = 3 * (1 << 18) + 3
    w = ps.parameter(name, shape=(n,))
    w.initialize(init="zeros", ctx=[gps.cpu(0), gps.cpu(1)])
    value = np.random.default_rng(1).standard_normal(n).astype(np.float32)
    w.set_data(value)
    assert w.data(gps.cpu(1)).tobytes() == value.tobytes()
    assert all(x.tobytes() == value.tobytes() for x in w.list_data())
    # Non-contiguous and big-endian inputs are made contiguous little-endian first.
    m = np.arange(24, dtype=">f4").reshape(4, 6)[:, ::2]
    x = ps.parameter(name + "_x", shape=(4, 3))
    x.initialize(init="zeros")
    x.set_data(m)
    assert np.array_equal(x.data(), m.astype(np.float32))


def test_row_sparse(ps, name):
    emb = ps.parameter(name, shape=(1000, 16), stype="row_sparse", init="zeros")
    emb.initialize(ctx=[gps.cpu(0), gps.cpu(1)])
    value = np.arange(16000, dtype=np.float32).reshape(1000, 16)
    emb.set_data(value)
    rows = emb.row_sparse_data([5, 1, 5, 999])
    assert rows.indices.tolist() == [1, 5, 999] and rows.indices.dtype == np.int64
    assert np.array_equal(rows.data, value[[1, 5, 999]])
    assert np.array_equal(rows.todense((1000, 16))[[1, 5, 999]], value[[1, 5, 999]])
    assert [r.ctx for r in emb.list_row_sparse_data(np.array([3, 2]))] == [gps.cpu(0), gps.cpu(1)]
    assert np.array_equal(emb.row_sparse_data(np.array([2, 3]), gps.cpu(1)).data, value[[2, 3]])
    with pytest.raises(GluonPsError, match=name) as e:
        emb.data()
    check_code(e, Status.FAILED_PRECONDITION)
    with pytest.raises(GluonPsError, match=name) as e:
        emb.row_sparse_data([1000])
    check_code(e, Status.INVALID_ARGUMENT)


def test_server_errors_carry_status_and_message(ps, name):
    with pytest.raises(GluonPsError, match="parameter '%s_nope' does not exist" % name) as e:
        ps.get(name + "_nope")
    check_code(e, Status.NOT_FOUND)
    with pytest.raises(GluonPsError) as e:
        ps.get(name + "_nope").data()
    check_code(e, Status.NOT_FOUND)
    w = ps.parameter(name, shape=(4, 3))
    with pytest.raises(GluonPsError, match="already exists with a different spec") as e:
        ps.parameter(name, shape=(4, 5))
    check_code(e, Status.ALREADY_EXISTS)
    with pytest.raises(GluonPsError, match=name) as e:
        w.data()  # not initialized
    check_code(e, Status.FAILED_PRECONDITION)
    w.initialize()
    with pytest.raises(GluonPsError, match=r"shape \[4,5\] does not match \[4,3\]") as e:
        w.set_data(np.zeros((4, 5), np.float32))
    check_code(e, Status.INVALID_ARGUMENT)
    with pytest.raises(GluonPsError, match="gpu") as e:
        w.reset_ctx(gps.gpu(0))
    assert e.value.code in (Status.INVALID_ARGUMENT, Status.FAILED_PRECONDITION, Status.UNAVAILABLE)
    assert str(e.value) == e.value.message


def test_client_side_checks(ps, name):
    cases = [
        (lambda: ps.parameter(name, shape=(2, "x")), "shape must be a tuple of integers"),
        (lambda: ps.parameter(name, dtype="complex64"), "unknown dtype"),
        (lambda: ps.parameter(name, grad_req="sometimes"), "grad_req must be one of"),
        (lambda: ps.parameter(name, init="glorot"), "unknown initializer"),
        (lambda: ps.parameter(""), "non-empty string"),
        (lambda: ps.get(name).initialize(ctx="cpu0"), "ctx must be a context"),
        (lambda: ps.get(name).initialize(seed=-1), "seed must be an integer"),
        (lambda: ps.get(name).set_data([[1, 2], [3]]), "rectangular"),
        (lambda: ps.get(name).set_data(np.zeros(2, bool)), "bool arrays"),
    ]
    ps.parameter(name, shape=(2,))
    for call, pattern in cases:
        with pytest.raises(GluonPsError, match=pattern) as e:
            call()
        check_code(e, Status.INVALID_ARGUMENT)


def test_connect_failures_close_and_deadline(server, name):
    with pytest.raises(GluonPsError, match="cannot connect to the gluon-ps server at 127.0.0.1:1") as e:
        gps.connect("127.0.0.1:1", connect_timeout_ms=300)
    check_code(e, Status.UNAVAILABLE)
    ps = gps.connect(server.address, deadline_ms=60_000)
    p = ps.parameter(name, shape=(2,))
    ps.close()
    ps.close()
    with pytest.raises(GluonPsError, match="closed") as e:
        p.describe()
    check_code(e, Status.CANCELLED)
    # A deadline shorter than any round trip: gRPC's own DEADLINE_EXCEEDED.
    with gps.connect(server.address, deadline_ms=0.001) as fast:
        with pytest.raises(GluonPsError) as e:
            fast.list()
        check_code(e, Status.DEADLINE_EXCEEDED)
