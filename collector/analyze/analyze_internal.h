/* analyze_internal.h — the structures shared by analyze.c (engine), analyze_spec.c (spec parser) and
 * analyze_output.c (table, JSON, CSV writers). Not for use outside those files. */
#ifndef TK_COLLECTOR_ANALYZE_INTERNAL_H
#define TK_COLLECTOR_ANALYZE_INTERNAL_H

#include "analyze.h"

#include <stdbool.h>

#define ANALYZE_NIL UINT32_MAX
#define ANALYZE_DEFAULT_REMAINDER "unaccounted"
#define ANALYZE_MAX_GLOB 256
#define ANALYZE_TIMELINE_CONTEXT 256 /* context bytes kept per timeline point */
#define ANALYZE_PENDING 1024         /* unknown-command points kept for a possible timeline */

/* ---- the spec ---------------------------------------------------------------------------------- */
typedef struct spec_interval {
    char name[ANALYZE_MAX_NAME];
    char start[ANALYZE_MAX_GLOB], end[ANALYZE_MAX_GLOB];
    char note[ANALYZE_MAX_GLOB]; /* the comment at the end of its line: what it means */
} spec_interval;

typedef struct spec_total {
    char name[ANALYZE_MAX_NAME];
    char start[ANALYZE_MAX_GLOB], end[ANALYZE_MAX_GLOB];
    char remainder[ANALYZE_MAX_NAME];
    char remainder_note[ANALYZE_MAX_GLOB]; /* the comment at the end of its remainder line */
    int ncomp;
    uint8_t comp[ANALYZE_MAX_INTERVALS]; /* interval indices */
    int path0, npaths;                   /* its paths: spec->path[path0 .. path0 + npaths) */
} spec_total;

typedef struct spec_path {
    char name[ANALYZE_MAX_NAME];
    int total;
    char ends[ANALYZE_MAX_GLOB]; /* "": any end label */
    uint64_t has, lacks;         /* condition bits (spec->cond) */
} spec_path;

struct analyze_spec {
    int niv, ntot, npath, ncond;
    spec_interval iv[ANALYZE_MAX_INTERVALS];
    spec_total tot[ANALYZE_MAX_TOTALS];
    spec_path path[ANALYZE_MAX_PATHS];
    char cond[ANALYZE_MAX_CONDITIONS][ANALYZE_MAX_GLOB];
};

/* ---- the analysis ------------------------------------------------------------------------------ */
/* A distinct label and what it means for the spec (bit masks computed once, with fnmatch). */
typedef struct label_info {
    char *name; /* NUL-terminated */
    uint32_t len;
    uint64_t hash;
    uint64_t iv_start, iv_end; /* intervals it starts / ends */
    uint32_t tot_start, tot_end;
    uint64_t has;  /* conditions it satisfies */
    uint64_t ends; /* paths whose `ends` glob it matches */
} label_info;

/* Statistics of one total on one path: the total, each component (per-sequence sum, over the
 * sequences where it occurred: seen[k] of them) and the remainder (last part). */
typedef struct breakdown {
    hist *total;
    hist *part[ANALYZE_MAX_INTERVALS + 1];
    uint64_t seen[ANALYZE_MAX_INTERVALS + 1];
} breakdown;

typedef struct pair_stat {
    uint32_t from, to;
    hist *h;
} pair_stat;

typedef struct field_stat {
    char *name;
    uint32_t len;
    uint64_t hash;
    uint64_t sum;
    hist *h;
} field_stat;

typedef struct timeline_point {
    uint32_t label;
    uint64_t ts, client, command, session;
    uint64_t line;
    uint64_t gen; /* pending points: the lane they were seen on */
    uint16_t ctx_len;
    bool ctx_cut;
    char ctx[ANALYZE_TIMELINE_CONTEXT];
} timeline_point;

struct analyze {
    analyze_options o;
    const analyze_spec *spec;
    analyze_counts c;

    /* input */
    const char *source;
    uint64_t lineno;
    char carry[TIMING_MAX_LINE + 2];
    size_t carry_len;
    bool carry_overflow;

    /* labels */
    label_info *labels; /* grows to at most ANALYZE_MAX_LABELS */
    uint32_t nlabels, labels_cap;
    uint32_t *label_slots; /* open addressing, ANALYZE_MAX_LABELS * 2 slots */

    /* sequences: a pool of fixed-size records, a chained hash on the key, an LRU list */
    unsigned char *pool;
    size_t stride, pool_cap, pool_used;
    uint32_t free_head;
    uint32_t *buckets;
    size_t nbuckets, live, lanes;
    uint32_t lru_head, lru_tail;
    uint64_t clock; /* the largest timestamp seen */
    uint64_t next_gen;
    size_t iv_off, orphan_off, tot_off[ANALYZE_MAX_TOTALS];
    int8_t comp_slot[ANALYZE_MAX_TOTALS][ANALYZE_MAX_INTERVALS]; /* -1: not a component */
    uint32_t iv_comp_of[ANALYZE_MAX_INTERVALS];                  /* totals it is a component of */

    /* results */
    hist *iv_hist[ANALYZE_MAX_INTERVALS];
    breakdown *bd[ANALYZE_MAX_TOTALS]; /* per total: [0] all, [1..npaths] paths, [npaths+1] other */
    pair_stat *pairs;
    uint32_t npairs;
    uint32_t *pair_slots; /* ANALYZE_MAX_PAIRS * 2 */
    field_stat *fields;
    uint32_t nfields;
    uint32_t *field_slots; /* ANALYZE_MAX_FIELDS * 2 */

    /* --command timeline */
    timeline_point *timeline;
    size_t ntimeline, timeline_cap;
    timeline_point *pending; /* ring of ANALYZE_PENDING */
    size_t npending_total;
};

/* analyze_output.c */
int analyze__write_stats(const analyze *a, analyze_format f, FILE *out);
int analyze__write_timeline(const analyze *a, analyze_format f, FILE *out);

#endif
