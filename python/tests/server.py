"""The real TypeScript server for the Python tests: the server CLI bundled once per session with
scripts/bundle.mjs (as `npm start` runs it) and started as a child process on 127.0.0.1, port 0,
reading the "listening" log line for its address. Restartable on the same port and data dir
(kill -9, then start again), for the exactly-once tests."""

import json
import os
import signal
import subprocess
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NODE = os.environ.get("GLUONPS_NODE", "node")
# npm start's environment (package.json "start"): glibc malloc settings for large tensors.
START_ENV = {"MALLOC_MMAP_THRESHOLD_": "4294967296", "MALLOC_TRIM_THRESHOLD_": "8589934592"}


def bundle(name):
    """Bundles server/cli.ts into .build/<name>.mjs; returns its path."""
    subprocess.run([NODE, "scripts/bundle.mjs", "server/cli.ts", name], cwd=ROOT, check=True, timeout=120)
    return os.path.join(ROOT, ".build", name + ".mjs")


class Server:
    """One run of the server CLI; ``address`` is "127.0.0.1:<port>" once started."""

    def __init__(self, script, args=(), data_dir="none", port=0, env=None):
        self.script = script
        self.args = list(args)
        self.data_dir = data_dir
        self.env = env or {}
        self.port = port
        self.address = None
        self.proc = None
        self.lines = []

    def start(self, timeout=30):
        for attempt in range(40):
            if self._start_once(timeout):
                return self
            # A port just released by a killed server is normally free at once; be patient anyway.
            if attempt < 39 and "cannot listen on" in self.output():
                time.sleep(0.1)
                continue
            raise RuntimeError("the server did not start:\n" + self.output()[-3000:])
        return self

    def _start_once(self, timeout):
        env = {k: v for k, v in os.environ.items() if not k.startswith("GLUONPS_")}
        env.update(START_ENV)
        env.update(self.env)
        cmd = [NODE, "--enable-source-maps", self.script, "--host", "127.0.0.1", "--port", str(self.port),
               "--log-level", "info", "--devices", "cpu", "--data-dir", self.data_dir] + self.args
        self.lines = []
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        listening = threading.Event()

        def read(proc=self.proc, lines=self.lines):
            for line in proc.stdout:
                lines.append(line)
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict) and rec.get("msg") == "listening":
                    self.address = rec["address"]
                    listening.set()
            listening.set()

        threading.Thread(target=read, daemon=True).start()
        listening.wait(timeout)
        if self.address is None or self.proc.poll() is not None:
            self.proc.wait(5)
            return False
        self.port = int(self.address.rsplit(":", 1)[1])
        return True

    def output(self):
        return "".join(self.lines)

    def kill(self):
        """kill -9 and wait until the process is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(10)

    def restart(self, env=None):
        """kill -9, then the same command on the same port and data dir (``env`` replaces the
        extra environment, e.g. to drop a failpoint)."""
        self.kill()
        self.address = None
        if env is not None:
            self.env = env
        return self.start()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
