/* util/match.c — names against patterns: a glob when the pattern has one, else a substring. */
#include "util/match.h"

#include <fnmatch.h>
#include <string.h>
#include <strings.h>

int tk_name_match(const char *pattern, const char *name)
{
    if (!pattern || !*pattern)
        return 1;
    if (strpbrk(pattern, "*?["))
        return fnmatch(pattern, name, FNM_CASEFOLD) == 0;
    size_t n = strlen(pattern);
    for (const char *p = name; *p; p++)
        if (strncasecmp(p, pattern, n) == 0)
            return 1;
    return 0;
}
