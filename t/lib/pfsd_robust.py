"""Helpers for the robustness tests of pfsd (t/pfsd/2x-*.t, 90-*.t):
pfsd run by hand (CLI tests), request streams the test can pause, cancel or
break, and cheap non-repeating test data of any size.

Builds on pfsd_client (messages, the Pfsd client, Sections, pfsd_stack).
"""

import hashlib
import os
import signal
import socket
import subprocess
import threading
import time

from pfsd_client import (ROOT, MiB, add_file, set_commit, pfsd_pid, rss_bytes,  # noqa: F401
                         wait_serving)

# PFSD_BIN: another build of pfsd (scripts/test-sanitized-pfsd)
PFSD_BIN = os.environ.get('PFSD_BIN') or os.path.join(ROOT, 'build', 'pfsd')


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class PfsdProc:
    """pfsd started by the test itself (not through the stack harness), for
    command-line behaviour: exit codes, messages, signals.  Always stopped
    by stop() / the context manager (SIGKILL as a last resort)."""

    def __init__(self, args, log_path=None):
        self.args = [PFSD_BIN] + list(args)
        self.log_path = log_path
        self.proc = None
        self._log = None

    def start(self):
        if self.log_path:
            self._log = open(self.log_path, 'wb')
            out = err = self._log
        else:
            out = err = subprocess.PIPE
        self.proc = subprocess.Popen(self.args, stdout=out, stderr=err,
                                     stdin=subprocess.DEVNULL)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def wait(self, timeout):
        """Exit status, or None when still running after timeout seconds."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def output(self):
        if self.log_path:
            if self._log:
                self._log.flush()
            with open(self.log_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        out, err = self.proc.communicate(timeout=10)
        return (out or b'').decode('utf-8', 'replace') + \
            (err or b'').decode('utf-8', 'replace')

    def signal(self, sig):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        if self._log:
            self._log.close()
            self._log = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def run_pfsd(args, timeout=20):
    """Runs pfsd to completion (for flags that make it exit at once):
    (exit status or None on timeout, stdout, stderr)."""
    try:
        r = subprocess.run([PFSD_BIN] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                           timeout=timeout)
        return (r.returncode, r.stdout.decode('utf-8', 'replace'),
                r.stderr.decode('utf-8', 'replace'))
    except subprocess.TimeoutExpired as e:
        return (None, (e.stdout or b'').decode('utf-8', 'replace'),
                (e.stderr or b'').decode('utf-8', 'replace'))


def todo(tap, cond, name, why):
    """A TAP TODO test: reported, never fails the run.  For expectations
    that go beyond what the spec states (noted in `why`)."""
    tap.n += 1
    print('%s %d - %s # TODO %s' % ('ok' if cond else 'not ok', tap.n, name, why),
          flush=True)
    return bool(cond)


def wait_until(pred, timeout=10, every=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(every)
    return pred()


# ------------------------------------------------------------ test data

class Data:
    """Deterministic, non-repeating bytes of any size without holding them:
    piece i of a stream is a window of a random pool at an offset that moves
    by a prime per piece, so no two 1 MiB chunks at fixed offsets are
    identical (deduplication cannot shrink it) yet generating is only a
    slice.  md5 of the whole is computed while producing."""

    POOL = None

    def __init__(self, size, seed=0, piece=2 * MiB):
        if Data.POOL is None:
            Data.POOL = os.urandom(8 * MiB)
        self.size = size
        self.seed = seed
        self.piece = piece

    def pieces(self):
        pool = Data.POOL
        off = 0
        i = 0
        while off < self.size:
            n = min(self.piece, self.size - off)
            start = (self.seed * 1000003 + i * 7919 * 13) % (len(pool) - self.piece)
            yield pool[start:start + n]
            off += n
            i += 1

    def bytes(self):
        return b''.join(self.pieces())

    def md5(self):
        h = hashlib.md5()
        for p in self.pieces():
            h.update(p)
        return h.digest()

    def range(self, offset, length):
        """Bytes [offset, offset+length) without producing the rest."""
        out = []
        pos = 0
        end = min(offset + length, self.size)
        for p in self.pieces():
            nxt = pos + len(p)
            if nxt > offset and pos < end:
                out.append(p[max(0, offset - pos):end - pos])
            if nxt >= end:
                break
            pos = nxt
        return b''.join(out)


# ------------------------------------------------------------ controllable streams

class Gate:
    """A ModifyFile request stream the test controls: it yields `head`
    (a list of messages) then `body` (an iterable), counting what it has
    handed to gRPC; after `pause_after` body messages it blocks until
    release() (or abort(), which ends the generator without more messages;
    the test then cancels the call).  `delay` sleeps between body messages
    (a slow client)."""

    def __init__(self, head, body, pause_after=None, delay=0.0):
        self.head = list(head)
        self.body = body
        self.pause_after = pause_after
        self.delay = delay
        self.sent = 0
        self.bytes = 0
        self.paused = threading.Event()
        self._go = threading.Event()
        self._abort = False
        self.finished = threading.Event()

    def release(self):
        self._go.set()

    def abort(self):
        self._abort = True
        self._go.set()

    def __iter__(self):
        try:
            for m in self.head:
                yield m
            for m in self.body:
                if self.pause_after is not None and self.sent == self.pause_after:
                    self.paused.set()
                    self._go.wait()
                    if self._abort:
                        return
                if self.delay:
                    time.sleep(self.delay)
                if self._abort:
                    return
                self.sent += 1
                if m.HasField('add_file'):
                    self.bytes += len(m.add_file.raw.value)
                yield m
            self.paused.set()
        finally:
            self.finished.set()


def add_data(path, data):
    """add_file messages for a Data object."""
    for p in data.pieces():
        yield add_file(path, p)


def md5_stream(it):
    """(md5, size, largest piece) of a GetFile response stream."""
    h = hashlib.md5()
    n = 0
    big = 0
    for m in it:
        h.update(m.value)
        n += len(m.value)
        big = max(big, len(m.value))
    return h.digest(), n, big
