#!/usr/bin/python3
# FileInfo.hash and size_bytes (DESIGN.md "Hash"): the MD5 of the content for
# a file written in one ModifyFile stream and for any copy of it; a 20-byte
# composed hash (MD5 of the parts' MD5s + big-endian uint32 part count) for a
# file composed by appending (append copy, or add_file onto an existing file).
#
# Ambiguities in DESIGN.md, and the reading these tests take:
# - several add_file for one path in ONE stream: "bytes written in one
#   ModifyFile stream" -> plain MD5 of the whole content.
# - appending to a file that is itself composed adds parts: the part list is
#   flat (S3's multipart ETag counts every part), so three pieces -> "-3".
# - a copy of a composed file keeps its 20-byte hash (same content object).
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pfs_s3_test import tap  # noqa: E402
from pfsd_client import *  # noqa: E402,F401,F403

S = Sections(tap)


def hash_of(c, r, p, ref='master'):
    return c.inspect_file(r, ref, p).hash


def hx(b):
    return b.hex()


@S
def single_stream(c, st):
    c.create_repo('h1')
    data = b'hello, world\n'
    c.put('h1', 'master', '/a', data)
    fi = c.inspect_file('h1', 'master', '/a')
    tap.eq(hx(fi.hash), hx(md5(data)), 'hash of a one-stream file = MD5 of its bytes')
    tap.eq(fi.size_bytes, len(data), 'size_bytes')
    c.modify('h1', 'master', [add_file('/e')])
    tap.eq(hx(hash_of(c, 'h1', '/e')), hx(EMPTY_MD5), 'empty file: MD5 of nothing')
    big = os.urandom(5 * MiB + 123)
    c.put('h1', 'master', '/big', big)  # sent as two add_file pieces
    tap.eq(hx(hash_of(c, 'h1', '/big')), hx(md5(big)),
           'a file sent as several add_file pieces in one stream: MD5 of the whole')
    c.modify('h1', 'master', [add_file('/pieces', b'ab'), add_file('/pieces', b'cd')])
    tap.eq(hx(hash_of(c, 'h1', '/pieces')), hx(md5(b'abcd')),
           'two add_file for one new path in one stream: MD5 of the concatenation')
    c.put('h1', 'master', '/a', b'replaced')
    tap.eq(hx(hash_of(c, 'h1', '/a')), hx(md5(b'replaced')),
           'overwrite (delete + add): MD5 of the new bytes')


@S
def old_commit_hash(c, st):
    c.create_repo('h1b')
    c.put('h1b', 'master', '/a', b'v1')
    old = c.head('h1b')
    c.put('h1b', 'master', '/a', b'v2')
    tap.eq(hx(hash_of(c, 'h1b', '/a', old)), hx(md5(b'v1')), 'an old commit reports the old hash')
    tap.eq(hx(hash_of(c, 'h1b', '/a')), hx(md5(b'v2')), 'the head reports the new hash')


@S
def copies(c, st):
    c.create_repo('h2')
    data = os.urandom(300000)
    c.put('h2', 'master', '/src', data)
    c.modify('h2', 'master', [copy_file('/dst', 'h2', 'master', '/src')])
    tap.eq(hx(hash_of(c, 'h2', '/dst')), hx(md5(data)), 'a copy has the MD5 of its content')
    tap.eq(c.inspect_file('h2', 'master', '/dst').size_bytes, len(data), 'a copy has the size')
    c.create_repo('h2b')
    c.modify('h2b', 'master', [copy_file('/x/y', 'h2', 'master', '/src')])
    tap.eq(hx(hash_of(c, 'h2b', '/x/y')), hx(md5(data)), 'a copy into another repo too')


@S
def composed(c, st):
    c.create_repo('h3')
    p1 = os.urandom(5 * MiB)
    p2 = os.urandom(5 * MiB)
    p3 = b'last part, short'
    c.modify('h3', 'master', [add_file('/p1', p1), add_file('/p2', p2), add_file('/p3', p3)])

    # The S3 multipart pattern: copy the first part, append the others, in one stream.
    c.modify('h3', 'master', [copy_file('/mp', 'h3', 'master', '/p1'),
                              copy_file('/mp', 'h3', 'master', '/p2', append=True),
                              copy_file('/mp', 'h3', 'master', '/p3', append=True)])
    fi = c.inspect_file('h3', 'master', '/mp')
    tap.eq(c.get('h3', 'master', '/mp'), p1 + p2 + p3, 'append copies: the content is the parts in order')
    tap.eq(fi.size_bytes, len(p1) + len(p2) + len(p3), 'append copies: size_bytes')
    tap.eq(len(fi.hash), 20, 'append copies: a 20-byte hash')
    tap.eq(hx(fi.hash), hx(composed_hash([p1, p2, p3])),
           'append copies: MD5 of the part MD5s + uint32 BE count 3 (S3 multipart ETag)')
    tap.eq(fi.hash[16:], b'\x00\x00\x00\x03', 'the last 4 bytes are the part count')

    # Two parts: append copy onto an existing single-stream file.
    c.modify('h3', 'master', [copy_file('/two', 'h3', 'master', '/p1')])
    c.modify('h3', 'master', [copy_file('/two', 'h3', 'master', '/p3', append=True)])
    tap.eq(hx(hash_of(c, 'h3', '/two')), hx(composed_hash([p1, p3])),
           'append copy in a later commit: composed hash of 2 parts')

    # add_file onto an existing file in a later commit.
    c.put('h3', 'master', '/grow', b'base-')
    c.modify('h3', 'master', [add_file('/grow', b'more')])
    tap.eq(c.get('h3', 'master', '/grow'), b'base-more', 'add_file onto an existing file appends')
    tap.eq(hx(hash_of(c, 'h3', '/grow')), hx(composed_hash([b'base-', b'more'])),
           'add_file onto an existing file: composed hash of 2 parts')
    c.modify('h3', 'master', [add_file('/grow', b'!')])
    tap.eq(hx(hash_of(c, 'h3', '/grow')), hx(composed_hash([b'base-', b'more', b'!'])),
           'a further add_file: 3 parts (flat part list)')

    # A plain copy of a composed file keeps the composed hash.
    c.modify('h3', 'master', [copy_file('/mp-copy', 'h3', 'master', '/mp')])
    tap.eq(hx(hash_of(c, 'h3', '/mp-copy')), hx(composed_hash([p1, p2, p3])),
           'a copy of a composed file keeps the composed hash')
    # Overwriting a composed file with one stream gives an MD5 again.
    c.put('h3', 'master', '/mp', b'plain')
    tap.eq(hx(hash_of(c, 'h3', '/mp')), hx(md5(b'plain')), 'overwritten: MD5 again')


@S
def listing_hashes(c, st):
    c.create_repo('h4')
    c.modify('h4', 'master', [add_file('/d/a', b'aa'), add_file('/d/b', b'bbb')])
    infos = {fi.file.path: fi for fi in c.list_file('h4', 'master', '/d')}
    tap.eq(hx(infos['/d/a'].hash), hx(md5(b'aa')), 'ListFile reports the hash')
    tap.eq(infos['/d/b'].size_bytes, 3, 'ListFile reports the size')
    infos = {fi.file.path: fi for fi in c.glob_file('h4', 'master', '/d/*')}
    tap.eq(hx(infos['/d/b'].hash), hx(md5(b'bbb')), 'GlobFile reports the hash')
    infos = {fi.file.path: fi for fi in c.walk_file('h4', 'master', '/')}
    tap.eq(hx(infos['/d/a'].hash), hx(md5(b'aa')), 'WalkFile reports the hash')
    tap.eq(infos['/d/'].size_bytes, 5, 'a directory\'s size_bytes is the total below it')


with pfsd_stack(tap) as st:
    c = Pfsd(st.pfsd_addr)
    S.run(c, st)
    c.close()
tap.done()
