#!/usr/bin/python3
"""Signed aws-chunked uploads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD and its
-TRAILER variant, and STREAMING-UNSIGNED-PAYLOAD-TRAILER) and the
x-amz-checksum-* checksums (trailer and header) against pfs_s3_auth
static, pfsd with auth tokens.

The request itself is signed by botocore's S3SigV4Auth (the seed
signature); the chunk and trailer signatures are computed here, chained
from it as the S3 documentation describes (no installed client sends
signed chunks: the aws CLI, boto3 and s3cmd sign whole payloads, the JS
SDK sends STREAMING-UNSIGNED-PAYLOAD-TRAILER, see t/js).  Each chunk is
checked by nginx as it arrives; a bad one fails the upload and nothing
reaches PFS: the branch head must not move.
"""
import hashlib
import hmac
import http.client
import os
import sys
import urllib.parse
import zlib
import base64

sys.path.insert(0, os.path.join(os.path.dirname(__file__), 'lib'))
from pfs_s3_test import Stack, tap  # noqa: E402
from pfsd_client import Pfsd  # noqa: E402

import boto3  # noqa: E402
import botocore.auth  # noqa: E402
import botocore.awsrequest  # noqa: E402
import botocore.config  # noqa: E402
import botocore.credentials  # noqa: E402
import botocore.exceptions  # noqa: E402

ACCESS, SECRET, TOKEN = 'AKSTREAM', 'stream-secret-1', 'tok-stream'
REGION = 'us-east-1'
EMPTY = hashlib.sha256(b'').hexdigest()
ALGS = ('crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256')


class StreamingAuth(botocore.auth.S3SigV4Auth):
    """botocore's signer, with the payload hash of a streaming upload."""

    def __init__(self, mode, *args):
        super().__init__(*args)
        self.mode = mode

    def payload(self, request):
        return self.mode


def signing_key(secret, date):
    k = ('AWS4' + secret).encode()
    for part in (date, REGION, 's3', 'aws4_request'):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def chunk_sig(key, amz_date, prev, data):
    scope = '%s/%s/s3/aws4_request' % (amz_date[:8], REGION)
    sts = '\n'.join(['AWS4-HMAC-SHA256-PAYLOAD', amz_date, scope, prev,
                     EMPTY, hashlib.sha256(data).hexdigest()])
    return hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()


def trailer_sig(key, amz_date, prev, lines):
    scope = '%s/%s/s3/aws4_request' % (amz_date[:8], REGION)
    hashed = ''.join(l + '\n' for l in lines).encode()
    sts = '\n'.join(['AWS4-HMAC-SHA256-TRAILER', amz_date, scope, prev,
                     hashlib.sha256(hashed).hexdigest()])
    return hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()


def streaming_put(endpoint, path, chunks, secret=SECRET, tamper=None,
                  trailer=None, swap=False, tamper_trailer=False):
    """PUT path with the given chunks (list of bytes), signed chunk by chunk.

    tamper: index of a chunk whose signature is replaced by a wrong one;
    swap: send chunks 0 and 1 in each other's place, keeping their own
    (valid, but for the other position) signatures;
    trailer: list of "name:value" trailer lines (signed variant).
    Returns (status, body)."""
    u = urllib.parse.urlsplit(endpoint)
    decoded = sum(len(c) for c in chunks)
    mode = ('STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER' if trailer
            else 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD')

    # the body's length depends on the signatures' length only (fixed)
    def framed_len():
        n = 0
        for c in chunks + [b'']:
            n += len('%x;chunk-signature=' % len(c)) + 64 + 2 + len(c) + 2
        if trailer:
            n -= 2   # the final chunk's CRLF is followed by the trailer
            n += sum(len(l) + 2 for l in trailer)
            n += len('x-amz-trailer-signature:') + 64 + 2 + 2
        return n

    headers = {
        'Host': u.netloc,
        'Content-Encoding': 'aws-chunked',
        'Content-Length': str(framed_len()),
        'x-amz-content-sha256': mode,
        'x-amz-decoded-content-length': str(decoded),
    }
    if trailer:
        headers['x-amz-trailer'] = ','.join(l.split(':')[0] for l in trailer)
    req = botocore.awsrequest.AWSRequest(method='PUT', url=endpoint + path,
                                         headers=headers)
    creds = botocore.credentials.Credentials(ACCESS, secret)
    StreamingAuth(mode, creds, 's3', REGION).add_auth(req)
    seed = req.headers['Authorization'].rsplit('Signature=', 1)[1]
    amz_date = req.headers['X-Amz-Date']
    key = signing_key(secret, amz_date[:8])

    order = list(chunks)
    sigs = []
    prev = seed
    for c in chunks + [b'']:
        prev = chunk_sig(key, amz_date, prev, c)
        sigs.append(prev)
    if swap:
        order[0], order[1] = order[1], order[0]
        sigs[0], sigs[1] = sigs[1], sigs[0]
    if tamper is not None:
        sigs[tamper] = ('0' if sigs[tamper][0] != '0' else '1') + sigs[tamper][1:]

    body = b''
    for c, s in zip(order + [b''], sigs):
        body += b'%x;chunk-signature=%s\r\n' % (len(c), s.encode()) + c + b'\r\n'
    if trailer:
        body = body[:-2]
        for l in trailer:
            body += l.encode() + b'\r\n'
        ts = trailer_sig(key, amz_date, sigs[-1], trailer)
        if tamper_trailer:
            ts = ('0' if ts[0] != '0' else '1') + ts[1:]
        body += b'x-amz-trailer-signature:' + ts.encode() + b'\r\n\r\n'
    assert len(body) == framed_len(), (len(body), framed_len())
    return send(endpoint, 'PUT', path, req.headers.items(), body)


def send(endpoint, method, path, headers, body):
    """Sends the request as given; (status, body)."""
    u = urllib.parse.urlsplit(endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for k, v in headers:
        conn.putheader(k, v)
    conn.endheaders()
    # sent in pieces, so the server reads it as it arrives
    for i in range(0, len(body), 16384):
        conn.send(body[i:i + 16384])
    r = conn.getresponse()
    out = (r.status, r.read())
    conn.close()
    return out


def unsigned_trailer_put(endpoint, path, chunks, trailer, announce=None,
                         secret=SECRET):
    """PUT path as the AWS SDKs stream an upload: the request signed with
    STREAMING-UNSIGNED-PAYLOAD-TRAILER, the body aws-chunked without chunk
    signatures, then the trailer lines ("name:value").  announce: the
    x-amz-trailer header (default: the trailer's names).  (status, body)"""
    u = urllib.parse.urlsplit(endpoint)
    body = b''
    for c in chunks + [b'']:
        body += b'%x\r\n' % len(c) + c + b'\r\n'
    body = body[:-2]
    for l in trailer:
        body += l.encode() + b'\r\n'
    body += b'\r\n'
    headers = {
        'Host': u.netloc,
        'Content-Encoding': 'aws-chunked',
        'Content-Length': str(len(body)),
        'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        'x-amz-decoded-content-length': str(sum(len(c) for c in chunks)),
        'x-amz-trailer': (announce if announce is not None
                          else ','.join(l.split(':')[0] for l in trailer)),
    }
    return send_signed(endpoint, 'PUT', path, headers, body, secret,
                       'STREAMING-UNSIGNED-PAYLOAD-TRAILER')


def send_signed(endpoint, method, path, headers, body, secret=SECRET,
                payload='UNSIGNED-PAYLOAD'):
    """Sends a request signed by botocore with the given payload hash."""
    u = urllib.parse.urlsplit(endpoint)
    headers = dict(headers, Host=u.netloc)
    req = botocore.awsrequest.AWSRequest(method=method, url=endpoint + path,
                                         headers=headers)
    creds = botocore.credentials.Credentials(ACCESS, secret)
    StreamingAuth(payload, creds, 's3', REGION).add_auth(req)
    return send(endpoint, method, path, req.headers.items(), body)


def crc(data, poly, bits):
    """A reflected CRC (CRC-32C, CRC-64/NVME), bit by bit."""
    ones = (1 << bits) - 1
    c = ones
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
    return (c ^ ones).to_bytes(bits // 8, 'big')


def b64(raw):
    return base64.b64encode(raw).decode()


def checksums(data):
    """x-amz-checksum-* values of data, by algorithm."""
    return {
        'crc32': b64(zlib.crc32(data).to_bytes(4, 'big')),
        'crc32c': b64(crc(data, 0x82f63b78, 32)),
        'crc64nvme': b64(crc(data, 0x9a6c9329ac4bc9b5, 64)),
        'sha1': b64(hashlib.sha1(data).digest()),
        'sha256': b64(hashlib.sha256(data).digest()),
    }


def message(body):
    s = body.decode(errors='replace')
    return (s.split('<Message>', 1)[1].split('</Message>', 1)[0]
            if '<Message>' in s else s)


def open_commits(pfsd, repo_name):
    return [c for c in pfsd.list_commit(repo_name, all=True)
            if not c.HasField('finished')]


def get(endpoint, path):
    req = botocore.awsrequest.AWSRequest(method='GET', url=endpoint + path)
    creds = botocore.credentials.Credentials(ACCESS, SECRET)
    botocore.auth.S3SigV4Auth(creds, 's3', REGION).add_auth(req)
    u = urllib.parse.urlsplit(endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request('GET', path, headers=dict(req.headers.items()))
    r = conn.getresponse()
    out = (r.status, r.read())
    conn.close()
    return out


def code(body):
    s = body.decode(errors='replace')
    return s.split('<Code>', 1)[1].split('</Code>', 1)[0] if '<Code>' in s else s


def main():
    d = os.environ.get('TMPDIR', '/tmp')
    tokens = os.path.join(d, 'pfs-s3-auth-tokens-%d' % os.getpid())
    creds = os.path.join(d, 'pfs-s3-auth-creds-%d' % os.getpid())
    with open(tokens, 'w') as f:
        f.write('%s streamer\n' % TOKEN)
    with open(creds, 'w') as f:
        f.write('%s %s %s\n' % (ACCESS, SECRET, TOKEN))
    os.chmod(creds, 0o644)

    loc = 'pfs_s3_auth static; pfs_s3_auth_credentials %s;' % creds
    try:
        with Stack(auth_tokens=tokens, location=loc) as st:
            run(st)
    finally:
        os.unlink(tokens)
        os.unlink(creds)
    tap.done()


def run(st):
    ep = st.s3_endpoint
    pfsd = Pfsd(st.pfsd_addr, token=TOKEN)
    pfsd.create_repo('stream')
    pfsd.create_branch('stream', 'master')

    chunks = [os.urandom(65536), os.urandom(65536), b'tail of the object']
    whole = b''.join(chunks)

    status, body = streaming_put(ep, '/master.stream/ok.bin', chunks)
    tap.eq(status, 200, 'signed aws-chunked upload accepted')
    status, data = get(ep, '/master.stream/ok.bin')
    tap.ok(status == 200 and data == whole, 'the object holds the decoded bytes')

    head = pfsd.head('stream')
    ncommits = len(pfsd.list_commit('stream'))

    for name, kw in (('a wrong signature on the second chunk', {'tamper': 1}),
                     ('a wrong signature on the final chunk', {'tamper': 2}),
                     ('two chunks swapped (signatures replayed out of order)',
                      {'swap': True}),
                     ('a wrong secret for the whole upload',
                      {'secret': 'not-the-secret'})):
        status, body = streaming_put(ep, '/master.stream/bad.bin', chunks, **kw)
        tap.eq((status, code(body)), (403, 'SignatureDoesNotMatch'),
               name + ': 403 SignatureDoesNotMatch')
        tap.eq(pfsd.head('stream'), head, name + ': the branch head did not move')
        tap.eq(len(pfsd.list_commit('stream')), ncommits,
               name + ': no commit was made')
        tap.eq(open_commits(pfsd, 'stream'), [],
               name + ': no commit left open in PFS')
    tap.eq(get(ep, '/master.stream/bad.bin')[0], 404,
           'no object from the refused uploads')

    # the signed-trailer variant, with a checksum trailer
    crc = base64.b64encode(zlib.crc32(whole).to_bytes(4, 'big')).decode()
    status, body = streaming_put(ep, '/master.stream/trailer.bin', chunks,
                                 trailer=['x-amz-checksum-crc32:' + crc])
    tap.eq(status, 200, 'signed trailer upload accepted')
    status, data = get(ep, '/master.stream/trailer.bin')
    tap.ok(status == 200 and data == whole, '... and stored')

    # a trailer whose signature was made for other trailer lines
    head = pfsd.head('stream')
    status, body = streaming_put(ep, '/master.stream/trailer2.bin', chunks,
                                 trailer=['x-amz-checksum-crc32:' + crc],
                                 tamper_trailer=True)
    tap.eq((status, code(body)), (403, 'SignatureDoesNotMatch'),
           'a trailer with a wrong signature is refused')
    tap.eq(pfsd.head('stream'), head, '... and nothing committed')

    checksum_trailers(ep, pfsd, chunks, whole)
    checksum_headers(ep, pfsd)
    multipart_checksums(ep, whole)

    with open(st.nginx_error_log, 'rb') as f:
        log = f.read()
    tap.ok(SECRET.encode() not in log and TOKEN.encode() not in log,
           'neither the secret nor the PFS token is in the error log')


def boto(ep):
    return boto3.session.Session().client(
        's3', endpoint_url=ep, region_name=REGION, aws_access_key_id=ACCESS,
        aws_secret_access_key=SECRET, config=botocore.config.Config(
            s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))


def multipart_checksums(ep, whole):
    """UploadPart's checksum header is checked like PutObject's; the one
    of CompleteMultipartUpload is the object's, not its XML body's."""
    s3 = boto(ep)
    key = 'mp-checksum.bin'
    up = s3.create_multipart_upload(Bucket='master.stream', Key=key,
                                    ChecksumAlgorithm='CRC32')['UploadId']
    bad = botocore.exceptions.ClientError
    try:
        s3.upload_part(Bucket='master.stream', Key=key, UploadId=up,
                       PartNumber=1, Body=whole,
                       ChecksumCRC32=checksums(whole + b'x')['crc32'])
        got = None
    except bad as e:
        got = e.response['Error']['Code']
    tap.eq(got, 'BadDigest', 'UploadPart with the CRC32 of other bytes: '
           'BadDigest')
    part = s3.upload_part(Bucket='master.stream', Key=key, UploadId=up,
                          PartNumber=1, Body=whole,
                          ChecksumCRC32=checksums(whole)['crc32'])
    composite = b64(zlib.crc32(base64.b64decode(
        checksums(whole)['crc32'])).to_bytes(4, 'big')) + '-1'
    s3.complete_multipart_upload(
        Bucket='master.stream', Key=key, UploadId=up,
        ChecksumCRC32=composite, MultipartUpload={'Parts': [{
            'PartNumber': 1, 'ETag': part['ETag'],
            'ChecksumCRC32': checksums(whole)['crc32']}]})
    tap.ok(get(ep, '/master.stream/' + key) == (200, whole),
           'CompleteMultipartUpload with the object\'s composite '
           'x-amz-checksum-crc32: completed')


def unchanged(pfsd, head, ncommits, name):
    """Nothing of a refused upload reached PFS."""
    tap.ok(pfsd.head('stream') == head
           and len(pfsd.list_commit('stream')) == ncommits
           and open_commits(pfsd, 'stream') == [],
           name + ': the branch head did not move, no commit was made or '
           'left open')


def checksum_trailers(ep, pfsd, chunks, whole):
    """STREAMING-UNSIGNED-PAYLOAD-TRAILER (what the AWS SDKs send): the
    checksum trailer is verified against the decoded bytes."""
    sums = checksums(whole)
    for alg in ALGS:
        path = '/master.stream/trailer-%s.bin' % alg
        status, body = unsigned_trailer_put(
            ep, path, chunks, ['x-amz-checksum-%s:%s' % (alg, sums[alg])])
        tap.eq(status, 200, 'unsigned-payload trailer with the right %s' % alg)
        tap.ok(get(ep, path) == (200, whole), '... the object holds the bytes')

    head = pfsd.head('stream')
    ncommits = len(pfsd.list_commit('stream'))
    other = checksums(whole[:-1] + b'!')
    for alg in ALGS:
        status, body = unsigned_trailer_put(
            ep, '/master.stream/badsum.bin', chunks,
            ['x-amz-checksum-%s:%s' % (alg, other[alg])])
        tap.eq((status, code(body), message(body)),
               (400, 'BadDigest', 'The %s you specified did not match the '
                'calculated checksum.' % alg.upper()),
               'a trailer %s of other bytes: 400 BadDigest' % alg)
    unchanged(pfsd, head, ncommits, 'wrong checksum trailers')

    status, body = unsigned_trailer_put(ep, '/master.stream/badsum.bin',
                                        chunks, [],
                                        announce='x-amz-checksum-crc32')
    tap.eq((status, code(body)), (400, 'InvalidRequest'),
           'x-amz-trailer announces a checksum the trailer lacks: '
           'InvalidRequest')
    status, body = unsigned_trailer_put(
        ep, '/master.stream/badsum.bin', chunks,
        ['x-amz-checksum-crc32:not base64!'])
    tap.eq((status, code(body)), (400, 'InvalidRequest'),
           'a checksum trailer that is not base64: InvalidRequest')
    status, body = unsigned_trailer_put(
        ep, '/master.stream/badsum.bin', chunks,
        ['x-amz-checksum-crc32:' + sums['crc32']], secret='not-the-secret')
    tap.eq((status, code(body)), (403, 'SignatureDoesNotMatch'),
           'unsigned-payload trailer upload with a wrong secret: '
           'SignatureDoesNotMatch')

    # the signed-trailer variant: a good signature over a wrong checksum
    status, body = streaming_put(ep, '/master.stream/badsum.bin', chunks,
                                 trailer=['x-amz-checksum-sha256:'
                                          + other['sha256']])
    tap.eq((status, code(body)), (400, 'BadDigest'),
           'signed chunks and trailer, the trailer checksum of other '
           'bytes: BadDigest')
    unchanged(pfsd, head, ncommits, 'refused trailer uploads')
    tap.eq(get(ep, '/master.stream/badsum.bin')[0], 404,
           'no object from the refused uploads')


def checksum_headers(ep, pfsd):
    """x-amz-checksum-* as a request header (botocore over http)."""
    data = b'checked by header\n' * 1000
    sums = checksums(data)
    for alg in ALGS:
        path = '/master.stream/header-%s.txt' % alg
        status, body = send_signed(ep, 'PUT', path, {
            'Content-Length': str(len(data)),
            'x-amz-checksum-' + alg: sums[alg]}, data)
        tap.eq(status, 200, 'x-amz-checksum-%s header of the bytes: 200' % alg)
        tap.ok(get(ep, path) == (200, data), '... stored')

    r = boto(ep).put_object(Bucket='master.stream', Key='header-boto.txt',
                            Body=data, ChecksumAlgorithm='SHA256')
    tap.eq(r.get('ChecksumSHA256'), sums['sha256'],
           'boto3 put_object with ChecksumAlgorithm SHA256: the verified '
           'checksum comes back in x-amz-checksum-sha256')

    head = pfsd.head('stream')
    ncommits = len(pfsd.list_commit('stream'))
    other = checksums(data + b'x')
    for alg in ALGS:
        status, body = send_signed(ep, 'PUT', '/master.stream/hbad.txt', {
            'Content-Length': str(len(data)),
            'x-amz-checksum-' + alg: other[alg]}, data)
        tap.eq((status, code(body)), (400, 'BadDigest'),
               'x-amz-checksum-%s header of other bytes: 400 BadDigest' % alg)
    status, body = send_signed(ep, 'PUT', '/master.stream/hbad.txt', {
        'Content-Length': str(len(data)),
        'x-amz-checksum-crc32': sums['crc32'],
        'x-amz-checksum-sha1': sums['sha1']}, data)
    tap.eq((status, code(body)), (400, 'InvalidRequest'),
           'two x-amz-checksum headers: InvalidRequest')
    unchanged(pfsd, head, ncommits, 'wrong checksum headers')
    tap.eq(get(ep, '/master.stream/hbad.txt')[0], 404,
           'no object from the refused uploads')


if __name__ == '__main__':
    main()
