#!/usr/bin/python3
# Garbage collection (docs/DESIGN.md "Garbage collection"; pfsd
# --gc-interval SECS, --pack-size BYTES).  pfsd runs with a 1 s interval and
# 8 MiB packs so passes happen during the test; space is measured on the
# pack directory (du), where file bytes live.
# - Reclaiming: the space of cancelled uploads, of a deleted repo (with the
#   overwritten versions in its history) and of a force-deleted project is
#   given back.  A deleted branch gives nothing back: its commits stay
#   readable by id, as in pachd.
# - Safety: after every pass, every version of every file of every commit
#   that still exists reads back byte for byte (copies, appends, content
#   deduplicated with a deleted repo, old versions of deleted files), also
#   while writers keep storing the very bytes GC is deleting, for an open
#   commit and an upload paused through passes, and after
#   kill -9 at random moments of passes; the crash leftovers are reclaimed
#   after the restart.
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pfs_s3_test import tap  # noqa: E402
from pfsd_client import *  # noqa: E402,F401,F403
from pfsd_robust import *  # noqa: E402,F401,F403

S = Sections(tap)
TMP = tempfile.mkdtemp(prefix='pfsd-gc-')
DATA_DIR = os.path.join(TMP, 'data')
PACK = 8 * MiB
ARGS = ['--data', DATA_DIR, '--gc-interval', '1', '--pack-size', str(PACK)]
state = {'logs': []}


def start():
    port = state.get('port') or free_port()
    state['port'] = port
    addr = '127.0.0.1:%d' % port
    log = os.path.join(TMP, 'pfsd-%d.log' % len(state['logs']))
    state['logs'].append(log)
    p = PfsdProc(['--listen', addr] + ARGS, log_path=log).start()
    if not wait_serving(addr):
        p.stop()
        raise RuntimeError('pfsd did not start: ' + p.output()[-800:])
    state['p'] = p
    return Pfsd(addr)


def kill9(c):
    c.close()
    state['p'].signal(signal.SIGKILL)
    state['p'].wait(10)
    state['p'].stop()


def packs():
    os.sync()
    return du_bytes(os.path.join(DATA_DIR, 'packs'))


def reclaimed_in_logs():
    """Bytes GC reported reclaimed, summed over every run's log."""
    total = 0
    for log in state['logs']:
        with open(log, errors='replace') as f:
            total += sum(int(n) for n in re.findall(r'gc: .* (\d+) bytes reclaimed', f.read()))
    return total


def pack_sizes():
    d = os.path.join(DATA_DIR, 'packs')
    out = {}
    for name in os.listdir(d):
        try:
            out[name] = os.stat(os.path.join(d, name)).st_size
        except FileNotFoundError:
            pass
    return out


def cancelled_upload(c, r, path, data):
    """A ModifyFile that sends 14 of 16 MiB, waits until pfsd has written
    at least 12 MiB of them to packs (growth only: GC may be removing other
    packs meanwhile), then is cancelled: garbage for GC."""
    before = pack_sizes()

    def grown():
        return sum(max(0, n - before.get(k, 0)) for k, n in pack_sizes().items())
    gate = Gate([set_commit(r, 'master')], add_data(path, data), pause_after=data.size // (2 * MiB) - 1)
    fut = c.client_stream('/pfs_v2.API/ModifyFile', iter(gate), empty_pb2.Empty, future=True)
    gate.paused.wait(60)
    wait_until(lambda: grown() >= 12 * MiB, timeout=60, every=0.1)
    fut.cancel()
    gate.abort()
    gate.finished.wait(10)


def cancelled_calls():
    """Bytes pfsd received in each ModifyFile call logged as CANCELLED."""
    out = []
    for log in state['logs']:
        with open(log, errors='replace') as f:
            out += [int(n) for n in re.findall(r'ModifyFile .*status=CANCELLED .* in=(\d+)', f.read())]
    return out


def every_version(c, r, proj='default'):
    """{(commit id, path): (md5, size)} over every commit of the repo."""
    out = {}
    for ci in c.list_commit(r, proj=proj):
        for fi in c.walk_file(r, ci.commit.id, '/', proj=proj):
            if fi.file_type == pfs.FILE:
                m, n, _ = md5_stream(c.get_file_stream(r, ci.commit.id, fi.file.path, proj=proj))
                out[(ci.commit.id, fi.file.path)] = (m, n)
    return out


def wait_below(limit):
    return wait_until(lambda: packs() <= limit, timeout=90, every=0.5)


@S
def cancelled_uploads(c):
    c = state['c'] = start()
    shared = Data(12 * MiB, seed=71)
    c.create_repo('live')
    c.create_repo('doomed')
    c.modify('live', 'master', list(add_data('/shared', shared)))
    c.modify('doomed', 'master', list(add_data('/same', shared)) +
             list(add_data('/only-doomed', Data(16 * MiB, seed=72))))
    # Overwritten content in the doomed repo's history.
    c.modify('doomed', 'master', [delete_file('/only-doomed')] +
             list(add_data('/only-doomed', Data(16 * MiB, seed=74))))
    c.modify('live', 'master', [copy_file('/copy', 'live', 'master', '/shared'),
                                add_file('/small', b'small')])
    c.modify('live', 'master', list(add_data('/old', Data(6 * MiB, seed=73))))
    c.modify('live', 'master', [delete_file('/old'), add_file('/small', b'+more')])
    c.modify('live', 'master', [copy_file('/copy', 'live', 'master', '/shared', append=True)])
    state['want'] = every_version(c, 'live')
    tap.ok(len(state['want']) >= 8, 'set-up: %d file versions over the live repo\'s commits' % len(state['want']))

    p0 = packs()
    for i in range(3):
        cancelled_upload(c, 'live', '/never-%d' % i, Data(16 * MiB, seed=80 + i))
    wait_until(lambda: len(cancelled_calls()) >= 3, timeout=30)    # logged when pfsd has let go
    got = sum(cancelled_calls())
    tap.ok(got >= 36 * MiB, 'set-up: pfsd took %.1f MiB in 3 cancelled uploads (%.1f MiB in packs before them)'
           % (got / MiB, p0 / MiB))
    tap.ok(wait_below(p0 + PACK), 'GC gives back the cancelled uploads\' space, up to one pack: %.1f MiB now, %.1f before them'
           % (packs() / MiB, p0 / MiB))
    tap.eq(every_version(c, 'live'), state['want'], 'after GC passes every version of every file reads back exactly')
    try:
        c.inspect_file('live', 'master', '/never-0')
        tap.ok(False, 'a cancelled upload is not visible')
    except grpc.RpcError as e:
        tap.eq(e.code(), grpc.StatusCode.NOT_FOUND, 'a cancelled upload is not visible')


@S
def deleted_repo(c):
    c = state['c']
    p2 = packs()
    c.delete_repo('doomed')
    tap.ok(wait_below(p2 - 32 * MiB + PACK),
           'a deleted repo\'s own 32 MiB (two versions of a file) are given back, up to one pack: %.1f -> %.1f MiB'
           % (p2 / MiB, packs() / MiB))
    got = every_version(c, 'live')
    tap.eq(got, state['want'], '... while the content it shared with a live repo reads back exactly')


@S
def deleted_branch_and_project(c):
    c = state['c']
    c.create_branch('live', 'side', head='master')
    c.put('live', 'side', '/side-only', Data(4 * MiB, seed=60).bytes())
    side = c.head('live', 'side')
    side_md5 = md5(Data(4 * MiB, seed=60).bytes())
    c.delete_branch('live', 'side')

    c.create_project('gone')
    c.create_repo('r', proj='gone')
    c.modify('r', 'master', list(add_data('/big', Data(24 * MiB, seed=61))), proj='gone')
    p3 = packs()
    c.delete_project('gone', force=True)
    tap.ok(wait_below(p3 - 24 * MiB + PACK),
           'a force-deleted project\'s 24 MiB are given back, up to one pack: %.1f -> %.1f MiB' % (p3 / MiB, packs() / MiB))
    got = md5(c.get('live', side, '/side-only'))
    tap.eq(got, side_md5, 'the commit of a deleted branch still reads back by id after those passes')
    got = every_version(c, 'live')
    tap.ok(all(got.get(k) == v for k, v in state['want'].items()), 'every earlier version still reads back exactly')


@S
def concurrent_dedup(c):
    """Writers keep storing bytes that GC is busy deleting (the same bytes
    in a repo that is deleted over and over): a write that deduplicated
    against a chunk must never lose it, and readers see whole files."""
    c = state['c']
    addr = '127.0.0.1:%d' % state['port']
    x = Data(3 * MiB, seed=50).bytes()
    want = md5(x)
    copy = md5_stream(c.get_file_stream('live', 'master', '/copy'))[:2]
    c.create_repo('race')
    errors = []
    stop = threading.Event()
    done = []

    def looping(name, step):
        """A thread running step(client) until stop, errors collected."""
        def run():
            cc = Pfsd(addr)
            try:
                while not stop.is_set():
                    step(cc)
            except Exception as e:  # noqa: BLE001
                errors.append('%s: %r' % (name, e))
            finally:
                cc.close()
        return threading.Thread(target=run)

    def churn(cc):
        cc.create_repo('tmp')
        cc.put('tmp', 'master', '/x', x)
        cc.delete_repo('tmp')

    def writer(cc):
        path = '/race/%03d' % len(done)
        cc.put('race', 'master', path, x)
        done.append(path)

    def reader(cc):
        got = md5_stream(cc.get_file_stream('live', 'master', '/copy'))[:2]
        if got != copy:
            errors.append('reader: /copy came back as %r, not %r' % (got, copy))

    threads = [looping(f.__name__, f) for f in (churn, writer, reader)]
    for t in threads:
        t.start()
    time.sleep(8)
    stop.set()
    for t in threads:
        t.join(120)
    tap.eq(errors, [], 'writers, a repo deleted over and over and a reader ran beside GC passes without an error')
    bad = [p for p in done if md5(c.get('race', 'master', p)) != want]
    tap.ok(len(done) >= 3 and not bad,
           'every one of %d files written by deduplicating against doomed chunks reads back exactly' % len(done))
    if bad:
        tap.diag('bad: %r' % bad[:10])


@S
def unfinished_work(c):
    """An open commit (with a version replaced inside it, which is garbage
    at once) and an upload paused mid-stream keep everything they refer to
    through passes that reclaim other space; both then land whole."""
    c = state['c']
    oid = c.start_commit('live', 'open').id
    first, second, paused = Data(4 * MiB, seed=40), Data(4 * MiB, seed=41), Data(12 * MiB, seed=42)
    c.modify('live', oid, list(add_data('/in-open', first)))
    c.modify('live', oid, [delete_file('/in-open')] + list(add_data('/in-open', second)))
    gate = Gate([set_commit('live', 'paused')], add_data('/paused', paused), pause_after=3)
    fut = c.client_stream('/pfs_v2.API/ModifyFile', iter(gate), empty_pb2.Empty, future=True, timeout=300)
    gate.paused.wait(60)
    c.create_repo('filler')
    c.modify('filler', 'master', list(add_data('/f', Data(16 * MiB, seed=43))))
    p = packs()
    c.delete_repo('filler')
    tap.ok(wait_below(p - 16 * MiB + PACK), 'passes ran meanwhile: a deleted repo\'s 16 MiB came back (%.1f -> %.1f MiB)'
           % (p / MiB, packs() / MiB))
    gate.release()
    code, _ = error_of(fut.result)
    tap.eq(code, OK, 'the upload paused through those passes completes')
    c.finish_commit('live', oid)
    got = md5_stream(c.get_file_stream('live', oid, '/in-open'))[:2]
    tap.eq(got, (second.md5(), second.size), 'the open commit, finished after the passes, holds its file exactly')
    got = md5_stream(c.get_file_stream('live', 'paused', '/paused'))[:2]
    tap.eq(got, (paused.md5(), paused.size), 'the paused upload\'s file reads back exactly')


@S
def kill_during_gc(c):
    c = state['c']
    base = packs()
    rng = random.Random(7)
    for round in range(3):
        c.create_repo('junk')
        c.modify('junk', 'master', list(add_data('/j', Data(12 * MiB, seed=100 + round))))
        c.modify('live', 'master', [add_file('/k/%d' % round, b'k')])
        want = every_version(c, 'live')
        c.delete_repo('junk')
        cancelled_upload(c, 'live', '/again-%d' % round, Data(16 * MiB, seed=90 + round))
        time.sleep(0 if round == 0 else rng.uniform(0.2, 1.5))    # before or inside a pass
        kill9(c)
        c = state['c'] = start()
        tap.eq(every_version(c, 'live'), want, 'kill -9 during GC (round %d), restart: every version intact' % round)
    left = packs()
    tap.ok(wait_below(base + PACK), 'what the killed passes left behind is reclaimed after the restart, up to one pack: '
           '%.1f -> %.1f MiB (%.1f before the rounds)' % (left / MiB, packs() / MiB, base / MiB))
    tap.eq(every_version(c, 'live'), want, '... and every version still reads back exactly')
    c.put('live', 'master', '/post', b'post')
    tap.eq(c.get('live', 'master', '/post'), b'post', 'the store takes writes')
    tap.diag('GC reported %.1f MiB reclaimed in all' % (reclaimed_in_logs() / MiB))
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
