#!/usr/bin/python3
# Durability (DESIGN.md "Writes, durability, atomicity": "A reply of OK means
# the data and metadata are on disk.  kill -9 at any point leaves SQLite
# consistent"): what an OK reply acknowledged survives `kill -9` + restart
# byte for byte; an upload cut by `kill -9` leaves no partial file, no open
# commit, no new branch, and the store takes writes (of the very same content
# too, whose chunks the dead stream may have half written) afterwards.
import os
import random
import sys
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pfs_s3_test import tap  # noqa: E402
from pfsd_client import *  # noqa: E402,F401,F403
from pfsd_robust import *  # noqa: E402,F401,F403

S = Sections(tap)
state = {}


def crash(st):
    """kill -9 pfsd, start it again on the same address and data; returns a
    fresh client."""
    st.pfsd('kill')
    if 'c' in state:                       # after the kill: closing first would
        state['c'].close()                 # cancel uploads before pfsd dies
    st.pfsd('start')
    if not wait_serving(st.pfsd_addr):
        raise RuntimeError('pfsd did not come back after kill -9')
    state['c'] = Pfsd(st.pfsd_addr)
    return state['c']


def files_md5(c, r, ref):
    out = {}
    for fi in c.walk_file(r, ref, '/'):
        if fi.file_type == pfs.FILE:
            out[fi.file.path] = (fi.size_bytes, md5(c.get(r, ref, fi.file.path)), fi.hash)
    return out


@S
def acknowledged_survives(c, st):
    c = state['c']
    c.create_project('dp')
    c.create_repo('dr', proj='dp', description='durable')
    c.create_branch('dr', 'dev', proj='dp')
    c.create_repo('d1')
    big = Data(5 * MiB + 123, seed=21)
    c.put('d1', 'master', '/empty', b'')
    c.put('d1', 'master', '/small', b'small bytes')
    c.modify('d1', 'master', [delete_file('/big')] + list(add_data('/big', big)))
    c.modify('d1', 'master', [copy_file('/copy', 'd1', 'master', '/big'),
                              add_file('/dir/a', b'a'), add_file('/dir/b', b'b')])
    c.modify('d1', 'master', [delete_file('/dir/b'), add_file('/small', b'+more')])
    c.create_branch('d1', 'gone', head='master')
    c.delete_branch('d1', 'gone')
    before = {
        'files': files_md5(c, 'd1', 'master'),
        'commits': [(ci.commit.id, ci.parent_commit.id) for ci in c.list_commit('d1')],
        'branches': [(b.branch.name, b.head.id) for b in c.list_branch('d1')],
        'old': files_md5(c, 'd1', c.list_commit('d1')[2].commit.id),
    }
    c = crash(st)                          # at once after the last OK
    tap.eq(c.inspect_repo('dr', proj='dp').description, 'durable',
           'after kill -9: project and repo are there')
    tap.eq(c.inspect_branch('dr', 'dev', proj='dp').branch.name, 'dev', '... and the branch')
    after = files_md5(c, 'd1', 'master')
    tap.eq(sorted(after), ['/big', '/copy', '/dir/a', '/empty', '/small'],
           'after kill -9: exactly the acknowledged files')
    tap.eq(after, before['files'], '... each with its size, bytes (md5) and FileInfo.hash')
    tap.eq(c.get('d1', 'master', '/small'), b'small bytes+more', '... the appended file whole')
    tap.eq([(ci.commit.id, ci.parent_commit.id) for ci in c.list_commit('d1')], before['commits'],
           '... the same commits with the same parents')
    tap.eq([(b.branch.name, b.head.id) for b in c.list_branch('d1')], before['branches'],
           '... the same branches and heads (the deleted one stays deleted)')
    tap.eq(files_md5(c, 'd1', before['commits'][2][0]), before['old'],
           '... an older commit reads as before')


@S
def open_commit_survives(c, st):
    c = state['c']
    c.create_repo('doc')
    c.put('doc', 'master', '/base', b'base')
    com = c.start_commit('doc', 'master')
    c.modify('doc', com.id, [add_file('/staged', b'staged bytes'), delete_file('/base')])
    c = crash(st)
    ci = c.inspect_commit('doc', com.id)
    tap.ok(not ci.HasField('finishing'), 'after kill -9 an open commit is still open')
    tap.eq(c.head('doc'), com.id, '... and still the head')
    c.finish_commit('doc', com.id)
    tap.eq(c.get('doc', 'master', '/staged'), b'staged bytes',
           '... finishing it shows what an acknowledged stream put in it before the crash')
    expect_error(tap, c.get, NOT_FOUND, None, '... with its deletion', 'doc', 'master', '/base')


def cut_upload(c, st, r, ref, path, data, head_ops=()):
    """Starts uploading data, kills pfsd -9 after ~20 MiB went out, restarts.
    Returns the new client."""
    gate = Gate([set_commit(r, ref)] + list(head_ops) + [delete_file(path)],
                add_data(path, data), pause_after=10)
    fut = c.client_stream('/pfs_v2.API/ModifyFile', iter(gate), empty_pb2.Empty, future=True)
    gate.paused.wait(30)
    time.sleep(0.5)
    c2 = crash(st)
    gate.abort()
    try:
        fut.result(20)
        code = OK
    except Exception as e:  # noqa: BLE001
        code = e.code() if isinstance(e, grpc.RpcError) else type(e).__name__
    tap.ok(code != OK, 'the upload cut by kill -9 did not report success (%s)' % code)
    return c2


@S
def killed_mid_upload(c, st):
    c = state['c']
    c.create_repo('dk')
    c.put('dk', 'master', '/keep', b'keep')
    commits = [ci.commit.id for ci in c.list_commit('dk')]
    head = c.head('dk')
    data = Data(64 * MiB, seed=22)
    c = cut_upload(c, st, 'dk', 'master', '/partial', data, [delete_file('/keep')])
    expect_error(tap, c.inspect_file, NOT_FOUND, None, 'after restart: no partial file', 'dk', 'master',
                 '/partial')
    tap.eq(c.get('dk', 'master', '/keep'), b'keep', '... the stream\'s deletion did not happen')
    tap.eq([ci.commit.id for ci in c.list_commit('dk')], commits, '... no new commit')
    tap.eq(c.head('dk'), head, '... the head is the last good commit')
    tap.ok(c.inspect_commit('dk', 'master').HasField('finished'), '... which is finished (no open commit)')
    # The same content again: chunks the dead stream wrote (maybe halfway)
    # must not be taken for stored ones.
    c.modify('dk', 'master', list(add_data('/partial', data)))
    got_md5, size, _ = md5_stream(c.get_file_stream('dk', 'master', '/partial'))
    tap.eq((size, got_md5), (data.size, data.md5()),
           'uploading the same 64 MiB again afterwards stores it whole and correct')
    c.put('dk', 'master', '/new', b'new')
    tap.eq(c.get('dk', 'master', '/new'), b'new', 'the store takes writes after the crash')

    # Cut while uploading to a branch that does not exist yet.
    c = cut_upload(c, st, 'dk', 'newbranch', '/p', Data(48 * MiB, seed=23))
    expect_error(tap, c.inspect_branch, NOT_FOUND, None,
                 'an upload to a new branch cut by kill -9 does not create the branch', 'dk', 'newbranch')


@S
def killed_mid_upload_into_open_commit(c, st):
    c = state['c']
    c.create_repo('dko')
    com = c.start_commit('dko', 'master')
    c.modify('dko', 'master', [add_file('/good', b'good')])
    c = cut_upload(c, st, 'dko', com.id, '/cut', Data(48 * MiB, seed=24), [delete_file('/good')])
    tap.ok(not c.inspect_commit('dko', com.id).HasField('finishing'),
           'after the crash the open commit is still open')
    c.finish_commit('dko', com.id)
    got = {fi.file.path for fi in c.walk_file('dko', 'master', '/') if fi.file_type == pfs.FILE}
    tap.eq(got, {'/good'}, '... and holds only what the acknowledged stream wrote')


@S
def random_kills(c, st):
    # A writer puts files as fast as it can; pfsd is killed -9 at a random
    # moment.  Every put that returned OK must be there, exactly; a put in
    # flight may or may not have landed, but never partly.
    c = state['c']
    c.create_repo('dz')
    rnd = random.Random(7)
    acked = {}
    maybe = {}
    for rnd_no in range(3):
        stop = threading.Event()
        w = Pfsd(st.pfsd_addr, timeout=10)

        def writer():
            i = 0
            while not stop.is_set():
                path = '/r%d/f%04d' % (rnd_no, i)
                body = os.urandom(rnd.choice([0, 1, 1000, 70000, 1100000]))
                maybe[path] = body
                try:
                    w.modify('dz', 'master', [delete_file(path), add_file(path, body)])
                    acked[path] = body
                except Exception:  # noqa: BLE001
                    return
                i += 1
        th = threading.Thread(target=writer)
        th.start()
        time.sleep(0.3 + rnd.random())
        c = crash(st)
        stop.set()
        th.join(30)
        w.close()
    present = {fi.file.path: fi.size_bytes for fi in c.walk_file('dz', 'master', '/')
               if fi.file_type == pfs.FILE}
    missing = [p for p in acked if p not in present]
    tap.ok(acked and not missing, '%d acknowledged puts over 3 crashes: all present' % len(acked))
    if missing:
        tap.diag('missing: %r' % missing[:10])
    bad = [p for p in present if c.get('dz', 'master', p) != maybe.get(p)]
    tap.ok(not bad, 'every present file has exactly the bytes that were sent (none partial)')
    if bad:
        tap.diag('wrong bytes: %r' % bad[:10])
    tap.ok(c.inspect_commit('dz', 'master').HasField('finished'), 'no commit left open')


with pfsd_stack(tap) as st:
    state['c'] = Pfsd(st.pfsd_addr)
    S.run(None, st)
    state['c'].close()
tap.done()
