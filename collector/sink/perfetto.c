/* perfetto.c — Perfetto's native protobuf trace, written as a stream of TracePackets
 * (sink/perfetto.h). Field numbers are those of Perfetto's published protos; the subset used is
 * in tests/data/perfetto_trace.proto, which the tests decode the output with. */
#include "sink/perfetto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/pb.h"

/* Field numbers (Perfetto protos, package perfetto.protos). */
enum {
    TRACE_PACKET = 1,
    /* TracePacket */
    PKT_TIMESTAMP = 8, PKT_SEQUENCE_ID = 10, PKT_TRACK_EVENT = 11, PKT_INTERNED_DATA = 12,
    PKT_SEQUENCE_FLAGS = 13, PKT_TRACK_DESCRIPTOR = 60,
    /* TracePacket.SequenceFlags */
    SEQ_INCREMENTAL_STATE_CLEARED = 1, SEQ_NEEDS_INCREMENTAL_STATE = 2,
    /* TrackEvent */
    EV_DEBUG_ANNOTATIONS = 4, EV_TYPE = 9, EV_NAME_IID = 10, EV_TRACK_UUID = 11,
    EV_COUNTER_VALUE = 30, EV_DOUBLE_COUNTER_VALUE = 44, EV_FLOW_IDS = 47,
    EV_TERMINATING_FLOW_IDS = 48,
    /* TrackEvent.Type */
    TYPE_SLICE_BEGIN = 1, TYPE_SLICE_END = 2, TYPE_INSTANT = 3, TYPE_COUNTER = 4,
    /* TrackDescriptor */
    TD_UUID = 1, TD_NAME = 2, TD_PROCESS = 3, TD_THREAD = 4, TD_PARENT_UUID = 5, TD_COUNTER = 8,
    /* ProcessDescriptor, ThreadDescriptor, CounterDescriptor */
    PD_PID = 1, PD_CMDLINE = 2, PD_PROCESS_NAME = 6,
    THD_PID = 1, THD_TID = 2, THD_THREAD_NAME = 5,
    CD_UNIT = 3,
    /* InternedData, EventName / DebugAnnotationName */
    ID_EVENT_NAMES = 2, ID_DEBUG_ANNOTATION_NAMES = 3, NAME_IID = 1, NAME_NAME = 2,
    /* DebugAnnotation */
    DA_NAME_IID = 1, DA_UINT_VALUE = 3, DA_STRING_VALUE = 6,
};

/* The one packet sequence this writer emits. */
#define SEQUENCE_ID 1
/* Interned debug annotation names. */
enum { ANN_CLIENT = 1, ANN_COMMAND, ANN_SESSION, ANN_CONTEXT };
#define FLUSH_AT (64 * 1024)

enum { TRACK_PROCESS = 1, TRACK_THREAD, TRACK_LANE, TRACK_COUNTER };
#define LANES 4       /* the thread's own track and 3 overlap lanes */
#define LANE_DEPTH 32 /* top-level intervals remembered per lane */

typedef struct interval {
    uint64_t start, end;
} interval;

/* Recent top-level slices of one lane, oldest first: what a new slice must nest with. */
typedef struct pf_lane {
    uint64_t uuid; /* 0 until the lane is first used (lane 0: the thread track itself) */
    uint32_t n;
    interval top[LANE_DEPTH];
} pf_lane;

typedef struct pf_track {
    int kind;
    int pid, tid;
    uint64_t proc;      /* the process track of a thread, lane or counter */
    char name[64];
    pf_lane *lanes;        /* thread tracks: LANES lanes */
} pf_track;

struct tk_perfetto {
    FILE *out;
    int flows;
    int err;              /* first write error, negative errno */
    pb_buf buf;           /* packets waiting for fwrite */
    pb_buf pkt, msg, sub; /* scratch for building one packet inside out */
    pf_track *tracks;        /* uuid u is tracks[u - 1] */
    size_t ntracks, captracks;
    uint64_t next_iid, next_flow;
    uint64_t origin_iid;
    uint64_t written;
};

static void flush(tk_perfetto *w)
{
    if (w->buf.len && !w->err) {
        if (fwrite(w->buf.p, 1, w->buf.len, w->out) != w->buf.len)
            w->err = errno ? -errno : -EIO;
    }
    w->written += w->buf.len;
    pb_clear(&w->buf);
}

/* Appends w->pkt as one TracePacket of the trace. */
static void emit_packet(tk_perfetto *w)
{
    pb_varint(&w->pkt, PKT_SEQUENCE_ID, SEQUENCE_ID);
    pb_message(&w->buf, TRACE_PACKET, &w->pkt);
    pb_clear(&w->pkt);
    if (w->buf.len >= FLUSH_AT)
        flush(w);
}

static void interned_packet(tk_perfetto *w, uint32_t list, uint64_t iid, const char *name,
                            uint32_t flags)
{
    pb_clear(&w->sub);
    pb_varint(&w->sub, NAME_IID, iid);
    pb_string(&w->sub, NAME_NAME, name);
    pb_clear(&w->msg);
    pb_message(&w->msg, list, &w->sub);
    pb_message(&w->pkt, PKT_INTERNED_DATA, &w->msg);
    pb_varint(&w->pkt, PKT_SEQUENCE_FLAGS, flags);
    emit_packet(w);
}

int tk_perfetto_open(FILE *out, int flows, tk_perfetto **wp)
{
    tk_perfetto *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->out = out;
    w->flows = flows;
    w->next_iid = 1;
    w->next_flow = 1;
    /* The first packet clears the sequence's incremental state, so the interned names that
     * follow are valid for every later packet of the sequence. */
    interned_packet(w, ID_DEBUG_ANNOTATION_NAMES, ANN_CLIENT, "client",
                    SEQ_INCREMENTAL_STATE_CLEARED);
    interned_packet(w, ID_DEBUG_ANNOTATION_NAMES, ANN_COMMAND, "command",
                    SEQ_NEEDS_INCREMENTAL_STATE);
    interned_packet(w, ID_DEBUG_ANNOTATION_NAMES, ANN_SESSION, "session",
                    SEQ_NEEDS_INCREMENTAL_STATE);
    interned_packet(w, ID_DEBUG_ANNOTATION_NAMES, ANN_CONTEXT, "context",
                    SEQ_NEEDS_INCREMENTAL_STATE);
    w->origin_iid = tk_perfetto_intern(w, "origin");
    if (w->buf.oom || w->pkt.oom || w->msg.oom || w->sub.oom) {
        tk_perfetto_close(w);
        return -ENOMEM;
    }
    *wp = w;
    return 0;
}

int tk_perfetto_close(tk_perfetto *w)
{
    if (!w)
        return 0;
    flush(w);
    int rc = w->err;
    if (!rc && (w->buf.oom || w->pkt.oom || w->msg.oom || w->sub.oom))
        rc = -ENOMEM;
    if (!rc && fflush(w->out) != 0)
        rc = errno ? -errno : -EIO;
    for (size_t i = 0; i < w->ntracks; i++)
        free(w->tracks[i].lanes);
    free(w->tracks);
    pb_free(&w->buf);
    pb_free(&w->pkt);
    pb_free(&w->msg);
    pb_free(&w->sub);
    free(w);
    return rc;
}

uint64_t tk_perfetto_bytes(const tk_perfetto *w)
{
    return w->written + w->buf.len;
}

uint64_t tk_perfetto_intern(tk_perfetto *w, const char *name)
{
    uint64_t iid = w->next_iid++;
    interned_packet(w, ID_EVENT_NAMES, iid, name, SEQ_NEEDS_INCREMENTAL_STATE);
    return w->buf.oom ? 0 : iid;
}

/* Adds a track; returns its uuid or 0 when out of memory. */
static uint64_t add_track(tk_perfetto *w, int kind, const char *name)
{
    if (w->ntracks == w->captracks) {
        size_t cap = w->captracks ? w->captracks * 2 : 16;
        pf_track *t = realloc(w->tracks, cap * sizeof *t);
        if (!t)
            return 0;
        w->tracks = t;
        w->captracks = cap;
    }
    pf_track *t = &w->tracks[w->ntracks];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    snprintf(t->name, sizeof t->name, "%s", name ? name : "");
    return ++w->ntracks;
}

static pf_track *find_track(tk_perfetto *w, uint64_t uuid)
{
    return uuid >= 1 && uuid <= w->ntracks ? &w->tracks[uuid - 1] : NULL;
}

uint64_t tk_perfetto_process(tk_perfetto *w, int pid, const char *name, const char *cmdline)
{
    uint64_t uuid = add_track(w, TRACK_PROCESS, name);
    if (!uuid)
        return 0;
    w->tracks[uuid - 1].pid = pid;
    pb_clear(&w->sub);
    pb_varint(&w->sub, PD_PID, (uint64_t)(int64_t)pid);
    /* The command line as its words (the segment keeps it separated by spaces). */
    for (const char *s = cmdline ? cmdline : ""; *s;) {
        while (*s == ' ')
            s++;
        size_t n = strcspn(s, " ");
        if (n)
            pb_bytes(&w->sub, PD_CMDLINE, s, n);
        s += n;
    }
    if (name && *name)
        pb_string(&w->sub, PD_PROCESS_NAME, name);
    pb_clear(&w->msg);
    pb_varint(&w->msg, TD_UUID, uuid);
    pb_message(&w->msg, TD_PROCESS, &w->sub);
    pb_message(&w->pkt, PKT_TRACK_DESCRIPTOR, &w->msg);
    emit_packet(w);
    return uuid;
}

uint64_t tk_perfetto_thread(tk_perfetto *w, uint64_t proc, int tid, const char *name)
{
    pf_track *p = find_track(w, proc);
    if (!p || p->kind != TRACK_PROCESS)
        return 0;
    int pid = p->pid;
    pf_lane *lanes = calloc(LANES, sizeof *lanes);
    if (!lanes)
        return 0;
    uint64_t uuid = add_track(w, TRACK_THREAD, name);
    if (!uuid) {
        free(lanes);
        return 0;
    }
    pf_track *t = &w->tracks[uuid - 1];
    t->pid = pid;
    t->tid = tid;
    t->proc = proc;
    t->lanes = lanes;
    lanes[0].uuid = uuid;
    pb_clear(&w->sub);
    pb_varint(&w->sub, THD_PID, (uint64_t)(int64_t)pid);
    pb_varint(&w->sub, THD_TID, (uint64_t)(int64_t)tid);
    if (name && *name)
        pb_string(&w->sub, THD_THREAD_NAME, name);
    pb_clear(&w->msg);
    pb_varint(&w->msg, TD_UUID, uuid);
    pb_varint(&w->msg, TD_PARENT_UUID, proc);
    pb_message(&w->msg, TD_THREAD, &w->sub);
    pb_message(&w->pkt, PKT_TRACK_DESCRIPTOR, &w->msg);
    emit_packet(w);
    return uuid;
}

/* A child track of parent with a name (and a counter descriptor when unit >= 0). */
static uint64_t child_track(tk_perfetto *w, int kind, uint64_t parent, const char *name, int unit)
{
    uint64_t uuid = add_track(w, kind, name);
    if (!uuid)
        return 0;
    pb_clear(&w->msg);
    pb_varint(&w->msg, TD_UUID, uuid);
    pb_varint(&w->msg, TD_PARENT_UUID, parent);
    pb_string(&w->msg, TD_NAME, name);
    if (unit >= 0) {
        pb_clear(&w->sub);
        if (unit)
            pb_varint(&w->sub, CD_UNIT, (uint64_t)unit);
        pb_message(&w->msg, TD_COUNTER, &w->sub);
    }
    pb_message(&w->pkt, PKT_TRACK_DESCRIPTOR, &w->msg);
    emit_packet(w);
    return uuid;
}

uint64_t tk_perfetto_counter_track(tk_perfetto *w, uint64_t parent, const char *name, int unit)
{
    pf_track *p = find_track(w, parent);
    if (!p || (p->kind != TRACK_PROCESS && p->kind != TRACK_THREAD))
        return 0;
    return child_track(w, TRACK_COUNTER, parent, name, unit < 0 ? 0 : unit);
}

/* Starts a TrackEvent packet at ts on track; the event's fields go into w->msg. */
static void event_begin(tk_perfetto *w, uint64_t ts, int type, uint64_t track)
{
    pb_clear(&w->msg);
    pb_varint(&w->msg, EV_TYPE, (uint64_t)type);
    pb_varint(&w->msg, EV_TRACK_UUID, track);
    pb_varint(&w->pkt, PKT_TIMESTAMP, ts);
}

/* Ends the packet; interned: the event refers to interned names (the packet then says it needs
 * the sequence's incremental state). */
static void event_end(tk_perfetto *w, int interned)
{
    pb_message(&w->pkt, PKT_TRACK_EVENT, &w->msg);
    if (interned)
        pb_varint(&w->pkt, PKT_SEQUENCE_FLAGS, SEQ_NEEDS_INCREMENTAL_STATE);
    emit_packet(w);
}

/* Chooses the lane of thread t where [start, end] nests with what the lane already holds, and
 * remembers it there. Slices arrive in the order the thread ended them, so a new slice either
 * encloses recent ones (they are popped: it is their parent), lies after them, lies inside the
 * newest one, or overlaps it without nesting (then the next lane is tried). Cost: a few compares
 * per slice; a memmove of the lane's memory when it is full. */
static uint64_t place(tk_perfetto *w, pf_track *t, uint64_t start, uint64_t end)
{
    size_t ti = (size_t)(t - w->tracks);
    for (unsigned i = 0; i < LANES; i++) {
        pf_lane *l = &t->lanes[i];
        uint32_t n = l->n;
        while (n && l->top[n - 1].start >= start && l->top[n - 1].end <= end)
            n--; /* children of the new slice */
        if (n && l->top[n - 1].end > start) {
            const interval *last = &l->top[n - 1];
            if (last->start <= start && end <= last->end)
                return l->uuid; /* inside the newest: nested, nothing to remember */
            if (i + 1 < LANES)
                continue; /* overlaps without nesting */
        }
        if (!l->uuid) {
            char name[96];
            snprintf(name, sizeof name, "%s (overlap %u)", t->name[0] ? t->name : "thread", i);
            l->uuid = child_track(w, TRACK_LANE, ti + 1, name, -1); /* may move w->tracks */
            t = &w->tracks[ti];
            if (!l->uuid)
                return t->lanes[0].uuid;
        }
        if (n == LANE_DEPTH) {
            memmove(l->top, l->top + 1, (LANE_DEPTH - 1) * sizeof l->top[0]);
            n--;
        }
        l->top[n++] = (interval){start, end};
        l->n = n;
        return l->uuid;
    }
    return t->lanes[0].uuid;
}

int tk_perfetto_slice(tk_perfetto *w, uint64_t thread, uint64_t name_iid, uint64_t start_ns,
                      uint64_t dur_ns, uint64_t origin_ns)
{
    pf_track *t = find_track(w, thread);
    if (!t || t->kind != TRACK_THREAD)
        return -EINVAL;
    uint64_t proc = t->proc;
    uint64_t end_ns = start_ns + dur_ns < start_ns ? UINT64_MAX : start_ns + dur_ns;
    uint64_t lane = place(w, t, start_ns, end_ns);
    uint64_t flow = 0;
    if (w->flows && origin_ns != TK_PERFETTO_NONE && origin_ns <= start_ns) {
        flow = w->next_flow++;
        event_begin(w, origin_ns, TYPE_INSTANT, proc);
        pb_varint(&w->msg, EV_NAME_IID, w->origin_iid);
        pb_fixed64(&w->msg, EV_FLOW_IDS, flow);
        event_end(w, 1);
    }
    event_begin(w, start_ns, TYPE_SLICE_BEGIN, lane);
    pb_varint(&w->msg, EV_NAME_IID, name_iid);
    if (flow)
        pb_fixed64(&w->msg, EV_TERMINATING_FLOW_IDS, flow);
    event_end(w, 1);
    event_begin(w, end_ns, TYPE_SLICE_END, lane);
    event_end(w, 0);
    return 0;
}

static void annotation_uint(tk_perfetto *w, uint64_t name_iid, uint64_t v)
{
    pb_clear(&w->sub);
    pb_varint(&w->sub, DA_NAME_IID, name_iid);
    pb_varint(&w->sub, DA_UINT_VALUE, v);
    pb_message(&w->msg, EV_DEBUG_ANNOTATIONS, &w->sub);
}

int tk_perfetto_instant(tk_perfetto *w, uint64_t track_uuid, uint64_t name_iid, uint64_t ts_ns,
                        uint64_t client, uint64_t command, uint64_t session, const char *context,
                        size_t context_len)
{
    if (!find_track(w, track_uuid))
        return -EINVAL;
    event_begin(w, ts_ns, TYPE_INSTANT, track_uuid);
    pb_varint(&w->msg, EV_NAME_IID, name_iid);
    if (client != TK_PERFETTO_NONE)
        annotation_uint(w, ANN_CLIENT, client);
    if (command != TK_PERFETTO_NONE)
        annotation_uint(w, ANN_COMMAND, command);
    if (session != TK_PERFETTO_NONE)
        annotation_uint(w, ANN_SESSION, session);
    if (context && context_len) {
        pb_clear(&w->sub);
        pb_varint(&w->sub, DA_NAME_IID, ANN_CONTEXT);
        pb_bytes(&w->sub, DA_STRING_VALUE, context, context_len);
        pb_message(&w->msg, EV_DEBUG_ANNOTATIONS, &w->sub);
    }
    event_end(w, 1);
    return 0;
}

static int counter_track_ok(tk_perfetto *w, uint64_t uuid)
{
    pf_track *t = find_track(w, uuid);
    return t && t->kind == TRACK_COUNTER;
}

int tk_perfetto_counter_int(tk_perfetto *w, uint64_t track_uuid, uint64_t ts_ns, int64_t value)
{
    if (!counter_track_ok(w, track_uuid))
        return -EINVAL;
    event_begin(w, ts_ns, TYPE_COUNTER, track_uuid);
    pb_int64(&w->msg, EV_COUNTER_VALUE, value);
    event_end(w, 0);
    return 0;
}

int tk_perfetto_counter_double(tk_perfetto *w, uint64_t track_uuid, uint64_t ts_ns, double value)
{
    if (!counter_track_ok(w, track_uuid))
        return -EINVAL;
    event_begin(w, ts_ns, TYPE_COUNTER, track_uuid);
    pb_double(&w->msg, EV_DOUBLE_COUNTER_VALUE, value);
    event_end(w, 0);
    return 0;
}
