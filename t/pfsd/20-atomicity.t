#!/usr/bin/python3
# Atomicity of ModifyFile (DESIGN.md "Writes, durability, atomicity"; pachd
# facts Q2): a stream that breaks (cancelled, deadline exceeded, connection
# closed) or that carries an invalid operation after valid ones leaves
# nothing visible: no file, no deletion, no new commit, no new branch, and an
# open commit keeps exactly what earlier streams put in it.  A stream that
# succeeds becomes visible all at once.
import os
import sys
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pfs_s3_test import tap  # noqa: E402
from pfsd_client import *  # noqa: E402,F401,F403
from pfsd_robust import *  # noqa: E402,F401,F403

S = Sections(tap)


def snapshot(c, r):
    """What must not change: commit ids, branch heads, files and bytes."""
    commits = [ci.commit.id for ci in c.list_commit(r)]
    heads = {b.branch.name: b.head.id for b in c.list_branch(r)}
    files = {}
    for b in heads:
        for fi in c.walk_file(r, b, '/'):
            if fi.file_type == pfs.FILE:
                files[(b, fi.file.path)] = c.get(r, b, fi.file.path)
    return commits, heads, files


def same(c, r, before, name):
    after = snapshot(c, r)
    good = after == before
    tap.ok(good, name)
    if not good:
        for what, x, y in zip(('commits', 'heads', 'files'), before, after):
            if x != y:
                tap.diag('%s before: %r' % (what, x if what != 'files' else sorted(x)))
                tap.diag('%s after:  %r' % (what, y if what != 'files' else sorted(y)))
    return good


def broken_stream(c, st, r, ref, head_ops, body, how):
    """Sends set_commit + head_ops + part of body, then breaks the stream
    (how: cancel | deadline | close).  Returns the call's final code."""
    cl = c if how != 'close' else Pfsd(st.pfsd_addr)
    gate = Gate([set_commit(r, ref)] + list(head_ops), body, pause_after=3)
    fut = cl.client_stream('/pfs_v2.API/ModifyFile', iter(gate), empty_pb2.Empty, future=True,
                           timeout=2.0 if how == 'deadline' else 60)
    gate.paused.wait(20)
    time.sleep(0.5)                        # let the server take in what was sent
    if how == 'cancel':
        fut.cancel()
    elif how == 'close':
        cl.close()
    else:
        time.sleep(2.0)                    # the deadline passes while paused
    gate.abort()
    try:
        fut.result(20)
        code = OK
    except grpc.FutureCancelledError:
        code = CANCELLED
    except grpc.RpcError as e:
        code = e.code()
    except Exception as e:  # noqa: BLE001
        code = type(e).__name__
    gate.finished.wait(10)
    return code


@S
def broken_one_off(c, st):
    c.create_repo('ab')
    c.put('ab', 'master', '/keep', b'keep me')
    c.put('ab', 'master', '/d/x', b'x')
    before = snapshot(c, 'ab')
    for how in ('cancel', 'deadline', 'close'):
        code = broken_stream(c, st, 'ab', 'master',
                             [delete_file('/keep'), delete_file('/d/'), add_file('/small', b's')],
                             add_data('/cut', Data(32 * MiB, seed=11)), how)
        tap.ok(code != OK, 'one-off stream broken by %s: the call failed (%s)' % (how, code))
        same(c, 'ab', before,
             '... nothing of it is visible (no file, no deletion, no commit) [%s]' % how)
    c.put('ab', 'master', '/after', b'fine')
    tap.eq(c.get('ab', 'master', '/after'), b'fine', 'the branch takes writes afterwards')
    tap.eq(c.list_commit('ab')[0].parent_commit.id, before[1]['master'],
           '... on top of the last good head')


@S
def broken_new_branch(c, st):
    c.create_repo('abn')
    c.put('abn', 'master', '/m', b'm')
    code = broken_stream(c, st, 'abn', 'fresh', [add_file('/f', b'f')],
                         add_data('/cut', Data(16 * MiB, seed=12)), 'cancel')
    tap.ok(code != OK, 'a broken stream on a missing branch fails')
    expect_error(tap, c.inspect_branch, NOT_FOUND, None,
                 '... and does not create the branch', 'abn', 'fresh')
    tap.eq([b.branch.name for b in c.list_branch('abn')], ['master'], '... ListBranch unchanged')


@S
def broken_into_open_commit(c, st):
    c.create_repo('abo')
    c.put('abo', 'master', '/base', b'base')
    com = c.start_commit('abo', 'master')
    c.modify('abo', 'master', [add_file('/a', b'A')])
    for how in ('cancel', 'close'):
        code = broken_stream(c, st, 'abo', com.id,
                             [delete_file('/a'), delete_file('/base'), add_file('/b', b'B')],
                             add_data('/cut', Data(16 * MiB, seed=13)), how)
        tap.ok(code != OK, 'stream into an open commit broken by %s: fails' % how)
    ci = c.inspect_commit('abo', com.id)
    tap.ok(not ci.HasField('finishing'), 'the open commit is still open')
    tap.eq(c.head('abo'), com.id, '... and still the head')
    c.finish_commit('abo', com.id)
    got = {fi.file.path for fi in c.walk_file('abo', 'master', '/') if fi.file_type == pfs.FILE}
    tap.eq(got, {'/base', '/a'}, 'after FinishCommit: the good stream\'s file and the base, nothing else')
    tap.eq(c.get('abo', 'master', '/a'), b'A', '... /a intact')
    tap.eq(c.get('abo', 'master', '/base'), b'base', '... /base not deleted')


# Operations that must fail, after valid ones.  (name, ops, code, message)
BAD_OPS = [
    ('glob character in add_file path', [add_file('/bad*', b'x')], UNKNOWN,
     r'path \(/bad\*\) invalid: globbing character \(\*\) not allowed in path'),
    ('".." element in add_file path', [add_file('/a/../b', b'x')], UNKNOWN,
     r'path \(/a/\.\./b\) invalid: relative file paths are not allowed'),
    ('non-printable add_file path', [add_file('/tab\there', b'x')], UNKNOWN,
     r'invalid: only printable ASCII characters allowed'),
    ('glob character in delete_file path', [delete_file('/x?')], UNKNOWN,
     r'path \(/x\?\) invalid: globbing character \(\?\) not allowed in path'),
    ('a second set_commit', [set_commit('aa', 'master')], UNKNOWN, r'cannot set commit'),
    ('copy_file from a missing repo', [copy_file('/c', 'nosuchrepo', 'master', '/x')],
     NOT_FOUND, r'not found'),
    ('copy_file from a missing branch', [copy_file('/c', 'aa', 'nosuchbranch', '/x')],
     NOT_FOUND, r'not found'),
    ('copy_file from a missing commit id',
     [copy_file('/c', 'aa', '0123456789ab4def0123456789abcdef', '/x')], NOT_FOUND, r'not found'),
    ('a message with no operation', [pfs.ModifyFileRequest()], None, None),
]


@S
def invalid_op_after_valid(c, st):
    c.create_repo('aa')
    c.put('aa', 'master', '/keep', b'keep')
    c.put('aa', 'master', '/dir/y', b'y')
    before = snapshot(c, 'aa')
    for name, bad, code, msg in BAD_OPS:
        ops = [add_file('/v1', b'valid'), delete_file('/keep'), delete_file('/dir/'),
               copy_file('/v2', 'aa', 'master', '/keep')] + bad
        if code is None:
            got, det = error_of(c.modify, 'aa', 'master', ops)
            tap.ok(got != OK, '%s after valid ops: refused (%s)' % (name, got))
        else:
            expect_error(tap, c.modify, code, msg, '%s after valid ops: refused' % name,
                         'aa', 'master', ops)
        same(c, 'aa', before, '... nothing of the stream is visible, no commit [%s]' % name)
    # Same on a missing branch: the branch is not created.
    expect_error(tap, c.modify, UNKNOWN, r'globbing character', 'invalid op on a new branch: refused',
                 'aa', 'newb', [add_file('/v', b'v'), add_file('/b[1]', b'x')])
    expect_error(tap, c.inspect_branch, NOT_FOUND, None, '... and the branch was not created',
                 'aa', 'newb')
    # A large valid upload, then an invalid op at the very end.
    ops = list(add_data('/big', Data(20 * MiB, seed=14))) + [add_file('/x/./y', b'x')]
    expect_error(tap, c.modify, UNKNOWN, r'relative file paths are not allowed',
                 '20 MiB of valid data then an invalid op: refused', 'aa', 'master', ops)
    same(c, 'aa', before, '... the 20 MiB file is not visible, no commit')


@S
def invalid_op_into_open_commit(c, st):
    c.create_repo('aao')
    com = c.start_commit('aao', 'master')
    c.modify('aao', com.id, [add_file('/good', b'G')])
    expect_error(tap, c.modify, UNKNOWN, r'globbing character',
                 'invalid op in a stream into an open commit: refused',
                 'aao', com.id, [add_file('/more', b'M'), delete_file('/good'), add_file('/no!', b'x')])
    tap.ok(not c.inspect_commit('aao', com.id).HasField('finishing'), 'the commit stays open')
    c.finish_commit('aao', com.id)
    got = {fi.file.path for fi in c.walk_file('aao', 'master', '/') if fi.file_type == pfs.FILE}
    tap.eq(got, {'/good'}, 'after FinishCommit only the good stream\'s file is there')
    tap.eq(c.get('aao', 'master', '/good'), b'G', '... intact')


@S
def stream_rules(c, st):
    c.create_repo('asr')
    c.put('asr', 'master', '/k', b'k')
    before = snapshot(c, 'asr')
    expect_error(tap, c.modify_file, UNKNOWN, r'first message must be a commit',
                 'first message not set_commit: UNKNOWN `first message must be a commit`',
                 [add_file('/x', b'x'), set_commit('asr', 'master')])
    code, _ = error_of(c.modify_file, [])
    tap.ok(code != OK, 'an empty ModifyFile stream: an error (pachd: UNKNOWN EOF)')
    same(c, 'asr', before, 'neither made a commit or a file')


@S
def all_at_once(c, st):
    # A reader polling during a slow 40-file stream sees none or all of them.
    c.create_repo('aw')
    c.put('aw', 'master', '/seed', b'0')
    ops = [add_file('/batch/f%02d' % i, b'%d' % i) for i in range(40)]
    gate = Gate([set_commit('aw', 'master')], ops, delay=0.025)
    fut = c.client_stream('/pfs_v2.API/ModifyFile', iter(gate), empty_pb2.Empty, future=True)
    seen = set()
    r = Pfsd(st.pfsd_addr)
    while not fut.done():
        n = len([1 for fi in r.glob_file('aw', 'master', '/batch/*')])
        seen.add(n)
        time.sleep(0.01)
    fut.result()
    seen.add(len(r.glob_file('aw', 'master', '/batch/*')))
    r.close()
    tap.ok(seen <= {0, 40} and 40 in seen,
           'a reader saw 0 or 40 files of a 40-file stream, never a part (saw %s)' % sorted(seen))


with pfsd_stack(tap) as st:
    c = Pfsd(st.pfsd_addr)
    S.run(c, st)
    c.close()
tap.done()
