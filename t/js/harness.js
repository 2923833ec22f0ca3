'use strict';
// Shared helper for JavaScript tests: TAP output, the stack harness
// (t/lib/stack: pfsd + nginx with the module on free loopback ports) and
// ready-made S3 clients pointed at it.
//
// A JavaScript test is a t/*.t file starting with `#!/usr/bin/node`
// (prove hands it to perl, which execs the interpreter named there):
//
//   #!/usr/bin/node
//   'use strict';
//   const h = require(__dirname + '/js/harness');
//   h.run(async (t) => {
//       const s = h.startStack();              // options: see startStack
//       const mc = h.minioClient(s);           // npm minio
//       const c = h.s3Client(s);               // @aws-sdk/client-s3
//       const { PutObjectCommand } = h.dep('@aws-sdk/client-s3');
//       await mc.makeBucket('master.js');
//       t.eq(await h.streamToBuffer(await mc.getObject(...)), ..., 'bytes');
//   });
//
// h.run prints the plan, turns an exception into a failed test, and stops
// every stack it started.  Dependencies come from t/js/package-lock.json
// (scripts/deps test runs `npm ci` here); other areas add tests, not
// dependencies: ask the core area (COORDINATION.md) for a new package.

const childProcess = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const STACK = path.join(ROOT, 't', 'lib', 'stack');
const REGION = 'us-east-1';

// ------------------------------------------------------------------ TAP

class Tap {
    constructor() {
        this.n = 0;
        this.failed = 0;
    }

    ok(cond, name) {
        this.n++;
        if (!cond) {
            this.failed++;
        }
        process.stdout.write(`${cond ? 'ok' : 'not ok'} ${this.n} - ${name || ''}\n`);
        if (!cond) {
            const where = (new Error().stack.split('\n')
                .find((l) => /\.t:\d+/.test(l)) || '').trim();
            this.diag(`failed ${where}`);
        }
        return !!cond;
    }

    // Deep equality for plain values, Buffers compared by bytes.
    eq(got, want, name) {
        const good = sameValue(got, want);
        this.ok(good, name);
        if (!good) {
            this.diag(`     got: ${show(got)}`);
            this.diag(`expected: ${show(want)}`);
        }
        return good;
    }

    like(got, re, name) {
        const good = typeof got === 'string' && re.test(got);
        this.ok(good, name);
        if (!good) {
            this.diag(`     got: ${show(got)}`);
            this.diag(`expected: ${re}`);
        }
        return good;
    }

    // Awaits fn() and expects it to throw; check(err) returns true when the
    // error is the expected one.  Returns the error.
    async rejects(fn, check, name) {
        let err = null;
        try {
            await fn();
        } catch (e) {
            err = e;
        }
        const good = err !== null && check(err);
        this.ok(good, name);
        if (!good) {
            this.diag(err ? `error: ${errorSummary(err)}` : 'no error thrown');
        }
        return err;
    }

    diag(msg) {
        for (const line of String(msg).split('\n')) {
            process.stderr.write(`# ${line}\n`);
        }
    }

    skipAll(why) {
        process.stdout.write(`1..0 # SKIP ${why}\n`);
        process.exit(0);
    }

    done() {
        process.stdout.write(`1..${this.n}\n`);
        return this.failed ? 1 : 0;
    }
}

function sameValue(a, b) {
    if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) {
        return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
    }
    return JSON.stringify(a) === JSON.stringify(b);
}

function show(v) {
    if (Buffer.isBuffer(v)) {
        return `<Buffer ${v.length} bytes ${v.subarray(0, 32).toString('hex')}...>`;
    }
    return JSON.stringify(v);
}

function errorSummary(e) {
    const m = e.$metadata ? ` http=${e.$metadata.httpStatusCode}` : '';
    return `${e.name} code=${e.code || e.Code || '-'}${m}: ${e.message}`;
}

const tap = new Tap();

// ------------------------------------------------------------------ deps

// require() a package from t/js/node_modules (tests live in t/, where
// node would not look).  Skips the whole test file when the packages are
// not installed.
function dep(name) {
    try {
        return require(require.resolve(name, { paths: [__dirname] }));
    } catch (e) {
        if (e.code === 'MODULE_NOT_FOUND') {
            tap.skipAll(`${name} not installed (run scripts/deps test)`);
        }
        throw e;
    }
}

// ------------------------------------------------------------------ stack

const stacks = [];

// Starts pfsd and nginx with the module through t/lib/stack.  Options are
// those of `t/lib/stack start` in camelCase: noNginx, noPfsd, authTokens,
// workers, masterProcess, http, server, location (nginx.conf snippets).
// Returns { endpoint, host, port, region, accessKey, secretKey, dir, env,
// pfsdAddr, accessLog(), errorLog(), pfsd(action), nginx(action), stop() }.
function startStack(opts = {}) {
    const keep = !!process.env.PFS_S3_TEST_KEEP;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pfs-s3-test-'));
    // nginx workers run as "nobody" when started as root; they need the
    // temp paths inside this directory.
    fs.chmodSync(dir, 0o755);

    const args = ['start', dir];
    for (const [k, v] of Object.entries(opts)) {
        const flag = '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
        if (v === true) {
            args.push(flag);
        } else if (v !== undefined && v !== false && v !== null) {
            args.push(flag, String(v));
        }
    }

    const s = {
        dir,
        keep,
        region: REGION,
        env: {},
        stopped: false,
    };
    stacks.push(s);
    s.run = (...a) => {
        const out = childProcess.execFileSync(STACK, a, {
            encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
        });
        const env = {};
        for (const line of out.split('\n')) {
            const i = line.indexOf('=');
            if (i > 0) {
                env[line.slice(0, i)] = line.slice(i + 1);
            }
        }
        if (Object.keys(env).length) {
            s.env = env;
        }
        s.endpoint = s.env.S3_ENDPOINT;
        s.pfsdAddr = s.env.PFSD_ADDR;
        if (s.endpoint) {
            const u = new URL(s.endpoint);
            s.host = u.hostname;
            s.port = Number(u.port);
        }
        // Credentials: what the harness says (auth modes may print them),
        // else any pair (with auth off the module accepts any signature).
        s.accessKey = s.env.S3_ACCESS_KEY || 'pfs-s3-test-access';
        s.secretKey = s.env.S3_SECRET_KEY || 'pfs-s3-test-secret';
        return env;
    };
    s.accessLog = () => readOr(s.env.NGINX_ACCESS_LOG);
    s.errorLog = () => readOr(s.env.NGINX_ERROR_LOG);
    s.pfsd = (action) => {
        if (action !== 'start') {
            signalAndForget(s, 'pfsd', action === 'kill' ? 'SIGKILL' : 'SIGTERM');
        }
        if (action === 'start' || action === 'restart') {
            s.run('pfsd', dir, 'start');
        }
    };
    s.nginx = (action) => s.run('nginx', dir, action);
    s.stop = () => stopStack(s);

    s.run(...args);
    return s;
}

function readOr(file) {
    try {
        return fs.readFileSync(file, 'utf8');
    } catch (e) {
        return '';
    }
}

function alive(pid) {
    try {
        const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3) !== 'Z';
    } catch (e) {
        return false;
    }
}

function kill(pid, sig) {
    try {
        process.kill(pid, sig);
    } catch (e) {
        // gone already
    }
}

function sleepSync(ms) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// The processes were started by an earlier `stack start`, so they are not
// children of `stack stop`, which could not wait for them: signal them
// here, wait until they are gone, and drop them from the harness state.
function signalAndForget(s, name, sig) {
    const stateFile = path.join(s.dir, 'stack.json');
    let st;
    try {
        st = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    } catch (e) {
        return;
    }
    const pid = Number((st.detached || {})[name]);
    if (!pid) {
        return;
    }
    kill(pid, sig);
    const deadline = Date.now() + 20000;
    while (alive(pid) && Date.now() < deadline) {
        sleepSync(10);
    }
    if (alive(pid)) {
        kill(-pid, 'SIGKILL');
        kill(pid, 'SIGKILL');
    }
    delete st.detached[name];
    fs.writeFileSync(stateFile, JSON.stringify(st));
}

function stopStack(s) {
    if (s.stopped) {
        return;
    }
    s.stopped = true;
    signalAndForget(s, 'nginx', 'SIGQUIT');
    signalAndForget(s, 'pfsd', 'SIGTERM');
    childProcess.spawnSync(STACK, ['stop', s.dir], { stdio: 'ignore' });
    if (!s.keep) {
        fs.rmSync(s.dir, { recursive: true, force: true });
    } else {
        tap.diag(`kept ${s.dir}`);
    }
}

// ------------------------------------------------------------------ clients

// npm minio's Client for the stack, path-style addressing.
function minioClient(s, opts = {}) {
    const Minio = dep('minio');
    return new Minio.Client({
        endPoint: s.host,
        port: s.port,
        useSSL: false,
        accessKey: s.accessKey,
        secretKey: s.secretKey,
        region: REGION,
        pathStyle: true,
        ...opts,
    });
}

// @aws-sdk/client-s3's S3Client for the stack, path-style addressing.
function s3Client(s, opts = {}) {
    const { S3Client } = dep('@aws-sdk/client-s3');
    return new S3Client({
        endpoint: s.endpoint,
        region: REGION,
        forcePathStyle: true,
        credentials: { accessKeyId: s.accessKey, secretAccessKey: s.secretKey },
        ...opts,
    });
}

// Reads a Node stream (MinIO getObject) or an SDK body to one Buffer.
async function streamToBuffer(stream) {
    if (stream && typeof stream.transformToByteArray === 'function') {
        return Buffer.from(await stream.transformToByteArray());
    }
    const parts = [];
    for await (const chunk of stream) {
        parts.push(Buffer.from(chunk));
    }
    return Buffer.concat(parts);
}

// Deterministic pseudo-random bytes (same seed, same bytes).
function bytes(n, seed = 1) {
    const b = Buffer.alloc(n);
    let x = (seed * 2654435761) >>> 0 || 1;
    for (let i = 0; i < n; i++) {
        x ^= x << 13;
        x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5;
        x >>>= 0;
        b[i] = x & 0xff;
    }
    return b;
}

// ------------------------------------------------------------------ run

function run(main) {
    const cleanup = () => {
        for (const s of stacks) {
            try {
                stopStack(s);
            } catch (e) {
                tap.diag(`stop: ${e.message}`);
            }
        }
    };
    process.on('exit', cleanup);
    for (const sig of ['SIGINT', 'SIGTERM']) {
        process.on(sig, () => process.exit(1));
    }
    Promise.resolve()
        .then(() => main(tap))
        .catch((e) => {
            tap.ok(false, `no exception: ${errorSummary(e)}`);
            tap.diag(e.stack || String(e));
        })
        .finally(() => {
            cleanup();
            process.exitCode = tap.done();
        });
}

module.exports = {
    ROOT, REGION, tap, dep, startStack, minioClient, s3Client,
    streamToBuffer, bytes, run, errorSummary,
};
