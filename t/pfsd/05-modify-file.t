#!/usr/bin/python3
# ModifyFile: one-off commits, branch creation, add_file (append), overwrite,
# empty files, delete_file (files and directories), copy_file (with and
# without append), path validation and cleaning, stream rules (reference
# "Semantics"; pachd facts §1, §2).
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pfs_s3_test import tap  # noqa: E402
from pfsd_client import *  # noqa: E402,F401,F403

S = Sections(tap)


def files_of(c, r, ref='master'):
    """{path: bytes} of every file (WalkFile from the root)."""
    out = {}
    for fi in c.walk_file(r, ref, '/'):
        if fi.file_type == pfs.FILE:
            out[fi.file.path] = c.get(r, ref, fi.file.path)
    return out


@S
def one_off(c, st):
    c.create_repo('m1')
    c.create_branch('m1', 'master')
    h0 = c.head('m1')
    n0 = len(c.list_commit('m1'))
    c.modify('m1', 'master', [add_file('/a', b'alpha'), add_file('/b', b'beta')])
    h1 = c.head('m1')
    tap.ok(h1 != h0, 'ModifyFile on a branch with a finished head: a new head')
    tap.eq(len(c.list_commit('m1')), n0 + 1, 'exactly one new commit for the whole stream')
    ci = c.inspect_commit('m1', h1)
    tap.ok(ci.HasField('finished'), 'the one-off commit is finished when ModifyFile returns')
    tap.eq(ci.parent_commit.id, h0, 'its parent is the previous head')
    tap.eq(files_of(c, 'm1'), {'/a': b'alpha', '/b': b'beta'}, 'both files are there')
    tap.eq(files_of(c, 'm1', h0), {}, 'the previous commit is unchanged')


@S
def creates_branch(c, st):
    c.create_repo('m2')
    c.modify('m2', 'fresh', [add_file('/f', b'x')])
    bi = c.inspect_branch('m2', 'fresh')
    tap.eq(bi.branch.name, 'fresh', 'ModifyFile on a missing branch creates it')
    tap.eq(c.get('m2', 'fresh', '/f'), b'x', '... with the file')
    tap.ok(c.inspect_commit('m2', bi.head.id).HasField('finished'), '... in a finished commit')
    expect_error(tap, c.modify, NOT_FOUND, r'repo default/nosuch not found',
                 'ModifyFile in a missing repo: NOT_FOUND `repo default/nosuch not found`',
                 'nosuch', 'master', [add_file('/f', b'x')])
    expect_error(tap, c.inspect_repo, NOT_FOUND, None, '... and the repo was not created',
                 'nosuch')
    expect_error(tap, c.modify, UNKNOWN,
                 r'name \(bad\.name\) invalid: only alphanumeric characters, underscores, and dashes are allowed',
                 'ModifyFile on an invalid branch name: the name rule text',
                 'm2', 'bad.name', [add_file('/f', b'x')])
    expect_error(tap, c.modify, UNKNOWN, r'branch name cannot be a UUID V4',
                 'ModifyFile on a branch named like a UUIDv4: refused', 'm2',
                 pfs.Commit(repo=repo('m2'), branch=branch('m2', 'abcdef0123454bcdef0123456789abcd')),
                 [add_file('/f', b'x')])
    expect_error(tap, c.modify, NOT_FOUND, r'commit [^ ]+ not found',
                 'ModifyFile on an unknown commit id: NOT_FOUND', 'm2',
                 '0123456789ab4def0123456789abcdef', [add_file('/f', b'x')])


@S
def append(c, st):
    c.create_repo('m3')
    c.modify('m3', 'master', [add_file('/log', b'one,'), add_file('/other', b'o'),
                              add_file('/log', b'two,'), add_file('/log', b'three')])
    tap.eq(c.get('m3', 'master', '/log'), b'one,two,three',
           'several add_file for one path in one stream append in order')
    c.modify('m3', 'master', [add_file('/log', b',four')])
    tap.eq(c.get('m3', 'master', '/log'), b'one,two,three,four',
           'add_file onto an existing file in a later commit appends')
    tap.eq(c.inspect_file('m3', 'master', '/log').size_bytes, 18, 'size_bytes of the appended file')
    tap.eq(c.get('m3', 'master', '/other'), b'o', 'other files untouched')


@S
def overwrite(c, st):
    c.create_repo('m4')
    c.put('m4', 'master', '/f', b'first version, long')
    old = c.head('m4')
    c.modify('m4', 'master', [delete_file('/f'), add_file('/f', b'second')])
    tap.eq(c.get('m4', 'master', '/f'), b'second', 'delete_file + add_file overwrites')
    tap.eq(c.inspect_file('m4', 'master', '/f').size_bytes, 6, 'size_bytes of the new content')
    tap.eq(c.get('m4', old, '/f'), b'first version, long', 'the old commit keeps the old bytes')
    # Order inside one stream matters.
    c.modify('m4', 'master', [add_file('/g', b'1'), delete_file('/g'), add_file('/g', b'2'),
                              add_file('/h', b'h'), delete_file('/h')])
    tap.eq(c.get('m4', 'master', '/g'), b'2', 'add, delete, add in one stream: the last add')
    expect_error(tap, c.get, NOT_FOUND, None, 'add then delete in one stream: no file',
                 'm4', 'master', '/h')


@S
def empty_files(c, st):
    c.create_repo('m5')
    c.modify('m5', 'master', [add_file('/empty')])
    fi = c.inspect_file('m5', 'master', '/empty')
    tap.eq((fi.file_type, fi.size_bytes), (pfs.FILE, 0), 'add_file without source: an empty FILE')
    tap.eq(c.get('m5', 'master', '/empty'), b'', 'GetFile of an empty file: no bytes')
    c.modify('m5', 'master', [add_file('/e2', b'')])
    tap.eq(c.inspect_file('m5', 'master', '/e2').size_bytes, 0, 'add_file with empty raw: empty file')
    c.put('m5', 'master', '/full', b'content')
    c.modify('m5', 'master', [add_file('/full')])
    tap.eq(c.get('m5', 'master', '/full'), b'content',
           'add_file without source onto an existing file leaves it unchanged (pachd)')
    tap.eq(paths(c.list_file('m5', 'master', '/')), ['/e2', '/empty', '/full'],
           'empty files are listed')


@S
def deletes(c, st):
    c.create_repo('m6')
    c.modify('m6', 'master', [add_file('/d', b'file d'), add_file('/d2/x', b'1'),
                              add_file('/dir/a', b'a'), add_file('/dir/sub/b', b'b'),
                              add_file('/dir/sub/c', b'c'), add_file('/dirx', b'dirx'),
                              add_file('/keep', b'k')])
    c.modify('m6', 'master', [delete_file('/d')])
    got = files_of(c, 'm6')
    tap.ok('/d' not in got and got.get('/d2/x') == b'1',
           'delete_file /d removes the file only, not /d2/x')
    c.modify('m6', 'master', [delete_file('/dir/sub')])
    tap.eq(sorted(files_of(c, 'm6')), ['/d2/x', '/dir/a', '/dir/sub/b', '/dir/sub/c', '/dirx', '/keep'],
           'delete_file /dir/sub without a trailing slash deletes no directory (pachd)')
    n = len(c.list_commit('m6'))
    c.modify('m6', 'master', [delete_file('/dir/')])
    tap.eq(sorted(files_of(c, 'm6')), ['/d2/x', '/dirx', '/keep'],
           'delete_file /dir/ removes everything under /dir, not /dirx')
    tap.eq(len(c.list_commit('m6')), n + 1, '... in one commit')
    tap.eq(paths(c.list_file('m6', 'master', '/')), ['/d2/', '/dirx', '/keep'],
           'the directory is gone from the listing')
    code, det = error_of(c.modify, 'm6', 'master', [delete_file('/no/such/file')])
    tap.eq((code, det if code != OK else ''), (OK, ''), 'delete_file of a missing path: no error')
    c.modify('m6', 'master', [delete_file('/')])
    tap.eq(files_of(c, 'm6'), {}, 'delete_file / removes everything')
    # Delete and re-add under a deleted directory in one stream.
    c.modify('m6', 'master', [add_file('/z/1', b'1'), add_file('/z/2', b'2')])
    c.modify('m6', 'master', [delete_file('/z/'), add_file('/z/3', b'3')])
    tap.eq(files_of(c, 'm6'), {'/z/3': b'3'}, 'delete /z/ then add /z/3 in one stream')


@S
def copies(c, st):
    c.create_repo('m7')
    c.create_repo('m7src')
    c.modify('m7src', 'master', [add_file('/s.txt', b'source bytes'),
                                 add_file('/tree/a', b'A'), add_file('/tree/b/c', b'C')])
    src_old = c.head('m7src')
    c.put('m7src', 'master', '/s.txt', b'newer source')
    c.put('m7', 'master', '/local', b'local data')

    c.modify('m7', 'master', [copy_file('/copy1', 'm7', 'master', '/local')])
    tap.eq(c.get('m7', 'master', '/copy1'), b'local data', 'copy_file within a repo')
    tap.eq(c.get('m7', 'master', '/local'), b'local data', 'the source stays')
    c.modify('m7', 'master', [copy_file('/copy2', 'm7src', 'master', '/s.txt')])
    tap.eq(c.get('m7', 'master', '/copy2'), b'newer source', 'copy_file from another repo (branch head)')
    c.modify('m7', 'master', [copy_file('/copy3', 'm7src', src_old, '/s.txt')])
    tap.eq(c.get('m7', 'master', '/copy3'), b'source bytes', 'copy_file from an older commit id')
    c.modify('m7', 'master', [copy_file('/t2', 'm7src', 'master', '/tree')])
    tap.eq({p: v for p, v in files_of(c, 'm7').items() if p.startswith('/t2')},
           {'/t2/a': b'A', '/t2/b/c': b'C'}, 'copy_file of a directory copies the tree under dst')
    c.modify('m7', 'master', [copy_file('/copy1', 'm7src', 'master', '/s.txt')])
    tap.eq(c.get('m7', 'master', '/copy1'), b'newer source', 'copy_file onto an existing file replaces it')
    c.modify('m7', 'master', [copy_file('/copy1', 'm7', 'master', '/local', append=True)])
    tap.eq(c.get('m7', 'master', '/copy1'), b'newer sourcelocal data',
           'copy_file append=true appends the source')
    c.modify('m7', 'master', [copy_file('/newapp', 'm7', 'master', '/local', append=True)])
    tap.eq(c.get('m7', 'master', '/newapp'), b'local data', 'append onto a missing file: the source')
    before = files_of(c, 'm7')
    code, det = error_of(c.modify, 'm7', 'master', [copy_file('/x', 'm7src', 'master', '/nope')])
    tap.eq((code, det if code != OK else ''), (OK, ''), 'copy_file of a missing source path: no error (pachd)')
    tap.eq(files_of(c, 'm7'), before, '... and nothing copied')
    expect_error(tap, c.modify, NOT_FOUND, r'repo default/nosuch not found',
                 'copy_file from a missing repo: NOT_FOUND', 'm7', 'master',
                 [copy_file('/x', 'nosuch', 'master', '/a')])
    expect_error(tap, c.modify, NOT_FOUND, r'not found',
                 'copy_file from a missing branch: NOT_FOUND', 'm7', 'master',
                 [copy_file('/x', 'm7src', 'nob', '/a')])
    # Several copies and adds in one stream: one commit.
    n = len(c.list_commit('m7'))
    c.modify('m7', 'master', [copy_file('/multi/1', 'm7', 'master', '/local'),
                              copy_file('/multi/2', 'm7', 'master', '/local', append=True),
                              copy_file('/multi/2', 'm7src', 'master', '/s.txt', append=True),
                              add_file('/multi/3', b'3')])
    tap.eq(len(c.list_commit('m7')), n + 1, 'copies and adds in one stream: one commit')
    tap.eq(c.get('m7', 'master', '/multi/2'), b'local datanewer source',
           'two append copies in one stream, in order')


@S
def path_rules(c, st):
    c.create_repo('m8')
    bad = [
        ('/a\x01b', r'path \(/a\x01b\) invalid: only printable ASCII characters allowed'),
        ('/caf\u00e9', r'path \(/caf\u00e9\) invalid: only printable ASCII characters allowed'),
        ('', r'path \(\) invalid: only printable ASCII characters allowed'),
        ('/x/../y', r'path \(/x/\.\./y\) invalid: relative file paths are not allowed'),
        ('/x/./y', r'path \(/x/\./y\) invalid: relative file paths are not allowed'),
        ('/..', r'path \(/\.\.\) invalid: relative file paths are not allowed'),
    ]
    for ch in '*?[]{}!()@+^':
        bad.append(('/a%sb' % ch, r'path \(/a%sb\) invalid: globbing character \(%s\) not allowed in path'
                    % (re.escape(ch), re.escape(ch))))
    bad.append(('/a*b?', r'globbing character \(\*\) not allowed'))
    for p, pat in bad:
        expect_error(tap, c.modify, UNKNOWN, pat, 'add_file path %r refused' % p,
                     'm8', 'master', [add_file(p, b'x')])
    expect_error(tap, c.modify, UNKNOWN, r'path \(/q\?\) invalid: globbing character \(\?\) not allowed in path',
                 'delete_file with a glob character refused', 'm8', 'master', [delete_file('/q?')])
    tap.eq(c.list_commit('m8'), [], 'no refused write made a commit')
    for ok_path in ['/a b', '/a-b_c.d~e', "/q'uote", '/sp ace/x', '/#hash', '/%25', '/=,;:&$']:
        code, det = error_of(c.modify, 'm8', 'master', [add_file(ok_path, b'ok')])
        tap.eq((code, det if code != OK else ''), (OK, ''), 'path %r accepted' % ok_path)
        tap.eq(c.get('m8', 'master', ok_path), b'ok', '... and readable')
    # Cleaning (pachd: leading "/" added, "//" collapsed, trailing "/" dropped).
    c.modify('m8', 'master', [add_file('rel/x', b'r'), add_file('/dbl//y', b'd'),
                              add_file('/trail/', b't')])
    tap.eq(c.get('m8', 'master', '/rel/x'), b'r', 'a path without leading / is made absolute')
    tap.eq(c.get('m8', 'master', '/dbl/y'), b'd', 'a doubled slash collapses')
    fi = c.inspect_file('m8', 'master', '/trail')
    tap.eq((fi.file.path, fi.file_type), ('/trail', pfs.FILE), 'add_file "/trail/" makes the FILE /trail')


@S
def stream_rules(c, st):
    c.create_repo('m9')
    c.create_branch('m9', 'master')
    n = len(c.list_commit('m9'))
    expect_error(tap, c.modify_file, UNKNOWN, r'first message must be a commit',
                 'a stream not starting with set_commit is refused',
                 [add_file('/a', b'x')])
    expect_error(tap, c.modify_file, UNKNOWN, r'cannot set commit',
                 'a second set_commit is refused',
                 [set_commit('m9'), add_file('/a', b'x'), set_commit('m9')])
    code, _ = error_of(c.modify_file, [])
    tap.eq(code, UNKNOWN, 'an empty stream is refused (pachd: UNKNOWN EOF)')
    tap.eq(len(c.list_commit('m9')), n, 'none of these made a commit')
    expect_error(tap, c.get, NOT_FOUND, None, '... nor wrote a file', 'm9', 'master', '/a')
    # set_commit alone: a valid, empty one-off commit (or none); no error.
    code, det = error_of(c.modify_file, [set_commit('m9')])
    tap.eq((code, det if code != OK else ''), (OK, ''), 'a stream with only set_commit succeeds')


@S
def big_messages(c, st):
    c.create_repo('m10')
    # pachd accepts messages up to 20 MiB; clients send 19 MiB pieces.
    piece = bytes(range(256)) * (19 * MiB // 256)
    code, det = error_of(c.modify, 'm10', 'master', [add_file('/big', piece)])
    tap.eq((code, det if code != OK else ''), (OK, ''), 'a 19 MiB add_file message is accepted')
    if code == OK:
        tap.ok(c.get('m10', 'master', '/big') == piece, '... and read back intact')
    # Many files in one stream.
    ops = [add_file('/many/%04d' % i, b'%d' % i) for i in range(2000)]
    n = len(c.list_commit('m10'))
    c.modify('m10', 'master', ops)
    tap.eq(len(c.list_commit('m10')), n + 1, '2000 files in one stream: one commit')
    got = c.list_file('m10', 'master', '/many')
    tap.eq(len(got), 2000, '... all listed')
    tap.eq(c.get('m10', 'master', '/many/1234'), b'1234', '... and readable')


with pfsd_stack(tap) as st:
    c = Pfsd(st.pfsd_addr)
    S.run(c, st)
    c.close()
tap.done()
