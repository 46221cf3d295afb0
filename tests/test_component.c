/* test_component.c — per-component timing as a program uses it, checked in its own segment read
 * with format/segment.h only: every call of every callback is a record, __ALL__ wraps each
 * callback, absolute wraps the run, an aborted event keeps what was measured. */
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <timekeeper.h>

#include "core/component.h"
#include "format/segment.h"
#include "testutil.h"

static char dir[256];

static int group_setup(void **state)
{
    (void)state;
    return tu_library_setup(dir, sizeof dir, 1u << 14, 8);
}

static int group_teardown(void **state)
{
    (void)state;
    tu_rmdir(dir);
    return 0;
}

/* The component records of this process, in ring order, with their names. */
typedef struct seen {
    tks_record rec[4096];
    char name[4096][TKS_NAME_LEN_MAX + 1];
    uint64_t counter[4096]; /* the ring's per-name counter of the record's name */
    size_t n;
} seen;

static void read_segment(seen *out)
{
    int fd = open(tk_segment_path(), O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    const uint8_t *mem = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(mem != MAP_FAILED);
    close(fd);
    const tks_header *h = (const tks_header *)mem;
    const tks_name *names = (const tks_name *)(mem + h->names_offset);
    out->n = 0;
    for (uint32_t r = 0; r < h->ring_count; r++) {
        const uint8_t *ring = mem + h->rings_offset + (uint64_t)r * h->ring_stride;
        const tks_ring_header *rh = (const tks_ring_header *)ring;
        const uint64_t *counters = (const uint64_t *)(ring + h->counters_offset);
        const tks_record *slots = (const tks_record *)(ring + h->slots_offset);
        uint64_t head = rh->head, first = head > h->ring_capacity ? head - h->ring_capacity : 0;
        for (uint64_t i = first; i < head; i++) {
            const tks_record *rec = &slots[i & (h->ring_capacity - 1)];
            if (TKS_TAG_TYPE(rec->tag) != TKS_REC_COMPONENT)
                continue;
            assert_true(out->n < 4096);
            uint32_t id = TKS_TAG_ID(rec->tag);
            assert_true(id < h->name_count);
            tu_expect_eq("kind of a component record's name", TKS_NAME_COMPONENT, names[id].kind);
            out->rec[out->n] = *rec;
            memcpy(out->name[out->n], names[id].name, TKS_NAME_LEN_MAX + 1);
            out->counter[out->n] = counters[id];
            out->n++;
        }
    }
    tu_expect_eq("the header's component layout", TKS_COMPONENT_LAYOUT, h->component_layout);
    assert_true(h->component_sequences >= 1);
    munmap((void *)mem, (size_t)st.st_size);
}

/* The records of one sequence, component and callback (name NULL: any). */
static size_t count(const seen *s, unsigned seq, const char *name, unsigned cb)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        if (TKS_COMPONENT_SEQ(s->rec[i].c) == seq && TKS_COMPONENT_CB(s->rec[i].c) == cb &&
            (!name || strcmp(s->name[i], name) == 0))
            n++;
    return n;
}

static const tks_record *find(const seen *s, unsigned seq, const char *name, unsigned cb,
                              uint64_t arg, size_t nth)
{
    for (size_t i = 0; i < s->n; i++)
        if (TKS_COMPONENT_SEQ(s->rec[i].c) == seq && TKS_COMPONENT_CB(s->rec[i].c) == cb &&
            TKS_COMPONENT_ARG(s->rec[i].c) == arg && strcmp(s->name[i], name) == 0 && nth-- == 0)
            return &s->rec[i];
    return NULL;
}

typedef struct calls {
    int process_start, file_open, new_run, events;
} calls;

static int cb_count_start(void *ctx, uint64_t arg) { (void)arg; ((calls *)ctx)->process_start++; return 0; }
static int cb_count_file(void *ctx, uint64_t arg) { (void)arg; ((calls *)ctx)->file_open++; return 0; }
static int cb_count_run(void *ctx, uint64_t arg) { (void)arg; ((calls *)ctx)->new_run++; return 0; }
static int cb_event(void *ctx, uint64_t ev) { (void)ev; ((calls *)ctx)->events++; return 0; }
static int cb_abort_every_third(void *ctx, uint64_t ev)
{
    ((calls *)ctx)->events++;
    return ev % 3 == 0; /* aborts events 3, 6, 9 */
}
static int cb_ok(void *ctx, uint64_t arg) { (void)ctx; (void)arg; return 0; }

static void every_call_of_every_callback_is_recorded_with_all_and_absolute(void **state)
{
    (void)state;
    calls a = {0}, b = {0}, c = {0};
    tk_sequence_t *s;
    assert_int_equal(tk_sequence_create(&s), 0);
    const unsigned si = tk_sequence_index(s);
    tk_component_ops oa = {.process_start = cb_count_start, .process_end = cb_ok,
                           .file_open = cb_count_file, .file_close = cb_ok,
                           .before_new_run = cb_ok, .new_run = cb_count_run, .event = cb_event};
    tk_component_ops ob = {.event = cb_abort_every_third, .new_run = cb_count_run};
    tk_component_ops oc = {.event = cb_event, .file_open = cb_count_file};
    assert_int_equal(tk_sequence_add(s, "cmp.read", &oa, &a), 0);
    assert_int_equal(tk_sequence_add(s, "cmp.filter", &ob, &b), 0);
    assert_int_equal(tk_sequence_add(s, "cmp.write", &oc, &c), 0);

    assert_int_equal(tk_sequence_call(s, TK_CB_PROCESS_START, 0), 0);
    uint64_t ev = 0;
    int aborted = 0;
    for (uint64_t file = 1; file <= 2; file++) {
        assert_int_equal(tk_sequence_call(s, TK_CB_FILE_OPEN, file), 0);
        for (uint64_t run = file * 10; run < file * 10 + 2; run++) {
            assert_int_equal(tk_sequence_call(s, TK_CB_BEFORE_NEW_RUN, run), 0);
            assert_int_equal(tk_sequence_call(s, TK_CB_NEW_RUN, run), 0);
            for (int i = 0; i < 5; i++) {
                int rc = tk_sequence_call(s, TK_CB_EVENT, ++ev);
                tu_expect_eq("tk_sequence_call says whether the event was aborted", ev % 3 == 0, rc);
                aborted += rc;
            }
        }
        assert_int_equal(tk_sequence_call(s, TK_CB_FILE_CLOSE, file), 0);
    }
    assert_int_equal(tk_sequence_call(s, TK_CB_PROCESS_END, 0), 0);

    tu_expect_eq("callbacks called", 2 * 2 * 5, a.events);
    tu_expect_eq("the aborting component sees every event", 20, b.events);
    tu_expect_eq("the component after it misses the aborted events", 20 - aborted, c.events);

    static seen got;
    read_segment(&got);
    /* every call of the repeated callbacks is a record, with its argument */
    tu_expect_eq("file_open records of cmp.read", 2, count(&got, si, "cmp.read", TKS_CB_FILE_OPEN));
    tu_expect_eq("file_open records of cmp.write", 2, count(&got, si, "cmp.write", TKS_CB_FILE_OPEN));
    tu_expect_eq("file_open records of __ALL__", 2, count(&got, si, "__ALL__", TKS_CB_FILE_OPEN));
    tu_expect_eq("file_open of cmp.filter (no callback)", 0, count(&got, si, "cmp.filter", TKS_CB_FILE_OPEN));
    tu_expect_eq("new_run records of cmp.filter", 4, count(&got, si, "cmp.filter", TKS_CB_NEW_RUN));
    assert_non_null(find(&got, si, "cmp.read", TKS_CB_FILE_OPEN, 2, 0));
    assert_non_null(find(&got, si, "__ALL__", TKS_CB_NEW_RUN, 21, 0));
    tu_expect_eq("process_start of __ALL__", 1, count(&got, si, "__ALL__", TKS_CB_PROCESS_START));
    tu_expect_eq("absolute", 1, count(&got, si, "__ALL__", TKS_CB_ABSOLUTE));
    tu_expect_eq("event records of __ALL__", 20, count(&got, si, "__ALL__", TKS_CB_EVENT));
    tu_expect_eq("event records of cmp.write", 20 - aborted, count(&got, si, "cmp.write", TKS_CB_EVENT));

    /* absolute wraps everything; __ALL__ wraps the components of each callback */
    const tks_record *abs = find(&got, si, "__ALL__", TKS_CB_ABSOLUTE, 0, 0);
    for (size_t i = 0; i < got.n; i++) {
        if (TKS_COMPONENT_SEQ(got.rec[i].c) != si)
            continue;
        assert_true(got.rec[i].a >= abs->a && got.rec[i].b <= abs->b);
        assert_true(got.rec[i].b >= got.rec[i].a);
    }
    const tks_record *all3 = find(&got, si, "__ALL__", TKS_CB_EVENT, 3, 0);
    const tks_record *read3 = find(&got, si, "cmp.read", TKS_CB_EVENT, 3, 0);
    const tks_record *filter3 = find(&got, si, "cmp.filter", TKS_CB_EVENT, 3, 0);
    assert_non_null(all3);
    assert_non_null(read3);
    assert_non_null(filter3);
    assert_null(find(&got, si, "cmp.write", TKS_CB_EVENT, 3, 0));
    assert_true(all3->a <= read3->a && read3->b <= filter3->a && filter3->b <= all3->b);
    /* the aborted event keeps what it measured, and says it was aborted */
    tu_expect_eq("__ALL__ of an aborted event is flagged", TKS_CF_NONZERO, TKS_COMPONENT_FLAGS(all3->c));
    tu_expect_eq("the aborting component is flagged", TKS_CF_NONZERO, TKS_COMPONENT_FLAGS(filter3->c));
    tu_expect_eq("a component before it is not", 0, TKS_COMPONENT_FLAGS(read3->c));
    const tks_record *all4 = find(&got, si, "__ALL__", TKS_CB_EVENT, 4, 0);
    tu_expect_eq("__ALL__ of a completed event", 0, TKS_COMPONENT_FLAGS(all4->c));

    /* exact counts: the per-name sequence numbers run 1..n and match the ring's counter */
    uint64_t last_seq = 0;
    size_t n_read = 0;
    for (size_t i = 0; i < got.n; i++) {
        if (strcmp(got.name[i], "cmp.read") != 0)
            continue;
        tu_expect_eq("sequence number of cmp.read's records", last_seq + 1, got.rec[i].seq);
        last_seq = got.rec[i].seq;
        n_read++;
        tu_expect_eq("the ring's counter of cmp.read", 1 + 2 + 4 + 4 + 20 + 2 + 1, got.counter[i]);
    }
    tu_expect_eq("records of cmp.read", 1 + 2 + 4 + 4 + 20 + 2 + 1, n_read);
    tk_sequence_free(s);
}

static void bad_additions_are_refused(void **state)
{
    (void)state;
    tk_sequence_t *s;
    assert_int_equal(tk_sequence_create(&s), 0);
    tk_component_ops o = {.event = cb_ok};
    assert_int_equal(tk_sequence_add(s, "__ALL__", &o, NULL), TK_EINVAL);
    assert_int_equal(tk_sequence_add(s, "bad,name", &o, NULL), TK_EINVAL);
    assert_int_equal(tk_sequence_add(s, "cmp.once", &o, NULL), 0);
    assert_int_equal(tk_sequence_add(s, "cmp.once", &o, NULL), TK_EINVAL);
    assert_int_equal(tk_sequence_call(s, (tk_callback_t)7, 0), TK_EINVAL);
    assert_int_equal(tk_sequence_call(s, TK_CB_EVENT, 1), 0);
    assert_int_equal(tk_sequence_add(s, "cmp.late", &o, NULL), TK_EINVAL);
    const unsigned first = tk_sequence_index(s);
    tk_sequence_free(s);
    tk_sequence_t *t;
    assert_int_equal(tk_sequence_create(&t), 0);
    tu_expect_eq("sequences are numbered in order of creation", first + 1, tk_sequence_index(t));
    tk_sequence_free(t);
}

static void records_decode_into_component_events(void **state)
{
    (void)state;
    tk_sequence_t *s;
    assert_int_equal(tk_sequence_create(&s), 0);
    tk_component_ops o = {.event = cb_abort_every_third};
    calls c = {0};
    assert_int_equal(tk_sequence_add(s, "cmp.decoded", &o, &c), 0);
    assert_int_equal(tk_sequence_call(s, TK_CB_EVENT, 6), 1);
    static seen got;
    read_segment(&got);
    const tks_record *r = find(&got, tk_sequence_index(s), "cmp.decoded", TKS_CB_EVENT, 6, 0);
    assert_non_null(r);
    tkc_event e;
    assert_int_equal(tkc_component_decode_record(r, 3, 1234, 5678, &e), 0);
    tu_expect_eq("kind", TKC_EV_COMPONENT, e.kind);
    tu_expect_eq("name", TKS_TAG_ID(r->tag), e.name);
    tu_expect_eq("ring", 3, e.ring);
    tu_expect_eq("callback", TKS_CB_EVENT, e.sub);
    tu_expect_eq("duration", 1234, e.a);
    tu_expect_eq("event number", 6, e.b);
    tu_expect_eq("flags", TKC_COMPONENT_NONZERO, e.c);
    tu_expect_eq("sequence", tk_sequence_index(s), e.d);
    assert_string_equal(tkc_component_callback_name(e.sub), "event");
    assert_string_equal(tkc_component_callback_name(TKS_CB_ABSOLUTE), "absolute");

    tks_record bad = *r;
    bad.c = TKS_COMPONENT_PACK(1, 9, 0, 0);
    assert_int_equal(tkc_component_decode_record(&bad, 0, 0, 0, &e), -1);
    bad.c = TKS_COMPONENT_PACK(1, TKS_CB_ABSOLUTE, 0, 0);
    assert_int_equal(tkc_component_decode_record(&bad, 0, 0, 0, &e), -1);
    bad.c = TKS_COMPONENT_PACK(1, TKS_CB_EVENT, 4, 0);
    assert_int_equal(tkc_component_decode_record(&bad, 0, 0, 0, &e), -1);
    bad = *r;
    bad.tag = TKS_TAG(TKS_REC_SPAN, 1);
    assert_int_equal(tkc_component_decode_record(&bad, 0, 0, 0, &e), -1);
    bad = *r;
    bad.b = bad.a - 1; /* the clock went backwards */
    assert_int_equal(tkc_component_decode_record(&bad, 0, 99, 0, &e), 0);
    tu_expect_eq("duration of a backwards record", 0, e.a);
    tk_sequence_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_call_of_every_callback_is_recorded_with_all_and_absolute),
        cmocka_unit_test(bad_additions_are_refused),
        cmocka_unit_test(records_decode_into_component_events),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
