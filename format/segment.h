/* format/segment.h — the shared-memory segment layout, the contract between producer and collector.
 * docs/segment-format.md describes it for people; this file is the definition. Little-endian,
 * naturally aligned, fixed-width fields only. A collector treats every field as untrusted. */
#ifndef TK_SEGMENT_FORMAT_H
#define TK_SEGMENT_FORMAT_H

#include <stdint.h>

#define TKS_MAGIC "TIMEKPR\0"     /* 8 bytes */
/* The layout's major version: a collector reads only segments of its own major version. Within
 * one major version, additions are compatible (docs/segment-format.md, "Compatibility"): a new
 * record type or name kind, a new header field carved from `reserved`, a new feature bit. */
#define TKS_VERSION 1u
#define TKS_MINOR_VERSION 3u /* 2: health, life lock, counters; 3: task accumulators */
#define TKS_FILE_PREFIX "timekeeper-" /* timekeeper-<pid>-<start>.seg */
#define TKS_FILE_SUFFIX ".seg"

#define TKS_HEADER_SIZE 16384u
#define TKS_NAME_ENTRY_SIZE 64u
#define TKS_NAME_LEN_MAX 55u
#define TKS_CALIB_SLOTS 64u
#define TKS_RING_HEADER_SIZE 256u   /* owner line, head line, counters offset padding */
#define TKS_RECORD_SIZE 32u

#define TKS_MAX_NAMES_LIMIT 65536u
#define TKS_MAX_RINGS_LIMIT 4096u
#define TKS_RING_CAP_MIN 1024u
#define TKS_RING_CAP_MAX (1u << 24)

/* The producer's defaults (TK_RING_SIZE, TK_MAX_THREADS and the name table's size). */
#define TKS_DEFAULT_RING_CAPACITY 65536u
#define TKS_DEFAULT_MAX_RINGS 128u
#define TKS_DEFAULT_MAX_NAMES 4096u

/* header.features: compatible features. A reader ignores bits it does not know (and may say it
 * saw them); the segment stays readable. */
/* TKS_FEATURE_LIFE_LOCK: the producer holds an open-file-description write lock (fcntl F_OFD_SETLK)
 * on the whole segment file for its whole life; the kernel drops it when the process dies. A reader
 * asks with F_OFD_GETLK on its own read-only descriptor: a conflicting lock means alive, none means
 * dead, whatever PID namespace either side is in. Without the bit, only the pid is a hint. */
#define TKS_FEATURE_LIFE_LOCK (1ull << 0)
#define TKS_FEATURES_KNOWN TKS_FEATURE_LIFE_LOCK
/* header.features_incompat: a reader that does not know every bit set here must not read the
 * segment's rings (it reports the segment as "from a newer producer", not as corrupt). */
#define TKS_FEATURES_INCOMPAT_KNOWN 0ull

/* header.state */
enum { TKS_STATE_CREATING = 0, TKS_STATE_LIVE = 1, TKS_STATE_EXITED = 2 };

/* name_entry.kind. Values are assigned here once, for the kinds to come as well; a reader skips
 * names of a kind it does not know (and the records that refer to them). */
enum {
    TKS_NAME_FREE = 0,
    TKS_NAME_TIMER = 1,
    TKS_NAME_LABEL = 2,
    TKS_NAME_COUNTER = 3,
    TKS_NAME_GAUGE = 4,
    TKS_NAME_TASK = 5,       /* a task type: function, file, line */
    TKS_NAME_COMPONENT = 6,  /* a component of an event-processing sequence */
    TKS_NAME_STAGE = 7,      /* a pipeline stage (switchable) */
};

/* ring_header.state */
enum { TKS_RING_FREE = 0, TKS_RING_OWNED = 1, TKS_RING_RELEASED = 2 };

/* A calibration sample: the same instant on three clocks. */
typedef struct tks_calib {
    uint64_t ticks;
    uint64_t mono_ns;
    uint64_t real_ns;
} tks_calib;

/* header.health (minor version 2): what the producer could not record, and why. Every counter
 * only grows, written with relaxed atomic adds by any thread of the producer. */
typedef struct tks_health {
    uint64_t dropped_no_space;    /* records dropped: the thread's ring could not be reserved (full fs) */
    uint64_t dropped_name_full;   /* points dropped: their label is 0 and the name table was full */
    uint64_t names_refused;       /* registrations refused because the name table was full */
    uint64_t timing_dropped;      /* TK_TIMING text lines dropped (the write would have blocked) */
    uint32_t flags;               /* TKS_HEALTH_* bits: failures seen (each is told once on stderr) */
    uint32_t rings_no_space;      /* threads that found no space for their ring */
    uint8_t pad[128 - 40];
} tks_health;

/* tks_health.flags */
#define TKS_HEALTH_NO_SPACE 1u    /* some ring could not be reserved */
#define TKS_HEALTH_NAMES_FULL 2u  /* the name table filled up */
#define TKS_HEALTH_TIMING_DROPS 4u /* TIMING lines were dropped */

/* The header's counters area (minor version 2; docs/segment-format.md, "Counters and gauges").
 * A counter's total is the sum over rings of values[id]; each ring's value is monotonic and written
 * by the ring's owner thread only, so a reader sees exact totals whenever it looks and a ring that
 * overwrites its records loses no count. Gauges and stage states are one process-wide slot per
 * name, stored (not added) by any thread. Offsets of 0: the producer has none of these. */
typedef struct tks_counters_area {
    uint64_t values_offset;   /* within a ring: value_count uint64 counter totals, by name id */
    uint64_t gauges_offset;   /* within the segment: value_count int64 gauge values by name id;
                               * for a TKS_NAME_STAGE name: 1 on, 0 off */
    uint32_t value_count;     /* entries of each array (the segment's max_names) */
    uint32_t reserved0;
    uint8_t reserved[64 - 24];
} tks_counters_area;

/* Calibration is refreshed by a background thread in the producer about once a second, into a
 * circular array of TKS_CALIB_SLOTS samples. calib_seq is a seqlock over the whole block: odd while
 * a sample is written. calib_count is how many samples were ever written; sample i (0-based) is at
 * slot i % TKS_CALIB_SLOTS. Sample 0 is taken at init and is never overwritten (slot 0 is skipped
 * when wrapping: slots 1..63 circulate), so a long run keeps its first point for a long baseline. */
typedef struct tks_header {
    char magic[8];
    uint32_t version;
    uint32_t header_size;         /* TKS_HEADER_SIZE */
    uint64_t segment_size;        /* bytes of the file */
    uint32_t state;               /* TKS_STATE_* */
    uint32_t pid;
    uint32_t uid;
    uint32_t clock_source;        /* tk_clock_t */
    uint64_t start_real_ns;       /* CLOCK_REALTIME at init */
    uint64_t start_mono_ns;       /* CLOCK_MONOTONIC at init */
    uint64_t start_ticks;
    uint32_t record_size;         /* TKS_RECORD_SIZE */
    uint32_t max_names;
    uint32_t max_rings;
    uint32_t ring_capacity;       /* records, a power of two */
    uint64_t names_offset;        /* max_names entries of TKS_NAME_ENTRY_SIZE */
    uint64_t rings_offset;        /* max_rings rings of ring_stride bytes */
    uint64_t ring_stride;
    uint64_t counters_offset;     /* within a ring: max_names uint64 per-name counters */
    uint64_t slots_offset;        /* within a ring: ring_capacity records */
    /* written by the producer over time */
    uint32_t name_count;          /* names [0, name_count) are published (release) */
    uint32_t ring_count;          /* rings [0, ring_count) were ever claimed (release) */
    uint64_t heartbeat_mono_ns;   /* refreshed with calibration, ~1 s */
    uint64_t dropped_no_ring;     /* records dropped because no ring was free */
    uint64_t exit_mono_ns;        /* set at normal exit (atexit), 0 otherwise */
    uint64_t proc_starttime;      /* field 22 of /proc/self/stat (detects pid reuse), 0: unknown */
    uint64_t calib_seq;
    uint64_t calib_count;
    tks_calib calib[TKS_CALIB_SLOTS];
    char process[64];             /* NUL-terminated (a reader must not rely on it) */
    char cmdline[1024];           /* arguments separated by spaces, NUL-terminated */
    /* minor version 1 */
    uint32_t minor_version;       /* TKS_MINOR_VERSION of the producer; 0: written before minors */
    uint32_t reserved_minor;
    uint64_t features;            /* TKS_FEATURES_KNOWN bits and later ones: ignorable */
    uint64_t features_incompat;   /* bits a reader must know (TKS_FEATURES_INCOMPAT_KNOWN) */
    /* Areas kept for the producer features that come next, each carved into fields by its own
     * change (sizes stay the same, so the offsets after them do not move). */
    tks_health health;            /* producer health (minor 2): drop counters by reason */
    tks_counters_area area_counters; /* minor 2: counters, gauges and stages */
    /* async task profiling (minor version 3; all 0 before): per-thread per-type totals, see
     * tks_task_acc below and docs/segment-format.md, "Task accumulators" */
    uint64_t tasks_offset;        /* max_rings regions of tasks_stride bytes; region i: ring i */
    uint64_t tasks_stride;        /* bytes of one region: max_task_types tks_task_acc, 4096-rounded */
    uint64_t task_types_offset;   /* max_task_types uint32 name ids: type index -> task type name */
    uint32_t max_task_types;      /* accumulators per region (type indexes [0, max_task_types)) */
    uint32_t task_type_count;     /* type indexes [0, task_type_count) are assigned (release) */
    uint8_t area_tasks_pad[64 - 32];
    /* per-component timing (area_components): written by tk_sequence_create() */
    uint32_t component_layout;    /* TKS_COMPONENT_LAYOUT once a sequence exists, 0: none */
    uint32_t component_sequences; /* sequences created so far */
    uint8_t area_components_pad[64 - 8];
    uint8_t reserved[TKS_HEADER_SIZE - 176 - TKS_CALIB_SLOTS * 24 - 64 - 1024 - 24 - 320];
} tks_header;

typedef struct tks_name {
    uint16_t kind;                /* TKS_NAME_* */
    uint16_t len;                 /* <= TKS_NAME_LEN_MAX */
    uint32_t reserved;
    char name[56];                /* len bytes then NUL */
} tks_name;

/* One ring per thread. The owner writes; every reader only reads. head counts records ever written
 * to the ring; record i lives in slot i & (capacity - 1) until record i + capacity overwrites it.
 * The writer stores a record and then publishes head = i + 1 (release). A reader copies slots and
 * then re-reads head: a copied record i is valid only if i + capacity > head_after - 1. */
typedef struct tks_ring_header {
    /* line 0: ownership, written on claim/release */
    uint32_t state;               /* TKS_RING_* */
    uint32_t tid;                 /* kernel thread id of the current (or last) owner */
    uint64_t owner_since;         /* head when the current owner claimed the ring */
    uint64_t owner_gen;           /* incremented at each claim */
    char thread_name[16];         /* NUL-terminated within 16 */
    uint8_t pad0[64 - 40];
    /* line 1: the write index, alone on its cache line */
    uint64_t head;
    uint8_t pad1[64 - 8];
    uint8_t pad2[TKS_RING_HEADER_SIZE - 128];
} tks_ring_header;

/* Record types (tag >> 24). A record's tag low 24 bits are a name id. Values are assigned here
 * once, for the kinds to come as well. A reader skips a type it does not know and counts it as
 * `unknown` (not corrupt): that is how an older collector reads a newer producer's rings. */
enum {
    TKS_REC_SPAN = 1,        /* a = start, b = stop, c = origin ticks (0: none) */
    TKS_REC_POINT = 2,       /* a = ticks, b = client, c = command; followed by TKS_REC_POINT_EXT */
    TKS_REC_POINT_EXT = 3,   /* continuation: see tks_point_ext */
    TKS_REC_COUNTER = 4,     /* reserved: counters write no records (their totals live in the
                              * ring's values array, area_counters.values_offset) */
    TKS_REC_GAUGE = 5,       /* reserved: gauges write no records (area_counters.gauges_offset) */
    TKS_REC_TASK = 6,        /* a task lifecycle event: see "Task records" below */
    TKS_REC_COMPONENT = 7,   /* one call of a component's callback: see "Component records" */
    TKS_REC_CONT = 8,        /* a continuation of the record before it, for any type but points:
                              * carries no sequence number; skipped when found alone (its head
                              * was overwritten) */
    TKS_REC_TYPE_MAX = 255,
};
#define TKS_TAG(type, id) (((uint32_t)(type) << 24) | ((uint32_t)(id) & 0xffffffu))
#define TKS_TAG_TYPE(tag) ((uint32_t)(tag) >> 24)
#define TKS_TAG_ID(tag) ((uint32_t)(tag) & 0xffffffu)

/* seq: the per-(ring, name) sequence number of this record, low 32 bits; the ring's counter for
 * the name holds the full 64-bit count and is stored after head is published. */
typedef struct tks_record {
    uint32_t tag;
    uint32_t seq;
    uint64_t a, b, c;
} tks_record;

/* A point is one TKS_REC_POINT record followed by 1..3 continuation records (published together).
 * The first continuation carries the session and the first 16 context bytes, the next ones 28
 * context bytes each; ctx_len (<= TK_CONTEXT_MAX) is the total context length. Context bytes past
 * ctx_len are unspecified (a point without context leaves what an earlier lap wrote there): a
 * reader takes ctx_len bytes, never more. */
typedef struct tks_point_ext {
    uint32_t tag;            /* TKS_TAG(TKS_REC_POINT_EXT, index 1..3) */
    uint16_t ctx_len;        /* total context bytes (first continuation only) */
    uint16_t nrec;           /* continuation records that follow the point (first only) */
    uint64_t session;
    char ctx[16];
} tks_point_ext;
typedef struct tks_point_more {
    uint32_t tag;
    char ctx[28];
} tks_point_more;

/* Task records. tag = TKS_TAG(TKS_REC_TASK, name id of the task type), seq as for spans;
 *   a = ticks of the transition
 *   b = task id (> 0, unique within the ring: ids go on when a ring is reused)
 *   c = transition (bits 0-7, TKS_TASK_*) | type index (bits 8-23: the task type's accumulator in
 *       the ring's task region) | parent task id, low 40 bits (bits 24-63; TKS_TASK_CREATED only,
 *       0: no parent)
 * A task lives on the thread that created it: all its records are in one ring. */
enum {
    TKS_TASK_CREATED = 1,
    TKS_TASK_RUNNING = 2,    /* a slice starts (each resume) */
    TKS_TASK_PAUSED = 3,     /* the slice ends: the task awaits something */
    TKS_TASK_COMPLETED = 4,  /* finished; a running task's slice ends with it */
    TKS_TASK_FAILED = 5,
    TKS_TASK_CANCELLED = 6,
};
#define TKS_TASK_C(transition, type_index, parent_id)                                         \
    ((uint64_t)(transition) | ((uint64_t)((type_index) & 0xffffu) << 8) |                      \
     ((uint64_t)(parent_id) << 24))
#define TKS_TASK_TRANSITION(c) ((uint32_t)((c) & 0xffu))
#define TKS_TASK_TYPE_INDEX(c) ((uint32_t)(((c) >> 8) & 0xffffu))
#define TKS_TASK_PARENT(c) ((uint64_t)(c) >> 24)
#define TKS_TASK_ID_BITS 40
#define TKS_DEFAULT_MAX_TASK_TYPES 512u
#define TKS_MAX_TASK_TYPES_LIMIT 65536u

/* One task type's totals on one thread, in its ring's task region, written only by the thread
 * that owns the ring. seq is a seqlock: odd while the fields change; a reader copies the entry and
 * keeps the copy only when seq was even and unchanged around the copy. Times are ticks. The field
 * order after seq is format/taskcalc.h's tkt_totals. */
typedef struct tks_task_acc {
    uint32_t name;                /* name id of the task type, 0: never used on this ring */
    uint32_t seq;
    uint64_t created;
    uint64_t completed, failed, cancelled;
    uint64_t stillborn;
    uint64_t slices;
    uint64_t exec_ticks;
    uint64_t children_exec_ticks;
    uint64_t wall_ticks;
    uint64_t max_slice_ticks;
    uint64_t max_exec_ticks;
    uint64_t zombie;
    uint64_t reserved[3];
} tks_task_acc;
#define TKS_TASK_ACC_SIZE 128u

/* Component records. A TKS_REC_COMPONENT record is one call of one callback of one component of
 * an event-processing sequence, a single record (no continuation): the tag's name id is a
 * TKS_NAME_COMPONENT name (a component, or "__ALL__", the aggregate over the whole sequence), seq
 * the usual per-name sequence number, a = start ticks, b = stop ticks, and c packs:
 *     bits  0..47  arg: file number, run number or event number (truncated to 48 bits)
 *     bits 48..51  callback (TKS_CB_*)
 *     bits 52..55  flags (TKS_CF_*)
 *     bits 56..63  the sequence's index in the process (the order of creation, < 256)
 * Per event, the records of the components that ran come first, then the __ALL__ record of the
 * event; TKS_CB_ABSOLUTE is one __ALL__ record from the start of process start to the end of
 * process end. */
#define TKS_COMPONENT_LAYOUT 1u
enum {
    TKS_CB_PROCESS_START = 0,
    TKS_CB_PROCESS_END = 1,
    TKS_CB_FILE_OPEN = 2,
    TKS_CB_FILE_CLOSE = 3,
    TKS_CB_BEFORE_NEW_RUN = 4,
    TKS_CB_NEW_RUN = 5,
    TKS_CB_EVENT = 6,
    TKS_CB_ABSOLUTE = 7,
    TKS_CB_COUNT = 8,
};
enum {
    TKS_CF_NONZERO = 1u, /* the callback returned nonzero; on an event: it aborted the event (on
                          * __ALL__: the event was aborted, i.e. not completed) */
};
#define TKS_COMPONENT_ARG_MASK ((1ull << 48) - 1)
#define TKS_COMPONENT_PACK(arg, cb, flags, seqidx)                                            \
    (((uint64_t)(arg) & TKS_COMPONENT_ARG_MASK) | ((uint64_t)((cb) & 15u) << 48) |             \
     ((uint64_t)((flags) & 15u) << 52) | ((uint64_t)((seqidx) & 255u) << 56))
#define TKS_COMPONENT_ARG(c) ((c) & TKS_COMPONENT_ARG_MASK)
#define TKS_COMPONENT_CB(c) ((unsigned)((c) >> 48) & 15u)
#define TKS_COMPONENT_FLAGS(c) ((unsigned)((c) >> 52) & 15u)
#define TKS_COMPONENT_SEQ(c) ((unsigned)((c) >> 56) & 255u)

/* Fences of the seqlock-style protocols (ring slots, calibration). On x86-64 both are compiler
 * barriers only. GCC's ThreadSanitizer does not model thread fences; every shared field is an
 * atomic, so a TSan build keeps the compiler barrier, which is the same code on x86-64. */
#if defined(__SANITIZE_THREAD__)
#define TKS_FENCE_ACQUIRE() __atomic_signal_fence(__ATOMIC_ACQUIRE)
#define TKS_FENCE_RELEASE() __atomic_signal_fence(__ATOMIC_RELEASE)
#else
#define TKS_FENCE_ACQUIRE() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define TKS_FENCE_RELEASE() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif

#ifdef __cplusplus
#define TKS_STATIC_ASSERT static_assert
#else
#define TKS_STATIC_ASSERT _Static_assert
#endif
TKS_STATIC_ASSERT(sizeof(tks_header) == TKS_HEADER_SIZE, "header size");
TKS_STATIC_ASSERT(sizeof(tks_health) == 128, "health area size");
TKS_STATIC_ASSERT(sizeof(tks_counters_area) == 64, "area_counters size");
TKS_STATIC_ASSERT(sizeof(tks_name) == TKS_NAME_ENTRY_SIZE, "name entry size");
TKS_STATIC_ASSERT(sizeof(tks_ring_header) == TKS_RING_HEADER_SIZE, "ring header size");
TKS_STATIC_ASSERT(sizeof(tks_record) == TKS_RECORD_SIZE, "record size");
TKS_STATIC_ASSERT(sizeof(tks_point_ext) == TKS_RECORD_SIZE, "point ext size");
TKS_STATIC_ASSERT(sizeof(tks_point_more) == TKS_RECORD_SIZE, "point more size");
TKS_STATIC_ASSERT(sizeof(tks_task_acc) == TKS_TASK_ACC_SIZE, "task accumulator size");

#endif
