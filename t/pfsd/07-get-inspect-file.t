#!/usr/bin/python3
# GetFile (content, offset, pieces, errors) and InspectFile (files,
# directories, root, errors); reading old commits by id (pachd facts §3).
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pfs_s3_test import tap  # noqa: E402
from pfsd_client import *  # noqa: E402,F401,F403

S = Sections(tap)


@S
def get_file(c, st):
    c.create_repo('g1')
    small = b'0123456789abcdef'
    big = os.urandom(9 * MiB + 7)
    c.modify('g1', 'master', [add_file('/small', small)] + list(add_pieces('/big', big, 3 * MiB)))
    tap.eq(c.get('g1', 'master', '/small'), small, 'GetFile: the bytes')
    got = c.get('g1', 'master', '/big')
    tap.ok(got == big, 'GetFile of 9 MiB: the bytes (%d of %d)' % (len(got), len(big)))
    # pachd sends 19 MiB pieces; any split is fine as long as each message
    # stays under the 20 MiB limit clients accept.
    msgs = list(c.get_file_stream('g1', 'master', '/big'))
    tap.ok(msgs and max(len(m.value) for m in msgs) <= 20 * MiB, 'each GetFile message at most 20 MiB')
    msgs = list(c.get_file_stream('g1', 'master', '/big', offset=len(big)))
    tap.eq(sum(len(m.value) for m in msgs), 0, 'GetFile at offset = size: no bytes')
    for off in [1, 10, 15]:
        tap.eq(c.get('g1', 'master', '/small', offset=off), small[off:], 'GetFile offset=%d' % off)
    tap.eq(c.get('g1', 'master', '/small', offset=16), b'', 'GetFile offset=size: no bytes')
    for off in [1, MiB, MiB + 1, 4 * MiB - 3, len(big) - 1]:
        tap.ok(c.get('g1', 'master', '/big', offset=off) == big[off:],
               'GetFile big offset=%d: exactly the tail' % off)
    # A reader that wants less stops reading (no length field).
    it = c.get_file_stream('g1', 'master', '/big')
    first = next(it)
    it.cancel()
    tap.ok(big.startswith(first.value), 'a reader can stop after the first piece')
    tap.eq(c.get('g1', 'master', '/small'), small, 'and the server still serves')


@S
def get_file_errors(c, st):
    c.create_repo('g2')
    c.modify('g2', 'master', [add_file('/d/x', b'x'), add_file('/d/y', b'y'),
                              add_file('/f', b'f')])
    h = c.head('g2')
    expect_error(tap, c.get, NOT_FOUND, r'^file /nope not found in repo default/g2 at commit $',
                 'GetFile missing (branch): NOT_FOUND `file /nope not found in repo default/g2 at commit `',
                 'g2', 'master', '/nope')
    expect_error(tap, c.get, NOT_FOUND,
                 r'^file /nope not found in repo default/g2 at commit %s$' % h,
                 'GetFile missing (commit id): the id as given', 'g2', h, '/nope')
    expect_error(tap, c.get, UNKNOWN,
                 r'cannot get directory or non-regular file\. Use GetFileTAR instead',
                 'GetFile of a directory: refused (pachd text)', 'g2', 'master', '/d')
    expect_error(tap, c.get, UNKNOWN,
                 r'cannot get directory or non-regular file\. Use GetFileTAR instead',
                 'GetFile of a directory with trailing /: refused', 'g2', 'master', '/d/')
    expect_error(tap, c.get, NOT_FOUND, r'repo default/nosuch not found',
                 'GetFile in a missing repo: NOT_FOUND `repo default/nosuch not found`',
                 'nosuch', 'master', '/f')
    expect_error(tap, c.get, NOT_FOUND, r'not found',
                 'GetFile on a missing branch: NOT_FOUND', 'g2', 'nob', '/f')
    expect_error(tap, c.get, NOT_FOUND, r'commit [^ ]+ not found',
                 'GetFile on an unknown commit id: NOT_FOUND', 'g2',
                 '0123456789ab4def0123456789abcdef', '/f')
    # pachd treats GetFile's path as a glob.
    tap.eq(c.get('g2', 'master', '/d/[x]'), b'x', 'GetFile path is a glob: one match is read')
    expect_error(tap, c.get, UNKNOWN, r'matched multiple files\. Use GetFileTAR instead',
                 'GetFile glob matching several files: refused (pachd text)', 'g2', 'master', '/d/*')
    tap.eq(c.get('g2', 'master', 'f'), b'f', 'GetFile path without leading /')


@S
def inspect_file(c, st):
    c.create_repo('g3')
    c.modify('g3', 'master', [add_file('/top', b'12345'), add_file('/dir/a', b'aa'),
                              add_file('/dir/sub/b', b'bbb')])
    head = c.head('g3')
    fi = c.inspect_file('g3', 'master', '/top')
    tap.eq((fi.file.path, fi.file_type, fi.size_bytes), ('/top', pfs.FILE, 5), 'InspectFile of a file')
    tap.eq(fi.file.commit.id, head, 'InspectFile: file.commit is the resolved head commit')
    tap.eq(fi.file.commit.repo.name, 'g3', 'InspectFile: file.commit.repo')
    tap.ok(fi.HasField('committed'), 'InspectFile: committed set')
    tap.eq(fi.file.datum, 'default', 'InspectFile: file.datum "default" for a file (pachd)')
    d = c.inspect_file('g3', 'master', '/dir')
    tap.eq((d.file.path, d.file_type, d.size_bytes), ('/dir/', pfs.DIR, 5),
           'InspectFile of a directory: path with trailing /, DIR, size = total below')
    d2 = c.inspect_file('g3', 'master', '/dir/')
    tap.eq((d2.file.path, d2.file_type), ('/dir/', pfs.DIR), 'InspectFile "/dir/" is the same')
    r = c.inspect_file('g3', 'master', '/')
    tap.eq((r.file.path, r.file_type, r.size_bytes), ('/', pfs.DIR, 10), 'InspectFile "/": the root, total size')
    expect_error(tap, c.inspect_file, NOT_FOUND,
                 r'^file /dir/zz not found in repo default/g3 at commit $',
                 'InspectFile missing: NOT_FOUND, reference text', 'g3', 'master', '/dir/zz')
    expect_error(tap, c.inspect_file, NOT_FOUND, r'repo default/nosuch not found',
                 'InspectFile in a missing repo', 'nosuch', 'master', '/x')
    c.create_repo('g3e')
    c.create_branch('g3e', 'master')
    expect_error(tap, c.inspect_file, NOT_FOUND,
                 r'file / not found in repo default/g3e at commit',
                 'InspectFile "/" on a commit without files: NOT_FOUND (pachd)', 'g3e', 'master', '/')


@S
def history(c, st):
    c.create_repo('g4')
    versions = []
    for i in range(4):
        c.put('g4', 'master', '/v', b'version %d' % i)
        if i == 2:
            c.modify('g4', 'master', [add_file('/only-in-2', b'2')])
        versions.append(c.head('g4'))
    c.modify('g4', 'master', [delete_file('/only-in-2')])
    for i, h in enumerate(versions):
        tap.eq(c.get('g4', h, '/v'), b'version %d' % i, 'commit %d read by id: its content' % i)
    tap.eq(c.get('g4', versions[3], '/only-in-2'), b'2', 'a file deleted later is still in the old commit')
    expect_error(tap, c.get, NOT_FOUND, None, '... not at the head', 'g4', 'master', '/only-in-2')
    expect_error(tap, c.get, NOT_FOUND, None, '... nor before it was written', 'g4', versions[1], '/only-in-2')
    tap.eq(paths(c.list_file('g4', versions[0], '/')), ['/v'], 'ListFile on an old commit')


@S
def open_commit_reads(c, st):
    c.create_repo('g5')
    c.put('g5', 'master', '/base', b'base')
    com = c.start_commit('g5', 'master')
    c.modify('g5', 'master', [add_file('/new', b'new'), delete_file('/base')])
    # pachd: an open commit reads as parent + its changes so far; committed is
    # unset for an open commit.
    tap.eq(c.get('g5', 'master', '/new'), b'new', 'reading the branch whose head is open: new file')
    expect_error(tap, c.get, NOT_FOUND, None, '... and the deleted one is gone', 'g5', 'master', '/base')
    fi = c.inspect_file('g5', com.id, '/new')
    tap.ok(not fi.HasField('committed'), 'FileInfo.committed unset in an open commit')
    c.finish_commit('g5', com.id)
    fi = c.inspect_file('g5', com.id, '/new')
    tap.ok(fi.HasField('committed'), 'FileInfo.committed set once finished')


with pfsd_stack(tap) as st:
    c = Pfsd(st.pfsd_addr)
    S.run(c, st)
    c.close()
tap.done()
