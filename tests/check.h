/* check.h — the C tests' own checks: a failure prints what was checked, the expected and the actual. */
#ifndef TK_CHECK_H
#define TK_CHECK_H

/* cmocka.h needs these before it */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <string.h>

/* In every check, the arguments after the values say what was checked, like printf; the failure
 * message is that text, ": " and the two values. */

#define assert_u64_equal(expected, actual, ...)                                                     \
    do {                                                                                            \
        uint64_t e_ = (expected), a_ = (actual);                                                    \
        if (e_ != a_) {                                                                             \
            print_error(__VA_ARGS__);                                                               \
            print_error(": expected %" PRIu64 ", got %" PRIu64 "\n", e_, a_);                       \
            fail();                                                                                 \
        }                                                                                           \
    } while (0)

#define assert_u64_at_most(limit, actual, ...)                                                      \
    do {                                                                                            \
        uint64_t l_ = (limit), a_ = (actual);                                                       \
        if (a_ > l_) {                                                                              \
            print_error(__VA_ARGS__);                                                               \
            print_error(": expected at most %" PRIu64 ", got %" PRIu64 "\n", l_, a_);               \
            fail();                                                                                 \
        }                                                                                           \
    } while (0)

/* Fails unless actual is within tolerance of expected (the tolerance counts as near). */
#define assert_double_near(expected, actual, tolerance, ...)                                        \
    do {                                                                                            \
        double e_ = (expected), a_ = (actual), t_ = (tolerance);                                    \
        if (fabs(e_ - a_) > t_) {                                                                   \
            print_error(__VA_ARGS__);                                                               \
            print_error(": expected %.6f (within %g), got %.6f\n", e_, t_, a_);                     \
            fail();                                                                                 \
        }                                                                                           \
    } while (0)

/* The text checks print the whole haystack, on lines of its own. A NULL haystack contains
 * nothing. */
#define assert_contains(haystack, needle, ...)                                                      \
    do {                                                                                            \
        const char *h_ = (haystack), *n_ = (needle);                                                \
        if (!h_ || !strstr(h_, n_)) {                                                               \
            print_error(__VA_ARGS__);                                                               \
            print_error(": expected to find \"%s\" in:\n%s\n", n_, h_ ? h_ : "(null)");             \
            fail();                                                                                 \
        }                                                                                           \
    } while (0)

#define assert_not_contains(haystack, needle, ...)                                                  \
    do {                                                                                            \
        const char *h_ = (haystack), *n_ = (needle);                                                \
        if (h_ && strstr(h_, n_)) {                                                                 \
            print_error(__VA_ARGS__);                                                               \
            print_error(": did not expect \"%s\" in:\n%s\n", n_, h_);                               \
            fail();                                                                                 \
        }                                                                                           \
    } while (0)

/* A NULL actual never equals. */
#define assert_text_equal(expected, actual, ...)                                                    \
    do {                                                                                            \
        const char *e_ = (expected), *a_ = (actual);                                                \
        if (!a_ || strcmp(e_, a_) != 0) {                                                           \
            print_error(__VA_ARGS__);                                                               \
            print_error(": expected \"%s\", got \"%s\"\n", e_, a_ ? a_ : "(null)");                 \
            fail();                                                                                 \
        }                                                                                           \
    } while (0)

/* The number of lines of s (newlines counted). */
static inline size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

#endif
