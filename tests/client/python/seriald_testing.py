"""Helpers for pyseriald's tests: a seriald server of this build on a free port, the shared
corpus, Rscript.

    class MyTest(seriald_testing.ServerTestCase):
        def test_something(self):
            self.assertEqual(self.client.load(b"..."), ...)

Environment (set by tests/client/python/CMakeLists.txt; defaults suit a source checkout built in
build/): SERIALD_BINARY (the seriald program), SERIALD_SHARED_DIR (holding corpus/torch7),
SERIALD_RSCRIPT (Rscript).
"""
import os
import queue
import re
import signal
import subprocess
import tempfile
import threading
import unittest

import pyseriald

REPOSITORY = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
LISTENING = re.compile(r"seriald: listening on (\S+)")


def seriald_binary():
    return os.environ.get("SERIALD_BINARY", os.path.join(REPOSITORY, "build", "bin", "seriald"))


def shared_dir():
    return os.environ.get("SERIALD_SHARED_DIR", os.path.join(REPOSITORY, "..", "shared"))


def rscript():
    return os.environ.get("SERIALD_RSCRIPT", "Rscript")


class Server:
    """A seriald process listening on 127.0.0.1 on a port the kernel picked; its log goes to a
    temporary file, printed by `log()` when a test wants to show it."""

    def __init__(self, *extra_arguments):
        self.log_file = tempfile.NamedTemporaryFile(prefix="seriald-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [seriald_binary(), "--listen", "127.0.0.1:0", *extra_arguments],
            stdout=subprocess.PIPE, stderr=self.log_file, text=True)
        self.address = self._wait_for_address(timeout=30)

    def _wait_for_address(self, timeout):
        lines = queue.Queue()

        def read_stdout():
            for line in self.process.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read_stdout, daemon=True).start()
        try:
            while True:
                line = lines.get(timeout=timeout)
                if line is None:
                    raise RuntimeError("seriald exited (status %s) before listening: %s"
                                       % (self.process.wait(), self.log()))
                match = LISTENING.search(line)
                if match:
                    return match.group(1)
        except queue.Empty:
            self.stop()
            raise RuntimeError("seriald did not say where it listens within %d s" % timeout)

    def log(self):
        with open(self.log_file.name, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self.log_file.close()
        os.unlink(self.log_file.name)


class ServerTestCase(unittest.TestCase):
    """Starts one server for the test class; `self.client` talks to it, `self.streaming_client`
    streams everything (threshold 0, 64 KiB chunks)."""

    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.client = pyseriald.SerialdClient(cls.server.address, timeout=120)
        cls.streaming_client = pyseriald.SerialdClient(cls.server.address, timeout=120,
                                                       stream_threshold=0, chunk_bytes=64 << 10)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.streaming_client.close()
        cls.server.stop()


def run_rscript(script, directory):
    """Runs the R code `script` with Rscript in `directory`; returns its standard output and
    fails with R's messages if it fails."""
    path = os.path.join(directory, "script.R")
    with open(path, "w") as f:
        f.write(script)
    result = subprocess.run([rscript(), "--vanilla", path], cwd=directory, capture_output=True,
                            text=True, timeout=300)
    if result.returncode != 0:
        raise AssertionError("Rscript failed (%d):\n%s\n%s" % (result.returncode, result.stdout,
                                                               result.stderr))
    return result.stdout
