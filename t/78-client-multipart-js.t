#!/usr/bin/node
'use strict';
// Multipart uploads from JavaScript: the MinIO SDK's fPutObject of a file
// larger than its part size (5 MiB parts here, 64 MiB by default), and
// @aws-sdk/lib-storage's Upload with four parts in flight; bytes compared
// end to end, S3's multipart ETag, nothing left pending.

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const h = require(__dirname + '/js/harness');

const MiB = 1024 * 1024;

function multipartEtag(buf, partSize) {
    const md5s = [];
    for (let i = 0; i < buf.length; i += partSize) {
        md5s.push(crypto.createHash('md5').update(buf.subarray(i, i + partSize)).digest());
    }
    return crypto.createHash('md5').update(Buffer.concat(md5s)).digest('hex') + '-' + md5s.length;
}

h.run(async (t) => {
    const s = h.startStack();
    const mc = h.minioClient(s, { partSize: 5 * MiB });
    const bucket = 'master.mpjs.default';
    await mc.makeBucket(bucket, h.REGION);

    // ---- MinIO fPutObject: 23 MiB in 5 MiB parts
    const data = h.bytes(23 * MiB + 4321, 11);
    const file = path.join(s.dir, 'minio-big.bin');
    fs.writeFileSync(file, data);
    const r = await mc.fPutObject(bucket, 'big/minio.bin', file, { 'Content-Type': 'application/octet-stream' });
    t.eq(r.etag, multipartEtag(data, 5 * MiB), "fPutObject: S3's multipart ETag (5 parts)");
    const st = await mc.statObject(bucket, 'big/minio.bin');
    t.eq(st.size, data.length, 'statObject: size');
    t.eq(await h.streamToBuffer(await mc.getObject(bucket, 'big/minio.bin')), data,
        'getObject: the bytes of the file');
    const back = path.join(s.dir, 'minio-back.bin');
    await mc.fGetObject(bucket, 'big/minio.bin', back);
    t.eq(fs.readFileSync(back), data, 'fGetObject: the same file');

    const pending = [];
    await new Promise((resolve, reject) => {
        const stream = mc.listIncompleteUploads(bucket, '', true);
        stream.on('data', (u) => pending.push(u));
        stream.on('error', reject);
        stream.on('end', resolve);
    });
    t.eq(pending.length, 0, 'listIncompleteUploads: nothing pending');

    // ---- @aws-sdk/lib-storage Upload: 4 parts in flight
    const { Upload } = h.dep('@aws-sdk/lib-storage');
    const { HeadObjectCommand, GetObjectCommand } = h.dep('@aws-sdk/client-s3');
    const c = h.s3Client(s);
    const body = h.bytes(31 * MiB + 99, 12);
    const up = new Upload({
        client: c, queueSize: 4, partSize: 5 * MiB,
        params: { Bucket: bucket, Key: 'big/sdk.bin', Body: body },
    });
    const done = await up.done();
    t.eq(done.ETag, '"' + multipartEtag(body, 5 * MiB) + '"', 'lib-storage Upload: multipart ETag (7 parts)');
    const head = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big/sdk.bin' }));
    t.eq(head.ContentLength, body.length, 'HeadObject: size');
    const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'big/sdk.bin' }));
    t.eq(await h.streamToBuffer(got.Body), body, 'GetObject: the bytes');
});
