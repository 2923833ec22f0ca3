#!/usr/bin/python3
"""README's Authentication examples, run as written: for each mode
(off, static, pachd) its nginx location block becomes the stack's
location, its credentials file (static) is written out, and its shell
block runs with /usr/bin/aws against the stack (only the endpoint and the
credentials file's path changed).  pfsd runs with auth tokens for static
and pachd, holding the token README's credentials file names; a wrong
secret or token must then fail, so the examples show real checks.
"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), 'lib'))
from pfs_s3_test import ROOT, Stack, tap  # noqa: E402

ENDPOINT = 'http://127.0.0.1:9000'
CREDS = '/etc/nginx/pfs-s3-credentials'


def section():
    with open(os.path.join(ROOT, 'README.md')) as f:
        text = f.read()
    m = re.search(r'\n## Authentication\n(.*?)\n## ', text, re.S)
    return m.group(1) if m else ''


def blocks(text):
    """(language, body) of each fenced block, in order."""
    return re.findall(r'```(\w*)\n(.*?)```', text, re.S)


def location_of(name, block):
    """The directives inside README's "location / { ... }" but pfs_s3."""
    m = re.search(r'location / \{\n(.*?)\n\}', block, re.S)
    tap.ok(m and 'pfs_s3;' in m.group(1), '%s: README has a location block '
           'with pfs_s3' % name)
    lines = [l.strip() for l in (m.group(1) if m else '').split('\n')]
    return ' '.join(l for l in lines if l and l != 'pfs_s3;')


def check(cond, name, out):
    tap.ok(cond, name)
    if not cond:
        tap.diag(out)


def run_sh(name, script, endpoint, extra_env=None):
    """Runs README's shell block against the stack; (rc, stdout+stderr)."""
    n = script.count(ENDPOINT)
    tap.ok(n > 0, '%s: the shell block uses %s' % (name, ENDPOINT))
    script = script.replace(ENDPOINT, endpoint)
    script = re.sub(r'(?m)^aws ', '/usr/bin/aws ', script)
    env = dict(os.environ, AWS_CONFIG_FILE='/dev/null',
               AWS_SHARED_CREDENTIALS_FILE='/dev/null', **(extra_env or {}))
    for k in ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE'):
        if k not in (extra_env or {}):
            env.pop(k, None)
    r = subprocess.run(['bash', '-e', '-c', script], env=env, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return r.returncode, r.stdout


def main():
    text = section()
    tap.ok(text, 'README has an Authentication section')
    modes = re.split(r'\n\*\*`(off|static|pachd)`\*\*', text)
    found = dict(zip(modes[1::2], modes[2::2]))
    tap.eq(sorted(found), ['off', 'pachd', 'static'],
           'README describes the three modes')

    tmp = tempfile.mkdtemp(prefix='pfs-s3-readme-auth-')
    os.chmod(tmp, 0o755)
    try:
        off(found.get('off', ''))
        token = static(found.get('static', ''), tmp)
        pachd(found.get('pachd', ''), tmp, token)
    finally:
        subprocess.run(['rm', '-rf', tmp])
    tap.done()


def off(text):
    b = blocks(text)
    tap.eq([l for l, _ in b], ['nginx', 'sh'], 'off: a location and a '
           'shell block')
    if len(b) != 2:
        return
    loc = location_of('off', b[0][1])
    with Stack(location=loc) as st:
        rc, out = run_sh('off', b[1][1], st.s3_endpoint)
        check(rc == 0 and 'hostname' in out,
              'off: README\'s commands work unsigned', out)


def static(text, tmp):
    b = blocks(text)
    tap.eq([l for l, _ in b], ['nginx', '', 'sh'], 'static: a location, a '
           'credentials file and a shell block')
    if len(b) != 3:
        return None
    creds = os.path.join(tmp, 'credentials')
    tap.ok(CREDS in b[0][1], 'static: the location names %s' % CREDS)
    loc = location_of('static', b[0][1]).replace(CREDS, creds)
    with open(creds, 'w') as f:
        f.write(b[1][1])
    os.chmod(creds, 0o600)   # as README advises: root only
    line = [l.split() for l in b[1][1].split('\n')
            if l.strip() and not l.startswith('#')]
    tap.ok(len(line) == 1 and len(line[0]) == 3,
           'static: the credentials file has one line of three fields')
    if not (len(line) == 1 and len(line[0]) == 3):
        return None
    key, secret, token = line[0]
    tokens = os.path.join(tmp, 'tokens')
    with open(tokens, 'w') as f:
        f.write('%s readme-user\n' % token)
    with Stack(auth_tokens=tokens, location=loc) as st:
        tap.ok(secret in b[2][1], 'static: the shell block uses the '
               'credentials file\'s secret')
        rc, out = run_sh('static', b[2][1], st.s3_endpoint)
        check(rc == 0 and 'hostname' in out,
              'static: README\'s commands work with its keys', out)
        rc, out = run_sh('static', b[2][1].replace(secret, 'wrong-secret'),
                         st.s3_endpoint)
        check(rc != 0 and 'SignatureDoesNotMatch' in out,
              'static: ... and fail with another secret', out)
    return token


def pachd(text, tmp, token):
    b = blocks(text)
    tap.eq([l for l, _ in b], ['nginx', 'sh'], 'pachd: a location and a '
           'shell block')
    if len(b) != 2 or token is None:
        return
    loc = location_of('pachd', b[0][1])
    tokens = os.path.join(tmp, 'tokens')
    with Stack(auth_tokens=tokens, location=loc) as st:
        rc, out = run_sh('pachd', b[1][1], st.s3_endpoint,
                         {'PACHYDERM_TOKEN': token})
        check(rc == 0 and 'hostname' in out,
              'pachd: README\'s commands work with a Pachyderm token', out)
        rc, out = run_sh('pachd', b[1][1], st.s3_endpoint,
                         {'PACHYDERM_TOKEN': 'not-a-token'})
        check(rc != 0 and 'InvalidAccessKeyId' in out,
              'pachd: ... and fail with a token PFS does not know', out)


if __name__ == '__main__':
    main()
