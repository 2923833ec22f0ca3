#!/usr/bin/python3
# Repos: CreateRepo / InspectRepo / ListRepo / DeleteRepo, names and errors
# (reference error table; pachd facts §6).
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pfs_s3_test import tap  # noqa: E402
from pfsd_client import *  # noqa: E402,F401,F403

S = Sections(tap)
NAME_RULE = (r'name \(%s\) invalid: only alphanumeric characters, '
             r'underscores, and dashes are allowed')


@S
def create_inspect(c, st):
    t0 = time.time()
    c.create_repo('r1', description='the first')
    info = c.inspect_repo('r1')
    tap.eq(info.repo.name, 'r1', 'InspectRepo: repo.name')
    tap.eq(info.repo.type, 'user', 'InspectRepo: repo.type is "user"')
    tap.eq(info.repo.project.name, 'default', 'InspectRepo: repo.project is default')
    tap.eq(info.description, 'the first', 'InspectRepo: description')
    tap.ok(info.HasField('created') and abs(info.created.seconds - t0) < 60,
           'InspectRepo: created is now')
    tap.eq(len(info.branches), 0, 'a new repo has no branches')
    tap.eq(info.size_bytes_upper_bound, 0, 'a new repo has size 0')

    expect_error(tap, c.create_repo, ALREADY_EXISTS,
                 r'^repo default/r1 already exists$',
                 'CreateRepo twice: ALREADY_EXISTS `repo default/r1 already exists`',
                 'r1')
    c.create_repo('r1', description='changed', update=True)
    info2 = c.inspect_repo('r1')
    tap.eq(info2.description, 'changed', 'CreateRepo update=true changes the description')
    tap.eq((info2.created.seconds, info2.created.nanos),
           (info.created.seconds, info.created.nanos), 'update keeps created')
    c.create_repo('fresh-upd', update=True)
    tap.eq(c.inspect_repo('fresh-upd').repo.name, 'fresh-upd',
           'CreateRepo update=true on a missing repo creates it')

    expect_error(tap, c.inspect_repo, NOT_FOUND, r'repo default/nosuch not found',
                 'InspectRepo missing: NOT_FOUND `repo default/nosuch not found`',
                 'nosuch')
    # The request type "" defaults to "user" in CreateRepo (pachd).
    c.create_repo('typeless', type='')
    tap.eq(c.inspect_repo('typeless').repo.type, 'user',
           'CreateRepo with type "" creates a "user" repo')


@S
def project_defaults(c, st):
    # pachd defaults an empty project to "default" (Repo.EnsureProject).
    c.create_repo('noproj')
    r = pfs.Repo(name='noproj', type='user')
    code, info = error_of(c.pfs, 'InspectRepo', pfs.InspectRepoRequest(repo=r), pfs.RepoInfo)
    tap.ok(code == OK and info.repo.project.name == 'default',
           'InspectRepo without a project: the default project')
    code, _ = error_of(c.pfs, 'CreateRepo', pfs.CreateRepoRequest(repo=pfs.Repo(name='noproj2', type='user')),
                       empty_pb2.Empty)
    tap.eq(code, OK, 'CreateRepo without a project: OK')
    tap.eq(c.inspect_repo('noproj2').repo.project.name, 'default', '... created in project default')


@S
def names(c, st):
    for good in ['a', 'Z', '0', 'a_b-C9', 'x' * 200]:
        code, det = error_of(c.create_repo, good)
        tap.eq((code, det if code != OK else ''), (OK, ''),
               'repo name %r accepted' % good[:40])
    for bad in ['has space', 'dot.name', 'slash/x', 'colon:x', 'star*',
                'caf\u00e9', 'tab\tx']:
        expect_error(tap, c.create_repo, UNKNOWN, NAME_RULE % re.escape(bad),
                     'repo name %r refused with the name rule text' % bad, bad)
    expect_error(tap, c.create_repo, UNKNOWN, NAME_RULE % '',
                 'empty repo name refused with the name rule text', '')
    tap.ok(not any(r.repo.name in ('has space', 'dot.name')
                   for r in c.list_repo()), 'refused names were not created')


@S
def listing(c, st):
    for n in ['lr-c', 'lr-a', 'lr-b']:
        c.create_repo(n)
    c.create_project('lrp')
    c.create_repo('aaa', proj='lrp')
    infos = c.list_repo()
    got = [(r.repo.project.name, r.repo.name) for r in infos]
    tap.ok(all(x in got for x in [('default', 'lr-a'), ('default', 'lr-b'),
                                  ('default', 'lr-c'), ('lrp', 'aaa')]),
           'ListRepo lists repos of every project')
    # Order: the pachd notes first said (project, name), then creation order;
    # ambiguous, so not asserted.
    tap.eq(len(got), len(set(got)), 'ListRepo: no duplicates')
    tap.ok(all(r.repo.type == 'user' for r in infos), 'ListRepo: type "user"')
    tap.ok(all(r.HasField('created') for r in infos), 'ListRepo: created set')
    tap.eq([r.repo.name for r in c.list_repo(type='user', projects=['lrp'])],
           ['aaa'], 'ListRepo type=user, one project')
    tap.eq(c.list_repo(type='spec'), [], 'ListRepo of another type: none')


@S
def branches_and_size(c, st):
    c.create_repo('rb')
    c.create_branch('rb', 'master')
    c.create_branch('rb', 'dev')
    info = c.inspect_repo('rb')
    tap.eq(sorted(b.name for b in info.branches), ['dev', 'master'],
           'RepoInfo.branches names every branch')
    tap.ok(all(b.repo.name == 'rb' for b in info.branches),
           'RepoInfo.branches carry the repo')
    listed = [r for r in c.list_repo() if r.repo.name == 'rb'][0]
    tap.eq(sorted(b.name for b in listed.branches), ['dev', 'master'],
           'ListRepo carries the branches too')
    c.put('rb', 'master', '/a', b'x' * 1000)
    c.put('rb', 'master', '/b', b'y' * 24)
    c.put('rb', 'dev', '/c', b'z' * 5000)
    # pachd: the size of the master branch head.
    tap.eq(c.inspect_repo('rb').size_bytes_upper_bound, 1024,
           'RepoInfo.size_bytes_upper_bound = size of master head')


@S
def delete(c, st):
    c.create_repo('rd')
    com = c.start_commit('rd', 'master')
    c.finish_commit('rd', com.id)
    c.create_branch('rd', 'other')
    res = c.delete_repo('rd')
    tap.eq(res.deleted, True, 'DeleteRepo of a repo with branches and files: deleted=true')
    expect_error(tap, c.inspect_repo, NOT_FOUND, r'repo default/rd not found',
                 'deleted repo: InspectRepo NOT_FOUND', 'rd')
    tap.ok('rd' not in [r.repo.name for r in c.list_repo()],
           'deleted repo is gone from ListRepo')
    expect_error(tap, c.inspect_branch, NOT_FOUND, r'not found',
                 'its branches are gone', 'rd', 'master')
    c.create_repo('rd')
    tap.eq(len(c.inspect_repo('rd').branches), 0,
           'a repo re-created under the same name starts empty')
    tap.eq(c.list_commit('rd'), [], 'and no old commits')
    expect_error(tap, c.inspect_commit, NOT_FOUND, None, 'the old commit id is unknown',
                 'rd', com.id)

    res = c.delete_repo('never-there')
    tap.eq(res.deleted, False, 'DeleteRepo of a missing repo: OK, deleted=false (pachd)')


@S
def delete_with_files(c, st):
    c.create_repo('rf')
    c.put('rf', 'master', '/f', b'data')
    tap.eq(c.delete_repo('rf').deleted, True, 'DeleteRepo of a repo with files')
    c.create_repo('rf')
    c.create_branch('rf', 'master')
    expect_error(tap, c.get, NOT_FOUND, None, 'the re-created repo has no old files',
                 'rf', 'master', '/f')


with pfsd_stack(tap) as st:
    c = Pfsd(st.pfsd_addr)
    S.run(c, st)
    c.close()
tap.done()
