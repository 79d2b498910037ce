"""save_parameters / load_parameters through the Python client: every format round-trips
every dtype, row_sparse parameters are saved as MXNet row_sparse records, load_parameters
declares, fills deferred shapes, casts, and refuses (changing nothing) what does not fit."""

import numpy as np
import pytest

import gluonps as gps
from gluonps import GluonPsError, Status
from gluonps.formats import decode_params


@pytest.mark.parametrize("fmt", ["params", "safetensors", "npz"])
def test_roundtrip_every_format(ps, name, tmp_path, fmt):
    values = {
        name + "_f32": np.arange(12, dtype=np.float32).reshape(3, 4) / 7,
        name + "_f16": np.array([1.5, -2.25], np.float16),
        name + "_i64": np.array([[2 ** 40, -1]], np.int64),
        name + "_u8": np.array([0, 255, 7], np.uint8),
    }
    for n, v in values.items():
        p = ps.parameter(n, shape=v.shape, dtype=v.dtype)
        p.initialize(init="zeros")
        p.set_data(v)
    b = ps.parameter(name + "_bf16", shape=(2,), dtype="bfloat16")
    b.initialize(init="zeros")
    b.set_data(gps.float32_to_bfloat16([1.0, -3.5]), dtype="bfloat16")
    names = list(values) + [name + "_bf16"]
    f = tmp_path / ("m." + fmt)
    out = ps.save_parameters(str(f), names=names, format=fmt)
    assert out["bytes"] == f.stat().st_size and sorted(out["names"]) == sorted(names)
    for n in names:
        ps.get(n).set_data(np.zeros(ps.get(n).shape), dtype=None)
    res = ps.load_parameters(str(f), names=names)
    assert res["format"] == fmt and sorted(res["loaded"]) == sorted(names)
    for n, v in values.items():
        assert ps.get(n).data().tobytes() == v.tobytes()
    assert b.data().view(np.uint16).tolist() == gps.float32_to_bfloat16([1.0, -3.5]).tolist()


def test_row_sparse_records_and_declare(ps, server, name, tmp_path):
    emb = ps.parameter(name, shape=(5, 2), stype="row_sparse")
    emb.initialize(init="zeros")
    value = np.arange(10, dtype=np.float32).reshape(5, 2)
    emb.set_data(value)
    f = tmp_path / "emb.params"
    ps.save_parameters(str(f), names=[name])
    [t] = decode_params(f.read_bytes())
    assert t.stype == "row_sparse" and t.indices.tolist() == [0, 1, 2, 3, 4]
    assert np.array_equal(t.dense(), value)
    # A fresh name space: declare from the file (the server keeps its parameters; use a prefix).
    renamed = tmp_path / "renamed.params"
    t.name = name + "_copy"
    from gluonps.formats import encode_params
    renamed.write_bytes(b"".join(bytes(memoryview(c)) for c in encode_params([t])))
    res = ps.load_parameters(str(renamed), names=[name + "_copy"], declare=True, ctx=[gps.cpu(0), gps.cpu(1)])
    assert res["declared"] == [name + "_copy"]
    copy = ps.get(name + "_copy")
    d = copy.describe()
    assert d.stype == "row_sparse" and d.ctx == [gps.cpu(0), gps.cpu(1)]
    assert np.array_equal(copy.row_sparse_data(range(5)).data, value)


def test_load_checks_before_writing(ps, name, tmp_path):
    a = ps.parameter(name + "_a", shape=(2,))
    a.initialize(init="ones")
    f = tmp_path / "a.params"
    ps.save_parameters(str(f), names=[name + "_a"])
    b = ps.parameter(name + "_b", shape=(0,), allow_deferred_init=True)
    # Missing entries are an error naming them, unless allow_missing.
    with pytest.raises(GluonPsError, match="missing in file") as e:
        ps.load_parameters(str(f), names=[name + "_a", name + "_b"])
    assert e.value.code == Status.INVALID_ARGUMENT
    a.set_data([5.0, 6.0])
    ps.load_parameters(str(f), names=[name + "_a", name + "_b"], allow_missing=True)
    assert a.data().tolist() == [1.0, 1.0]
    # Extra entries: an error unless ignore_extra.
    with pytest.raises(GluonPsError, match="not present in names"):
        ps.load_parameters(str(f), names=[name + "_b"], allow_missing=True)
    # dtype mismatch: refused unless cast_dtype; with it, converted.
    c = ps.parameter(name + "_a16", shape=(2,), dtype="float16")
    c.initialize(init="zeros")
    g = tmp_path / "a16.npz"
    ps.save_parameters(str(g), names=[name + "_a"], format="npz")
    import zipfile
    with zipfile.ZipFile(g) as z:
        member = z.read(name + "_a.npy")
    h = tmp_path / "x.npz"
    with zipfile.ZipFile(h, "w") as z:
        z.writestr(name + "_a16.npy", member)
    with pytest.raises(GluonPsError, match="dtype incompatible: expected float16 vs saved float32"):
        ps.load_parameters(str(h), names=[name + "_a16"])
    ps.load_parameters(str(h), names=[name + "_a16"], cast_dtype=True)
    assert c.data().dtype == np.float16 and c.data().tolist() == [1.0, 1.0]
    # Deferred shape filled from the file.
    b.initialize()
    k = tmp_path / "b.safetensors"
    ps.save_parameters(str(k), names=[name + "_a"], format="safetensors")
    import json, struct
    raw = k.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header[name + "_b"] = header.pop(name + "_a")
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    k.write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + n:])
    ps.load_parameters(str(k), names=[name + "_b"])
    assert b.data().tolist() == [1.0, 1.0] and b.shape == (2,)
    with pytest.raises(GluonPsError) as e:
        ps.load_parameters(str(tmp_path / "none.params"))
    assert e.value.code == Status.NOT_FOUND
    (tmp_path / "junk.params").write_bytes(b"junk" * 10)
    with pytest.raises(GluonPsError, match="junk.params: unknown") as e:
        ps.load_parameters(str(tmp_path / "junk.params"))
    assert e.value.code == Status.INVALID_ARGUMENT
