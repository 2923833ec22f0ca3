#!/usr/bin/python3
# Multipart uploads from the real clients that switch to them by size:
# the aws CLI v2 (`aws s3 cp` of a 200 MiB file up and back, bytes
# compared, and an S3-to-S3 copy, which the CLI makes of UploadPartCopy
# ranges), boto3's upload_file with concurrent parts, and rclone copy +
# rclone check (hashes and bytes); with pfs_s3_auth static, unsigned
# multipart calls are AccessDenied and signed ones work.  Each upload must leave no pending
# upload behind and an object whose ETag has S3's multipart form.
import filecmp
import hashlib
import os
import shutil
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pfs_s3_test import Stack, tap  # noqa: E402

try:
    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.client import Config
except ImportError as e:
    tap.skip_all_but_in_ci('boto3 missing: %s' % e)

AWS = '/usr/bin/aws'
RCLONE = shutil.which('rclone')
MiB = 1024 * 1024
KEY_ID, SECRET = 'AKIAPFSS3TEST', 'pfs-s3-test-secret'


def write_random(path, size):
    with open(path, 'wb') as f:
        left = size
        while left:
            n = min(left, 4 * MiB)
            f.write(os.urandom(n))
            left -= n


def md5_file(path):
    h = hashlib.md5()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(MiB), b''):
            h.update(block)
    return h.hexdigest()


def run(cmd, env, name):
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    tap.eq(p.returncode, 0, name)
    if p.returncode:
        tap.diag(p.stdout[-3000:])
    return p.stdout


def no_pending_upload(c, bucket, name):
    r = c.list_multipart_uploads(Bucket=bucket)
    tap.eq(r.get('Uploads', []), [], name + ': no upload left pending')


with Stack() as st:
    for k in [k for k in os.environ if k.startswith('AWS_')]:
        del os.environ[k]
    c = boto3.client(
        's3', endpoint_url=st.s3_endpoint, region_name='us-east-1',
        aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
        config=Config(s3={'addressing_style': 'path'},
                      retries={'max_attempts': 1}))
    B = 'master.mpc.default'
    c.create_bucket(Bucket=B)
    work = os.path.join(st.dir, 'work')
    os.makedirs(work)

    # ---- aws CLI v2: s3 cp of 200 MiB, both ways
    version = subprocess.run([AWS, '--version'], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True).stdout \
        if os.access(AWS, os.X_OK) else ''
    if version.startswith('aws-cli/2.'):
        with open(os.path.join(work, 'config'), 'w') as f:
            f.write('[default]\nregion = us-east-1\ns3 =\n'
                    '    addressing_style = path\n')
        env = dict(os.environ, HOME=work,
                   AWS_CONFIG_FILE=os.path.join(work, 'config'),
                   AWS_SHARED_CREDENTIALS_FILE=os.path.join(work, 'none'),
                   AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET)
        big = os.path.join(work, 'big.bin')
        write_random(big, 200 * MiB)
        run([AWS, '--endpoint-url', st.s3_endpoint, 's3', 'cp', big,
             's3://%s/data/big.bin' % B], env, 'aws s3 cp: 200 MiB up')
        h = c.head_object(Bucket=B, Key='data/big.bin')
        tap.eq(h['ContentLength'], 200 * MiB, 'the object holds 200 MiB')
        # the CLI's default part size is 8 MiB: 25 parts
        tap.ok(h['ETag'].endswith('-25"'),
               'ETag in multipart form, 25 parts: %s' % h['ETag'])
        no_pending_upload(c, B, 'aws s3 cp')
        back = os.path.join(work, 'back.bin')
        run([AWS, '--endpoint-url', st.s3_endpoint, 's3', 'cp',
             's3://%s/data/big.bin' % B, back], env, 'aws s3 cp: 200 MiB down')
        tap.ok(filecmp.cmp(big, back, shallow=False), 'the same 200 MiB came back')
        os.unlink(back)
        # a copy inside S3: CreateMultipartUpload + UploadPartCopy of
        # ranges ("--copy-props none": there are no tags to copy; the
        # default, which asks GetObjectTagging first, is t/38's)
        run([AWS, '--endpoint-url', st.s3_endpoint, 's3', 'cp',
             '--copy-props', 'none',
             's3://%s/data/big.bin' % B, 's3://%s/data/copy.bin' % B], env,
            'aws s3 cp: 200 MiB from S3 to S3')
        with open(st.env['NGINX_ACCESS_LOG']) as f:
            tap.ok('op=UploadPartCopy ' in f.read(),
                   'the CLI copied with UploadPartCopy')
        no_pending_upload(c, B, 'aws s3 cp (copy)')
        run([AWS, '--endpoint-url', st.s3_endpoint, 's3', 'cp',
             's3://%s/data/copy.bin' % B, back], env, 'aws s3 cp: the copy down')
        tap.ok(filecmp.cmp(big, back, shallow=False), 'the copy holds the same 200 MiB')
        os.unlink(back)
        os.unlink(big)
    else:
        tap.skip_but_in_ci('%s is not the aws CLI v2' % AWS)

    # ---- boto3 upload_file: concurrent 5 MiB parts
    f = os.path.join(work, 'boto.bin')
    write_random(f, 43 * MiB + 12345)
    cfg = TransferConfig(multipart_threshold=5 * MiB,
                         multipart_chunksize=5 * MiB, max_concurrency=6,
                         use_threads=True)
    c.upload_file(f, B, 'boto/file.bin', Config=cfg)
    h = c.head_object(Bucket=B, Key='boto/file.bin')
    tap.eq(h['ContentLength'], os.path.getsize(f), 'boto3 upload_file: size')
    tap.ok(h['ETag'].endswith('-9"'), 'boto3: ETag of 9 parts: %s' % h['ETag'])
    no_pending_upload(c, B, 'boto3 upload_file')
    down = os.path.join(work, 'boto.back')
    c.download_file(B, 'boto/file.bin', down, Config=cfg)
    tap.eq(md5_file(down), md5_file(f), 'boto3: the same bytes come back')

    # parts uploaded by hand in parallel threads, completed out of order of
    # their upload, and the S3 multipart ETag computed by the client
    import concurrent.futures
    with open(f, 'rb') as fh:
        blob = fh.read()
    parts = [blob[i:i + 5 * MiB] for i in range(0, len(blob), 5 * MiB)]
    up = c.create_multipart_upload(Bucket=B, Key='boto/manual.bin')['UploadId']

    def send(i):
        return c.upload_part(Bucket=B, Key='boto/manual.bin', UploadId=up,
                             PartNumber=i + 1, Body=parts[i])['ETag']
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        etags = list(pool.map(send, reversed(range(len(parts)))))[::-1]
    listed = c.list_parts(Bucket=B, Key='boto/manual.bin', UploadId=up)
    tap.eq([p['PartNumber'] for p in listed['Parts']],
           list(range(1, len(parts) + 1)), 'list_parts: all parts in order')
    r = c.complete_multipart_upload(
        Bucket=B, Key='boto/manual.bin', UploadId=up,
        MultipartUpload={'Parts': [{'PartNumber': i + 1, 'ETag': e}
                                   for i, e in enumerate(etags)]})
    want = '"%s-%d"' % (hashlib.md5(b''.join(hashlib.md5(p).digest()
                                            for p in parts)).hexdigest(),
                        len(parts))
    tap.eq(r['ETag'], want, "complete: S3's multipart ETag")
    tap.eq(c.head_object(Bucket=B, Key='boto/manual.bin')['ETag'], want,
           'head_object: the same ETag')
    got = c.get_object(Bucket=B, Key='boto/manual.bin')['Body'].read()
    tap.ok(got == blob, 'get_object: the bytes')
    up2 = c.create_multipart_upload(Bucket=B, Key='boto/aborted')['UploadId']
    c.upload_part(Bucket=B, Key='boto/aborted', UploadId=up2, PartNumber=1,
                  Body=b'x')
    c.abort_multipart_upload(Bucket=B, Key='boto/aborted', UploadId=up2)
    no_pending_upload(c, B, 'boto3 abort')
    os.unlink(down)

    # ---- rclone copy + check (multipart above 5 MiB, 4 parts at once)
    if RCLONE:
        src = os.path.join(work, 'tree')
        os.makedirs(os.path.join(src, 'sub'))
        write_random(os.path.join(src, 'sub', 'large.bin'), 23 * MiB + 7)
        write_random(os.path.join(src, 'small.bin'), 1000)
        shutil.copy(f, os.path.join(src, 'sub', 'boto.bin'))
        renv = dict(os.environ, HOME=work, RCLONE_CONFIG='/dev/null',
                    RCLONE_CONFIG_PFS_TYPE='s3',
                    RCLONE_CONFIG_PFS_PROVIDER='Other',
                    RCLONE_CONFIG_PFS_ENDPOINT=st.s3_endpoint,
                    RCLONE_CONFIG_PFS_ACCESS_KEY_ID=KEY_ID,
                    RCLONE_CONFIG_PFS_SECRET_ACCESS_KEY=SECRET,
                    RCLONE_CONFIG_PFS_REGION='us-east-1',
                    RCLONE_CONFIG_PFS_FORCE_PATH_STYLE='true')
        opts = ['--s3-upload-cutoff', '5M', '--s3-chunk-size', '5M',
                '--s3-upload-concurrency', '4', '--retries', '1']
        run([RCLONE, 'copy', src, 'pfs:%s/rc' % B] + opts, renv,
            'rclone copy')
        h = c.head_object(Bucket=B, Key='rc/sub/large.bin')
        tap.ok(h['ETag'].endswith('-5"'), 'rclone: a multipart object: %s'
               % h['ETag'])
        no_pending_upload(c, B, 'rclone copy')
        run([RCLONE, 'check', src, 'pfs:%s/rc' % B], renv,
            'rclone check (sizes and hashes)')
        run([RCLONE, 'check', '--download', src, 'pfs:%s/rc' % B], renv,
            'rclone check --download (bytes)')
    else:
        tap.skip_but_in_ci('rclone missing')

# ---- authentication applies to multipart uploads as to every operation
import tempfile
from botocore import UNSIGNED
from botocore.exceptions import ClientError
with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o755)
    creds = os.path.join(tmp, 'creds')
    with open(creds, 'w') as f:
        f.write('%s %s\n' % (KEY_ID, SECRET))
    os.chmod(creds, 0o644)
    with Stack(location='pfs_s3_auth static; pfs_s3_auth_credentials %s;'
               % creds) as st:
        def client(**kw):
            return boto3.client(
                's3', endpoint_url=st.s3_endpoint, region_name='us-east-1',
                config=Config(s3={'addressing_style': 'path'},
                              retries={'max_attempts': 1}, **kw),
                **({} if kw else {'aws_access_key_id': KEY_ID,
                                  'aws_secret_access_key': SECRET}))
        c = client()
        anon = client(signature_version=UNSIGNED)
        c.create_bucket(Bucket=B)
        up = c.create_multipart_upload(Bucket=B, Key='a')['UploadId']

        def code(fn, **kw):
            try:
                fn(Bucket=B, **kw)
            except ClientError as e:
                return e.response['Error']['Code']
            return None
        tap.eq(code(anon.create_multipart_upload, Key='a'), 'AccessDenied',
               'auth static: unsigned CreateMultipartUpload is AccessDenied')
        tap.eq(code(anon.upload_part, Key='a', UploadId=up, PartNumber=1,
                    Body=b'x'), 'AccessDenied', 'unsigned UploadPart')
        tap.eq(code(anon.list_parts, Key='a', UploadId=up), 'AccessDenied',
               'unsigned ListParts')
        tap.eq(code(anon.list_multipart_uploads), 'AccessDenied',
               'unsigned ListMultipartUploads')
        tap.eq(code(anon.complete_multipart_upload, Key='a', UploadId=up,
                    MultipartUpload={'Parts': [{'PartNumber': 1,
                                                'ETag': '"x"'}]}),
               'AccessDenied', 'unsigned CompleteMultipartUpload')
        tap.eq(code(anon.abort_multipart_upload, Key='a', UploadId=up),
               'AccessDenied', 'unsigned AbortMultipartUpload')
        c.abort_multipart_upload(Bucket=B, Key='a', UploadId=up)
        f2 = os.path.join(tmp, 'f.bin')
        write_random(f2, 12 * MiB)
        c.upload_file(f2, B, 'signed.bin', Config=cfg)
        tap.eq(c.head_object(Bucket=B, Key='signed.bin')['ContentLength'],
               12 * MiB, 'auth static: a signed multipart upload_file works')

tap.done()
