/* The prom suite: the JSON reader, response parsing, then the client over
 * loopback. */
#include "test_prom.h"
#include "unit.h"

Suite *ahpa_unit_suite(void)
{
    Suite *s = suite_create("prom");
    suite_add_tcase(s, prom_json_tcase());
    suite_add_tcase(s, prom_parse_tcase());
    suite_add_tcase(s, prom_client_tcase());
    return s;
}
