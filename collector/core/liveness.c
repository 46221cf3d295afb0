/* liveness.c — a segment's life lock, asked with F_OFD_GETLK from a read-only descriptor. */
#include "core/liveness.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int tkc_segment_holder_alive_fd(int fd)
{
    /* asks "could a write lock on the whole file be taken?"; the answer names the conflicting lock
     * (l_pid is -1 for an OFD lock: the pid is not needed and may be from another namespace) */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(fd, F_OFD_GETLK, &fl) != 0)
        return -errno;
    return fl.l_type != F_UNLCK;
}

int tkc_segment_holder_alive(const char *path)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    int rc = tkc_segment_holder_alive_fd(fd);
    close(fd);
    return rc;
}
