"""The Python driver of `npm run bench:python` (bench/python.ts starts it with Debian's python3):
connects the gluonps Python client to the server, then answers each line on stdin, "pull" or
"push", with one JSON line {"seconds": ...}: the wall time of one p.data() or p.set_data() of
the benchmark parameter, measured around the call only."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import numpy as np  # noqa: E402

import gluonps as gps  # noqa: E402


def main():
    address, name = sys.argv[1], sys.argv[2]
    ps = gps.connect(address)
    p = ps.get(name)
    value = np.random.default_rng(1).standard_normal(p.shape).astype(np.float32)
    print(json.dumps({"ready": True, "bytes": value.nbytes}), flush=True)
    for line in sys.stdin:
        op = line.strip()
        if op == "stop":
            break
        t0 = time.perf_counter()
        if op == "pull":
            got = p.data()
            assert got.nbytes == value.nbytes
        elif op == "push":
            p.set_data(value)
        else:
            raise SystemExit("python-driver: unknown command %r" % op)
        print(json.dumps({"seconds": time.perf_counter() - t0}), flush=True)
    ps.close()


if __name__ == "__main__":
    main()
