/* core/validate.h — collector-side checks of segment images: validation and the SIGBUS guard. */
#ifndef TK_COLLECTOR_SEGMENT_H
#define TK_COLLECTOR_SEGMENT_H

#include <setjmp.h>
#include <stddef.h>

#include "format/segment.h"

/* Validates a segment image of `size` bytes (a copy or a read-only mapping). Returns 0, or -1 and
 * a reason in why (at most whylen bytes). Never reads outside [mem, mem + size). */
int segment_validate(const void *mem, size_t size, char *why, size_t whylen);
/* The same for a private copy of a header, for a file of `size` bytes. The caller then uses only
 * that copy for every offset and size: the shared header may change after validation. */
int segment_validate_header(const tks_header *h, size_t size, char *why, size_t whylen);

/* Installs (again, if another handler replaced it) a SIGBUS handler that jumps back to the innermost guard of the calling thread:
 * a segment file truncated under a live mapping makes reads fault instead of returning data. */
void segment_guard_install(void);
/* Sets (jb) or clears (NULL) the calling thread's guard. Use with sigsetjmp(jb, 1). */
void segment_guard_set(sigjmp_buf *jb);

#endif
