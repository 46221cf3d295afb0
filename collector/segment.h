/* segment.h — collector-side access to segment images: validation and the SIGBUS guard. */
#ifndef TK_COLLECTOR_SEGMENT_H
#define TK_COLLECTOR_SEGMENT_H

#include <setjmp.h>
#include <stddef.h>

#include "collector.h"
#include "format/segment.h"

/* Installs (again, if another handler replaced it) a SIGBUS handler that jumps back to the innermost guard of the calling thread:
 * a segment file truncated under a live mapping makes reads fault instead of returning data. */
void segment_guard_install(void);
/* Sets (jb) or clears (NULL) the calling thread's guard. Use with sigsetjmp(jb, 1). */
void segment_guard_set(sigjmp_buf *jb);

#endif
