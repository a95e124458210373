/* status.h - status codes and error messages shared by every engine module.
 *
 * Engine functions never print, exit or raise: they return an nn_status and,
 * on failure, write a human-readable message into an nn_error the caller owns.
 * Only the Lua binding (lnnlab.c) turns a failure into a Lua error. */
#ifndef NN_STATUS_H
#define NN_STATUS_H

typedef enum {
    NN_OK = 0,     /* success */
    NN_ESHAPE,     /* a tensor's shape does not fit the operation */
    NN_EARG,       /* an argument is out of range, NaN, or otherwise invalid */
    NN_ENOMEM,     /* an allocation failed */
    NN_EIO,        /* a file could not be opened, read or written */
    NN_EFORMAT,    /* a file's content is damaged, truncated or foreign */
    NN_ESTATE      /* the object is not in a state that allows the call */
} nn_status;

#define NN_ERRMSG_MAX 512

typedef struct {
    char msg[NN_ERRMSG_MAX]; /* the last failure's message, "" if none */
} nn_error;

/* Fills err (if not NULL) with a printf-style message and returns code. */
nn_status nn_fail(nn_error *err, nn_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* A short name for a status code, e.g. "shape error". */
const char *nn_status_name(nn_status code);

#endif
