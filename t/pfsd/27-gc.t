#!/usr/bin/python3
# Garbage collection (DESIGN.md "Writes, durability, atomicity": "Chunks
# written by failed streams are unreferenced and reclaimed by pack
# compaction"; pfsd --gc-interval SECS, --pack-size BYTES).  Run with a 1 s
# interval and 8 MiB packs so passes happen during the test.
# - Safety first: after GC passes (and a kill -9 while they run) every file
#   of every commit still reads back exactly -- copies, deduplicated
#   content shared with a deleted repo, old versions of deleted files.
# - Reclaiming: the space taken by failed (cancelled) uploads is given back.
#   Space of a deleted repo is not promised by the design: a TODO.
import os
import shutil
import signal
import sys
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pfs_s3_test import tap  # noqa: E402
from pfsd_client import *  # noqa: E402,F401,F403
from pfsd_robust import *  # noqa: E402,F401,F403

S = Sections(tap)
TMP = tempfile.mkdtemp(prefix='pfsd-gc-')
DATA_DIR = os.path.join(TMP, 'data')
ARGS = ['--data', DATA_DIR, '--gc-interval', '1', '--pack-size', str(8 * MiB)]
state = {}


def start():
    port = state.get('port') or free_port()
    state['port'] = port
    addr = '127.0.0.1:%d' % port
    p = PfsdProc(['--listen', addr] + ARGS, log_path=os.path.join(TMP, 'pfsd-%d.log' % time.time())).start()
    if not wait_serving(addr):
        p.stop()
        raise RuntimeError('pfsd did not start: ' + p.output()[-800:])
    state['p'] = p
    state['addr'] = addr
    return Pfsd(addr)


def usage():
    os.sync()
    return du_bytes(DATA_DIR)


def cancelled_upload(c, r, path, data):
    gate = Gate([set_commit(r, 'master')], add_data(path, data), pause_after=data.size // (2 * MiB) - 1)
    fut = c.client_stream('/pfs_v2.API/ModifyFile', iter(gate), empty_pb2.Empty, future=True)
    gate.paused.wait(60)
    time.sleep(0.5)
    fut.cancel()
    gate.abort()
    gate.finished.wait(10)


def every_version(c, r):
    """{(commit id, path): md5} over every commit of the repo."""
    out = {}
    for ci in c.list_commit(r):
        for fi in c.walk_file(r, ci.commit.id, '/'):
            if fi.file_type == pfs.FILE:
                m, n, _ = md5_stream(c.get_file_stream(r, ci.commit.id, fi.file.path))
                out[(ci.commit.id, fi.file.path)] = (m, n)
    return out


@S
def gc(c):
    c = start()
    shared = Data(12 * MiB, seed=71)
    c.create_repo('live')
    c.create_repo('doomed')
    c.modify('live', 'master', list(add_data('/shared', shared)))
    c.modify('doomed', 'master', list(add_data('/same', shared)) +
             list(add_data('/only-doomed', Data(24 * MiB, seed=72))))
    c.modify('live', 'master', [copy_file('/copy', 'live', 'master', '/shared'),
                                add_file('/small', b'small')])
    c.modify('live', 'master', list(add_data('/old', Data(6 * MiB, seed=73))))
    c.modify('live', 'master', [delete_file('/old'), add_file('/small', b'+more')])
    c.modify('live', 'master', [copy_file('/copy', 'live', 'master', '/shared', append=True)])
    want = every_version(c, 'live')
    tap.ok(len(want) >= 8, 'set-up: %d file versions over the live repo\'s commits' % len(want))

    u0 = usage()
    for i in range(3):
        cancelled_upload(c, 'live', '/never-%d' % i, Data(16 * MiB, seed=80 + i))
    u1 = usage()
    tap.diag('data dir: %.1f MiB before, %.1f MiB after 48 MiB of cancelled uploads'
             % (u0 / MiB, u1 / MiB))
    c.delete_repo('doomed')

    # Let passes run, then check the live data.
    reclaimed = wait_until(lambda: usage() < u1 - 24 * MiB, timeout=20, every=0.5)
    u2 = usage()
    tap.ok(reclaimed, 'space of cancelled uploads is reclaimed by GC: %.1f -> %.1f MiB (at least 24 of 48 back)'
           % (u1 / MiB, u2 / MiB))
    todo(tap, u2 < u1 - 48 * MiB, 'the deleted repo\'s own 24 MiB is reclaimed too (%.1f MiB now)' % (u2 / MiB),
         'reclaiming deleted repos is not stated by the design')
    tap.eq(every_version(c, 'live'), want, 'after GC passes every version of every file reads back exactly')

    # kill -9 while GC has work, restart, check again.
    for i in range(2):
        cancelled_upload(c, 'live', '/again-%d' % i, Data(16 * MiB, seed=90 + i))
    time.sleep(1.2)                         # a pass is probably running now
    c.close()
    state['p'].signal(signal.SIGKILL)
    state['p'].wait(10)
    state['p'].stop()
    c = start()
    tap.eq(every_version(c, 'live'), want, 'after kill -9 during GC and a restart: every version intact')
    time.sleep(3)
    tap.eq(every_version(c, 'live'), want, '... and after further GC passes')
    c.put('live', 'master', '/post', b'post')
    tap.eq(c.get('live', 'master', '/post'), b'post', 'the store takes writes')
    c.close()
    state['p'].signal(signal.SIGTERM)
    tap.eq(state['p'].wait(10), 0, 'pfsd stops cleanly')


try:
    S.run(None)
finally:
    if 'p' in state:
        state['p'].stop()
    shutil.rmtree(TMP, ignore_errors=True)
tap.done()
