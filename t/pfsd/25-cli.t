#!/usr/bin/python3
# pfsd's command line and process behaviour (DESIGN.md "pfsd": `pfsd --listen
# ADDR --data DIR [--auth-tokens FILE]`, shutdown on SIGTERM/SIGINT, logging):
# --help, bad flags, missing flags, port in use, unusable data directory,
# unreadable token file, clean and prompt exit on signals, a restart keeping
# the data.  pfsd is started here directly (not through the stack harness) to
# see its exit status and messages.
#
# Readings taken where the design is not explicit:
# - "clear message" = a non-zero exit within a few seconds and a message that
#   names the offending thing (the flag, the address or port, the path).
# - "clean exit within seconds" on SIGTERM: with no call running (an idle,
#   connected client included) pfsd has nothing to wait for, so it must be
#   gone within 3 s; a call still running gets --grace seconds.
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pfs_s3_test import tap  # noqa: E402
from pfsd_client import *  # noqa: E402,F401,F403
from pfsd_robust import *  # noqa: E402,F401,F403

S = Sections(tap)
TMP = tempfile.mkdtemp(prefix='pfsd-cli-')


def fresh_dir(name):
    d = os.path.join(TMP, name)
    shutil.rmtree(d, ignore_errors=True)
    return d


def quick_exit(name, args, want_in_msg, timeout=10):
    """Runs pfsd expecting a refusal: non-zero exit quickly, a message that
    matches every regex of want_in_msg (case-insensitive)."""
    t0 = time.time()
    rc, out, err = run_pfsd(args, timeout=timeout)
    dt = time.time() - t0
    msg = out + err
    tap.ok(rc is not None and rc != 0, '%s: exits non-zero (rc=%s, %.1fs)' % (name, rc, dt))
    good = all(re.search(w, msg, re.I) for w in want_in_msg)
    tap.ok(good, '%s: the message names the problem' % name)
    if not good:
        tap.diag('output: %r' % msg[-800:])
        tap.diag('wanted: %r' % (want_in_msg,))
    return msg


@S
def help_flag(c):
    rc, out, err = run_pfsd(['--help'])
    tap.eq(rc, 0, '--help exits 0')
    tap.ok(re.search(r'usage', out, re.I), '--help prints a usage on stdout')
    for flag in ['--listen', '--data', '--auth-tokens', '--gc-interval', '--pack-size', '--grace']:
        tap.ok(flag in out, '--help mentions %s' % flag)


@S
def bad_flags(c):
    d = fresh_dir('bad-flags')
    addr = '127.0.0.1:%d' % free_port()
    quick_exit('unknown flag --bogus', ['--bogus', '--listen', addr, '--data', d], [r'--bogus'])
    quick_exit('stray argument', ['--listen', addr, '--data', d, 'stray'], [r'stray|argument|usage'])
    quick_exit('no --listen', ['--data', d], [r'--listen'])
    quick_exit('no --data', ['--listen', addr], [r'--data'])
    quick_exit('--listen without value', ['--data', d, '--listen'], [r'--listen'])
    quick_exit('bad --listen address', ['--listen', 'not-an-address', '--data', d],
               [r'not-an-address'])
    quick_exit('--listen port out of range', ['--listen', '127.0.0.1:99999', '--data', d],
               [r'99999'], timeout=5)
    quick_exit('bad --log-level', ['--listen', addr, '--data', d, '--log-level', 'loud'],
               [r'log-level|loud'])
    # Numeric options: not a number, below their minimum.
    for flag, value in (('--gc-interval', '-1'), ('--gc-interval', 'often'), ('--pack-size', '100'),
                        ('--pack-size', '1G'), ('--threads', '0'), ('--grace', '-5')):
        quick_exit('%s %s' % (flag, value), ['--listen', addr, '--data', d, flag, value],
                   [re.escape(flag), re.escape(value)])


@S
def port_in_use(c):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', 0))
    s.listen(5)
    port = s.getsockname()[1]
    try:
        quick_exit('port in use', ['--listen', '127.0.0.1:%d' % port, '--data', fresh_dir('inuse')],
                   [r'%d' % port, r'in use|bind|listen|address'])
    finally:
        s.close()
    # Another pfsd holding the port.
    port = free_port()
    d1 = fresh_dir('inuse1')
    with PfsdProc(['--listen', '127.0.0.1:%d' % port, '--data', d1],
                  log_path=os.path.join(TMP, 'inuse1.log')) as p1:
        tap.ok(wait_serving('127.0.0.1:%d' % port), 'a first pfsd serves')
        quick_exit('port held by another pfsd', ['--listen', '127.0.0.1:%d' % port,
                                                  '--data', fresh_dir('inuse2')],
                   [r'%d' % port])
        tap.ok(p1.wait(0) is None and wait_serving('127.0.0.1:%d' % port, 5),
               'the first pfsd is unaffected')


@S
def data_dir(c):
    plain = os.path.join(TMP, 'plain-file')
    with open(plain, 'w') as f:
        f.write('not a directory\n')
    addr = '127.0.0.1:%d' % free_port()
    quick_exit('--data is a regular file', ['--listen', addr, '--data', plain],
               [re.escape(plain)])
    under = os.path.join(plain, 'sub')
    quick_exit('--data under a regular file (cannot be created)',
               ['--listen', addr, '--data', under], [re.escape(plain)])
    # A missing data directory is created (--help: "created if missing").
    d = os.path.join(fresh_dir('created'))
    port = free_port()
    with PfsdProc(['--listen', '127.0.0.1:%d' % port, '--data', d],
                  log_path=os.path.join(TMP, 'created.log')) as p:
        ok = wait_serving('127.0.0.1:%d' % port, 10)
        tap.ok(ok and os.path.isdir(d), 'a missing --data directory is created and pfsd serves')
        if ok:
            cl = Pfsd('127.0.0.1:%d' % port)
            code, _ = error_of(cl.create_repo, 'r')
            tap.eq(code, OK, '... and stores things in it')
            cl.close()
    # Missing parents too (mkdir -p): what "created if missing" means to
    # users of a data directory option.
    d = os.path.join(fresh_dir('created2'), 'deep', 'er')
    port = free_port()
    with PfsdProc(['--listen', '127.0.0.1:%d' % port, '--data', d],
                  log_path=os.path.join(TMP, 'created2.log')) as p:
        tap.ok(wait_serving('127.0.0.1:%d' % port, 20) and os.path.isdir(d),
               'a --data directory whose parents are missing is created with them')


@S
def token_file(c):
    missing = os.path.join(TMP, 'no-such-tokens.txt')
    quick_exit('--auth-tokens names a missing file',
               ['--listen', '127.0.0.1:%d' % free_port(), '--data', fresh_dir('tok'),
                '--auth-tokens', missing], [re.escape(missing)])


def serve(name, extra=()):
    port = free_port()
    addr = '127.0.0.1:%d' % port
    p = PfsdProc(['--listen', addr, '--data', fresh_dir(name)] + list(extra),
                 log_path=os.path.join(TMP, name + '.log')).start()
    if not wait_serving(addr):
        p.stop()
        raise RuntimeError('pfsd did not start: ' + p.output()[-500:])
    return p, addr


@S
def sigterm_idle(c):
    for sig in (signal.SIGTERM, signal.SIGINT):
        p, addr = serve('sig-%d' % sig)
        try:
            t0 = time.time()
            p.signal(sig)
            rc = p.wait(10)
            dt = time.time() - t0
            tap.eq(rc, 0, '%s with no client: exit status 0 (in %.1fs)' % (signal.Signals(sig).name, dt))
        finally:
            p.stop()
    # An idle but connected client (a keep-alive HTTP/2 connection, as nginx
    # keeps) runs no call: nothing to wait for.
    # --grace 30 and a 20 s wait: pfsd must not wait out the grace for it.
    p, addr = serve('sig-conn', ['--grace', '30'])
    cl = Pfsd(addr)
    try:
        cl.create_repo('r')
        t0 = time.time()
        p.signal(signal.SIGTERM)
        rc = p.wait(20)
        dt = time.time() - t0
        tap.eq(rc, 0, 'SIGTERM with an idle connected client: exit status 0 without waiting out a 30 s '
               'grace (in %.1fs)' % dt)
    finally:
        cl.close()
        p.stop()


@S
def sigterm_running_calls(c):
    # A GetFile whose reader stopped reading, and a ModifyFile that is still
    # sending: with --grace 1 they get 1 s, then are cancelled; the exit is
    # still clean (0) and prompt.
    p, addr = serve('sig-busy', ['--grace', '1'])
    cl = Pfsd(addr)
    try:
        cl.create_repo('r')
        data = Data(48 * MiB, seed=5)
        cl.modify('r', 'master', list(add_data('/big', data)))
        it = cl.get_file_stream('r', 'master', '/big')
        next(it)                           # one piece read, then the reader stalls
        gate = Gate([set_commit('r', 'master')], add_data('/partial', Data(32 * MiB, seed=6)),
                    pause_after=3)
        up = cl.client_stream('/pfs_v2.API/ModifyFile', iter(gate), empty_pb2.Empty,
                              future=True, timeout=60)
        gate.paused.wait(10)
        t0 = time.time()
        p.signal(signal.SIGTERM)
        rc = p.wait(15)
        dt = time.time() - t0
        gate.abort()
        tap.eq(rc, 0, 'SIGTERM during a stalled GetFile and an unfinished ModifyFile: exit 0 '
               '(in %.1fs with --grace 1)' % dt)
        code = None
        try:
            up.result(10)
            code = OK
        except grpc.RpcError as e:
            code = e.code()
        except Exception:  # noqa: BLE001
            code = 'other'
        tap.ok(code != OK, 'the unfinished ModifyFile did not succeed (%s)' % code)
        it.cancel()
    finally:
        cl.close()
        p.stop()
    # Restart on the same data: the finished file is whole, the cut one absent.
    d = os.path.join(TMP, 'sig-busy')
    port = free_port()
    with PfsdProc(['--listen', '127.0.0.1:%d' % port, '--data', d],
                  log_path=os.path.join(TMP, 'sig-busy2.log')) as p2:
        tap.ok(wait_serving('127.0.0.1:%d' % port), 'pfsd restarts on the same data')
        cl = Pfsd('127.0.0.1:%d' % port)
        fi = cl.inspect_file('r', 'master', '/big')
        tap.eq(fi.size_bytes, 48 * MiB, 'the completed file is there after the restart')
        tap.eq(cl.get('r', 'master', '/big', offset=48 * MiB - 4096), data.range(48 * MiB - 4096, 4096),
               '... with its bytes')
        expect_error(tap, cl.inspect_file, NOT_FOUND, None, 'the interrupted upload left no file',
                     'r', 'master', '/partial')
        tap.eq([ci.commit.id for ci in cl.list_commit('r')][:1], [cl.head('r')],
               'the head is the last good commit')
        tap.ok(cl.inspect_commit('r', 'master').HasField('finished'), 'no commit left open')
        cl.close()


@S
def log_lines(c):
    p, addr = serve('log')
    cl = Pfsd(addr)
    try:
        cl.create_repo('logged')
        error_of(cl.inspect_repo, 'nosuch')
    finally:
        cl.close()
        p.signal(signal.SIGTERM)
        p.wait(10)
        p.stop()
    log = p.output()
    tap.ok(re.search(r'CreateRepo', log), 'the log has a line for the CreateRepo call')
    tap.ok(re.search(r'InspectRepo.*NOT_FOUND|NOT_FOUND.*InspectRepo|InspectRepo.*\b5\b', log),
           'the log line of a failed call carries its status')


@S
def restart_keeps_data(c):
    port = free_port()
    addr = '127.0.0.1:%d' % port
    d = fresh_dir('keep')
    with PfsdProc(['--listen', addr, '--data', d], log_path=os.path.join(TMP, 'keep.log')) as p:
        wait_serving(addr)
        cl = Pfsd(addr)
        cl.create_project('kp')
        cl.create_repo('kr', proj='kp', description='kept')
        cl.create_branch('kr', 'dev', proj='kp')
        cl.close()
        p.signal(signal.SIGTERM)
        tap.eq(p.wait(10), 0, 'first run stopped with SIGTERM')
    with PfsdProc(['--listen', addr, '--data', d], log_path=os.path.join(TMP, 'keep2.log')) as p:
        tap.ok(wait_serving(addr), 'second run on the same --data serves')
        cl = Pfsd(addr)
        tap.eq(cl.inspect_repo('kr', proj='kp').description, 'kept', 'project and repo kept')
        tap.eq(cl.inspect_branch('kr', 'dev', proj='kp').branch.name, 'dev', 'branch kept')
        cl.close()


try:
    S.run(None)
finally:
    shutil.rmtree(TMP, ignore_errors=True)
tap.done()
