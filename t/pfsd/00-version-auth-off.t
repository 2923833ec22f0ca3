#!/usr/bin/python3
# pfsd over real gRPC: versionpb_v2 GetVersion, auth_v2 WhoAmI with auth off,
# and robustness of the transport (unknown methods, undecodable requests).
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from pfs_s3_test import tap  # noqa: E402
from pfsd_client import *  # noqa: E402,F401,F403

S = Sections(tap)


@S
def version(c, st):
    v = c.get_version()
    # pachd reports its release as major.minor.micro; pfsd speaks the 2.x API
    # (clients such as pachctl compare the major version).
    tap.eq(v.major, 2, 'GetVersion: major version 2 (the pachd 2.x API)')
    tap.ok(isinstance(v.additional, str), 'GetVersion: additional is a string')


@S
def whoami_auth_off(c, st):
    expect_error(tap, c.whoami, UNIMPLEMENTED,
                 r'^the auth service is not activated$',
                 'WhoAmI without --auth-tokens: UNIMPLEMENTED, pachd text')
    # A token is meaningless while auth is off; the answer is the same.
    expect_error(tap, c.whoami, UNIMPLEMENTED,
                 r'the auth service is not activated',
                 'WhoAmI with a token while auth is off: still UNIMPLEMENTED',
                 token='some-token')
    # pfs calls work with or without a token while auth is off.
    tap.ok(any(p.project.name == 'default' for p in c.list_project(token='x')),
           'auth off: a pfs call carrying a token succeeds')


@S
def unknown_method(c, st):
    code, _ = error_of(c.unary, '/pfs_v2.API/NoSuchMethod',
                       pfs.InspectRepoRequest(), pfs.RepoInfo)
    tap.eq(code, UNIMPLEMENTED, 'unknown pfs_v2 method: UNIMPLEMENTED')
    code, _ = error_of(c.unary, '/nosuch.API/Thing', pfs.InspectRepoRequest(),
                       pfs.RepoInfo)
    tap.eq(code, UNIMPLEMENTED, 'unknown service: UNIMPLEMENTED')


class Raw:
    """A request that serializes to arbitrary bytes."""

    def __init__(self, data):
        self.data = data

    def SerializeToString(self):
        return self.data


@S
def undecodable_request(c, st):
    # Field 1 (repo) as a length-delimited field claiming 100 bytes with 2
    # present: not a protobuf message.  Any error code will do, but the
    # server must answer and keep serving.
    for name, blob in [('truncated field', b'\x0a\x64ab'),
                       ('bad wire type', b'\x0f\xff\xff\xff'),
                       ('random bytes', os.urandom(64))]:
        code, _ = error_of(c.unary, '/pfs_v2.API/InspectRepo', Raw(blob),
                           pfs.RepoInfo)
        tap.ok(code != OK, 'undecodable InspectRepo (%s): an error' % name)
    code, _ = error_of(c.client_stream, '/pfs_v2.API/ModifyFile',
                       iter([Raw(b'\x0a\x64ab')]), empty_pb2.Empty)
    tap.ok(code != OK, 'undecodable ModifyFile message: an error')
    tap.ok(c.get_version() is not None, 'server still serves afterwards')


@S
def empty_requests(c, st):
    # A request without the required references must fail cleanly, not crash.
    for method, req, resp in [
            ('InspectRepo', pfs.InspectRepoRequest(), pfs.RepoInfo),
            ('InspectBranch', pfs.InspectBranchRequest(), pfs.BranchInfo),
            ('InspectCommit', pfs.InspectCommitRequest(), pfs.CommitInfo),
            ('InspectFile', pfs.InspectFileRequest(), pfs.FileInfo),
            ('CreateRepo', pfs.CreateRepoRequest(), empty_pb2.Empty),
            ('DeleteBranch', pfs.DeleteBranchRequest(), empty_pb2.Empty),
            ('StartCommit', pfs.StartCommitRequest(), pfs.Commit)]:
        code, _ = error_of(c.pfs, method, req, resp)
        tap.ok(code != OK, '%s with an empty request: an error' % method)
    code, _ = error_of(c.pfs_list, 'GetFile', pfs.GetFileRequest(),
                       wrappers_pb2.BytesValue)
    tap.ok(code != OK, 'GetFile with an empty request: an error')
    tap.ok(c.get_version() is not None, 'server still serves afterwards')


@S
def many_connections(c, st):
    # Connections that come and go (some abandoned mid-call) do not wedge the
    # server.
    for i in range(30):
        d = Pfsd(st.pfsd_addr, timeout=10)
        it = d.server_stream('/pfs_v2.API/ListProject',
                             pfs.ListProjectRequest(), pfs.ProjectInfo)
        if i % 2:
            it.cancel()
        else:
            list(it)
        d.close()
    tap.ok(any(p.project.name == 'default' for p in c.list_project()),
           '30 connections opened and closed: still serving')


with pfsd_stack(tap) as st:
    c = Pfsd(st.pfsd_addr)
    S.run(c, st)
    c.close()
tap.done()
