#!/usr/bin/python3
"""Hostile requests against pfs_s3_auth static (t/82-hostile.t has the
rest): every kind of write and read sent unsigned, presigned URLs replayed
after they expired (V4 and V2, GET and PUT, each used once while valid),
and Authorization headers made to stress the canonical request
(thousands of SignedHeaders names, empty or repeated: once a heap
overflow found by fuzz/fuzz_auth).  Each is refused with the S3 error a
client expects, nothing is written, and the worker that served it is
still the same process.
"""
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), 'lib'))
from pfs_s3_test import Stack, curl, tap, xfield  # noqa: E402

import boto3  # noqa: E402
import botocore.config  # noqa: E402

REGION = 'us-east-1'
KEY, SECRET, TOKEN = 'AKHOSTILE', 'hostile/Secret+1', 'tok-hostile'
B = 'master.hostile'


def client(ep, sig='s3v4'):
    return boto3.session.Session().client(
        's3', endpoint_url=ep, region_name=REGION,
        aws_access_key_id=KEY, aws_secret_access_key=SECRET,
        config=botocore.config.Config(signature_version=sig,
                                      s3={'addressing_style': 'path'},
                                      retries={'max_attempts': 1}))


def req(method, url, headers=(), data=None):
    """(status, body) of one request by curl (t/lib's curl)."""
    args = ['-I'] if method == 'HEAD' else ['-X', method]
    for h in headers:
        args += ['-H', h]
    if data is not None:
        args += ['--data-binary', '@-', '-H', 'Content-Type:']
    return curl(*args, url, data=data)


def workers(st):
    master = st.pids()['nginx']
    with open('/proc/%d/task/%d/children' % (master, master)) as f:
        return sorted(int(p) for p in f.read().split())


def main():
    tmp = tempfile.mkdtemp(prefix='pfs-s3-hostile-')
    tokens = os.path.join(tmp, 'tokens')
    creds = os.path.join(tmp, 'credentials')
    with open(tokens, 'w') as f:
        f.write('%s hostile\n' % TOKEN)
    with open(creds, 'w') as f:
        f.write('%s %s %s\n' % (KEY, SECRET, TOKEN))
    os.chmod(tmp, 0o755)
    os.chmod(creds, 0o644)
    loc = 'pfs_s3_auth static; pfs_s3_auth_credentials %s;' % creds
    with Stack(auth_tokens=tokens, location=loc) as st:
        run(st)
    subprocess.run(['rm', '-rf', tmp])
    tap.done()


def unsigned(ep, s3):
    """Every operation without credentials: 403 AccessDenied, no change."""
    delete_xml = (b'<Delete><Object><Key>keep</Key></Object></Delete>')
    cases = [
        ('PUT', '/%s/keep' % B, [], b'overwritten', 'PutObject over an object'),
        ('PUT', '/%s/new' % B, [], b'new', 'PutObject'),
        ('PUT', '/%s/copy' % B, ['x-amz-copy-source: /%s/keep' % B], None,
         'CopyObject'),
        ('DELETE', '/%s/keep' % B, [], None, 'DeleteObject'),
        ('POST', '/%s?delete' % B, [], delete_xml, 'DeleteObjects'),
        ('POST', '/%s/mp?uploads' % B, [], None, 'CreateMultipartUpload'),
        ('PUT', '/master.unsigned', [], None, 'CreateBucket'),
        ('DELETE', '/%s' % B, [], None, 'DeleteBucket'),
        ('PUT', '/%s?versioning' % B, [],
         b'<VersioningConfiguration><Status>Enabled</Status>'
         b'</VersioningConfiguration>', 'PutBucketVersioning'),
        ('GET', '/%s/keep' % B, [], None, 'GetObject'),
        ('GET', '/%s?list-type=2' % B, [], None, 'ListObjectsV2'),
        ('GET', '/', [], None, 'ListBuckets'),
    ]
    for method, path, hdrs, body, name in cases:
        status, got = req(method, ep + path, hdrs, body)
        tap.eq((status, xfield(got, 'Code')), (403, 'AccessDenied'),
               'unsigned %s: 403 AccessDenied' % name)
    status, _ = req('HEAD', ep + '/%s/keep' % B)
    tap.eq(status, 403, 'unsigned HeadObject: 403')

    # what a signed client sees afterwards: nothing changed
    tap.eq(s3.get_object(Bucket=B, Key='keep')['Body'].read(), b'original',
           'unsigned: the object is unchanged')
    keys = [o['Key'] for o in s3.list_objects_v2(Bucket=B).get('Contents', [])]
    tap.eq(keys, ['keep'], 'unsigned: no object was added or removed')
    ups = s3.list_multipart_uploads(Bucket=B).get('Uploads', [])
    tap.eq(ups, [], 'unsigned: no multipart upload was started')
    names = [b['Name'] for b in s3.list_buckets()['Buckets']]
    tap.eq(names, [B + '.default'],
           'unsigned: no bucket was created or deleted')


def wait_expired(seconds):
    # presigned URLs count whole seconds: wait past the second they end in
    time.sleep(seconds + 1.2)


def replayed(ep, s3):
    """Presigned URLs that worked once are refused once expired."""
    s3v2 = client(ep, sig='s3')
    for name, cl in (('V4', s3), ('V2', s3v2)):
        get = cl.generate_presigned_url('get_object', Params={
            'Bucket': B, 'Key': 'keep'}, ExpiresIn=2)
        put = cl.generate_presigned_url('put_object', Params={
            'Bucket': B, 'Key': 'replay-' + name}, ExpiresIn=2)
        tap.eq(req('GET', get), (200, b'original'),
               'presigned %s GET works while valid' % name)
        tap.eq(req('PUT', put, data=b'first')[0], 200,
               'presigned %s PUT works while valid' % name)
        wait_expired(2)
        status, body = req('GET', get)
        tap.eq((status, xfield(body, 'Code'), xfield(body, 'Message')),
               (403, 'AccessDenied', 'Request has expired'),
               'presigned %s GET replayed after expiry: 403 Request has '
               'expired' % name)
        status, body = req('PUT', put, data=b'second')
        tap.eq((status, xfield(body, 'Message')), (403, 'Request has expired'),
               'presigned %s PUT replayed after expiry: 403' % name)
        tap.eq(s3.get_object(Bucket=B, Key='replay-' + name)['Body'].read(),
               b'first', '... and the object keeps what the valid PUT wrote')


def signed_headers(ep):
    """SignedHeaders lists that make the canonical request much longer
    than the header (which must stay under nginx's 8 KiB header buffer):
    refused as a wrong signature, worker alive."""
    now = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
    cred = '%s/%s/%s/s3/aws4_request' % (KEY, now[:8], REGION)
    # Host and the x-amz-* headers are signed, as S3 requires, so that the
    # canonical request is made
    need = 'host;x-amz-content-sha256;x-amz-date'
    lists = [
        ('4000 empty names', need + ';' * 4000),
        ('3000 one-letter names', need + ';' + ';'.join(['a'] * 3000)),
        ('host signed 1500 times', ';'.join(['host'] * 1500) + ';' + need),
    ]
    for name, sh in lists:
        auth = ('AWS4-HMAC-SHA256 Credential=%s, SignedHeaders=%s, '
                'Signature=%s' % (cred, sh, '0' * 64))
        status, body = req('GET', ep + '/%s/keep' % B, [
            'Authorization: ' + auth, 'x-amz-date: ' + now,
            'x-amz-content-sha256: UNSIGNED-PAYLOAD', 'a: x'])
        tap.eq((status, xfield(body, 'Code')), (403, 'SignatureDoesNotMatch'),
               'SignedHeaders with %s: 403 SignatureDoesNotMatch' % name)


def run(st):
    ep = st.s3_endpoint
    s3 = client(ep)
    s3.create_bucket(Bucket=B)
    s3.put_object(Bucket=B, Key='keep', Body=b'original')
    before = workers(st)

    unsigned(ep, s3)
    replayed(ep, s3)
    signed_headers(ep)

    tap.eq(workers(st), before, 'the same workers served everything')
    with open(st.nginx_error_log, 'rb') as f:
        log = f.read()
    tap.ok(not re.search(rb'\[(alert|emerg|crit)\]|exited on signal', log),
           'no alert in the error log')
    tap.ok(urllib.parse.quote(SECRET).encode() not in log
           and SECRET.encode() not in log, 'no secret in the error log')


if __name__ == '__main__':
    main()
