#!/usr/bin/env bash
# `npm run test:python`: the Python tier. Installs Debian's protoc, grpc_python_plugin, grpcio,
# protobuf, numpy, pytest, venv and setuptools (the packaging test pip-installs python/ offline)
# when missing (scripts/lib/debian-packages.sh), then runs pytest on python/tests with Debian's
# own interpreter, which is the one that sees those packages (a
# python3 earlier on PATH, e.g. pyenv's, does not). The tests start the real TypeScript server
# (the bundled CLI, as `npm start` runs it) on 127.0.0.1, port 0 (python/tests/conftest.py).
# Arguments go to pytest, e.g. `npm run test:python -- -k trainer -x`; a first argument that is
# not an option replaces python/tests (`npm run test:python -- python/tests/test_trainer.py`).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/debian-packages.sh
. scripts/lib/debian-packages.sh
ensure_debian_packages test:python protobuf-compiler protobuf-compiler-grpc python3-grpcio python3-protobuf \
  python3-numpy python3-pytest python3-venv python3-setuptools || exit 1
PYTHON=${GLUONPS_PYTHON:-/usr/bin/python3}
# -p no:cacheprovider: no .pytest_cache in the work tree; PYTHONDONTWRITEBYTECODE: no __pycache__.
export PYTHONDONTWRITEBYTECODE=1
[ $# -gt 0 ] && [ "${1:0:1}" != - ] || set -- python/tests "$@"
exec "$PYTHON" -m pytest -p no:cacheprovider -q "$@"
