"""python/pyproject.toml: `pip install` of a copy of python/ into a fresh virtual environment
that sees the system's (Debian's) grpcio, protobuf and numpy, offline (--no-index) and without
build isolation (which would download setuptools); the installed package then works from
outside the checkout against the real server."""

import shutil
import subprocess
import sys
import os

from server import ROOT


def test_pip_install_offline_in_a_venv(server, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(os.path.join(ROOT, "python"), src, ignore=shutil.ignore_patterns("tests", "__pycache__", "build",
                                                                                     "*.egg-info"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    out = subprocess.run([py, "-m", "pip", "install", "--no-index", "--no-build-isolation", "--quiet", str(src)],
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stdout + out.stderr
    code = ("import gluonps as g; ps = g.connect(%r); p = ps.parameter('pkg_test', shape=(2,)); "
            "p.initialize(init='ones'); print(g.__file__, p.data().tolist())" % server.address)
    run = subprocess.run([py, "-c", code], capture_output=True, text=True, cwd=str(tmp_path), timeout=60)
    assert run.returncode == 0, run.stderr
    assert str(venv) in run.stdout and "[1.0, 1.0]" in run.stdout
