/* The error table and first-message-wins reporting. */
#include "ahpa/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const descriptions[] = {
    [AHPA_OK] = "success",
#define DESC_(name, desc) [AHPA_##name] = desc,
    AHPA_ERRNO_MAP(DESC_)
#undef DESC_
};

static const char *const names[] = {
    [AHPA_OK] = "OK",
#define NAME_(name, desc) [AHPA_##name] = #name,
    AHPA_ERRNO_MAP(NAME_)
#undef NAME_
};

static int normalize(int code)
{
    if (code < 0)
        code = -code;
    return code < AHPA_ERRNO_COUNT_ ? code : AHPA_EINTERNAL;
}

int ahpa_error_set(struct ahpa_error *err, int code, const char *fmt, ...)
{
    code = normalize(code);
    if (err != NULL && err->code == 0) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return -code;
}

void ahpa_error_clear(struct ahpa_error *err)
{
    if (err == NULL)
        return;
    err->code = 0;
    err->msg[0] = '\0';
}

const char *ahpa_strerror(int code)
{
    return descriptions[normalize(code)];
}

const char *ahpa_error_name(int code)
{
    return names[normalize(code)];
}

const char *ahpa_error_message(const struct ahpa_error *err, int code)
{
    if (err != NULL && err->code != 0 && err->msg[0] != '\0')
        return err->msg;
    return ahpa_strerror(code);
}
