/* util/match.h — the one rule for matching a name against a user's pattern (--timer, top's filter). */
#ifndef TK_UTIL_MATCH_H
#define TK_UTIL_MATCH_H

/* Whether name matches pattern: a glob (fnmatch: * ? [...]) when the pattern holds one of * ? [,
 * else a substring; both ignore case. A NULL or empty pattern matches everything.
 * @return 1 on a match, else 0. Can't fail; thread-safe. */
int tk_name_match(const char *pattern, const char *name);

#endif
