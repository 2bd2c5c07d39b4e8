/* The kube suite: configuration, watch framing and decoding, the client
 * over loopback, informers against a canned apiserver. */
#include "test_kube.h"
#include "unit.h"

Suite *ahpa_unit_suite(void)
{
    Suite *s = suite_create("kube");
    suite_add_tcase(s, kube_config_tcase());
    suite_add_tcase(s, kube_watch_tcase());
    suite_add_tcase(s, kube_client_tcase());
    suite_add_tcase(s, kube_informer_tcase());
    suite_add_tcase(s, kube_leader_tcase());
    suite_add_tcase(s, kube_pods_tcase());
    suite_add_tcase(s, kube_pods_api_tcase());
    return s;
}
