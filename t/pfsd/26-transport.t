#!/usr/bin/python3
# Transport robustness: pfsd keeps serving whatever arrives on its port --
# bytes that are not HTTP/2, an HTTP/1.1 request, connections that open and
# say nothing, a message over pachd's 20 MiB limit (reference "Transport";
# pachd facts Q10: MaxRecvMsgSize 20 MiB, which grpc enforces with
# RESOURCE_EXHAUSTED) -- and a refused oversized write leaves nothing.
import os
import socket
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pfs_s3_test import tap  # noqa: E402
from pfsd_client import *  # noqa: E402,F401,F403
from pfsd_robust import *  # noqa: E402,F401,F403

S = Sections(tap)


def host_port(addr):
    h, p = addr.rsplit(':', 1)
    return h, int(p)


def serving(c, timeout=30):
    """pfsd answers within a deadline far above any normal latency: a
    liveness check (nothing blocked), not a speed one."""
    try:
        return c.get_version(timeout=timeout) is not None
    except grpc.RpcError:
        return False


@S
def junk_on_the_port(c, st):
    hp = host_port(st.pfsd_addr)
    for name, blob in [('random bytes', os.urandom(4096)),
                       ('an HTTP/1.1 request', b'GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
                       ('a bare HTTP/2 preface', b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
                       ('a preface then junk frames', b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + os.urandom(2000))]:
        s = socket.create_connection(hp, timeout=5)
        try:
            s.sendall(blob)
            s.settimeout(2)
            try:
                s.recv(65536)
            except OSError:
                pass
        finally:
            s.close()
        tap.ok(serving(c), 'after %s on the gRPC port: still serving' % name)


@S
def silent_connections(c, st):
    hp = host_port(st.pfsd_addr)
    socks = []
    try:
        for _ in range(64):
            socks.append(socket.create_connection(hp, timeout=5))
        code, _ = error_of(c.create_repo, 'tsil', timeout=30)
        tap.ok(code == OK and serving(c) and 'tsil' in [r.repo.name for r in c.list_repo(timeout=30)],
               '64 silent open connections do not hold up other clients')
    finally:
        for s in socks:
            s.close()
    tap.ok(serving(c), 'still serving after they close')


@S
def oversized_message(c, st):
    c.create_repo('tbig')
    c.put('tbig', 'master', '/keep', b'keep')
    n = len(c.list_commit('tbig'))
    # pachd's server refuses messages over 20 MiB (MaxRecvMsgSize); pfsd
    # matches it, so a client tuned on pfsd never breaks on pachd.
    code, det = error_of(c.modify, 'tbig', 'master', [add_file('/huge32', b'\x5a' * (32 * MiB))])
    tap.eq(code, grpc.StatusCode.RESOURCE_EXHAUSTED,
           'one 32 MiB add_file message (over pachd\'s 20 MiB): RESOURCE_EXHAUSTED')
    # ... but some limit must exist, or one message can take any amount of
    # memory ("memory per call is bounded"): 100 MiB in one message is refused.
    big = Pfsd(st.pfsd_addr)
    big.channel.close()
    big.channel = grpc.insecure_channel(st.pfsd_addr, options=[
        ('grpc.max_send_message_length', 256 * MiB),
        ('grpc.max_receive_message_length', 256 * MiB)])
    big._cache = {}
    code, det = error_of(big.modify, 'tbig', 'master', [add_file('/huge', b'\x5a' * (100 * MiB))])
    big.close()
    tap.eq(code, grpc.StatusCode.RESOURCE_EXHAUSTED,
           'one 100 MiB add_file message: RESOURCE_EXHAUSTED')
    tap.eq(len(c.list_commit('tbig')), n, '... neither made a commit')
    expect_error(tap, c.get, NOT_FOUND, None, '... nor a file', 'tbig', 'master', '/huge32')
    expect_error(tap, c.get, NOT_FOUND, None, '... no file', 'tbig', 'master', '/huge')
    tap.ok(serving(c), '... and pfsd keeps serving')
    code, det = error_of(c.pfs, 'InspectRepo', pfs.InspectRepoRequest(
        repo=pfs.Repo(name='x' * (24 * MiB), type='user', project=pfs.Project(name='default'))),
        pfs.RepoInfo)
    tap.ok(code not in (OK, grpc.StatusCode.UNAVAILABLE),
           'a 24 MiB unary request: refused with a status, the connection survives (%s)' % code)
    tap.ok(serving(c), '... still serving')


@S
def stalled_readers(c, st):
    # Readers that start a GetFile and stop reading.  Each call holds at most
    # the message it is sending (DESIGN.md "Threads and calls"), so 16 of
    # them cost a bounded amount whatever the file size.
    c.create_repo('tst')
    c.modify('tst', 'master', list(add_data('/f', Data(64 * MiB, seed=61))))
    pid = st.pids()['pfsd']
    base = rss_bytes(pid)
    its = []
    for _ in range(16):
        it = c.get_file_stream('tst', 'master', '/f')
        next(it)
        its.append(it)
    time.sleep(1.0)
    grown = rss_bytes(pid) - base
    tap.ok(serving(c), '16 stalled GetFile streams: other calls still answered')
    tap.ok(grown < 128 * MiB, '16 stalled GetFile streams: VmRSS grew %.1f MiB (< 128 MiB: one message each)'
           % (grown / MiB))
    for it in its:
        it.cancel()
    time.sleep(0.5)
    tap.ok(serving(c), 'after cancelling them: still serving')


with pfsd_stack(tap) as st:
    c = Pfsd(st.pfsd_addr)
    S.run(c, st)
    c.close()
tap.done()
