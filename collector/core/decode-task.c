/* core/decode-task.c — TKS_REC_TASK records to TKC_EV_TASK events (layout: agg/tasks.h), and the
 * exact totals of the producer's task accumulators after each record that ends a task. Listed in
 * core/decode.c's table. */
#include "agg/tasks.h"
#include "core/decode.h"

#include <stddef.h>


/* Emits the four TKC_TASK_TOTALS events of (ring, index) when a consistent copy of its
 * accumulator can be read (seqlock even and unchanged); nothing otherwise (the next end retries). */
static void emit_totals(tkc_decode_ctx *dc, uint32_t name, uint32_t index)
{
    const tkc_proc *p = tkc_decode_proc(dc);
    const uint32_t ring = tkc_decode_ring(dc);
    struct { /* the header's task fields, tasks_offset .. task_type_count */
        uint64_t tasks_offset, tasks_stride, task_types_offset;
        uint32_t max_task_types, task_type_count;
    } h;
    uint32_t max_rings;
    if (p->minor_version < 3 ||
        tkc_decode_read(dc, offsetof(tks_header, tasks_offset), &h, sizeof h) != 0 ||
        tkc_decode_read(dc, offsetof(tks_header, max_rings), &max_rings, sizeof max_rings) != 0)
        return;
    if (!h.tasks_offset || index >= h.max_task_types || ring >= max_rings ||
        h.tasks_stride < (uint64_t)h.max_task_types * TKS_TASK_ACC_SIZE)
        return;
    /* a hostile header may make this wrap: tkc_decode_read still bounds the copy, and the name
     * check below rejects what is not this type's accumulator */
    uint64_t off = h.tasks_offset + (uint64_t)ring * h.tasks_stride + (uint64_t)index * TKS_TASK_ACC_SIZE;
    tks_task_acc a;
    uint32_t seq2;
    if (tkc_decode_read(dc, off, &a, sizeof a) != 0 ||
        tkc_decode_read(dc, off + offsetof(tks_task_acc, seq), &seq2, sizeof seq2) != 0)
        return;
    if ((a.seq & 1u) || seq2 != a.seq || a.name != name)
        return;
    const uint64_t v[4][3] = {
        {a.created, a.completed, a.failed},
        {a.cancelled, a.stillborn, a.slices},
        {tkc_decode_ns(dc, a.exec_ticks), tkc_decode_ns(dc, a.children_exec_ticks),
         tkc_decode_ns(dc, a.wall_ticks)},
        {tkc_decode_ns(dc, a.max_slice_ticks), tkc_decode_ns(dc, a.max_exec_ticks), a.zombie},
    };
    for (unsigned part = 0; part < 4; part++) {
        tkc_event e = {.kind = TKC_EV_TASK, .name = name, .ring = ring, .sub = TKC_TASK_TOTALS};
        e.a = v[part][0];
        e.b = v[part][1];
        e.c = v[part][2];
        e.d = part | (uint64_t)index << 8;
        tkc_decode_emit(dc, &e);
    }
}

size_t tkc_decode_task(tkc_decode_ctx *dc, const tks_record *recs, size_t avail)
{
    (void)avail;
    tkc_event e;
    if (tkc_task_event_from_record(&recs[0], tkc_decode_ring(dc), &e) != 0 ||
        tkc_proc_name_kind(tkc_decode_proc(dc), e.name) != TKS_NAME_TASK) {
        tkc_decode_corrupt(dc);
        return 1;
    }
    e.mono_ns = tkc_decode_mono(dc, e.ticks);
    tkc_decode_emit(dc, &e);
    if (e.sub >= TKC_TASK_COMPLETED)
        emit_totals(dc, e.name, (uint32_t)e.c);
    return 1;
}
