"""Test helpers for Python tests: TAP output and the shared stack harness.

A Python test file is a `*.t` starting with `#!/usr/bin/python3`; prove
hands it to Debian's python3.  It does

    import sys, os; sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
    from pfs_s3_test import Stack, tap

and prints TAP through `tap`.
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
STACK = os.path.join(ROOT, 't', 'lib', 'stack')


def curl(*args, data=None):
    """(status, body) of one curl call with these arguments; status 0 when
    nothing answered (a dead worker), not an exception."""
    out = subprocess.run(['curl', '-s', '-o', '-', '-w', '\n%{http_code}']
                         + list(args), input=data,
                         stdout=subprocess.PIPE).stdout
    body, status = out.rsplit(b'\n', 1)
    return int(status), body


def xfield(body, name):
    """The text of the first <name> element of an XML body, or None."""
    m = re.search(rb'<%s>(.*?)</%s>' % (name.encode(), name.encode()), body,
                  re.S)
    return m.group(1).decode() if m else None


def access_log_mark(stack):
    """A mark in the access log, returned for access_log_after: a request
    of its own, waited for until logged.  nginx logs a request after it has
    answered it, so an earlier request's line can land after the client
    moved on; one more round trip puts those lines behind the mark."""
    mark = '/pfs-s3-test-mark-%s' % os.urandom(8).hex()
    curl('-o', '/dev/null', stack.s3_endpoint + mark)
    access_log_after(stack, mark, 0)
    return mark


def access_log_after(stack, mark, count, timeout=20):
    """The access log lines after the mark's, waited for until there are
    at least count of them (the last request's line can lag its answer);
    whatever is there when timeout seconds have passed."""
    deadline = time.time() + timeout
    while True:
        with open(stack.env['NGINX_ACCESS_LOG']) as f:
            lines = f.readlines()
        at = [i for i, l in enumerate(lines) if ' %s ' % mark in l]
        if at and len(lines) - at[-1] - 1 >= count:
            return lines[at[-1] + 1:]
        if time.time() > deadline:
            return lines[at[-1] + 1:] if at else []
        time.sleep(0.05)


class Tap:
    """A minimal TAP producer: ok/eq/done, failures with diagnostics."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name=''):
        self.n += 1
        if not cond:
            self.failed += 1
        print('%s %d - %s' % ('ok' if cond else 'not ok', self.n, name),
              flush=True)
        if not cond:
            # The innermost frame in a test file (helpers call ok() too).
            stack = traceback.extract_stack()[:-1]
            tests = [f for f in stack if f.filename.endswith('.t')]
            where = tests[-1] if tests else stack[-2]
            self.diag('failed at %s line %d' % (where.filename, where.lineno))
        return bool(cond)

    def eq(self, got, want, name=''):
        good = got == want
        self.ok(good, name) if good else self._fail_eq(got, want, name)
        return good

    def _fail_eq(self, got, want, name):
        self.ok(False, name)
        self.diag('     got: %r' % (got,))
        self.diag('expected: %r' % (want,))

    def diag(self, msg):
        for line in str(msg).splitlines():
            print('# ' + line, file=sys.stderr, flush=True)

    def skip_all(self, why):
        print('1..0 # SKIP %s' % why, flush=True)
        sys.exit(0)

    def skip_all_but_in_ci(self, why):
        """Skips the whole file, except in CI (PFS_S3_CI=1), where what it
        needs must be there: one failing test.  As skip_all_but_in_ci of
        PfsS3::Test."""
        if os.environ.get('PFS_S3_CI'):
            print('1..1', flush=True)
            print('not ok 1 - CI must run this file, but: %s' % why, flush=True)
            sys.exit(1)
        self.skip_all(why)

    def skip_but_in_ci(self, why):
        """A skipped test for a part of a file that needs a client (the aws
        CLI, rclone), except in CI (PFS_S3_CI=1, set by .ci/run), which
        must run it: there it fails.  As skip_but_in_ci of PfsS3::Test."""
        if os.environ.get('PFS_S3_CI'):
            return self.ok(False, 'CI must run this, but: %s' % why)
        return self.ok(True, '# SKIP %s' % why)

    def done(self):
        print('1..%d' % self.n, flush=True)
        sys.exit(1 if self.failed else 0)


tap = Tap()


def s3_client(stack):
    """A boto3 S3 client for the stack's endpoint as the client tests use
    it: path-style, one attempt, fixed test keys, and no AWS_* variable of
    the caller's environment in the way."""
    import boto3
    from botocore.client import Config
    for k in [k for k in os.environ if k.startswith('AWS_')]:
        del os.environ[k]
    return boto3.client(
        's3', endpoint_url=stack.s3_endpoint, region_name='us-east-1',
        aws_access_key_id='AKIAPFSS3TEST',
        aws_secret_access_key='pfs-s3-test-secret',
        config=Config(s3={'addressing_style': 'path'},
                      retries={'max_attempts': 1}))


def etag(data):
    """The ETag S3 gives an object of these bytes written in one PUT."""
    import hashlib
    return '"%s"' % hashlib.md5(data).hexdigest()


def client_error(fn, *a, **kw):
    """(code, HTTP status) of the botocore ClientError fn raises, or
    (None, None) when it raises none: what boto3 users branch on."""
    from botocore.exceptions import ClientError
    try:
        fn(*a, **kw)
    except ClientError as e:
        return (e.response['Error'].get('Code'),
                e.response['ResponseMetadata']['HTTPStatusCode'])
    return (None, None)


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def _alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (OSError, IndexError):
        return False


class Stack:
    """pfsd (and nginx with the module, unless nginx=False) on free ports.

    Attributes after start(): pfsd_addr, s3_endpoint (when nginx runs),
    dir, pfsd_data, pfsd_log, nginx_error_log.
    """

    def __init__(self, nginx=True, pfsd=True, **opts):
        keep = os.environ.get('PFS_S3_TEST_KEEP')
        self._tmp = None
        if keep:
            self.dir = tempfile.mkdtemp(prefix='pfs-s3-test-')
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix='pfs-s3-test-')
            self.dir = self._tmp.name
        # Started as root, nginx's workers run as "nobody": they must reach
        # client_body_temp_path inside this directory (mkdtemp makes 0700).
        os.chmod(self.dir, 0o755)
        args = []
        if not nginx:
            args.append('--no-nginx')
        if not pfsd:
            args.append('--no-pfsd')
        for k, v in opts.items():
            args += ['--' + k.replace('_', '-'), str(v)]
        self._start_args = args
        self.env = {}

    def _run(self, *args):
        out = subprocess.run([STACK] + list(args), check=True,
                             stdout=subprocess.PIPE, text=True).stdout
        env = {}
        for line in out.splitlines():
            if '=' in line:
                k, v = line.split('=', 1)
                env[k] = v
        if env:
            self.env = env
        self.pfsd_addr = self.env.get('PFSD_ADDR')
        self.pfsd_data = self.env.get('PFSD_DATA')
        self.pfsd_log = self.env.get('PFSD_LOG')
        self.s3_endpoint = self.env.get('S3_ENDPOINT')
        self.nginx_error_log = self.env.get('NGINX_ERROR_LOG')
        return env

    def start(self):
        self._run('start', self.dir, *self._start_args)
        return self

    def stop(self):
        # The processes were started by an earlier `stack start` and are not
        # children of `stack stop`, whose waitpid therefore cannot see them
        # exit and waits out its 20 s deadline: stop them here first.
        for name in ('nginx', 'pfsd'):
            self._signal_and_forget(name, signal.SIGTERM)
        subprocess.run([STACK, 'stop', self.dir], check=False)

    def pfsd(self, action):
        """action: start | stop | kill (SIGKILL) | restart"""
        if action in ('stop', 'kill', 'restart'):
            self._signal_and_forget(
                'pfsd', signal.SIGKILL if action == 'kill' else signal.SIGTERM)
            if action != 'restart':
                return
            action = 'start'
        self._run('pfsd', self.dir, action)

    def pids(self):
        """{name: pid} of the processes running now."""
        try:
            with open(os.path.join(self.dir, 'stack.json')) as f:
                st = json.load(f)
        except OSError:
            return {}
        return {k: int(v) for k, v in (st.get('detached') or {}).items()}

    def _signal_and_forget(self, name, sig, timeout=20):
        """Signals one process, waits until it is gone (a zombie counts as
        gone: it is not our child), SIGKILLs it after `timeout`, and removes
        it from the harness state.  Returns seconds it took, or None when
        the process was not running."""
        state_file = os.path.join(self.dir, 'stack.json')
        try:
            with open(state_file) as f:
                st = json.load(f)
        except OSError:
            return None
        pid = (st.get('detached') or {}).get(name)
        if not pid:
            return None
        pid = int(pid)
        t0 = time.time()
        _kill(pid, sig)
        if sig == signal.SIGKILL:
            _kill(-pid, sig)
        while _alive(pid) and time.time() - t0 < timeout:
            time.sleep(0.01)
        if _alive(pid):
            _kill(-pid, signal.SIGKILL)
            _kill(pid, signal.SIGKILL)
            while _alive(pid) and time.time() - t0 < timeout + 10:
                time.sleep(0.01)
        del st['detached'][name]
        with open(state_file, 'w') as f:
            json.dump(st, f, sort_keys=True)
        return time.time() - t0

    def nginx(self, action):
        """action: start | stop | reload"""
        self._run('nginx', self.dir, action)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if self._tmp:
            self._tmp.cleanup()
        return False
