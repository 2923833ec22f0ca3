#!/usr/bin/python3
# boto3 (Debian's python3-boto3 under /usr/bin/python3) on CopyObject,
# DeleteObjects and versions, as users call them: copy_object with
# CopySourceIfMatch (and a failing one), the copy of a version, the
# delete_objects call (Content-MD5 computed by botocore) with Quiet and
# per-key errors, and the list_object_versions paginator over several pages
# with each version read back and compared byte for byte.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pfs_s3_test import Stack, client_error, etag as md5, s3_client, tap  # noqa: E402

try:
    import boto3  # noqa: F401  (present, or the test is skipped)
except ImportError as e:
    tap.skip_all_but_in_ci('boto3 missing: %s' % e)


err = client_error


with Stack() as st:
    c = s3_client(st)
    A = 'master.cva.default'
    B = 'master.cvb.default'
    c.create_bucket(Bucket=A)
    c.create_bucket(Bucket=B)

    # ---- copy_object
    body = os.urandom(300 * 1024)
    put = c.put_object(Bucket=A, Key='src/obj.bin', Body=body)
    etag = put['ETag']
    r = c.copy_object(Bucket=B, Key='dst/obj.bin',
                      CopySource={'Bucket': A, 'Key': 'src/obj.bin'},
                      CopySourceIfMatch=etag)
    tap.eq(r['CopyObjectResult']['ETag'], etag,
           'copy_object with CopySourceIfMatch: the ETag of the source')
    tap.ok(r['CopyObjectResult'].get('LastModified') is not None,
           'LastModified')
    tap.eq(r.get('CopySourceVersionId'), put['VersionId'],
           'CopySourceVersionId')
    tap.ok(r.get('VersionId') and r['VersionId'] != put['VersionId'],
           'VersionId: the new commit of the destination')
    tap.ok(c.get_object(Bucket=B, Key='dst/obj.bin')['Body'].read() == body,
           'the copy holds the same bytes')
    tap.eq(err(c.copy_object, Bucket=B, Key='dst/other',
               CopySource={'Bucket': A, 'Key': 'src/obj.bin'},
               CopySourceIfMatch='"00000000000000000000000000000000"'),
           ('PreconditionFailed', 412), 'CopySourceIfMatch other: 412')
    tap.eq(err(c.head_object, Bucket=B, Key='dst/other'), ('404', 404),
           '  nothing copied')
    tap.eq(err(c.copy_object, Bucket=B, Key='x',
               CopySource={'Bucket': A, 'Key': 'nope'}),
           ('NoSuchKey', 404), 'a missing source: NoSuchKey')

    v1 = put['VersionId']
    c.put_object(Bucket=A, Key='src/obj.bin', Body=b'newer')
    r = c.copy_object(Bucket=B, Key='dst/old.bin',
                      CopySource={'Bucket': A, 'Key': 'src/obj.bin',
                                  'VersionId': v1})
    tap.eq(r.get('CopySourceVersionId'), v1, 'copy of a version')
    tap.ok(c.get_object(Bucket=B, Key='dst/old.bin')['Body'].read() == body,
           '  its bytes')
    r = c.copy_object(Bucket=A, Key='src/obj.bin', MetadataDirective='REPLACE',
                      CopySource={'Bucket': A, 'Key': 'src/obj.bin'},
                      ContentType='text/plain')
    tap.eq(r['CopyObjectResult']['ETag'], md5(b'newer'),
           'copy onto itself with MetadataDirective REPLACE')

    # ---- delete_objects
    keys = ['del/%03d' % i for i in range(25)]
    for k in keys:
        c.put_object(Bucket=A, Key=k, Body=k.encode())
    r = c.delete_objects(Bucket=A, Delete={
        'Objects': [{'Key': k} for k in keys] + [{'Key': 'del/missing'}]})
    tap.eq(sorted(d['Key'] for d in r.get('Deleted', [])),
           sorted(keys + ['del/missing']),
           'delete_objects: every key Deleted, the missing one too')
    tap.eq(r.get('Errors', []), [], '  no Errors')
    left = c.list_objects_v2(Bucket=A, Prefix='del/')
    tap.eq(left['KeyCount'], 0, '  all gone')

    c.put_object(Bucket=A, Key='q/1', Body=b'1')
    r = c.delete_objects(Bucket=A, Delete={
        'Quiet': True,
        'Objects': [{'Key': 'q/1'}, {'Key': 'q/2', 'VersionId': v1}]})
    tap.eq(r.get('Deleted', []), [], 'Quiet: no Deleted')
    tap.eq([(e['Key'], e['Code']) for e in r.get('Errors', [])],
           [('q/2', 'NotImplemented')], '  the per-key Error')
    tap.eq(err(c.head_object, Bucket=A, Key='q/1'), ('404', 404),
           '  the other key deleted')

    # ---- versions
    bodies = {}
    for i in range(4):
        for k in ('ver/a', 'ver/b', 'ver/c'):
            b = ('%s %d ' % (k, i)).encode() * (i + 1) * 100
            bodies[c.put_object(Bucket=A, Key=k, Body=b)['VersionId'], k] = b
    c.delete_object(Bucket=A, Key='ver/b')

    pages = 0
    seen = []
    markers = []
    pag = c.get_paginator('list_object_versions')
    for page in pag.paginate(Bucket=A, Prefix='ver/',
                             PaginationConfig={'PageSize': 5}):
        pages += 1
        tap.ok(len(page.get('Versions', [])) +
               len(page.get('DeleteMarkers', [])) <= 5,
               'page %d: at most 5 entries' % pages)
        seen += [(v['Key'], v['VersionId'], v['IsLatest'], v['ETag'])
                 for v in page.get('Versions', [])]
        markers += [(m['Key'], m['IsLatest'])
                    for m in page.get('DeleteMarkers', [])]
    tap.ok(pages >= 3, 'several pages (%d)' % pages)
    tap.eq(len(seen), 12, '12 versions')
    tap.eq(len(set((k, v) for k, v, _, _ in seen)), 12, '  each once')
    tap.eq(markers, [('ver/b', True)], 'one DeleteMarker, the latest of ver/b')
    tap.eq(sorted(k for k, _, latest, _ in seen if latest),
           ['ver/a', 'ver/c'], 'IsLatest for the keys still there')
    good = 0
    for k, v, _, e in seen:
        got = c.get_object(Bucket=A, Key=k, VersionId=v)
        data = got['Body'].read()
        good += (data == bodies[v, k] and got['ETag'] == e
                 and got.get('VersionId') == v)
    tap.eq(good, 12, 'every version read back: bytes, ETag, VersionId')
    tap.eq(err(c.get_object, Bucket=A, Key='ver/a',
               VersionId='0123456789ab4def0123456789abcdef'),
           ('NoSuchVersion', 404), 'an unknown version: NoSuchVersion')

tap.done()
