#!/usr/bin/python3
# Storage model (DESIGN.md "Storage model"): copy_file is by reference (the
# data directory does not grow by the copied size, append copies included),
# identical content uploaded twice is stored once (chunks keyed by SHA-256),
# and the copies read back exactly.  Growth is measured with `du` on --data.
#
# Slack: metadata (SQLite rows, WAL pages) may grow a little per operation;
# the bounds below (a few MiB) are far below the sizes copied (64 MiB+).
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pfs_s3_test import tap  # noqa: E402
from pfsd_client import *  # noqa: E402,F401,F403
from pfsd_robust import *  # noqa: E402,F401,F403

S = Sections(tap)
SLACK = 4 * MiB


def grew(st, before):
    os.sync()
    return du_bytes(st.pfsd_data) - before


def usage(st):
    os.sync()
    return du_bytes(st.pfsd_data)


@S
def copy_by_reference(c, st):
    c.create_repo('sc')
    data = Data(64 * MiB, seed=41)
    u0 = usage(st)
    c.modify('sc', 'master', list(add_data('/big', data)))
    g = grew(st, u0)
    tap.ok(g >= 60 * MiB, 'uploading 64 MiB of fresh data grows --data by about that (%.1f MiB)' % (g / MiB))

    u1 = usage(st)
    c.modify('sc', 'master', [copy_file('/copy%d' % i, 'sc', 'master', '/big') for i in range(4)])
    g = grew(st, u1)
    tap.ok(g < SLACK, 'four copy_file of the 64 MiB file grow --data by %.2f MiB (< 4 MiB)' % (g / MiB))

    u2 = usage(st)
    c.create_repo('sc2')
    c.modify('sc2', 'dev', [copy_file('/x/y', 'sc', 'master', '/big')])
    g = grew(st, u2)
    tap.ok(g < SLACK, 'a copy into another repo and branch: %.2f MiB (< 4 MiB)' % (g / MiB))

    u3 = usage(st)
    c.modify('sc', 'master', [copy_file('/copy0', 'sc', 'master', '/big', append=True)])
    g = grew(st, u3)
    tap.ok(g < SLACK, 'an append copy of 64 MiB: %.2f MiB (< 4 MiB)' % (g / MiB))

    fi = c.inspect_file('sc', 'master', '/copy3')
    tap.eq(fi.size_bytes, data.size, 'a copy has the size of the source')
    tap.eq(fi.hash, c.inspect_file('sc', 'master', '/big').hash, '... and its hash')
    tap.eq(c.inspect_file('sc', 'master', '/copy0').size_bytes, 2 * data.size,
           'the append copy is twice as long')
    md, n, _ = md5_stream(c.get_file_stream('sc2', 'dev', '/x/y'))
    tap.eq((md, n), (data.md5(), data.size), 'the copy in the other repo reads back exactly')
    tail = c.get('sc', 'master', '/copy0', offset=2 * data.size - 3 * MiB - 5)
    tap.eq(tail, data.range(data.size - 3 * MiB - 5, 3 * MiB + 5),
           'the end of the append copy is the end of the source')
    mid = b''
    it = c.get_file_stream('sc', 'master', '/copy0', offset=data.size - 1000)
    for m in it:
        mid += m.value
        if len(mid) >= 2000:
            it.cancel()
            break
    tap.eq(mid[:2000], data.range(data.size - 1000, 1000) + data.range(0, 1000),
           '... and across the seam the bytes run on from the source\'s end to its start')

    # Deleting a copy does not take the bytes from the others.
    c.modify('sc', 'master', [delete_file('/big'), delete_file('/copy1')])
    md, n, _ = md5_stream(c.get_file_stream('sc', 'master', '/copy2'))
    tap.eq((md, n), (data.md5(), data.size), 'after deleting the source, a copy still reads exactly')


@S
def identical_content_once(c, st):
    c.create_repo('sd')
    data = Data(48 * MiB, seed=42)
    c.modify('sd', 'master', list(add_data('/first', data)))
    u0 = usage(st)
    c.modify('sd', 'master', list(add_data('/second', data)))
    g = grew(st, u0)
    tap.ok(g < SLACK, 'the same 48 MiB uploaded again (another path, another commit): '
           '%.2f MiB (< 4 MiB)' % (g / MiB))
    u1 = usage(st)
    c.create_repo('sd2')
    c.modify('sd2', 'other', list(add_data('/third', data)))
    g = grew(st, u1)
    tap.ok(g < SLACK, '... and again in another repo: %.2f MiB (< 4 MiB)' % (g / MiB))
    u2 = usage(st)
    c.modify('sd', 'master', list(add_data('/a', data)) + list(add_data('/b', data)))
    g = grew(st, u2)
    tap.ok(g < SLACK, '... twice more within one stream: %.2f MiB (< 4 MiB)' % (g / MiB))
    # Chunks are cut at fixed offsets of the file's bytes, not at message
    # boundaries: the same bytes sent in 1.5 MiB messages are still known.
    u3 = usage(st)
    whole = data.range(0, 24 * MiB)
    c.modify('sd', 'master', [add_file('/odd', whole[i:i + 3 * MiB // 2])
                              for i in range(0, len(whole), 3 * MiB // 2)])
    g = grew(st, u3)
    tap.ok(g < SLACK, '... the first 24 MiB of it in 1.5 MiB messages: %.2f MiB (< 4 MiB)' % (g / MiB))
    tap.eq(c.get('sd', 'master', '/odd'), whole, '... and reads back exactly')
    u4 = usage(st)
    c.modify('sd', 'master', list(add_data('/different', Data(24 * MiB, seed=43))))
    g = grew(st, u4)
    tap.ok(g >= 20 * MiB, 'while 24 MiB of other content does take space (%.1f MiB)' % (g / MiB))
    md, n, _ = md5_stream(c.get_file_stream('sd2', 'other', '/third'))
    tap.eq((md, n), (data.md5(), data.size), 'the deduplicated upload reads back exactly')
    tap.eq(c.inspect_file('sd', 'master', '/second').hash, data.md5(),
           'its hash is the MD5 of its bytes (one stream)')
    # Content that differs in one byte is not confused with the stored one.
    raw = bytearray(data.range(0, 3 * MiB))
    raw[MiB + 17] ^= 0xff
    c.put('sd', 'master', '/changed', bytes(raw))
    tap.eq(c.get('sd', 'master', '/changed'), bytes(raw),
           'a file differing by one byte from stored chunks reads back with its own bytes')


with pfsd_stack(tap) as st:
    c = Pfsd(st.pfsd_addr)
    S.run(c, st)
    c.close()
tap.done()
