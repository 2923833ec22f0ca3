#!/usr/bin/python3
"""The three pfs_s3_auth modes end to end, and the configuration:

  pachd  against pfsd with auth tokens (the access key is the token, and so
         is the secret), and against pfsd without auth (anything goes, as
         with pachd when auth is not activated); WhoAmI is cached;
  off    PFS with auth on and no token: AccessDenied, never a 500;
         with pfs_s3_pfs_token it works;
  static the credentials file is read again on nginx reload; bad files
         and missing directives are nginx -t errors naming the directive
         and the line, never the secret.
"""
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), 'lib'))
from pfs_s3_test import (ROOT, Stack, _alive, access_log_mark,  # noqa: E402
                         tap)

import boto3  # noqa: E402
import botocore.config  # noqa: E402
import botocore.exceptions  # noqa: E402

REGION = 'us-east-1'
TOKEN = 'a3f1c2d4e5b6978812345678deadbeef'
MODULE = os.environ.get('PFS_S3_MODULE',
                        os.path.join(ROOT, 'build', 'ngx_http_pfs_s3_module.so'))
# the sanitized run's module needs its wrapper (it preloads the runtime)
NGINX = os.environ.get('NGINX_BIN', '/usr/sbin/nginx')


def client(ep, key, secret, sig='s3v4'):
    return boto3.session.Session().client(
        's3', endpoint_url=ep, region_name=REGION,
        aws_access_key_id=key, aws_secret_access_key=secret,
        config=botocore.config.Config(signature_version=sig,
                                      s3={'addressing_style': 'path'},
                                      retries={'max_attempts': 1}))


def error_of(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return (e.response['ResponseMetadata']['HTTPStatusCode'],
                e.response['Error']['Code'])
    return None


def curl(*args):
    out = subprocess.run(['curl', '-s', '-o', '-', '-w', '\n%{http_code}']
                         + list(args), stdout=subprocess.PIPE,
                         check=True).stdout
    body, status = out.rsplit(b'\n', 1)
    return int(status), body


def code(body):
    m = re.search(rb'<Code>(.*?)</Code>', body)
    return m.group(1).decode() if m else None


def log_bytes(st):
    with open(st.nginx_error_log, 'rb') as f:
        return f.read()


def access_log(st):
    """The access log with every earlier request's line in it."""
    access_log_mark(st)
    with open(st.env['NGINX_ACCESS_LOG']) as f:
        return f.read()


def pachd_with_auth(tmp):
    tokens = os.path.join(tmp, 'tokens')
    with open(tokens, 'w') as f:
        f.write('%s alice\n' % TOKEN)
    # a cache far longer than this test: WhoAmI is asked exactly once
    loc = 'pfs_s3_auth pachd; pfs_s3_auth_cache 1h;'
    with Stack(auth_tokens=tokens, location=loc) as st:
        ep = st.s3_endpoint
        s3 = client(ep, TOKEN, TOKEN)
        s3.create_bucket(Bucket='master.pachd')
        s3.put_object(Bucket='master.pachd', Key='k', Body=b'pachd mode')
        tap.eq(s3.get_object(Bucket='master.pachd', Key='k')['Body'].read(),
               b'pachd mode', 'pachd, auth on: the token as access and '
               'secret key works (boto3 V4)')
        r = subprocess.run(['/usr/bin/aws', '--endpoint-url', ep, 's3', 'ls',
                            's3://master.pachd/'], text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=dict(os.environ, AWS_ACCESS_KEY_ID=TOKEN,
                                    AWS_SECRET_ACCESS_KEY=TOKEN,
                                    AWS_DEFAULT_REGION=REGION,
                                    AWS_CONFIG_FILE='/dev/null'))
        tap.ok(r.returncode == 0 and ' k' in r.stdout,
               'pachd, auth on: aws CLI with the token lists the bucket')
        url = s3.generate_presigned_url('get_object', Params={
            'Bucket': 'master.pachd', 'Key': 'k'}, ExpiresIn=60)
        tap.eq(curl(url), (200, b'pachd mode'),
               'pachd, auth on: presigned URL made with the token')
        tap.eq(client(ep, TOKEN, TOKEN, sig='s3').get_object(
            Bucket='master.pachd', Key='k')['Body'].read(), b'pachd mode',
            'pachd, auth on: V2 signature with the token')

        v2url = client(ep, TOKEN, TOKEN, sig='s3').generate_presigned_url(
            'get_object', Params={'Bucket': 'master.pachd', 'Key': 'k'},
            ExpiresIn=60)
        tap.eq(curl(v2url), (200, b'pachd mode'),
               'pachd, auth on: V2 presigned URL made with the token')

        whoami = access_log(st).count('WhoAmI:')
        tap.ok(whoami == 1, 'WhoAmI asked once for 7 requests within '
               'pfs_s3_auth_cache (got %d)' % whoami)

        tap.eq(error_of(lambda: client(ep, 'not-a-token', 'not-a-token')
                        .list_objects_v2(Bucket='master.pachd')),
               (403, 'InvalidAccessKeyId'),
               'pachd, auth on: an unknown token is InvalidAccessKeyId')
        status, body = curl(ep + '/master.pachd/k')
        tap.eq((status, code(body)), (403, 'AccessDenied'),
               'pachd, auth on: no credentials is AccessDenied')

        try:
            client(ep, TOKEN, 'other-secret').get_object(
                Bucket='master.pachd', Key='k')
            body = b''
        except botocore.exceptions.ClientError as e:
            body = repr(e.response).encode()
            tap.eq(e.response['Error']['Code'], 'SignatureDoesNotMatch',
                   'pachd: a secret other than the token is '
                   'SignatureDoesNotMatch')
        tap.ok(TOKEN.encode() not in body,
               '... whose body does not show the token (the access key)')

        tap.ok(TOKEN.encode() not in log_bytes(st),
               'pachd: the token is never in the error log')
        tap.ok(TOKEN not in access_log(st) and '[token]' in access_log(st),
               'pachd: nor in the access log (presigned URLs show [token])')

    # a short cache: once it has expired, WhoAmI is asked again
    with Stack(auth_tokens=tokens,
               location='pfs_s3_auth pachd; pfs_s3_auth_cache 1s;') as st:
        ep = st.s3_endpoint
        tap.eq(error_of(lambda: client(ep, TOKEN, TOKEN).list_buckets()),
               None, 'pachd, 1s cache: the token works')
        time.sleep(1.5)
        tap.eq(error_of(lambda: client(ep, 'still-not-a-token', 'x')
                        .list_objects_v2(Bucket='master.pachd')),
               (403, 'InvalidAccessKeyId'),
               'pachd, after the cache expired: WhoAmI refuses the token: '
               'InvalidAccessKeyId')
        tap.eq(access_log(st).count('WhoAmI:'), 2,
               '... asked by a second WhoAmI')


def pachd_without_auth():
    with Stack(location='pfs_s3_auth pachd;') as st:
        ep = st.s3_endpoint
        status, body = curl('-X', 'PUT', ep + '/master.open')
        tap.eq(status, 200, 'pachd, auth off in PFS: unsigned CreateBucket')
        tap.eq(curl(ep + '/')[0], 200, 'pachd, auth off in PFS: unsigned '
               'ListBuckets')
        s3 = client(ep, 'anything', 'whatever')
        s3.put_object(Bucket='master.open', Key='x', Body=b'open')
        tap.eq(s3.get_object(Bucket='master.open', Key='x')['Body'].read(),
               b'open', 'pachd, auth off in PFS: any credentials work')
        tap.ok('WhoAmI:UNIMPLEMENTED' in access_log(st),
               '... as WhoAmI said UNIMPLEMENTED')


def off_mode(tmp):
    tokens = os.path.join(tmp, 'tokens')
    with Stack(auth_tokens=tokens) as st:
        status, body = curl(st.s3_endpoint + '/')
        tap.eq((status, code(body)), (403, 'AccessDenied'),
               'off, PFS with auth on and no token: 403 AccessDenied')
    loc = 'pfs_s3_pfs_token %s;' % TOKEN
    with Stack(auth_tokens=tokens, location=loc) as st:
        tap.eq(curl(st.s3_endpoint + '/')[0], 200,
               'off with pfs_s3_pfs_token: PFS accepts the token')


def nginx_t(tmp, location):
    conf = os.path.join(tmp, 'nginx.conf')
    with open(conf, 'w') as f:
        f.write('load_module %s;\nerror_log %s/t.log;\npid %s/t.pid;\n'
                'events {}\nhttp {\n server {\n  listen 127.0.0.1:1;\n'
                '  location / {\n   pfs_s3;\n   %s\n  }\n }\n}\n'
                % (MODULE, tmp, tmp, location))
    r = subprocess.run([NGINX, '-t', '-p', tmp, '-c', conf],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    return r.returncode, r.stderr


def config(tmp):
    creds = os.path.join(tmp, 'creds')

    def write(text):
        with open(creds, 'w') as f:
            f.write(text)

    write('# fine\nAK1 secret-one tok\n\nAK2 secret-two  # no token\n')
    rc, err = nginx_t(tmp, 'pfs_s3_auth static; pfs_s3_auth_credentials %s;'
                      % creds)
    tap.eq(rc, 0, 'nginx -t: a good credentials file')

    write('AK1 secret-one tok\nAK2 secret-two tok extra\n')
    rc, err = nginx_t(tmp, 'pfs_s3_auth static; pfs_s3_auth_credentials %s;'
                      % creds)
    tap.ok(rc != 0 and '"pfs_s3_auth_credentials"' in err
           and 'line 2: more than three fields' in err,
           'nginx -t: four fields on line 2 is an error naming the '
           'directive and the line')
    tap.ok('secret-two' not in err and 'secret-one' not in err,
           '... without showing a secret')

    write('AK1 secret-one\nAK1 secret-three\n')
    rc, err = nginx_t(tmp, 'pfs_s3_auth static; pfs_s3_auth_credentials %s;'
                      % creds)
    tap.ok(rc != 0 and 'line 2: the access key is on an earlier line' in err,
           'nginx -t: a repeated access key')

    write('AK1\n')
    rc, err = nginx_t(tmp, 'pfs_s3_auth static; pfs_s3_auth_credentials %s;'
                      % creds)
    tap.ok(rc != 0 and 'line 1: expected' in err, 'nginx -t: no secret key')

    rc, err = nginx_t(tmp, 'pfs_s3_auth static; pfs_s3_auth_credentials '
                      '%s/missing;' % tmp)
    tap.ok(rc != 0 and 'cannot open' in err, 'nginx -t: a missing file')

    rc, err = nginx_t(tmp, 'pfs_s3_auth static;')
    tap.ok(rc != 0 and '"pfs_s3_auth static" needs "pfs_s3_auth_credentials"'
           in err, 'nginx -t: static without credentials')

    rc, err = nginx_t(tmp, 'pfs_s3_auth sometimes;')
    tap.ok(rc != 0 and 'invalid value "sometimes"' in err,
           'nginx -t: an unknown mode')


def workers(st):
    """pids of the stack's nginx workers (the master's children)."""
    master = st.pids().get('nginx')
    try:
        with open('/proc/%d/task/%d/children' % (master, master)) as f:
            return [int(p) for p in f.read().split()]
    except (OSError, TypeError):
        return []


def reload(tmp):
    creds = os.path.join(tmp, 'reload-creds')
    with open(creds, 'w') as f:
        f.write('AKOLD old-secret\n')
    os.chmod(creds, 0o644)
    loc = 'pfs_s3_auth static; pfs_s3_auth_credentials %s;' % creds
    with Stack(location=loc) as st:
        ep = st.s3_endpoint
        tap.eq(error_of(lambda: client(ep, 'AKOLD', 'old-secret')
                        .list_buckets()), None, 'static: the old key works')
        tap.eq(error_of(lambda: client(ep, 'AKNEW', 'new-secret')
                        .list_buckets()), (403, 'InvalidAccessKeyId'),
               'static: the new key is not known yet')
        with open(creds, 'w') as f:
            f.write('AKNEW new-secret\n')
        old_workers = workers(st)
        tap.ok(old_workers, 'the workers before the reload are known')
        st.nginx('reload')
        # until the old workers are gone, one of them may still take a
        # connection with the old credentials
        deadline = time.time() + 60
        while time.time() < deadline and any(_alive(p) for p in old_workers):
            time.sleep(0.1)
        deadline = time.time() + 10
        while time.time() < deadline:
            if error_of(lambda: client(ep, 'AKNEW', 'new-secret')
                        .list_buckets()) is None:
                break
            time.sleep(0.1)
        tap.eq(error_of(lambda: client(ep, 'AKNEW', 'new-secret')
                        .list_buckets()), None,
               'after nginx reload the new key works')
        tap.eq(error_of(lambda: client(ep, 'AKOLD', 'old-secret')
                        .list_buckets()), (403, 'InvalidAccessKeyId'),
               '... and the removed one is refused')


def debug_log(tmp):
    """At debug level nginx logs every request and gRPC header: the
    module pauses http debug logging while a call carrying the PFS token
    is set up, so neither the token nor a secret key is ever written."""
    creds = os.path.join(tmp, 'debug-creds')
    with open(creds, 'w') as f:
        f.write('AKDEBUG debug-secret-key %s\n' % TOKEN)
    os.chmod(creds, 0o644)
    loc = 'pfs_s3_auth static; pfs_s3_auth_credentials %s;' % creds
    with Stack(auth_tokens=os.path.join(tmp, 'tokens'), location=loc,
               http='error_log %%DIR%%/debug.log debug;') as st:
        s3 = client(st.s3_endpoint, 'AKDEBUG', 'debug-secret-key')
        s3.create_bucket(Bucket='master.debug')
        s3.put_object(Bucket='master.debug', Key='k', Body=b'debug')
        got = s3.get_object(Bucket='master.debug', Key='k')['Body'].read()
        tap.eq(got, b'debug', 'static, error log at debug level: requests '
               'work')
        tap.eq(error_of(lambda: client(st.s3_endpoint, 'AKDEBUG', 'wrong')
                        .list_buckets()), (403, 'SignatureDoesNotMatch'),
               '... and a wrong secret is refused')
        with open(os.path.join(st.dir, 'debug.log'), 'rb') as f:
            log = f.read()
        tap.ok(b'http request line' in log and b'grpc header' in log,
               'the debug log has nginx\'s http and grpc debug lines')
        tap.ok(b'paused while a PFS call with a token' in log,
               '... and says when it was paused')
        tap.ok(TOKEN.encode() not in log and b'debug-secret-key' not in log,
               'the debug log holds neither the PFS token nor the secret')


def main():
    tmp = tempfile.mkdtemp(prefix='pfs-s3-auth-modes-')
    os.chmod(tmp, 0o755)
    with open(os.path.join(tmp, 'tokens'), 'w') as f:
        f.write('%s alice\n' % TOKEN)
    try:
        pachd_with_auth(tmp)
        pachd_without_auth()
        off_mode(tmp)
        config(tmp)
        reload(tmp)
        debug_log(tmp)
    finally:
        subprocess.run(['rm', '-rf', tmp])
    tap.done()


if __name__ == '__main__':
    main()
