/* core/liveness.h — is the process that wrote a segment still alive? Asked of the segment's life lock,
 * not of its pid, so it holds across PID namespaces and without /proc. */
#ifndef TK_COLLECTOR_LIVENESS_H
#define TK_COLLECTOR_LIVENESS_H

/* Whether some process holds the life lock of the segment open as fd (a read-only descriptor is
 * enough; nothing is locked or written). A producer that sets TKS_FEATURE_LIFE_LOCK in its header
 * holds an open-file-description write lock on the whole file from before the segment is published
 * until it dies; the kernel drops the lock at death.
 * @return 1 alive (the lock is held), 0 dead (no lock), or -errno when the kernel can't tell
 *         (-EBADF for a bad fd, -EINVAL when the filesystem has no such locks).
 * A segment without TKS_FEATURE_LIFE_LOCK (an older producer) always reads as 0 here: the caller
 * checks the bit first and falls back to the pid. Thread-safe, never blocks. */
int tkc_segment_holder_alive_fd(int fd);

/* As tkc_segment_holder_alive_fd() on a read-only open of path (O_NOFOLLOW).
 * @return 1, 0, or -errno (-ENOENT when the file is gone). Thread-safe, never blocks. */
int tkc_segment_holder_alive(const char *path);

#endif
