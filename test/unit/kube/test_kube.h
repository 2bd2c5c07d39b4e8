/* Test cases of the kube suite, one TCase per file. */
#ifndef AHPA_TEST_KUBE_H
#define AHPA_TEST_KUBE_H

#include <check.h>

TCase *kube_config_tcase(void);
TCase *kube_watch_tcase(void);
TCase *kube_client_tcase(void);
TCase *kube_informer_tcase(void);
TCase *kube_leader_tcase(void);
TCase *kube_pods_tcase(void);
TCase *kube_pods_api_tcase(void);

#endif
