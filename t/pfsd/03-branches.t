#!/usr/bin/python3
# Branches: CreateBranch / InspectBranch / ListBranch / DeleteBranch (pachd
# facts §5, §6).
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pfs_s3_test import tap  # noqa: E402
from pfsd_client import *  # noqa: E402,F401,F403

S = Sections(tap)
NAME_RULE = (r'name \(%s\) invalid: only alphanumeric characters, '
             r'underscores, and dashes are allowed')
UUID4 = r'^[0-9a-f]{12}4[0-9a-f]{19}$'


@S
def create_inspect(c, st):
    c.create_repo('b1')
    c.create_branch('b1', 'master')
    bi = c.inspect_branch('b1', 'master')
    tap.eq(bi.branch.name, 'master', 'InspectBranch: branch.name')
    tap.eq(bi.branch.repo.name, 'b1', 'InspectBranch: branch.repo.name')
    tap.eq(bi.branch.repo.project.name, 'default', 'InspectBranch: branch.repo.project')
    # pachd: a branch created without a head gets a new empty commit that is
    # already finished, without parent.
    tap.ok(re.match(UUID4, bi.head.id), 'a new branch has a head commit (UUIDv4 id, 32 hex)')
    ci = c.inspect_commit('b1', bi.head.id)
    tap.ok(ci.HasField('finished'), 'that head commit is finished')
    tap.ok(not ci.HasField('parent_commit') or ci.parent_commit.id == '',
           'that head commit has no parent')
    tap.eq(bi.head.repo.name, 'b1', 'BranchInfo.head.repo')

    # pachd: CreateBranch of an existing branch without head is an upsert
    # that changes nothing and is not an error (the reference's
    # "branch exists" row is never produced by CreateBranch).
    h = c.start_commit('b1', 'master').id
    c.finish_commit('b1', h)
    code, det = error_of(c.create_branch, 'b1', 'master')
    tap.eq((code, det if code != OK else ''), (OK, ''),
           'CreateBranch of an existing branch (no head): OK')
    tap.eq(c.head('b1'), h, '... and the head did not move')

    expect_error(tap, c.inspect_branch, NOT_FOUND,
                 r'branch "nob" not found in repo default/b1',
                 'InspectBranch missing: NOT_FOUND `branch "nob" not found in repo default/b1`',
                 'b1', 'nob')
    expect_error(tap, c.inspect_branch, NOT_FOUND, r'not found',
                 'InspectBranch in a missing repo: NOT_FOUND', 'nosuchrepo', 'master')
    expect_error(tap, c.create_branch, NOT_FOUND, r'repo default/nosuchrepo not found',
                 'CreateBranch in a missing repo: NOT_FOUND `repo default/nosuchrepo not found`',
                 'nosuchrepo', 'master')
    tap.eq(c.list_file('b1', bi.head.id, '/'), [], 'the empty head commit of a new branch holds no file')


@S
def names(c, st):
    c.create_repo('bn')
    for good in ['a', 'feature_1-x', 'V2']:
        code, det = error_of(c.create_branch, 'bn', good)
        tap.eq((code, det if code != OK else ''), (OK, ''), 'branch name %r accepted' % good)
    for bad in ['has space', 'dot.name', 'sl/ash', 'x@y', 'q^']:
        expect_error(tap, c.create_branch, UNKNOWN, NAME_RULE % re.escape(bad),
                     'branch name %r refused with the name rule text' % bad, 'bn', bad)
    uuid_name = 'abcdef0123454bcdef0123456789abcd'
    assert re.match(UUID4, uuid_name)
    expect_error(tap, c.create_branch, UNKNOWN, r'branch name cannot be a UUID V4',
                 'a branch named like a commit id (UUIDv4) is refused', 'bn', uuid_name)
    tap.eq(sorted(b.branch.name for b in c.list_branch('bn')),
           ['V2', 'a', 'feature_1-x'], 'only the valid branches exist')


@S
def heads(c, st):
    c.create_repo('bh')
    c.put('bh', 'master', '/v', b'one')
    first = c.head('bh')
    c.put('bh', 'master', '/v', b'two')
    second = c.head('bh')
    tap.ok(first != second, 'each one-off commit moves the head')

    c.create_branch('bh', 'old', head=first)
    tap.eq(c.head('bh', 'old'), first, 'CreateBranch with head = a commit id')
    tap.eq(c.get('bh', 'old', '/v'), b'one', 'the new branch reads the old content')
    c.create_branch('bh', 'copy', head='master')
    tap.eq(c.head('bh', 'copy'), second, 'CreateBranch with head = another branch: same commit')
    n = len(c.list_commit('bh'))
    c.create_branch('bh', 'copy2', head=second)
    tap.eq(len(c.list_commit('bh')), n, 'CreateBranch with a head makes no new commit')

    # Moving an existing branch: CreateBranch with a head updates it.
    c.create_branch('bh', 'copy', head=first)
    tap.eq(c.head('bh', 'copy'), first, 'CreateBranch on an existing branch with a head moves it')
    tap.eq(c.get('bh', 'copy', '/v'), b'one', '... reading the moved branch shows that commit')
    tap.eq(c.get('bh', 'master', '/v'), b'two', '... and master is untouched')

    # Writing on a branch that was moved back forks history there.
    c.put('bh', 'copy', '/w', b'fork')
    tap.eq(c.get('bh', 'copy', '/v'), b'one', 'a write on the moved branch keeps its base content')
    tap.eq(c.get('bh', 'copy', '/w'), b'fork', '... and adds the new file')
    ci = c.inspect_commit('bh', 'copy')
    tap.eq(ci.parent_commit.id, first, '... its parent is the commit the branch pointed at')
    expect_error(tap, c.get, NOT_FOUND, None, '... master does not see the fork',
                 'bh', 'master', '/w')
    tap.eq(c.get('bh', 'old', '/v'), b'one', 'the other branch at that commit is unchanged')
    expect_error(tap, c.get, NOT_FOUND, None, '... and does not see the fork either',
                 'bh', 'old', '/w')

    c.create_repo('bh-other')
    c.create_branch('bh-other', 'master')
    other_head = c.head('bh-other')
    req = pfs.CreateBranchRequest(branch=branch('bh', 'x'),
                                  head=commit('bh-other', '', other_head))
    expect_error(tap, c.pfs, UNKNOWN, r'branch and head commit must belong to the same repo',
                 'CreateBranch with a head in another repo is refused',
                 'CreateBranch', req, empty_pb2.Empty)
    expect_error(tap, c.create_branch, NOT_FOUND, r'not found',
                 'CreateBranch with a missing head commit: NOT_FOUND',
                 'bh', 'y', '0123456789ab4def0123456789abcdef')


@S
def listing(c, st):
    c.create_repo('bl')
    for n in ['m1', 'm2', 'm3']:
        c.create_branch('bl', n)
    got = [b.branch.name for b in c.list_branch('bl')]
    tap.eq(got, ['m3', 'm2', 'm1'], 'ListBranch: newest first (pachd: created_at DESC)')
    got = [b.branch.name for b in c.list_branch('bl', reverse=True)]
    tap.eq(got, ['m1', 'm2', 'm3'], 'ListBranch reverse: oldest first')
    infos = c.list_branch('bl')
    tap.ok(all(re.match(UUID4, b.head.id) for b in infos), 'ListBranch: each has a head')
    tap.ok(all(b.branch.repo.name == 'bl' for b in infos), 'ListBranch: branch.repo set')
    expect_error(tap, c.list_branch, NOT_FOUND, r'repo default/nosuchrepo not found',
                 'ListBranch in a missing repo: NOT_FOUND `repo default/nosuchrepo not found`',
                 'nosuchrepo')


@S
def delete(c, st):
    c.create_repo('bd')
    h = c.start_commit('bd', 'master').id
    c.finish_commit('bd', h)
    c.create_branch('bd', 'gone', head=h)
    c.delete_branch('bd', 'gone')
    expect_error(tap, c.inspect_branch, NOT_FOUND, r'branch "gone" not found in repo default/bd',
                 'DeleteBranch: the branch is gone', 'bd', 'gone')
    tap.eq([b.branch.name for b in c.list_branch('bd')], ['master'],
           'DeleteBranch: ListBranch lists the rest')
    tap.eq([b.name for b in c.inspect_repo('bd').branches], ['master'],
           'DeleteBranch: RepoInfo.branches updated')
    tap.eq(c.inspect_commit('bd', h).commit.id, h, 'the commits stay (InspectCommit by id)')
    c.delete_branch('bd', 'master')
    tap.eq(c.inspect_commit('bd', h).commit.id, h, 'even when no branch points at them')
    tap.eq(c.list_branch('bd'), [], 'no branch left')
    expect_error(tap, c.delete_branch, NOT_FOUND, r'nob.*not found',
                 'DeleteBranch missing: NOT_FOUND', 'bd', 'nob')
    expect_error(tap, c.delete_branch, NOT_FOUND, r'not found',
                 'DeleteBranch in a missing repo: NOT_FOUND', 'nosuchrepo', 'master')
    c.create_branch('bd', 'master')
    tap.ok(c.head('bd') != h, 'a branch re-created without head gets a new empty commit')


@S
def delete_keeps_content(c, st):
    c.create_repo('bk')
    c.put('bk', 'master', '/f', b'keep')
    h = c.head('bk')
    c.delete_branch('bk', 'master')
    tap.eq(c.get('bk', h, '/f'), b'keep', 'files of a deleted branch stay readable by commit id')
    c.create_branch('bk', 'master')
    expect_error(tap, c.get, NOT_FOUND, None,
                 'a branch re-created without head starts empty', 'bk', 'master', '/f')


with pfsd_stack(tap) as st:
    c = Pfsd(st.pfsd_addr)
    S.run(c, st)
    c.close()
tap.done()
