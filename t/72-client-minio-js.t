#!/usr/bin/node
'use strict';
// The MinIO JavaScript SDK (npm minio, pinned in t/js/package-lock.json)
// against the real stack: bucket operations, putObject / getObject /
// getPartialObject / statObject / listObjectsV2 / removeObject, bytes
// compared end to end, and the S3 error codes the SDK surfaces.  Objects
// stay under the SDK's multipart threshold (64 MiB part size).

const crypto = require('crypto');
const h = require(__dirname + '/js/harness');

h.run(async (t) => {
    const s = h.startStack();
    const mc = h.minioClient(s);
    const bucket = 'master.minio.default';

    // ---- buckets
    await mc.makeBucket(bucket, h.REGION);
    t.ok(await mc.bucketExists(bucket), 'bucketExists after makeBucket');
    t.ok(!(await mc.bucketExists('master.nosuchrepo')), 'bucketExists false for a missing repo');
    const buckets = await mc.listBuckets();
    t.ok(buckets.some((b) => b.name === bucket), 'listBuckets names the new bucket');
    const mine = buckets.find((b) => b.name === bucket);
    t.ok(mine && mine.creationDate instanceof Date && !isNaN(mine.creationDate),
        'listBuckets gives a creation date');
    await t.rejects(() => mc.makeBucket(bucket, h.REGION),
        (e) => e.code === 'BucketAlreadyOwnedByYou' || e.code === 'BucketAlreadyExists',
        'makeBucket twice: BucketAlreadyOwnedByYou');

    // ---- objects
    const small = Buffer.from('hello from the MinIO JS SDK\n');
    const big = h.bytes(5 * 1024 * 1024 + 123, 7);   // one PUT, > 1 body buffer
    const empty = Buffer.alloc(0);

    let r = await mc.putObject(bucket, 'dir/small.txt', small, small.length,
        { 'Content-Type': 'text/plain', 'x-amz-meta-ignored': 'x' });
    t.eq(r.etag, crypto.createHash('md5').update(small).digest('hex'),
        'putObject etag = MD5 of the bytes');
    t.like(r.versionId || '', /^[0-9a-f]{32}$/, 'putObject versionId is a commit id');
    r = await mc.putObject(bucket, 'dir/big.bin', big, big.length);
    t.eq(r.etag, crypto.createHash('md5').update(big).digest('hex'), 'etag of 5 MiB');
    await mc.putObject(bucket, 'empty', empty, 0);
    await mc.putObject(bucket, 'top.txt', Buffer.from('top'), 3);

    t.eq(await h.streamToBuffer(await mc.getObject(bucket, 'dir/small.txt')), small,
        'getObject: same bytes (small)');
    t.eq(await h.streamToBuffer(await mc.getObject(bucket, 'dir/big.bin')), big,
        'getObject: same bytes (5 MiB)');
    t.eq(await h.streamToBuffer(await mc.getObject(bucket, 'empty')), empty,
        'getObject: empty object');
    t.eq(await h.streamToBuffer(await mc.getPartialObject(bucket, 'dir/big.bin', 1000000, 4096)),
        big.subarray(1000000, 1004096), 'getPartialObject: the range\'s bytes');
    t.eq(await h.streamToBuffer(await mc.getPartialObject(bucket, 'dir/big.bin', big.length - 10)),
        big.subarray(big.length - 10), 'getPartialObject: from an offset to the end');

    const st = await mc.statObject(bucket, 'dir/small.txt');
    t.eq(st.size, small.length, 'statObject size');
    t.eq(st.etag, crypto.createHash('md5').update(small).digest('hex'), 'statObject etag');
    t.ok(st.lastModified instanceof Date && Math.abs(st.lastModified - Date.now()) < 300000,
        'statObject lastModified is now-ish');
    t.like(st.versionId || '', /^[0-9a-f]{32}$/, 'statObject versionId');

    // Overwrite: the new bytes, a new version.
    const v1 = st.versionId;
    const small2 = Buffer.from('second version\n');
    await mc.putObject(bucket, 'dir/small.txt', small2, small2.length);
    t.eq(await h.streamToBuffer(await mc.getObject(bucket, 'dir/small.txt')), small2,
        'overwrite: new bytes');
    t.eq(await h.streamToBuffer(await mc.getObject(bucket, 'dir/small.txt', { versionId: v1 })),
        small, 'getObject with the old versionId: the old bytes');

    // ---- listing
    const list = async (prefix, recursive, opts) => {
        const out = [];
        const stream = mc.listObjectsV2(bucket, prefix, recursive, opts && opts.startAfter);
        for await (const o of stream) {
            out.push(o.name !== undefined ? `${o.name}:${o.size}` : `P:${o.prefix}`);
        }
        return out;
    };
    t.eq(await list('', true), ['dir/big.bin:' + big.length, 'dir/small.txt:' + small2.length,
        'empty:0', 'top.txt:3'], 'listObjectsV2 recursive: every key with its size');
    // The SDK yields a page's keys, then its common prefixes.
    t.eq(await list('', false), ['empty:0', 'top.txt:3', 'P:dir/'],
        'listObjectsV2 with delimiter: top-level keys and the common prefix');
    t.eq(await list('dir/', false), ['dir/big.bin:' + big.length, 'dir/small.txt:' + small2.length],
        'listObjectsV2 under a prefix');
    t.eq(await list('', true, { startAfter: 'dir/small.txt' }), ['empty:0', 'top.txt:3'],
        'listObjectsV2 start-after');

    // Many keys: the SDK follows continuation tokens (1000 per page).
    const N = 1205;
    const names = [];
    for (let i = 0; i < N; i++) {
        names.push(`many/${String(i).padStart(5, '0')}`);
    }
    for (let i = 0; i < names.length; i += 40) {
        await Promise.all(names.slice(i, i + 40).map((k) => mc.putObject(bucket, k, Buffer.from(k))));
    }
    const many = await list('many/', true);
    t.eq(many.length, N, `listObjectsV2 over ${N} keys pages through all of them`);
    t.eq(many, names.map((k) => `${k}:${k.length}`), 'in order, each once');

    // ---- errors as the SDK reports them
    await t.rejects(() => mc.statObject(bucket, 'nope'),
        (e) => e.code === 'NotFound' || e.code === 'NoSuchKey', 'statObject of a missing key');
    await t.rejects(() => mc.getObject(bucket, 'nope'),
        (e) => e.code === 'NoSuchKey', 'getObject of a missing key: NoSuchKey');
    await t.rejects(() => mc.getObject('master.nosuchrepo', 'x'),
        (e) => e.code === 'NoSuchBucket', 'getObject in a missing bucket: NoSuchBucket');
    await t.rejects(() => mc.getPartialObject(bucket, 'top.txt', 100, 10),
        (e) => e.code === 'InvalidRange', 'range past the end: InvalidRange');
    await t.rejects(() => mc.removeBucket(bucket),
        (e) => e.code === 'BucketNotEmpty', 'removeBucket of a non-empty bucket: BucketNotEmpty');

    // ---- removal
    await mc.removeObject(bucket, 'top.txt');
    await t.rejects(() => mc.statObject(bucket, 'top.txt'), () => true, 'removeObject: gone');
    await mc.removeObject(bucket, 'never-existed');
    t.ok(true, 'removeObject of a missing key succeeds (204)');

    const bucket2 = 'master.minio2.default';
    await mc.makeBucket(bucket2, h.REGION);
    await mc.removeBucket(bucket2);
    t.ok(!(await mc.bucketExists(bucket2)), 'removeBucket of an empty bucket');

    // The access log names what the SDK did.
    const log = s.accessLog();
    t.like(log, /op=PutObject bucket=master\.minio\.default key=dir\/small\.txt/,
        'access log: PutObject with bucket and key');
    t.like(log, /op=ListObjectsV2 /, 'access log: ListObjectsV2');
});
