#!/usr/bin/python3
# boto3 (Debian's python3-boto3 under /usr/bin/python3) against the real
# stack: put/get/head/delete with bytes compared end to end, ranges,
# conditionals, versions, the list_objects_v2 paginator over more than one
# page, bucket calls, and errors as the ClientError codes and HTTP statuses
# boto3 users branch on.  Objects stay below boto3's 8 MiB multipart
# threshold (put_object is a single PUT anyway).
import hashlib
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pfs_s3_test import Stack, client_error, etag as md5, s3_client, tap  # noqa: E402

try:
    import boto3  # noqa: F401  (present, or the test is skipped)
except ImportError as e:
    tap.skip_all_but_in_ci('boto3 missing: %s' % e)


err = client_error


def data(n, seed):
    out = bytearray()
    block = hashlib.sha256(b'%d' % seed).digest()
    while len(out) < n:
        out += block
        block = hashlib.sha256(block).digest()
    return bytes(out[:n])


with Stack() as st:
    c = s3_client(st)
    B = 'master.boto.default'

    # ---- buckets
    r = c.create_bucket(Bucket=B)
    tap.eq(r['ResponseMetadata']['HTTPStatusCode'], 200, 'create_bucket')
    tap.ok(r['ResponseMetadata']['HTTPHeaders'].get('x-amz-request-id'),
           'responses carry x-amz-request-id')
    tap.eq(err(c.create_bucket, Bucket=B), ('BucketAlreadyOwnedByYou', 409),
           'create_bucket twice: BucketAlreadyOwnedByYou 409')
    tap.eq(c.head_bucket(Bucket=B)['ResponseMetadata']['HTTPStatusCode'],
           200, 'head_bucket')
    tap.eq(err(c.head_bucket, Bucket='master.nothere'), ('404', 404),
           'head_bucket of a missing bucket: 404 (no body to name a code)')
    tap.eq(err(c.head_bucket, Bucket='bad_bucket..name'), ('400', 400),
           'head_bucket of an invalid name: 400')
    tap.eq(err(c.list_objects_v2, Bucket='master.nothere'),
           ('NoSuchBucket', 404), 'list in a missing bucket: NoSuchBucket')
    names = [b['Name'] for b in c.list_buckets()['Buckets']]
    tap.eq(names, [B], 'list_buckets')
    loc = c.get_bucket_location(Bucket=B)
    tap.ok('LocationConstraint' in loc, 'get_bucket_location')
    tap.eq(c.get_bucket_versioning(Bucket=B).get('Status'), 'Enabled',
           'get_bucket_versioning: Enabled')

    # ---- put / get / head
    small = b'hello, boto3\n'
    body = data(3 * 1024 * 1024 + 5, 1)
    r = c.put_object(Bucket=B, Key='obj/small', Body=small)
    tap.eq(r['ETag'], md5(small), 'put_object ETag = MD5')
    v1 = r.get('VersionId')
    tap.ok(v1 and len(v1) == 32, 'put_object VersionId is a commit id')
    r = c.put_object(Bucket=B, Key='obj/big', Body=body, ContentMD5=__import__(
        'base64').b64encode(hashlib.md5(body).digest()).decode())
    tap.eq(r['ETag'], md5(body), 'put_object with ContentMD5')
    c.put_object(Bucket=B, Key='obj/empty', Body=b'')

    g = c.get_object(Bucket=B, Key='obj/big')
    tap.ok(g['Body'].read() == body, 'get_object: same 3 MiB')
    tap.eq(g['ContentLength'], len(body), 'ContentLength')
    tap.eq(g['ETag'], md5(body), 'get ETag')
    tap.eq(c.get_object(Bucket=B, Key='obj/empty')['Body'].read(), b'',
           'empty object')
    h = c.head_object(Bucket=B, Key='obj/small')
    tap.eq((h['ContentLength'], h['ETag']), (len(small), md5(small)),
           'head_object: length, ETag')
    # The version of a read is the commit read (the branch head), which
    # holds these same bytes (README: Differences from AWS S3).
    tap.eq(c.get_object(Bucket=B, Key='obj/small', VersionId=h['VersionId'])
           ['Body'].read(), small, 'head_object VersionId reads these bytes')
    tap.ok(h['LastModified'].year >= 2024, 'head_object LastModified')

    # overwrite, versions
    r = c.put_object(Bucket=B, Key='obj/small', Body=b'second')
    tap.ok(r['VersionId'] != v1, 'overwrite: new version')
    tap.eq(c.get_object(Bucket=B, Key='obj/small')['Body'].read(), b'second',
           'overwrite: new bytes')
    tap.eq(c.get_object(Bucket=B, Key='obj/small', VersionId=v1)['Body']
           .read(), small, 'VersionId reads the old bytes')
    tap.eq(err(c.get_object, Bucket=B, Key='obj/small', VersionId='nope'),
           ('InvalidArgument', 400), 'a malformed VersionId: InvalidArgument')

    # ---- ranges
    for rng, want in (('bytes=0-9', body[0:10]),
                      ('bytes=1000000-1000099', body[1000000:1000100]),
                      ('bytes=-7', body[-7:]),
                      ('bytes=%d-' % (len(body) - 3), body[-3:]),
                      ('bytes=%d-99999999' % (len(body) - 2), body[-2:])):
        g = c.get_object(Bucket=B, Key='obj/big', Range=rng)
        tap.ok(g['Body'].read() == want and
               g['ResponseMetadata']['HTTPStatusCode'] == 206,
               'Range %s: 206 and those bytes' % rng)
    g = c.get_object(Bucket=B, Key='obj/big', Range='bytes=10-19')
    tap.eq(g['ContentRange'], 'bytes 10-19/%d' % len(body), 'ContentRange')
    tap.eq(err(c.get_object, Bucket=B, Key='obj/big',
               Range='bytes=%d-' % len(body)),
           ('InvalidRange', 416), 'a range starting past the end: 416')

    # ---- conditionals
    etag = md5(body)
    tap.eq(err(c.get_object, Bucket=B, Key='obj/big', IfNoneMatch=etag),
           ('304', 304), 'If-None-Match current ETag: 304')
    tap.eq(err(c.get_object, Bucket=B, Key='obj/big', IfMatch='"0000"'),
           ('PreconditionFailed', 412), 'If-Match other ETag: 412')
    tap.ok(c.get_object(Bucket=B, Key='obj/big', IfMatch=etag)['Body'].read()
           == body, 'If-Match current ETag: 200')
    import datetime
    future = datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(days=1)
    tap.eq(err(c.get_object, Bucket=B, Key='obj/big',
               IfModifiedSince=future), ('304', 304),
           'If-Modified-Since tomorrow: 304')
    past = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
    tap.eq(err(c.get_object, Bucket=B, Key='obj/big',
               IfUnmodifiedSince=past), ('PreconditionFailed', 412),
           'If-Unmodified-Since 2000: 412')

    # ---- response-* overrides
    g = c.get_object(Bucket=B, Key='obj/small',
                     ResponseContentType='text/csv',
                     ResponseContentDisposition='attachment; filename="x.csv"',
                     ResponseCacheControl='no-store')
    tap.eq((g['ContentType'], g['ContentDisposition'], g['CacheControl']),
           ('text/csv', 'attachment; filename="x.csv"', 'no-store'),
           'response-* overrides set the headers')

    # ---- errors
    tap.eq(err(c.get_object, Bucket=B, Key='obj/missing'), ('NoSuchKey', 404),
           'get of a missing key: NoSuchKey 404')
    tap.eq(err(c.head_object, Bucket=B, Key='obj/missing'), ('404', 404),
           'head of a missing key: 404')
    tap.eq(err(c.put_object, Bucket=B, Key='a*b', Body=b'x'),
           ('InvalidFilePath', 400), 'unstorable key: InvalidFilePath 400')
    tap.eq(err(c.put_object, Bucket=B, Key='obj/x', Body=b'abc',
               ContentMD5='AAAAAAAAAAAAAAAAAAAAAA=='),
           ('BadDigest', 400), 'wrong Content-MD5: BadDigest')
    tap.eq(err(c.get_object, Bucket=B, Key='obj/x'), ('NoSuchKey', 404),
           '... and nothing was written')
    tap.eq(err(c.put_object, Bucket='master.nothere', Key='k', Body=b'x'),
           ('NoSuchBucket', 404), 'put in a missing bucket: NoSuchBucket')
    tap.eq(err(c.get_bucket_policy, Bucket=B), ('NotImplemented', 501),
           'an unsupported sub-resource: NotImplemented 501')
    tap.eq(err(c.delete_bucket, Bucket=B), ('BucketNotEmpty', 409),
           'delete_bucket of a non-empty bucket: BucketNotEmpty 409')

    # ---- listing with the paginator (1000 keys a page)
    N = 1234
    keys = ['many/%05d' % i for i in range(N)]
    st_env = dict(os.environ)
    import concurrent.futures as cf
    with cf.ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda k: c.put_object(Bucket=B, Key=k, Body=k.encode()),
                    keys))
    pages = list(c.get_paginator('list_objects_v2').paginate(
        Bucket=B, Prefix='many/'))
    tap.eq([len(p.get('Contents', [])) for p in pages], [1000, N - 1000],
           'paginator: pages of 1000 and the rest')
    got = [o['Key'] for p in pages for o in p.get('Contents', [])]
    tap.eq(got, keys, 'paginator: every key once, in order')
    tap.eq(pages[0]['IsTruncated'], True, 'first page IsTruncated')
    tap.eq(pages[-1]['IsTruncated'], False, 'last page not truncated')
    pages = list(c.get_paginator('list_objects_v2').paginate(
        Bucket=B, Prefix='many/', PaginationConfig={'PageSize': 500},
        StartAfter='many/00100'))
    got = [o['Key'] for p in pages for o in p.get('Contents', [])]
    tap.eq(got, keys[101:], 'paginator with StartAfter and PageSize 500')
    pages = list(c.get_paginator('list_objects').paginate(
        Bucket=B, Prefix='many/', PaginationConfig={'PageSize': 600}))
    got = [o['Key'] for p in pages for o in p.get('Contents', [])]
    tap.eq(got, keys, 'v1 paginator (markers): every key once')
    r = c.list_objects_v2(Bucket=B, Delimiter='/')
    tap.eq([p['Prefix'] for p in r.get('CommonPrefixes', [])],
           ['many/', 'obj/'], 'Delimiter: CommonPrefixes')
    r = c.list_objects_v2(Bucket=B, Prefix='obj/', FetchOwner=True)
    tap.eq([(o['Key'], o['Size']) for o in r['Contents']],
           [('obj/big', len(body)), ('obj/empty', 0), ('obj/small', 6)],
           'Contents: keys and sizes')
    tap.ok('Owner' in r['Contents'][0], 'FetchOwner gives an Owner')
    r = c.list_objects_v2(Bucket=B, Prefix='obj/', EncodingType='url')
    tap.eq(r.get('EncodingType'), 'url', 'EncodingType=url echoed')

    # ---- delete
    r = c.delete_object(Bucket=B, Key='obj/small')
    tap.eq(r['ResponseMetadata']['HTTPStatusCode'], 204, 'delete_object 204')
    tap.eq(err(c.head_object, Bucket=B, Key='obj/small'), ('404', 404),
           'deleted')
    tap.eq(c.get_object(Bucket=B, Key='obj/small', VersionId=v1)['Body']
           .read(), small, 'an old version is still readable after delete')
    r = c.delete_object(Bucket=B, Key='obj/never')
    tap.eq(r['ResponseMetadata']['HTTPStatusCode'], 204,
           'delete of a missing key: 204')

    # ---- a commit bucket is read-only
    cb = '%s.%s' % (v1, B)
    tap.eq(c.get_object(Bucket=cb, Key='obj/small')['Body'].read(), small,
           'commit bucket reads that commit')
    tap.eq(err(c.put_object, Bucket=cb, Key='z', Body=b'z'),
           ('MethodNotAllowed', 405), 'commit bucket: writes 405')

    B2 = 'master.boto2.default'
    c.create_bucket(Bucket=B2)
    c.delete_bucket(Bucket=B2)
    tap.eq(err(c.head_bucket, Bucket=B2), ('404', 404), 'delete_bucket')

tap.done()
