/* testutil.h - what every C test needs: cmocka, and closeness checks that
 * print the values and the difference when they fail. */
#ifndef NN_TESTUTIL_H
#define NN_TESTUTIL_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#define assert_close(a, b, tol)                                                               \
    do {                                                                                      \
        double a_ = (a), b_ = (b);                                                            \
        if (!(fabs(a_ - b_) <= (tol)))                                                        \
            fail_msg("%s = %.9g, %s = %.9g, difference %.3g > %.3g", #a, a_, #b, b_,          \
                     fabs(a_ - b_), (double)(tol));                                          \
    } while (0)

/* Largest |a[i] - b[i]| over n floats, printed on failure. */
#define assert_all_close(a, b, n, tol)                                                        \
    do {                                                                                      \
        double worst_ = 0;                                                                    \
        size_t at_ = 0;                                                                       \
        for (size_t i_ = 0; i_ < (size_t)(n); i_++)                                           \
            if (fabs((double)(a)[i_] - (double)(b)[i_]) > worst_) {                           \
                worst_ = fabs((double)(a)[i_] - (double)(b)[i_]);                             \
                at_ = i_;                                                                     \
            }                                                                                 \
        if (!(worst_ <= (tol)))                                                               \
            fail_msg("max difference %.3g at element %zu exceeds %.3g", worst_, at_, (double)(tol)); \
    } while (0)

#define assert_status(expr, want, errp)                                                       \
    do {                                                                                      \
        nn_status got_ = (expr);                                                              \
        if (got_ != (want))                                                                   \
            fail_msg("%s returned %s (%s), expected %s", #expr, nn_status_name(got_),         \
                     (errp)->msg, nn_status_name(want));                                      \
    } while (0)

#define assert_ok(expr, errp) assert_status(expr, NN_OK, errp)

#endif
