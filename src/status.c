#include "status.h"

#include <stdarg.h>
#include <stdio.h>

nn_status nn_fail(nn_error *err, nn_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *nn_status_name(nn_status code)
{
    switch (code) {
    case NN_OK: return "ok";
    case NN_ESHAPE: return "shape error";
    case NN_EARG: return "bad argument";
    case NN_ENOMEM: return "out of memory";
    case NN_EIO: return "I/O error";
    case NN_EFORMAT: return "format error";
    case NN_ESTATE: return "bad state";
    }
    return "unknown error";
}
