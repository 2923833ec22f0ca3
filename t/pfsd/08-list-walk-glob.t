#!/usr/bin/python3
# ListFile (paginationMarker, number, reverse), WalkFile and GlobFile (`*`
# stays inside one element, `**` crosses, path_range); implicit directories
# with a trailing "/" and type DIR, byte-wise lexicographic order (pachd facts
# §4).
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pfs_s3_test import tap  # noqa: E402
from pfsd_client import *  # noqa: E402,F401,F403

S = Sections(tap)

TREE = {'/a.txt': b'1', '/a/b': b'22', '/a/c/d': b'333', '/a-b': b'4', '/ab': b'5',
        '/b/x': b'6', '/z': b'7'}
# Index order: directories carry their trailing "/" ('-' < '.' < '/').
ALL = ['/a-b', '/a.txt', '/a/', '/a/b', '/a/c/', '/a/c/d', '/ab', '/b/', '/b/x', '/z']
ROOT_CHILDREN = ['/a-b', '/a.txt', '/a/', '/ab', '/b/', '/z']


def setup(c):
    c.create_repo('t')
    c.modify('t', 'master', [add_file(p, v) for p, v in sorted(TREE.items(), reverse=True)])


@S
def list_file(c, st):
    setup(c)
    got = c.list_file('t', 'master', '/')
    tap.eq(paths(got), ROOT_CHILDREN, 'ListFile /: direct children, dirs with "/", byte order')
    types = {fi.file.path: fi.file_type for fi in got}
    tap.eq([p for p in ROOT_CHILDREN if types[p] == pfs.DIR], ['/a/', '/b/'], 'implicit directories are DIR')
    tap.eq([p for p in ROOT_CHILDREN if types[p] == pfs.FILE], ['/a-b', '/a.txt', '/ab', '/z'],
           'files are FILE')
    sizes = {fi.file.path: fi.size_bytes for fi in got}
    tap.eq((sizes['/a/'], sizes['/z']), (5, 1), 'sizes: a directory totals what is below it')
    tap.eq(paths(c.list_file('t', 'master', '')), ROOT_CHILDREN, 'ListFile "" = ListFile /')
    tap.eq(paths(c.list_file('t', 'master', '/a')), ['/a/b', '/a/c/'], 'ListFile /a: its children')
    tap.eq(paths(c.list_file('t', 'master', '/a/')), ['/a/b', '/a/c/'], 'ListFile /a/: the same')
    tap.eq(paths(c.list_file('t', 'master', '/a/c')), ['/a/c/d'], 'ListFile of a nested dir')
    tap.eq(paths(c.list_file('t', 'master', '/z')), ['/z'], 'ListFile of a file: that file')
    tap.eq(c.list_file('t', 'master', '/nope'), [], 'ListFile of a missing path: empty, no error')
    tap.ok(all(fi.file.commit.id == c.head('t') for fi in got), 'ListFile: file.commit is the head')
    expect_error(tap, c.list_file, NOT_FOUND, r'repo default/nosuch not found',
                 'ListFile in a missing repo: NOT_FOUND', 'nosuch', 'master', '/')


@S
def list_pagination(c, st):
    tap.eq(paths(c.list_file('t', 'master', '/', number=2)), ['/a-b', '/a.txt'], 'number=2: the first two')
    tap.eq(paths(c.list_file('t', 'master', '/', marker='/a.txt', number=2)), ['/a/', '/ab'],
           'marker /a.txt: strictly after it')
    tap.eq(paths(c.list_file('t', 'master', '/', marker='/a/')), ['/ab', '/b/', '/z'],
           'marker /a/ (a directory): after it, not inside it')
    tap.eq(paths(c.list_file('t', 'master', '/', marker='/z')), [], 'marker = the last: nothing')
    tap.eq(paths(c.list_file('t', 'master', '/', number=2, reverse=True)), ['/z', '/b/'],
           'reverse number=2: the last two, descending')
    tap.eq(paths(c.list_file('t', 'master', '/', marker='/b/', number=2, reverse=True)), ['/ab', '/a/'],
           'reverse with marker /b/: the two before it, descending')
    tap.eq(paths(c.list_file('t', 'master', '/', number=100, reverse=True)), list(reversed(ROOT_CHILDREN)),
           'reverse with a large number: all, descending')
    # Walking page by page gets everything exactly once.
    seen, marker = [], None
    for _ in range(10):
        page = paths(c.list_file('t', 'master', '/', marker=marker, number=4))
        if not page:
            break
        seen += page
        marker = page[-1]
    tap.eq(seen, ROOT_CHILDREN, 'pages of 4 following the marker: every child once')
    expect_error(tap, c.list_file, UNKNOWN, r'number must be > 0 when reverse is true',
                 'reverse with number 0: refused (pachd)', 't', 'master', '/', reverse=True)
    expect_error(tap, c.list_file, UNKNOWN, r'cannot return more than 100000 files at a time',
                 'number > 100000: refused (pachd)', 't', 'master', '/', number=100001)


@S
def walk_file(c, st):
    got = c.walk_file('t', 'master', '/')
    tap.eq(paths(got), ['/'] + ALL, 'WalkFile /: the root first, then everything in byte order')
    tap.eq(got[0].file_type, pfs.DIR, 'the root is a DIR')
    tap.eq(got[0].size_bytes, sum(len(v) for v in TREE.values()), 'the root size is the total')
    tap.eq(paths(c.walk_file('t', 'master', '/a')), ['/a/', '/a/b', '/a/c/', '/a/c/d'],
           'WalkFile /a: the directory itself, then below it')
    tap.eq(paths(c.walk_file('t', 'master', '/z')), ['/z'], 'WalkFile of a file: the file')
    tap.eq(paths(c.walk_file('t', 'master', '/', number=3)), ['/', '/a-b', '/a.txt'],
           'WalkFile number=3 (the root counts)')
    tap.eq(paths(c.walk_file('t', 'master', '/', marker='/a/c/', number=2)), ['/a/c/d', '/ab'],
           'WalkFile marker: strictly after it')
    tap.eq(paths(c.walk_file('t', 'master', '/', number=2, reverse=True)), ['/z', '/b/x'],
           'WalkFile reverse number=2: the last two, descending')
    expect_error(tap, c.walk_file, NOT_FOUND, r'does not contain item: \(/nope\)',
                 'WalkFile of a missing path: NOT_FOUND (pachd text)', 't', 'master', '/nope')
    expect_error(tap, c.walk_file, UNKNOWN, r'number must be > 0 when reverse is true',
                 'WalkFile reverse with number 0: refused', 't', 'master', '/', reverse=True)


@S
def glob_file(c, st):
    cases = [
        ('/*', ROOT_CHILDREN, '* matches one element; matching dirs are returned'),
        ('/a/*', ['/a/b', '/a/c/'], '* inside a directory'),
        ('/**', ALL, '** crosses "/"'),
        ('/a/**', ['/a/b', '/a/c/', '/a/c/d'], '/a/** matches below /a, not /a/ itself'),
        ('/*/x', ['/b/x'], '*/x'),
        ('/a*', ['/a-b', '/a.txt', '/a/', '/ab'], 'prefix a* (S3 delimited listing)'),
        ('/a**', ['/a-b', '/a.txt', '/a/', '/a/b', '/a/c/', '/a/c/d', '/ab'], 'prefix a** (S3 recursive listing)'),
        ('/a/c*', ['/a/c/'], 'prefix inside a directory'),
        ('/**/d', ['/a/c/d'], '**/d'),
        ('/*/d', [], '* does not cross "/"'),
        ('/?', ['/a/', '/b/', '/z'], '? is one character'),
        ('/[ab]b', ['/ab'], 'character class'),
        ('/{z,ab}', ['/ab', '/z'], 'alternatives, results in byte order'),
        ('/nomatch*', [], 'no match: empty, no error'),
        ('/z', ['/z'], 'a literal path'),
        ('a/*', ['/a/b', '/a/c/'], 'pattern without leading /'),
        ('/', ['/'], '"/" matches the root'),
    ]
    for pat, want, name in cases:
        tap.eq(paths(c.glob_file('t', 'master', pat)), want, 'GlobFile %r: %s' % (pat, name))
    infos = {fi.file.path: fi for fi in c.glob_file('t', 'master', '/*')}
    tap.eq((infos['/a/'].file_type, infos['/z'].file_type), (pfs.DIR, pfs.FILE), 'GlobFile types')
    tap.eq(infos['/z'].size_bytes, 1, 'GlobFile sizes')
    tap.eq(paths(c.glob_file('t', 'master', '/**', lower='/a/', upper='/b/')),
           ['/a/', '/a/b', '/a/c/', '/a/c/d', '/ab'], 'path_range: lower inclusive, upper exclusive')
    tap.eq(paths(c.glob_file('t', 'master', '/*', lower='/ab')), ['/ab', '/b/', '/z'],
           'path_range with only a lower bound')
    tap.eq(paths(c.glob_file('t', 'master', '/*', upper='/a/')), ['/a-b', '/a.txt'],
           'path_range with only an upper bound')
    expect_error(tap, c.glob_file, NOT_FOUND, r'repo default/nosuch not found',
                 'GlobFile in a missing repo: NOT_FOUND', 'nosuch', 'master', '/*')
    old = c.head('t')
    c.modify('t', 'master', [add_file('/new', b'n')])
    tap.ok('/new' not in paths(c.glob_file('t', old, '/*')), 'GlobFile at an old commit id')
    tap.ok('/new' in paths(c.glob_file('t', 'master', '/*')), 'GlobFile at the head')


@S
def byte_order(c, st):
    c.create_repo('order')
    names = ['/b', '/B', '/a b', '/a~', '/a0', '/_x', '/a/x', '/a.', '/~', '/0', '/a-']
    c.modify('order', 'master', [add_file(n, b'.') for n in names])
    want = sorted([n for n in names if n != '/a/x'] + ['/a/'])
    tap.eq(paths(c.list_file('order', 'master', '/')), want, 'ListFile: byte-wise order')
    tap.eq(paths(c.glob_file('order', 'master', '/*')), want, 'GlobFile: byte-wise order')


@S
def large_listing(c, st):
    c.create_repo('big')
    names = ['/d/%05d' % i for i in range(5000)]
    c.modify('big', 'master', [add_file(n, b'x') for n in names])
    tap.eq(paths(c.list_file('big', 'master', '/d')), names, 'ListFile of 5000 children, in order')
    tap.eq(paths(c.glob_file('big', 'master', '/d/*')), names, 'GlobFile of 5000, in order')
    tap.eq(paths(c.list_file('big', 'master', '/d', marker='/d/04990')), names[4991:],
           'ListFile marker deep in a large directory')


with pfsd_stack(tap) as st:
    c = Pfsd(st.pfsd_addr)
    S.run(c, st)
    c.close()
tap.done()
