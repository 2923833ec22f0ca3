#!/usr/bin/python3
"""Direct PFS calls for the Perl tests of the nginx module.

Perl has no gRPC, and some test set-ups cannot go through the S3 API (a
project, a repo of another type, a commit left open, 100,000 files in one
commit).  PfsS3::Test runs this script:

    pfs_call.py ADDR [--token T] call METHOD [JSON]
        METHOD is "pfs_v2.API/CreateRepo" or just "CreateRepo"; JSON is the
        request in protobuf's JSON mapping (stdin when omitted).  For
        ModifyFile, JSON is a list of requests.  Prints one JSON object:
        {"code": <grpc code>, "message": "...", "responses": [...]}.

    pfs_call.py ADDR [--token T] fill REPO BRANCH COUNT PATTERN [PROJECT]
        One ModifyFile (one commit) adding COUNT small files whose paths are
        PATTERN % i (e.g. "/d/k%06d"); each file holds its own path.

Exit status 0 whatever the gRPC outcome: callers look at "code".
"""

import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
PY_OUT = os.path.join(ROOT, 'build', 'py')


def ensure_pyproto():
    """Generate the message classes (make pyproto) unless they are fresh."""
    for name in ('pfs', 'auth', 'version'):
        gen = os.path.join(PY_OUT, name + '_pb2.py')
        src = os.path.join(ROOT, 'proto', name + '.proto')
        if not os.path.exists(gen) or os.path.getmtime(gen) < os.path.getmtime(src):
            subprocess.run(['make', '-s', '-C', ROOT, 'pyproto'], check=True,
                           stdout=sys.stderr)
            return


ensure_pyproto()
sys.path.insert(0, PY_OUT)

import grpc  # noqa: E402
from google.protobuf import empty_pb2, json_format, wrappers_pb2  # noqa: E402
import pfs_pb2 as pfs  # noqa: E402
import auth_pb2 as auth  # noqa: E402
import version_pb2 as version  # noqa: E402

U, S, C = 'unary', 'server_stream', 'client_stream'

METHODS = {
    'pfs_v2.API/CreateProject': (pfs.CreateProjectRequest, empty_pb2.Empty, U),
    'pfs_v2.API/InspectProject': (pfs.InspectProjectRequest, pfs.ProjectInfo, U),
    'pfs_v2.API/CreateRepo': (pfs.CreateRepoRequest, empty_pb2.Empty, U),
    'pfs_v2.API/InspectRepo': (pfs.InspectRepoRequest, pfs.RepoInfo, U),
    'pfs_v2.API/ListRepo': (pfs.ListRepoRequest, pfs.RepoInfo, S),
    'pfs_v2.API/DeleteRepo': (pfs.DeleteRepoRequest, pfs.DeleteRepoResponse, U),
    'pfs_v2.API/CreateBranch': (pfs.CreateBranchRequest, empty_pb2.Empty, U),
    'pfs_v2.API/InspectBranch': (pfs.InspectBranchRequest, pfs.BranchInfo, U),
    'pfs_v2.API/ListBranch': (pfs.ListBranchRequest, pfs.BranchInfo, S),
    'pfs_v2.API/DeleteBranch': (pfs.DeleteBranchRequest, empty_pb2.Empty, U),
    'pfs_v2.API/StartCommit': (pfs.StartCommitRequest, pfs.Commit, U),
    'pfs_v2.API/FinishCommit': (pfs.FinishCommitRequest, empty_pb2.Empty, U),
    'pfs_v2.API/InspectCommit': (pfs.InspectCommitRequest, pfs.CommitInfo, U),
    'pfs_v2.API/ListCommit': (pfs.ListCommitRequest, pfs.CommitInfo, S),
    'pfs_v2.API/ModifyFile': (pfs.ModifyFileRequest, empty_pb2.Empty, C),
    'pfs_v2.API/GetFile': (pfs.GetFileRequest, wrappers_pb2.BytesValue, S),
    'pfs_v2.API/InspectFile': (pfs.InspectFileRequest, pfs.FileInfo, U),
    'pfs_v2.API/ListFile': (pfs.ListFileRequest, pfs.FileInfo, S),
    'pfs_v2.API/GlobFile': (pfs.GlobFileRequest, pfs.FileInfo, S),
    'auth_v2.API/WhoAmI': (auth.WhoAmIRequest, auth.WhoAmIResponse, U),
    'versionpb_v2.API/GetVersion': (empty_pb2.Empty, version.Version, U),
}


def full_name(method):
    if '/' in method:
        return method
    return 'pfs_v2.API/' + method


def invoke(channel, method, payload, token):
    req_cls, resp_cls, kind = METHODS[method]
    path = '/' + method
    md = [('authn-token', token)] if token else None
    ser = lambda m: m.SerializeToString()  # noqa: E731
    responses = []
    try:
        if kind == U:
            call = channel.unary_unary(path, request_serializer=ser,
                                       response_deserializer=resp_cls.FromString)
            responses.append(call(payload, metadata=md, timeout=600))
        elif kind == S:
            call = channel.unary_stream(path, request_serializer=ser,
                                        response_deserializer=resp_cls.FromString)
            for r in call(payload, metadata=md, timeout=600):
                responses.append(r)
        else:
            call = channel.stream_unary(path, request_serializer=ser,
                                        response_deserializer=resp_cls.FromString)
            responses.append(call(iter(payload), metadata=md, timeout=600))
        code, message = 0, ''
    except grpc.RpcError as e:
        code, message = e.code().value[0], e.details() or ''
    return {
        'code': code,
        'message': message,
        'responses': [json_format.MessageToDict(r) for r in responses],
    }


def main(argv):
    addr = argv.pop(0)
    token = None
    if argv and argv[0] == '--token':
        argv.pop(0)
        token = argv.pop(0)
    cmd = argv.pop(0)

    opts = [('grpc.max_receive_message_length', 64 << 20),
            ('grpc.max_send_message_length', 64 << 20)]
    channel = grpc.insecure_channel(addr, options=opts)

    if cmd == 'call':
        method = full_name(argv.pop(0))
        text = argv.pop(0) if argv else sys.stdin.read()
        data = json.loads(text or '{}')
        req_cls = METHODS[method][0]
        if METHODS[method][2] == C:
            payload = [json_format.ParseDict(d, req_cls()) for d in data]
        else:
            payload = json_format.ParseDict(data, req_cls())
        out = invoke(channel, method, payload, token)

    elif cmd == 'fill':
        repo, branch, count, pattern = argv[0], argv[1], int(argv[2]), argv[3]
        project = argv[4] if len(argv) > 4 else 'default'
        commit = pfs.Commit(branch=pfs.Branch(
            name=branch,
            repo=pfs.Repo(name=repo, type='user',
                          project=pfs.Project(name=project))))
        msgs = [pfs.ModifyFileRequest(set_commit=commit)]
        for i in range(count):
            p = pattern % i
            msgs.append(pfs.ModifyFileRequest(add_file=pfs.AddFile(
                path=p, raw=wrappers_pb2.BytesValue(value=p.encode()))))
        out = invoke(channel, 'pfs_v2.API/ModifyFile', msgs, token)

    else:
        raise SystemExit('unknown command ' + cmd)

    json.dump(out, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main(sys.argv[1:])
