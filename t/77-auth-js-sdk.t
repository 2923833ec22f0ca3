#!/usr/bin/node
'use strict';
// Real JavaScript clients against pfs_s3_auth static, pfsd running with
// auth tokens (so every PFS call needs the credentials file's token):
//
//   @aws-sdk/client-s3  PutObject with a stream body: the SDK streams it
//                       aws-chunked, the request signed with SigV4 and
//                       STREAMING-UNSIGNED-PAYLOAD-TRAILER, the checksum
//                       (CRC32 by default, or the one asked for) in the
//                       trailer; a body changed on the wire is BadDigest
//                       and stores nothing; a wrong secret is refused.
//   minio               putObject / getObject / presignedGetObject (SigV4
//                       with the payload's SHA-256).
//
// No JavaScript SDK sends chunk signatures (STREAMING-AWS4-HMAC-SHA256-
// PAYLOAD): t/75 signs those chunk by chunk over botocore's seed signature.

const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { Readable, Transform } = require('stream');
const h = require(__dirname + '/js/harness');

const ACCESS = 'AKJSSDK';
const SECRET = 'js/Sdk+Secret=1';
const TOKEN = 'tok-js-sdk';
const BUCKET = 'master.jsauth';

// a body the SDK cannot hash up front: it must stream it
function pieces(buf, size) {
    return Readable.from((function* gen() {
        for (let i = 0; i < buf.length; i += size) {
            yield buf.subarray(i, i + size);
        }
    })());
}

// the request headers of each call, as sent (after signing)
function recordHeaders(client) {
    const seen = [];
    client.middlewareStack.add((next) => async (args) => {
        seen.push({ ...args.request.headers });
        return next(args);
    }, { step: 'finalizeRequest', priority: 'low', name: 'recordHeaders' });
    return seen;
}

// flips the first data byte of the aws-chunked body on its way out
function corruptBody(client) {
    client.middlewareStack.add((next) => async (args) => {
        let state = 'header';
        args.request.body = args.request.body.pipe(new Transform({
            transform(chunk, enc, done) {
                const b = Buffer.from(chunk);
                if (state === 'header') {
                    const i = b.indexOf('\r\n');
                    if (i >= 0) {
                        state = 'data';
                        if (i + 2 < b.length) {
                            b[i + 2] ^= 0xff;
                            state = 'done';
                        }
                    }
                } else if (state === 'data' && b.length) {
                    b[0] ^= 0xff;
                    state = 'done';
                }
                done(null, b);
            },
        }));
        return next(args);
    }, { step: 'finalizeRequest', priority: 'low', name: 'corruptBody' });
}

function httpGet(url) {
    return new Promise((resolve, reject) => {
        http.get(url, (res) => {
            const parts = [];
            res.on('data', (d) => parts.push(d));
            res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(parts) }));
        }).on('error', reject);
    });
}

h.run(async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pfs-s3-auth-js-'));
    fs.chmodSync(dir, 0o755);
    const tokens = path.join(dir, 'tokens');
    const creds = path.join(dir, 'credentials');
    fs.writeFileSync(tokens, `${TOKEN} jsuser\n`);
    fs.writeFileSync(creds, `${ACCESS} ${SECRET} ${TOKEN}\n`);
    fs.chmodSync(creds, 0o644);

    const s = h.startStack({
        authTokens: tokens,
        location: `pfs_s3_auth static; pfs_s3_auth_credentials ${creds};`,
    });
    s.accessKey = ACCESS;
    s.secretKey = SECRET;

    const sdk = h.dep('@aws-sdk/client-s3');
    const c = h.s3Client(s);
    const seen = recordHeaders(c);

    await c.send(new sdk.CreateBucketCommand({ Bucket: BUCKET }));

    // ---- streamed uploads, checksum in the trailer
    const data = h.bytes(3 * 1024 * 1024 + 17, 5);
    for (const alg of [undefined, 'CRC32C', 'SHA1', 'SHA256']) {
        const key = `stream/${alg || 'default'}.bin`;
        seen.length = 0;
        await c.send(new sdk.PutObjectCommand({
            Bucket: BUCKET, Key: key, Body: pieces(data, 100000),
            ContentLength: data.length, ChecksumAlgorithm: alg,
        }));
        const hd = seen[seen.length - 1] || {};
        const want = `x-amz-checksum-${(alg || 'CRC32').toLowerCase()}`;
        t.ok(hd['x-amz-content-sha256'] === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'
             && hd['x-amz-trailer'] === want
             && /^AWS4-HMAC-SHA256 Credential=AKJSSDK\//.test(hd.authorization || ''),
        `SDK v3 streamed PutObject (${want} trailer, SigV4 signed)`);
        const got = await c.send(new sdk.GetObjectCommand({ Bucket: BUCKET, Key: key }));
        t.eq(await h.streamToBuffer(got.Body), data, '... the object holds the bytes');
    }

    // a buffer body: the checksum goes in a header
    seen.length = 0;
    const small = Buffer.from('small body, checksum header\n');
    await c.send(new sdk.PutObjectCommand({ Bucket: BUCKET, Key: 'small.txt', Body: small }));
    t.ok((seen[seen.length - 1] || {})['x-amz-checksum-crc32'] !== undefined,
        'SDK v3 PutObject of a buffer sends x-amz-checksum-crc32');
    const got = await c.send(new sdk.GetObjectCommand({ Bucket: BUCKET, Key: 'small.txt' }));
    t.eq(await h.streamToBuffer(got.Body), small, '... accepted and stored');

    // ---- the body changed on the wire: the trailer checksum catches it
    const bad = h.s3Client(s, { maxAttempts: 1 });
    corruptBody(bad);
    await t.rejects(() => bad.send(new sdk.PutObjectCommand({
        Bucket: BUCKET, Key: 'stream/corrupt.bin', Body: pieces(data, 100000),
        ContentLength: data.length,
    })), (e) => e.name === 'BadDigest' && e.$metadata.httpStatusCode === 400,
    'a streamed body changed on the wire: 400 BadDigest');
    await t.rejects(() => c.send(new sdk.HeadObjectCommand({
        Bucket: BUCKET, Key: 'stream/corrupt.bin' })),
    (e) => e.$metadata.httpStatusCode === 404, '... and nothing was stored');

    // ---- wrong secret
    const wrong = h.s3Client(s, { maxAttempts: 1,
        credentials: { accessKeyId: ACCESS, secretAccessKey: 'not-the-secret' } });
    await t.rejects(() => wrong.send(new sdk.PutObjectCommand({
        Bucket: BUCKET, Key: 'stream/wrong.bin', Body: pieces(data, 100000),
        ContentLength: data.length,
    })), (e) => e.name === 'SignatureDoesNotMatch' && e.$metadata.httpStatusCode === 403,
    'streamed upload with a wrong secret: 403 SignatureDoesNotMatch');

    // ---- MinIO JS SDK: SigV4 over the payload's SHA-256, presigned GET
    const mc = h.minioClient(s);
    const mdata = h.bytes(200000, 9);
    await mc.putObject(BUCKET, 'minio/m.bin', mdata, mdata.length);
    t.eq(await h.streamToBuffer(await mc.getObject(BUCKET, 'minio/m.bin')), mdata,
        'minio putObject / getObject with the static credentials');
    const url = await mc.presignedGetObject(BUCKET, 'minio/m.bin', 300);
    const r = await httpGet(url);
    t.ok(r.status === 200 && r.body.equals(mdata), 'minio presignedGetObject URL works');
    const badMc = h.minioClient(s, { secretKey: 'not-the-secret' });
    await t.rejects(() => badMc.putObject(BUCKET, 'minio/x.bin', mdata, mdata.length),
        (e) => e.code === 'SignatureDoesNotMatch', 'minio with a wrong secret: SignatureDoesNotMatch');

    const log = s.errorLog();
    t.ok(log.length > 0 && !log.includes(SECRET) && !log.includes(TOKEN),
        'neither the secret nor the PFS token is in the error log');
    fs.rmSync(dir, { recursive: true, force: true });
});
