/* auth_v2.API/WhoAmI and versionpb_v2.API/GetVersion. */
#include "auth.pb-c.h"
#include "rpc.h"
#include "version.pb-c.h"

/* The pachd release whose API this server matches. */
#define PFSD_COMPAT_MAJOR 2
#define PFSD_COMPAT_MINOR 11
#define PFSD_COMPAT_MICRO 0

void
pfsd_rpc_who_am_i(pfsd_call_t *c, pfsd_worker_t *w, const ProtobufCMessage *m)
{
    AuthV2__WhoAmIResponse resp;

    (void) m;
    if (w->auth == NULL) {
        pfsd_call_fail(c, GRPC_STATUS_UNIMPLEMENTED,
                       "the auth service is not activated");
        return;
    }
    auth_v2__who_am_iresponse__init(&resp);
    resp.username = (char *) c->user;
    pfsd_call_reply(c, &resp.base);
}

void
pfsd_rpc_get_version(pfsd_call_t *c, pfsd_worker_t *w,
                     const ProtobufCMessage *m)
{
    VersionpbV2__Version v;

    (void) w;
    (void) m;
    versionpb_v2__version__init(&v);
    v.major = PFSD_COMPAT_MAJOR;
    v.minor = PFSD_COMPAT_MINOR;
    v.micro = PFSD_COMPAT_MICRO;
    v.additional = "pfsd";
    pfsd_call_reply(c, &v.base);
}
