#!/usr/bin/python3
# Projects: CreateProject / InspectProject / ListProject / DeleteProject, the
# always-present "default" project, name rules and error shapes (pachd facts
# in /work/notes/pachd-facts.md §6).
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pfs_s3_test import tap  # noqa: E402
from pfsd_client import *  # noqa: E402,F401,F403

S = Sections(tap)
NAME_RULE = (r'name \(%s\) invalid: only alphanumeric characters, '
             r'underscores, and dashes are allowed')


def recent(ts, slack=120):
    return abs(ts.seconds - time.time()) < slack


@S
def default_project(c, st):
    info = c.inspect_project('default')
    tap.eq(info.project.name, 'default', 'InspectProject default works on a fresh store')
    names = [p.project.name for p in c.list_project()]
    tap.ok('default' in names, 'ListProject on a fresh store lists default')
    tap.eq(names[:1], ['default'], 'ListProject: default first (pachd: creation order)')
    expect_error(tap, c.create_project, ALREADY_EXISTS,
                 r'project "default" already exists',
                 'CreateProject default: ALREADY_EXISTS', 'default')


@S
def create_inspect(c, st):
    c.create_project('proj1', description='first project')
    info = c.inspect_project('proj1')
    tap.eq(info.project.name, 'proj1', 'InspectProject: name')
    tap.eq(info.description, 'first project', 'InspectProject: description')
    tap.ok(info.HasField('created_at') and recent(info.created_at),
           'InspectProject: created_at is now')
    expect_error(tap, c.create_project, ALREADY_EXISTS,
                 r'project "proj1" already exists',
                 'CreateProject twice: ALREADY_EXISTS `project "proj1" already exists`',
                 'proj1')
    c.create_project('proj1', description='updated', update=True)
    info2 = c.inspect_project('proj1')
    tap.eq(info2.description, 'updated', 'CreateProject update=true changes the description')
    tap.eq(info2.created_at.seconds, info.created_at.seconds,
           'update keeps created_at')
    code, _ = error_of(c.create_project, 'never-made', update=True)
    tap.ok(code != OK, 'CreateProject update=true on a missing project: an error (pachd)')
    expect_error(tap, c.inspect_project, NOT_FOUND, r'project "nosuchproj" not found',
                 'InspectProject missing: NOT_FOUND `project "nosuchproj" not found`',
                 'nosuchproj')


@S
def names(c, st):
    for good in ['a', 'A-b_c-9', '0abc', 'x' * 51]:
        code, det = error_of(c.create_project, good)
        tap.eq((code, det if code != OK else ''), (OK, ''),
               'project name %r accepted' % good)
    for bad in ['has space', 'dot.name', 'slash/x', 'star*', 'caf\u00e9']:
        expect_error(tap, c.create_project, UNKNOWN, NAME_RULE % re.escape(bad),
                     'project name %r refused with the name rule text' % bad, bad)
    expect_error(tap, c.create_project, UNKNOWN,
                 r'project name "%s" is 1 characters longer than the 51 max' % ('y' * 52),
                 'project name of 52 characters refused (51 max)', 'y' * 52)
    for bad in ['-lead', '_lead']:
        expect_error(tap, c.create_project, UNKNOWN,
                     r'project names must start with an alphanumeric character',
                     'project name %r refused: must start alphanumeric' % bad, bad)
    code, _ = error_of(c.create_project, '')
    tap.ok(code != OK, 'empty project name refused')


@S
def listing(c, st):
    for n in ['lp-b', 'lp-a', 'lp-c']:
        c.create_project(n)
    got = [p.project.name for p in c.list_project()]
    tap.ok(all(n in got for n in ['default', 'lp-a', 'lp-b', 'lp-c']),
           'ListProject lists every project')
    tap.eq(len(got), len(set(got)), 'ListProject: no duplicates')
    infos = {p.project.name: p for p in c.list_project()}
    tap.ok(infos['lp-a'].HasField('created_at'), 'ListProject: created_at set')


@S
def repos_in_projects(c, st):
    c.create_project('pa')
    c.create_project('pb')
    c.create_repo('same', proj='pa', description='in pa')
    c.create_repo('same', proj='pb', description='in pb')
    tap.eq(c.inspect_repo('same', proj='pa').description, 'in pa',
           'one repo name in two projects: first')
    tap.eq(c.inspect_repo('same', proj='pb').description, 'in pb',
           'one repo name in two projects: second')
    info = c.inspect_repo('same', proj='pb')
    tap.eq(info.repo.project.name, 'pb', 'RepoInfo.repo.project is the project')
    expect_error(tap, c.inspect_repo, NOT_FOUND, r'repo default/same not found',
                 'the name is not visible in project default', 'same')
    expect_error(tap, c.create_repo, NOT_FOUND, r'project "nosuchp" not found',
                 'CreateRepo in a missing project: NOT_FOUND `project "nosuchp" not found`',
                 'r', proj='nosuchp')
    only_pa = c.list_repo(projects=['pa'])
    tap.eq(sorted((r.repo.project.name, r.repo.name) for r in only_pa),
           [('pa', 'same')], 'ListRepo filtered by project pa')
    both = c.list_repo(projects=['pa', 'pb'])
    tap.eq(sorted((r.repo.project.name, r.repo.name) for r in both),
           [('pa', 'same'), ('pb', 'same')], 'ListRepo filtered by two projects')
    # Files in a non-default project.
    c.put('same', 'master', '/f', b'pb data', proj='pb')
    tap.eq(c.get('same', 'master', '/f', proj='pb'), b'pb data',
           'ModifyFile / GetFile in a non-default project')
    expect_error(tap, c.get, NOT_FOUND, None,
                 'the file is not visible in the other project', 'same', 'master',
                 '/f', proj='pa')


@S
def delete(c, st):
    c.create_project('del1')
    c.delete_project('del1')
    expect_error(tap, c.inspect_project, NOT_FOUND, r'project "del1" not found',
                 'DeleteProject: InspectProject then NOT_FOUND', 'del1')
    tap.ok('del1' not in [p.project.name for p in c.list_project()],
           'DeleteProject: gone from ListProject')
    c.create_project('del1', description='again')
    tap.eq(c.inspect_project('del1').description, 'again',
           'a deleted project name can be created again')

    c.create_project('del2')
    c.create_repo('r1', proj='del2')
    c.create_repo('r2', proj='del2')
    expect_error(tap, c.delete_project, FAILED_PRECONDITION,
                 r'cannot delete project del2: repo del2/r1 still exists',
                 'DeleteProject with repos: FAILED_PRECONDITION, names the repos',
                 'del2')
    tap.eq(c.inspect_project('del2').project.name, 'del2',
           'the refused DeleteProject left the project')
    tap.eq(len(c.list_repo(projects=['del2'])), 2, 'and its repos')
    c.delete_repo('r1', proj='del2')
    c.delete_repo('r2', proj='del2')
    c.delete_project('del2')
    expect_error(tap, c.inspect_project, NOT_FOUND, r'project "del2" not found',
                 'DeleteProject once its repos are deleted', 'del2')
    expect_error(tap, c.delete_project, NOT_FOUND, r'project "never-existed" not found',
                 'DeleteProject of a missing project: NOT_FOUND (pachd)', 'never-existed')


with pfsd_stack(tap) as st:
    c = Pfsd(st.pfsd_addr)
    S.run(c, st)
    c.close()
tap.done()
