/* /version: what kubectl asks first. */
#include <jansson.h>

#include "ahpa/httpd.h"
#include "api_int.h"

#ifndef AHPA_VERSION
#define AHPA_VERSION "0.0.0"
#endif
#ifndef AHPA_GIT_COMMIT
#define AHPA_GIT_COMMIT "unknown"
#endif
#ifndef AHPA_BUILD_DATE
#define AHPA_BUILD_DATE "1970-01-01T00:00:00Z"
#endif
#ifndef AHPA_VERSION_MAJOR
#define AHPA_VERSION_MAJOR "0"
#endif
#ifndef AHPA_VERSION_MINOR
#define AHPA_VERSION_MINOR "0"
#endif

void ahpa_api__serve_version(struct ahpa_httpd_request *req, struct ahpa_httpd_response *resp)
{
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "major",
                            AHPA_VERSION_MAJOR, "minor", AHPA_VERSION_MINOR, "gitVersion",
                            "v" AHPA_VERSION, "gitCommit", AHPA_GIT_COMMIT, "gitTreeState",
                            "clean", "buildDate", AHPA_BUILD_DATE, "compiler", "gcc",
                            "platform", "linux/" AHPA_ARCH);
    ahpa_api__json_body(req, resp, doc);
    json_decref(doc);
}
