/* tk_sparse_segment.c — writes a hostile segment: a valid header claiming the largest tables and
 * rings full of records, over a sparse file whose name table and rings were never written. For the
 * tests that a collector's memory and time follow what a segment holds, not what it claims, and
 * that reading never allocates a hole.
 *
 *     tk_sparse_segment PATH */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "format/segment.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: tk_sparse_segment PATH\n");
        return 2;
    }
    static tks_header h;
    const uint32_t names = TKS_MAX_NAMES_LIMIT, rings = TKS_MAX_RINGS_LIMIT,
                   cap = TKS_RING_CAP_MAX;
    const uint64_t names_off = TKS_HEADER_SIZE;
    const uint64_t rings_off = (names_off + (uint64_t)names * TKS_NAME_ENTRY_SIZE + 4095) / 4096 * 4096;
    const uint64_t counters_off = TKS_RING_HEADER_SIZE;
    const uint64_t slots_off = (counters_off + (uint64_t)names * 8 + 63) / 64 * 64;
    const uint64_t stride = (slots_off + (uint64_t)cap * TKS_RECORD_SIZE + 4095) / 4096 * 4096;
    memcpy(h.magic, TKS_MAGIC, 8);
    h.version = TKS_VERSION;
    h.minor_version = TKS_MINOR_VERSION;
    h.header_size = TKS_HEADER_SIZE;
    h.record_size = TKS_RECORD_SIZE;
    h.segment_size = rings_off + (uint64_t)rings * stride;
    h.state = TKS_STATE_LIVE;
    h.pid = 2147483000u; /* no such process */
    h.uid = (uint32_t)getuid();
    h.clock_source = 3;
    h.max_names = names;
    h.max_rings = rings;
    h.ring_capacity = cap;
    h.names_offset = names_off;
    h.rings_offset = rings_off;
    h.ring_stride = stride;
    h.counters_offset = counters_off;
    h.slots_offset = slots_off;
    h.name_count = names;  /* every name published ... */
    h.ring_count = rings;  /* ... every ring claimed: none of it written */
    h.start_mono_ns = h.start_ticks = 1000000000ull;
    h.calib[0] = (tks_calib){1000000000ull, 1000000000ull, 1700000000000000000ull};
    h.calib_count = 1;
    memcpy(h.process, "sparse", 7);
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || pwrite(fd, &h, sizeof h, 0) != (ssize_t)sizeof h ||
        ftruncate(fd, (off_t)h.segment_size) != 0 || close(fd) != 0) {
        perror(argv[1]);
        return 1;
    }
    printf("%llu\n", (unsigned long long)h.segment_size);
    return 0;
}
