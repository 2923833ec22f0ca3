#!/usr/bin/python3
# Concurrency (DESIGN.md "Threads and calls", "One-off commits are resolved
# inside the committer: two racing one-off commits on a branch both land, the
# second on top of the first"): many concurrent one-off writers on one branch
# all land as a linear history; concurrent appends lose nothing; racing
# creations have exactly one winner; readers and other writers are not held
# up by a long, slow upload.
import os
import sys
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pfs_s3_test import tap  # noqa: E402
from pfsd_client import *  # noqa: E402,F401,F403
from pfsd_robust import *  # noqa: E402,F401,F403

S = Sections(tap)


def run_threads(n, fn):
    """Runs fn(i) in n threads started together; returns {i: result or the
    exception}."""
    out = {}
    go = threading.Barrier(n)

    def body(i):
        go.wait()
        try:
            out[i] = fn(i)
        except Exception as e:  # noqa: BLE001
            out[i] = e
    ths = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(120)
    return out


@S
def one_off_writers(c, st):
    c.create_repo('cw')
    c.put('cw', 'master', '/seed', b'seed')
    n0 = len(c.list_commit('cw'))
    W, K = 16, 5
    clients = [Pfsd(st.pfsd_addr) for _ in range(4)]

    def writer(i):
        cl = clients[i % len(clients)]
        for k in range(K):
            p = '/w%02d/f%d' % (i, k)
            cl.modify('cw', 'master', [delete_file(p), add_file(p, ('%s by %d' % (p, i)).encode())])
        return True
    res = run_threads(W, writer)
    errs = {i: r for i, r in res.items() if r is not True}
    tap.ok(not errs, '%d writers x %d one-off ModifyFile on one branch: all OK' % (W, K))
    for i, e in list(errs.items())[:3]:
        tap.diag('writer %d: %r' % (i, e))
    files = {fi.file.path for fi in c.walk_file('cw', 'master', '/') if fi.file_type == pfs.FILE}
    want = {'/w%02d/f%d' % (i, k) for i in range(W) for k in range(K)} | {'/seed'}
    tap.eq(files, want, 'every write landed on the branch head')
    bad = [p for p in want - {'/seed'}
           if c.get('cw', 'master', p) != ('%s by %d' % (p, int(p[2:4]))).encode()]
    tap.ok(not bad, '... each with its own bytes')
    cis = c.list_commit('cw')
    tap.eq(len(cis), n0 + W * K, 'one commit per one-off write')
    # A linear history: each commit's parent is the next older one, and the
    # head is the newest.
    parents = [ci.parent_commit.id for ci in cis]
    tap.eq(len(set(parents)), len(parents), 'no two commits share a parent (no lost fork)')
    chain = []
    cur = c.head('cw')
    by_id = {ci.commit.id: ci for ci in cis}
    while cur in by_id:
        chain.append(cur)
        cur = by_id[cur].parent_commit.id
    tap.eq(len(chain), len(cis), 'the head\'s ancestry holds every commit')
    for cl in clients:
        cl.close()


@S
def concurrent_appends(c, st):
    # Writers append lines to one file, each writer one line per one-off
    # commit, all at once: every line lands once, whole, and each writer's
    # lines keep its order.
    c.create_repo('ca')
    c.put('ca', 'master', '/log', b'')
    W, N = 6, 10
    clients = [Pfsd(st.pfsd_addr) for _ in range(3)]

    def appender(t):
        for i in range(N):
            clients[t % 3].modify('ca', 'master', [add_file('/log', b'w%d-%02d\n' % (t, i))])
        return True
    res = run_threads(W, appender)
    tap.ok(all(r is True for r in res.values()),
           '%d writers x %d concurrent one-off appends to one file: all OK' % (W, N))
    lines = c.get('ca', 'master', '/log').split(b'\n')[:-1]
    tap.eq(sorted(lines), sorted(b'w%d-%02d' % (t, i) for t in range(W) for i in range(N)),
           '... every appended line is there once, none torn')
    tap.ok(all([x for x in lines if x.startswith(b'w%d-' % t)] ==
               [b'w%d-%02d' % (t, i) for i in range(N)] for t in range(W)),
           '... and each writer\'s lines are in its order')
    for cl in clients:
        cl.close()


@S
def whole_versions_only(c, st):
    # Writers overwrite a 2 MiB file (delete_file + add_file in 1 MiB
    # pieces) while readers read it: every read is one whole version.
    c.create_repo('cv')
    size = 2 * MiB
    c.put('cv', 'master', '/f', bytes([0]) * size)
    stop = threading.Event()
    torn = []
    reads = [0]

    def writer(t):
        cl = Pfsd(st.pfsd_addr)
        for v in range(1 + t, 16, 2):
            body = bytes([v]) * size
            cl.modify('cv', 'master', [delete_file('/f'), add_file('/f', body[:MiB]),
                                       add_file('/f', body[MiB:])])
        cl.close()
        return True

    def reader(t):
        cl = Pfsd(st.pfsd_addr)
        while not stop.is_set():
            got = cl.get('cv', 'master', '/f')
            reads[0] += 1
            if len(got) != size or got.count(got[:1]) != size:
                torn.append((len(got), got[:1], got[-1:]))
        cl.close()
        return True
    rth = [threading.Thread(target=reader, args=(i,)) for i in range(3)]
    for t in rth:
        t.start()
    res = run_threads(2, writer)
    stop.set()
    for t in rth:
        t.join(60)
    tap.ok(all(r is True for r in res.values()), 'two writers overwrote a 2 MiB file 15 times')
    tap.ok(reads[0] > 0 and not torn,
           '%d concurrent reads each saw one whole version (torn: %r)' % (reads[0], torn[:3]))
    last = c.get('cv', 'master', '/f')
    tap.ok(len(last) == size and last.count(last[:1]) == size, 'the final content is one whole version')


@S
def many_repos(c, st):
    clients = [Pfsd(st.pfsd_addr) for _ in range(3)]

    def work(t):
        cl = clients[t % 3]
        cl.create_repo('mr%d' % t)
        for b in range(3):
            for k in range(3):
                cl.put('mr%d' % t, 'b%d' % b, '/f%d' % k, b'%d-%d-%d' % (t, b, k))
        return True
    res = run_threads(6, work)
    tap.ok(all(r is True for r in res.values()), 'writers on 6 repos x 3 branches at once: no error')
    good = all(c.get('mr%d' % t, 'b%d' % b, '/f%d' % k) == b'%d-%d-%d' % (t, b, k)
               for t in range(6) for b in range(3) for k in range(3))
    tap.ok(good, '... every file on its own repo and branch with its bytes')
    for cl in clients:
        cl.close()


@S
def racing_creations(c, st):
    clients = [Pfsd(st.pfsd_addr) for _ in range(4)]
    res = run_threads(8, lambda i: error_of(clients[i % 4].create_repo, 'race')[0])
    codes = sorted(str(v) for v in res.values())
    tap.eq(list(res.values()).count(OK), 1, 'CreateRepo raced 8 times: exactly one OK (%s)' % codes)
    tap.eq(list(res.values()).count(ALREADY_EXISTS), 7, '... the others ALREADY_EXISTS')
    c.create_branch('race', 'master')
    res = run_threads(6, lambda i: error_of(clients[i % 4].start_commit, 'race', 'master')[0])
    tap.eq(list(res.values()).count(OK), 1,
           'StartCommit raced 6 times on one branch: exactly one opens a commit (%s)'
           % sorted(str(v) for v in res.values()))
    tap.eq(len([ci for ci in c.list_commit('race') if not ci.HasField('finishing')]), 1,
           '... one open commit exists')
    res = run_threads(6, lambda i: error_of(clients[i % 4].finish_commit, 'race', 'master')[0])
    tap.eq(list(res.values()).count(OK), 1, 'FinishCommit raced 6 times: exactly one OK')
    res = run_threads(8, lambda i: error_of(clients[i % 4].create_project, 'raceproj')[0])
    tap.eq(list(res.values()).count(OK), 1, 'CreateProject raced 8 times: exactly one OK')
    for cl in clients:
        cl.close()


@S
def not_blocked_by_slow_upload(c, st):
    # A client whose upload stalls mid-stream (paused after 8 of 32 MiB)
    # while every other kind of call runs: each must finish while the upload
    # is still open.  A call that waited for the upload would never finish:
    # the reader's 30 s deadline is a liveness bound, not a speed one.
    c.create_repo('cs')
    c.put('cs', 'master', '/small', b'small')
    big = Data(24 * MiB, seed=31)
    c.modify('cs', 'master', list(add_data('/big', big)))
    slow = Pfsd(st.pfsd_addr)
    gate = Gate([set_commit('cs', 'master')], add_data('/slow', Data(32 * MiB, seed=32)), pause_after=4)
    fut = slow.client_stream('/pfs_v2.API/ModifyFile', iter(gate), empty_pb2.Empty, future=True)
    gate.paused.wait(60)
    r = Pfsd(st.pfsd_addr, timeout=30)
    calls = [
        ('GetFile small', lambda: r.get('cs', 'master', '/small')),
        ('GetFile 24 MiB', lambda: r.get('cs', 'master', '/big')),
        ('InspectFile', lambda: r.inspect_file('cs', 'master', '/big')),
        ('ListFile', lambda: r.list_file('cs', 'master', '/')),
        ('GlobFile', lambda: r.glob_file('cs', 'master', '/**')),
        ('InspectBranch', lambda: r.inspect_branch('cs', 'master')),
        ('ListCommit', lambda: r.list_commit('cs')),
        ('ListRepo', lambda: r.list_repo()),
        ('one-off put, same branch', lambda: r.put('cs', 'master', '/other', b'o')),
        ('one-off put, other repo', lambda: (r.create_repo('cs2'), r.put('cs2', 'master', '/x', b'x'))),
        ('StartCommit+FinishCommit, other branch',
         lambda: (r.start_commit('cs', 'dev'), r.finish_commit('cs', 'dev'))),
    ]
    for name, fn in calls:
        code, _ = error_of(fn)
        tap.ok(code == OK and not fut.done(), '%s during a stalled upload: OK while the upload is still open (%s)'
               % (name, code))
    gate.release()
    fut.result(60)
    tap.eq(c.inspect_file('cs', 'master', '/slow').size_bytes, 32 * MiB, 'the slow upload then lands')
    tap.eq(c.get('cs', 'master', '/other'), b'o', '... and the write made meanwhile is kept')
    r.close()
    slow.close()


@S
def parallel_readers(c, st):
    c.create_repo('cr')
    data = Data(16 * MiB, seed=33)
    c.modify('cr', 'master', list(add_data('/f', data)))
    want = (data.md5(), data.size)
    clients = [Pfsd(st.pfsd_addr) for _ in range(4)]
    res = run_threads(8, lambda i: md5_stream(clients[i % 4].get_file_stream('cr', 'master', '/f'))[:2])
    tap.ok(all(v == want for v in res.values()), '8 concurrent GetFile of 16 MiB: all complete and correct')
    for cl in clients:
        cl.close()


with pfsd_stack(tap) as st:
    c = Pfsd(st.pfsd_addr)
    S.run(c, st)
    c.close()
tap.done()
