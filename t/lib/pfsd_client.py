"""A small gRPC client for pfsd (and pachd) used by the t/pfsd tests.

Messages are the classes `protoc --python_out` generates from proto/ into
build/py (`make pyproto`, run here on demand).  RPCs are called without
generated stubs, through channel.unary_unary / unary_stream / stream_unary
with the method path, exactly the wire contract a pachd client uses.

    from pfsd_client import Pfsd, pfs, ok_err, Sections
    c = Pfsd(stack.pfsd_addr)
    c.create_repo('r')
    c.put('r', 'master', '/a.txt', b'hello')
    data = c.get('r', 'master', '/a.txt')
"""

import contextlib
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import threading
import time
import traceback

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
PY_OUT = os.path.join(ROOT, 'build', 'py')


def _ensure_pyproto():
    """Generate the message classes unless they are there and fresh."""
    want = ['pfs', 'auth', 'version']
    stale = False
    for name in want:
        gen = os.path.join(PY_OUT, name + '_pb2.py')
        src = os.path.join(ROOT, 'proto', name + '.proto')
        if not os.path.exists(gen) or os.path.getmtime(gen) < os.path.getmtime(src):
            stale = True
    if stale:
        subprocess.run(['make', '-s', '-C', ROOT, 'pyproto'], check=True,
                       stdout=sys.stderr)


_ensure_pyproto()
sys.path.insert(0, PY_OUT)

import grpc  # noqa: E402
from google.protobuf import empty_pb2, wrappers_pb2  # noqa: E402,F401
import pfs_pb2 as pfs  # noqa: E402
import auth_pb2 as auth  # noqa: E402
import version_pb2 as version  # noqa: E402

OK = grpc.StatusCode.OK
NOT_FOUND = grpc.StatusCode.NOT_FOUND
ALREADY_EXISTS = grpc.StatusCode.ALREADY_EXISTS
UNKNOWN = grpc.StatusCode.UNKNOWN
INVALID_ARGUMENT = grpc.StatusCode.INVALID_ARGUMENT
UNIMPLEMENTED = grpc.StatusCode.UNIMPLEMENTED
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
FAILED_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
CANCELLED = grpc.StatusCode.CANCELLED
PERMISSION_DENIED = grpc.StatusCode.PERMISSION_DENIED

MiB = 1 << 20
EMPTY_MD5 = hashlib.md5(b'').digest()


# ------------------------------------------------------------ references

def project(name='default'):
    return pfs.Project(name=name)


def repo(name, proj='default', type='user'):
    return pfs.Repo(name=name, type=type, project=project(proj))


def branch(repo_name, name='master', proj='default'):
    return pfs.Branch(repo=repo(repo_name, proj), name=name)


def commit(repo_name, branch_name='master', id='', proj='default'):
    """A commit the way pachd's own client builds one: repo and branch both
    set; an id names the commit, no id means the branch's head."""
    return pfs.Commit(repo=repo(repo_name, proj),
                      branch=branch(repo_name, branch_name or '', proj),
                      id=id)


def file(repo_name, ref, path, proj='default'):
    """ref: a branch name, or a 32-hex commit id, or a pfs.Commit."""
    return pfs.File(commit=as_commit(repo_name, ref, proj), path=path)


def as_commit(repo_name, ref, proj='default'):
    if isinstance(ref, pfs.Commit):
        return ref
    if is_commit_id(ref):
        return commit(repo_name, '', ref, proj)
    return commit(repo_name, ref, '', proj)


def is_commit_id(s):
    return isinstance(s, str) and re.fullmatch(r'[0-9a-f]{32}', s) is not None


# ------------------------------------------------------------ ModifyFile ops

def set_commit(repo_name, ref='master', proj='default'):
    return pfs.ModifyFileRequest(set_commit=as_commit(repo_name, ref, proj))


def add_file(path, data=None):
    """data None: an add_file without source (an empty file)."""
    if data is None:
        return pfs.ModifyFileRequest(add_file=pfs.AddFile(path=path))
    return pfs.ModifyFileRequest(add_file=pfs.AddFile(
        path=path, raw=wrappers_pb2.BytesValue(value=data)))


def add_pieces(path, data, piece=4 * MiB):
    """A file sent as several add_file messages, as pachd clients do."""
    if not data:
        yield add_file(path, b'')
        return
    for off in range(0, len(data), piece):
        yield add_file(path, data[off:off + piece])


def delete_file(path):
    return pfs.ModifyFileRequest(delete_file=pfs.DeleteFile(path=path))


def copy_file(dst, src_repo, src_ref, src_path, append=False, proj='default'):
    return pfs.ModifyFileRequest(copy_file=pfs.CopyFile(
        dst=dst, src=file(src_repo, src_ref, src_path, proj), append=append))


# ------------------------------------------------------------ hashes

def md5(data):
    return hashlib.md5(data).digest()


def composed_hash(parts):
    """DESIGN.md: a file composed by appending has a 20-byte hash, the MD5 of
    the concatenated MD5s of its parts followed by the part count as a
    big-endian uint32 (S3's multipart ETag <hex>-<parts>)."""
    return (hashlib.md5(b''.join(md5(p) for p in parts)).digest()
            + struct.pack('>I', len(parts)))


# ------------------------------------------------------------ the client

class Pfsd:
    def __init__(self, addr, token=None, timeout=60):
        self.addr = addr
        self.token = token
        self.timeout = timeout
        self.channel = grpc.insecure_channel(addr, options=[
            ('grpc.max_receive_message_length', 64 * MiB),
            ('grpc.max_send_message_length', 64 * MiB),
        ])
        self._cache = {}

    def close(self):
        self.channel.close()

    def metadata(self, token=None):
        t = self.token if token is None else token
        return [('authn-token', t)] if t else None

    # -- raw calls ------------------------------------------------------

    def _method(self, kind, path, resp_cls):
        key = (kind, path)
        m = self._cache.get(key)
        if m is None:
            ser = lambda msg: msg.SerializeToString()  # noqa: E731
            de = resp_cls.FromString
            m = getattr(self.channel, kind)(path, request_serializer=ser,
                                            response_deserializer=de)
            self._cache[key] = m
        return m

    def unary(self, path, req, resp_cls, token=None, timeout=None):
        m = self._method('unary_unary', path, resp_cls)
        return m(req, timeout=timeout or self.timeout,
                 metadata=self.metadata(token))

    def server_stream(self, path, req, resp_cls, token=None, timeout=None):
        """The call object (an iterator of responses; .cancel())."""
        m = self._method('unary_stream', path, resp_cls)
        return m(req, timeout=timeout or self.timeout,
                 metadata=self.metadata(token))

    def client_stream(self, path, reqs, resp_cls, token=None, timeout=None,
                      future=False):
        m = self._method('stream_unary', path, resp_cls)
        if future:
            return m.future(reqs, timeout=timeout or self.timeout,
                            metadata=self.metadata(token))
        return m(reqs, timeout=timeout or self.timeout,
                 metadata=self.metadata(token))

    def pfs(self, method, req, resp_cls, **kw):
        return self.unary('/pfs_v2.API/' + method, req, resp_cls, **kw)

    def pfs_list(self, method, req, resp_cls, **kw):
        return list(self.server_stream('/pfs_v2.API/' + method, req,
                                       resp_cls, **kw))

    # -- projects -------------------------------------------------------

    def create_project(self, name, description='', update=False, **kw):
        return self.pfs('CreateProject', pfs.CreateProjectRequest(
            project=project(name), description=description, update=update),
            empty_pb2.Empty, **kw)

    def inspect_project(self, name, **kw):
        return self.pfs('InspectProject', pfs.InspectProjectRequest(
            project=project(name)), pfs.ProjectInfo, **kw)

    def list_project(self, **kw):
        return self.pfs_list('ListProject', pfs.ListProjectRequest(),
                             pfs.ProjectInfo, **kw)

    def delete_project(self, name, force=False, **kw):
        return self.pfs('DeleteProject', pfs.DeleteProjectRequest(
            project=project(name), force=force), empty_pb2.Empty, **kw)

    # -- repos ----------------------------------------------------------

    def create_repo(self, name, proj='default', description='', update=False,
                    type='user', **kw):
        return self.pfs('CreateRepo', pfs.CreateRepoRequest(
            repo=repo(name, proj, type), description=description,
            update=update), empty_pb2.Empty, **kw)

    def inspect_repo(self, name, proj='default', type='user', **kw):
        return self.pfs('InspectRepo', pfs.InspectRepoRequest(
            repo=repo(name, proj, type)), pfs.RepoInfo, **kw)

    def list_repo(self, type='', projects=(), **kw):
        return self.pfs_list('ListRepo', pfs.ListRepoRequest(
            type=type, projects=[project(p) for p in projects]),
            pfs.RepoInfo, **kw)

    def delete_repo(self, name, proj='default', force=False, **kw):
        return self.pfs('DeleteRepo', pfs.DeleteRepoRequest(
            repo=repo(name, proj), force=force), pfs.DeleteRepoResponse, **kw)

    # -- branches -------------------------------------------------------

    def create_branch(self, repo_name, name, head=None, proj='default', **kw):
        """head: None (no head given), a branch name, a commit id or a Commit."""
        req = pfs.CreateBranchRequest(branch=branch(repo_name, name, proj))
        if head is not None:
            req.head.CopyFrom(as_commit(repo_name, head, proj))
        return self.pfs('CreateBranch', req, empty_pb2.Empty, **kw)

    def inspect_branch(self, repo_name, name, proj='default', **kw):
        return self.pfs('InspectBranch', pfs.InspectBranchRequest(
            branch=branch(repo_name, name, proj)), pfs.BranchInfo, **kw)

    def list_branch(self, repo_name, reverse=False, proj='default', **kw):
        return self.pfs_list('ListBranch', pfs.ListBranchRequest(
            repo=repo(repo_name, proj), reverse=reverse), pfs.BranchInfo, **kw)

    def delete_branch(self, repo_name, name, force=False, proj='default', **kw):
        return self.pfs('DeleteBranch', pfs.DeleteBranchRequest(
            branch=branch(repo_name, name, proj), force=force),
            empty_pb2.Empty, **kw)

    def head(self, repo_name, name='master', proj='default'):
        """The id of a branch's head commit."""
        return self.inspect_branch(repo_name, name, proj).head.id

    # -- commits --------------------------------------------------------

    def start_commit(self, repo_name, branch_name='master', parent=None,
                     description='', proj='default', **kw):
        req = pfs.StartCommitRequest(branch=branch(repo_name, branch_name, proj),
                                     description=description)
        if parent is not None:
            req.parent.CopyFrom(as_commit(repo_name, parent, proj))
        return self.pfs('StartCommit', req, pfs.Commit, **kw)

    def finish_commit(self, repo_name, ref, description='', error='',
                      force=False, proj='default', **kw):
        return self.pfs('FinishCommit', pfs.FinishCommitRequest(
            commit=as_commit(repo_name, ref, proj), description=description,
            error=error, force=force), empty_pb2.Empty, **kw)

    def inspect_commit(self, repo_name, ref, wait=0, proj='default', **kw):
        return self.pfs('InspectCommit', pfs.InspectCommitRequest(
            commit=as_commit(repo_name, ref, proj), wait=wait),
            pfs.CommitInfo, **kw)

    def list_commit(self, repo_name, frm=None, to=None, number=0,
                    reverse=False, all=False, proj='default', **kw):
        req = pfs.ListCommitRequest(repo=repo(repo_name, proj), number=number,
                                    reverse=reverse, all=all)
        if frm is not None:
            getattr(req, 'from').CopyFrom(as_commit(repo_name, frm, proj))
        if to is not None:
            req.to.CopyFrom(as_commit(repo_name, to, proj))
        return self.pfs_list('ListCommit', req, pfs.CommitInfo, **kw)

    # -- files ----------------------------------------------------------

    def modify_file(self, reqs, **kw):
        """reqs: an iterable of ModifyFileRequest (sent as they come)."""
        return self.client_stream('/pfs_v2.API/ModifyFile', iter(reqs),
                                  empty_pb2.Empty, **kw)

    def modify(self, repo_name, ref, ops, proj='default', **kw):
        """set_commit(ref) followed by ops."""
        def gen():
            yield set_commit(repo_name, ref, proj)
            for op in ops:
                yield op
        return self.modify_file(gen(), **kw)

    def put(self, repo_name, ref, path, data, overwrite=True, proj='default',
            **kw):
        """One file in one ModifyFile stream (overwriting, like PutObject)."""
        ops = [delete_file(path)] if overwrite else []
        ops += list(add_pieces(path, data))
        return self.modify(repo_name, ref, ops, proj, **kw)

    def get_file_stream(self, repo_name, ref, path, offset=0, proj='default',
                        **kw):
        return self.server_stream('/pfs_v2.API/GetFile', pfs.GetFileRequest(
            file=file(repo_name, ref, path, proj), offset=offset),
            wrappers_pb2.BytesValue, **kw)

    def get(self, repo_name, ref, path, offset=0, proj='default', **kw):
        return b''.join(m.value for m in self.get_file_stream(
            repo_name, ref, path, offset, proj, **kw))

    def inspect_file(self, repo_name, ref, path, proj='default', **kw):
        return self.pfs('InspectFile', pfs.InspectFileRequest(
            file=file(repo_name, ref, path, proj)), pfs.FileInfo, **kw)

    def list_file(self, repo_name, ref, path, marker=None, number=0,
                  reverse=False, proj='default', **kw):
        req = pfs.ListFileRequest(file=file(repo_name, ref, path, proj),
                                  number=number, reverse=reverse)
        if marker is not None:
            req.paginationMarker.CopyFrom(file(repo_name, ref, marker, proj))
        return self.pfs_list('ListFile', req, pfs.FileInfo, **kw)

    def walk_file(self, repo_name, ref, path, marker=None, number=0,
                  reverse=False, proj='default', **kw):
        req = pfs.WalkFileRequest(file=file(repo_name, ref, path, proj),
                                  number=number, reverse=reverse)
        if marker is not None:
            req.paginationMarker.CopyFrom(file(repo_name, ref, marker, proj))
        return self.pfs_list('WalkFile', req, pfs.FileInfo, **kw)

    def glob_file(self, repo_name, ref, pattern, lower=None, upper=None,
                  proj='default', **kw):
        req = pfs.GlobFileRequest(commit=as_commit(repo_name, ref, proj),
                                  pattern=pattern)
        if lower is not None or upper is not None:
            req.path_range.CopyFrom(pfs.PathRange(lower=lower or '',
                                                  upper=upper or ''))
        return self.pfs_list('GlobFile', req, pfs.FileInfo, **kw)

    # -- auth, version --------------------------------------------------

    def whoami(self, **kw):
        return self.unary('/auth_v2.API/WhoAmI', auth.WhoAmIRequest(),
                          auth.WhoAmIResponse, **kw)

    def get_version(self, **kw):
        return self.unary('/versionpb_v2.API/GetVersion', empty_pb2.Empty(),
                          version.Version, **kw)


def paths(infos):
    return [i.file.path for i in infos]


def error_of(fn, *args, **kw):
    """(code, details) of the gRPC error fn raises, or (OK, result)."""
    try:
        res = fn(*args, **kw)
        if hasattr(res, '__next__'):
            res = list(res)
        return OK, res
    except grpc.RpcError as e:
        return e.code(), e.details() or ''


def expect_error(tap, fn, code, pattern, name, *args, **kw):
    """Asserts fn(*args, **kw) fails with `code` (one code or a tuple of
    acceptable ones) and a message matching the regex `pattern`."""
    got, details = error_of(fn, *args, **kw)
    codes = code if isinstance(code, tuple) else (code,)
    good = got in codes and (pattern is None or
                             re.search(pattern, str(details)) is not None)
    tap.ok(good, name)
    if not good:
        tap.diag('     got: %s %r' % (got, details if got != OK else '(success)'))
        tap.diag('expected: %s /%s/' % ('|'.join(str(c) for c in codes), pattern))
    return good


# ------------------------------------------------------------ processes

def stack_pids(stack):
    with open(os.path.join(stack.dir, 'stack.json')) as f:
        st = json.load(f)
    return st.get('detached') or st.get('pids') or {}


def pfsd_pid(stack):
    return int(stack_pids(stack)['pfsd'])


def rss_bytes(pid, field='VmRSS'):
    """A memory figure of /proc/PID/status in bytes: VmRSS, or RssAnon for
    the memory the process allocated itself (VmRSS also counts pages of
    shared libraries as the process first runs their code)."""
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024
    return 0


def du_bytes(path):
    """Disk usage (allocated blocks) of a directory tree, in bytes."""
    out = subprocess.run(['du', '-s', '--block-size=1', path], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return int(out.split()[0])


class RssSampler(threading.Thread):
    """Samples a process's VmRSS (or another field of rss_bytes) every
    `every` seconds until stop()."""

    def __init__(self, pid, every=0.05, field='VmRSS'):
        super().__init__(daemon=True)
        self.pid = pid
        self.every = every
        self.field = field
        self.samples = []
        self._stop_ev = threading.Event()

    def run(self):
        while not self._stop_ev.is_set():
            try:
                self.samples.append(rss_bytes(self.pid, self.field))
            except OSError:
                return
            self._stop_ev.wait(self.every)

    def stop(self):
        self._stop_ev.set()
        self.join()
        return max(self.samples) if self.samples else 0


# ------------------------------------------------------------ test sections

class Sections:
    """Runs named test functions; an unexpected exception in one becomes a
    failing test with its traceback and the next section still runs."""

    def __init__(self, tap):
        self.tap = tap
        self.funcs = []

    def __call__(self, fn):
        self.funcs.append(fn)
        return fn

    def run(self, *args):
        for fn in self.funcs:
            t0 = time.time()
            try:
                fn(*args)
            except Exception as e:  # noqa: BLE001
                self.tap.ok(False, '%s: no unexpected error' % fn.__name__)
                if isinstance(e, grpc.RpcError):
                    self.tap.diag('gRPC %s: %s' % (e.code(), e.details()))
                self.tap.diag(traceback.format_exc())
            dt = time.time() - t0
            if dt > 5:
                self.tap.diag('%s took %.1fs' % (fn.__name__, dt))


# ------------------------------------------------------------ the stack

@contextlib.contextmanager
def pfsd_stack(tap, **opts):
    """with pfsd_stack(tap) as st: a started Stack(nginx=False) for a t/pfsd
    test, stopped and removed at the end.  When pfsd cannot be started the
    test fails and exits."""
    from pfs_s3_test import Stack
    st = Stack(nginx=False, **opts)
    try:
        st.start()
    except subprocess.CalledProcessError:
        tap.ok(False, 'pfsd starts (is build/pfsd built? run make pfsd)')
        st.__exit__(None, None, None)
        tap.done()
    try:
        yield st
    finally:
        st.__exit__(None, None, None)


def wait_serving(addr, timeout=20):
    """True once a GetVersion round trip succeeds (any gRPC answer counts:
    the server is up and speaking HTTP/2)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        c = Pfsd(addr, timeout=2)
        try:
            c.get_version()
            return True
        except grpc.RpcError as e:
            if e.code() not in (grpc.StatusCode.UNAVAILABLE,
                                grpc.StatusCode.DEADLINE_EXCEEDED):
                return True
        finally:
            c.close()
        time.sleep(0.1)
    return False
