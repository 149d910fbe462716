/* Minimal assertion helper for the firmware's host tests: count failures, exit status = failures.
 * Reports go to stderr so that a test may capture stdout. */
#ifndef KWS_CHECK_H
#define KWS_CHECK_H

#include <stdio.h>

static int check_failures;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);          \
            check_failures++;                                                        \
        }                                                                            \
    } while (0)

#define CHECK_DONE()                                                                 \
    do {                                                                             \
        fprintf(stderr, "%s: %s\n", __FILE__, check_failures ? "FAILED" : "ok");              \
        return check_failures ? 1 : 0;                                               \
    } while (0)

#endif /* KWS_CHECK_H */
