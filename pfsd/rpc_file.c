/* File RPCs (being implemented). */
#include "rpc.h"

#define PFSD_TODO(fn) \
    void fn(pfsd_call_t *c, pfsd_worker_t *w, const ProtobufCMessage *m) \
    { (void) w; (void) m; \
      pfsd_call_fail(c, GRPC_STATUS_UNIMPLEMENTED, "not implemented yet"); }

PFSD_TODO(pfsd_rpc_modify_file)
PFSD_TODO(pfsd_rpc_get_file)
PFSD_TODO(pfsd_rpc_inspect_file)
PFSD_TODO(pfsd_rpc_list_file)
PFSD_TODO(pfsd_rpc_walk_file)
PFSD_TODO(pfsd_rpc_glob_file)
