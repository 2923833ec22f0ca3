#!/usr/bin/python3
# Read connections remember resolved commits (pfsd/catmemo.h) only for
# snapshots of the same data version: whatever changed the database since,
# every read connection sees it.  Reads go out many at a time so that each
# of pfsd's read connections answers, and remembers, before every change.
import os
import sys
from concurrent.futures import ThreadPoolExecutor
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pfs_s3_test import tap  # noqa: E402
from pfsd_client import *  # noqa: E402,F401,F403

S = Sections(tap)
READERS = 16


def all_agree(pool, fn, want, name):
    """READERS concurrent calls of fn all give want."""
    got = list(pool.map(lambda _: fn(), range(READERS)))
    bad = [g for g in got if g != want]
    return tap.ok(not bad, name) or tap.diag('want %r, got %r' % (want, bad[:3]))


def result_of(fn, *a):
    try:
        return fn(*a)
    except grpc.RpcError as e:
        return e.code()


@S
def branch_moves(c, st, pool):
    c.create_repo('m1')
    ok = True
    for i in range(30):
        c.put('m1', 'master', '/f', b'v%d' % i)
        head = c.head('m1')
        ok = all_agree(pool, lambda: (c.inspect_branch('m1', 'master').head.id,
                                      c.get('m1', 'master', '/f')),
                       (head, b'v%d' % i),
                       'after write %d: every reader sees the new head and '
                       'its bytes' % i) and ok
        if not ok:
            break
    tap.ok(ok, '30 writes, each seen at once by %d concurrent readers' % READERS)


@S
def commit_finishes(c, st, pool):
    """A commit that changes in place (FinishCommit) without moving the
    branch is read anew."""
    c.create_repo('m2')
    h = c.start_commit('m2', 'master').id
    all_agree(pool, lambda: (c.inspect_commit('m2', 'master').commit.id,
                             c.inspect_commit('m2', 'master').HasField('finished')),
              (h, False), 'an open commit: every reader sees it unfinished')
    c.finish_commit('m2', h)
    all_agree(pool, lambda: (c.inspect_commit('m2', 'master').commit.id,
                             c.inspect_commit('m2', 'master').HasField('finished')),
              (h, True), 'once finished: every reader sees it finished')


@S
def repo_recreated(c, st, pool):
    c.create_repo('m3')
    c.put('m3', 'master', '/f', b'old')
    all_agree(pool, lambda: c.get('m3', 'master', '/f'), b'old',
              'every reader has read the first repo')
    c.delete_repo('m3', force=True)
    all_agree(pool, lambda: result_of(c.get, 'm3', 'master', '/f'), NOT_FOUND,
              'deleted: every reader answers NOT_FOUND')
    c.create_repo('m3')
    c.put('m3', 'master', '/f', b'new')
    all_agree(pool, lambda: c.get('m3', 'master', '/f'), b'new',
              're-created: every reader reads the new repo')


@S
def branch_repointed(c, st, pool):
    c.create_repo('m4')
    c.put('m4', 'master', '/f', b'one')
    first = c.head('m4')
    c.put('m4', 'master', '/f', b'two')
    all_agree(pool, lambda: c.get('m4', 'master', '/f'), b'two',
              'every reader reads the head')
    c.create_branch('m4', 'master', head=first)
    all_agree(pool, lambda: c.get('m4', 'master', '/f'), b'one',
              'CreateBranch moved the head back: every reader follows')


with pfsd_stack(tap) as st:
    c = Pfsd(st.pfsd_addr)
    with ThreadPoolExecutor(READERS) as pool:
        S.run(c, st, pool)
    c.close()
tap.done()
