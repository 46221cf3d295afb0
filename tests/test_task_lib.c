/* test_task_lib.c — task lifecycles recorded through the library: the in-process snapshot, refused
 * calls (out of order, zombie, other thread), exact totals after a ring overflow, and the same
 * totals read back from the segment and replayed by the collector's aggregator. */
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <timekeeper.h>

#include "agg/tasks.h"
#include "testutil.h"

static char dir[256];

TK_TASK_TYPE(handler);
TK_TASK_TYPE(subtask);
TK_TASK_TYPE(spinner);

static int group_setup(void **state)
{
    (void)state;
    return tu_library_setup(dir, sizeof dir, 1024, 8);
}

static int group_teardown(void **state)
{
    (void)state;
    tu_rmdir(dir);
    return 0;
}

/* Busy for at least ns of CLOCK_MONOTONIC (the thread keeps running: it is a slice). */
static void busy_ns(uint64_t ns)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do
        clock_gettime(CLOCK_MONOTONIC, &b);
    while ((uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u + (uint64_t)(b.tv_nsec - a.tv_nsec) < ns);
}

static const tk_task_stats *stats_of(const tk_task_stats *s, size_t n, const tk_task_type_t *t)
{
    for (size_t i = 0; i < n; i++)
        if (s[i].type->line == t->line && strcmp(s[i].type->func, t->func) == 0)
            return &s[i];
    return NULL;
}

static void snapshot_separates_a_synchronous_child_from_its_parent(void **state)
{
    (void)state;
    tk_task_t parent, child;
    assert_int_equal(tk_task_created(&parent, TK_TASK_TYPE_OF(handler)), 0);
    assert_int_equal(tk_task_running(&parent), 0);
    busy_ns(2000000);
    assert_int_equal(tk_task_created(&child, TK_TASK_TYPE_OF(subtask)), 0);
    assert_int_equal(tk_task_running(&child), 0); /* nested: runs inside the parent's slice */
    assert_ptr_equal(tk_task_current(), &child);
    busy_ns(2000000);
    assert_int_equal(tk_task_paused(&parent), TK_ETASKSTATE); /* the inner run must end first */
    assert_int_equal(tk_task_completed(&child), 0);
    assert_ptr_equal(tk_task_current(), &parent);
    busy_ns(2000000);
    assert_int_equal(tk_task_completed(&parent), 0);
    assert_null(tk_task_current());

    tk_task_stats s[8];
    size_t n;
    assert_int_equal(tk_task_snapshot(s, 8, &n), 0);
    const tk_task_stats *p = stats_of(s, n, TK_TASK_TYPE_OF(handler));
    const tk_task_stats *c = stats_of(s, n, TK_TASK_TYPE_OF(subtask));
    assert_non_null(p);
    assert_non_null(c);
    assert_string_equal(p->type->file, __FILE__);
    assert_u64_equal(1, p->completed, "parent completed");
    assert_u64_equal(1, c->completed, "child completed");
    assert_true(c->exec_ns >= 2000000);
    assert_true(p->exec_ns >= 4000000);
    /* the child's time is in the parent's exec with children, not in its exec */
    assert_true(p->exec_ns + c->exec_ns <= p->wall_ns + 2);
    assert_double_near((double)(p->exec_ns + c->exec_ns), (double)p->exec_with_children_ns, 2.0,
                       "parent exec with children = exec + child exec");
    assert_true(s[0].exec_with_children_ns >= s[n - 1].exec_with_children_ns); /* sorted */
    assert_u64_equal(0, p->in_flight, "in flight");
}

static void out_of_order_and_zombie_calls_are_refused_and_counted(void **state)
{
    (void)state;
    tk_task_t t;
    assert_int_equal(tk_task_created(&t, TK_TASK_TYPE_OF(spinner)), 0);
    assert_int_equal(tk_task_paused(&t), TK_ETASKSTATE); /* never ran */
    assert_int_equal(tk_task_running(&t), 0);
    assert_int_equal(tk_task_running(&t), TK_ETASKSTATE); /* already running */
    assert_int_equal(tk_task_paused(&t), 0);
    assert_int_equal(tk_task_failed(&t), 0);
    assert_int_equal(tk_task_running(&t), TK_ETASKSTATE);  /* zombie */
    assert_int_equal(tk_task_completed(&t), TK_ETASKSTATE); /* zombie */
    tk_task_t never;
    assert_int_equal(tk_task_created(&never, TK_TASK_TYPE_OF(spinner)), 0);
    assert_int_equal(tk_task_cancelled(&never), 0);
    assert_int_equal(tk_task_created(NULL, TK_TASK_TYPE_OF(spinner)), TK_EINVAL);
    assert_int_equal(tk_task_running(NULL), TK_EINVAL);

    tk_task_stats s[8];
    size_t n;
    assert_int_equal(tk_task_snapshot(s, 8, &n), 0);
    const tk_task_stats *sp = stats_of(s, n, TK_TASK_TYPE_OF(spinner));
    assert_non_null(sp);
    assert_u64_equal(2, sp->zombie, "zombie calls");
    assert_u64_equal(1, sp->failed, "failed");
    assert_u64_equal(1, sp->cancelled, "cancelled");
    assert_u64_equal(1, sp->stillborn, "stillborn");
    assert_u64_equal(1, sp->slices, "slices");
    assert_string_equal(tk_strerror(TK_ETASKSTATE), "task lifecycle call out of order");
}

static void registration_gives_one_type_per_triple_and_checks_names(void **state)
{
    (void)state;
    tk_task_type_t *a, *b, *c;
    assert_int_equal(tk_task_type_register("fetch", "/srv/app/net.py", 12, &a), 0);
    assert_int_equal(tk_task_type_register("fetch", "/srv/app/net.py", 12, &b), 0);
    assert_int_equal(tk_task_type_register("fetch", "/srv/app/net.py", 13, &c), 0);
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, c);
    assert_string_equal(a->func, "fetch");
    assert_int_equal(a->line, 12);
    char longname[80];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(tk_task_type_register(longname, "f.c", 1, &a), 0); /* kept whole, cut in the table */
    assert_string_equal(a->func, longname);
    char huge[TK_TASK_FUNC_MAX + 2];
    memset(huge, 'y', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    assert_int_equal(tk_task_type_register(huge, "f.c", 1, &a), TK_ENAMETOOLONG);
    assert_null(a);
    assert_int_equal(tk_task_type_register("", "f.c", 1, &a), TK_EINVAL);
    /* a very long path keeps its end */
    char path[200];
    memset(path, 'd', sizeof path);
    memcpy(path + sizeof path - 12, "/tail_file.c", 12);
    path[sizeof path - 1] = '\0';
    assert_int_equal(tk_task_type_register("f", path, 7, &a), 0);
}

typedef struct other_thread {
    tk_task_t *foreign;
    int rc_foreign;
    size_t n_types;
    uint64_t own_completed;
} other_thread;

static void *other_main(void *arg)
{
    other_thread *o = arg;
    o->rc_foreign = tk_task_running(o->foreign);
    tk_task_t t;
    tk_task_created(&t, TK_TASK_TYPE_OF(spinner));
    tk_task_running(&t);
    tk_task_completed(&t);
    tk_task_stats s[8];
    tk_task_snapshot(s, 8, &o->n_types);
    o->own_completed = o->n_types == 1 ? s[0].completed : 0;
    tk_thread_exit();
    return NULL;
}

static void each_thread_has_its_own_tasks_and_totals(void **state)
{
    (void)state;
    tk_task_t mine;
    assert_int_equal(tk_task_created(&mine, TK_TASK_TYPE_OF(handler)), 0);
    other_thread o = {.foreign = &mine};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, other_main, &o), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(o.rc_foreign, TK_ETASKSTATE);
    assert_u64_equal(1, o.n_types, "types on the other thread");
    assert_u64_equal(1, o.own_completed, "its own task");
    assert_int_equal(tk_task_completed(&mine), 0);
}

/* The calling thread's ring index in the segment (by tid). */
static uint32_t my_ring(const tks_header *h)
{
    uint32_t tid = (uint32_t)syscall(SYS_gettid);
    for (uint32_t i = 0; i < h->ring_count; i++) {
        const tks_ring_header *rh =
            (const void *)((const char *)h + h->rings_offset + (size_t)i * h->ring_stride);
        if (rh->tid == tid && rh->state == TKS_RING_OWNED)
            return i;
    }
    fail_msg("no ring for this thread");
    return 0;
}

static void totals_stay_exact_when_the_ring_overflows(void **state)
{
    (void)state;
    enum { N = 3000 }; /* 4 records each: 12000 records through a 1024-record ring */
    tk_task_stats before[8];
    size_t n0;
    assert_int_equal(tk_task_snapshot(before, 8, &n0), 0);
    const tk_task_stats *b = stats_of(before, n0, TK_TASK_TYPE_OF(subtask));
    uint64_t done0 = b ? b->completed : 0;
    for (int i = 0; i < N; i++) {
        tk_task_t t;
        tk_task_created(&t, TK_TASK_TYPE_OF(subtask));
        tk_task_running(&t);
        tk_task_paused(&t);
        tk_task_completed(&t);
    }
    tk_task_stats s[8];
    size_t n;
    assert_int_equal(tk_task_snapshot(s, 8, &n), 0);
    const tk_task_stats *c = stats_of(s, n, TK_TASK_TYPE_OF(subtask));
    assert_non_null(c);
    assert_u64_equal(done0 + N, c->completed, "completed after the overflow");

    /* the segment says the same: map it read-only as a collector does */
    int fd = open(tk_segment_path(), O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    const char *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    assert_true(m != MAP_FAILED);
    const tks_header *h = (const void *)m;
    assert_u64_equal(TKS_MINOR_VERSION, h->minor_version, "minor version");
    assert_true(h->task_type_count >= 3);
    uint32_t ring = my_ring(h);
    const uint32_t *types = (const void *)(m + h->task_types_offset);
    uint32_t index = TK_TASK_TYPE_OF(subtask)->priv_index;
    const tks_task_acc *acc =
        (const tks_task_acc *)(const void *)(m + h->tasks_offset + (size_t)ring * h->tasks_stride) + index;
    assert_u64_equal(types[index], acc->name, "type table and accumulator agree");
    assert_u64_equal(c->completed, acc->completed, "accumulator completed");
    assert_u64_equal(c->slices, acc->slices, "accumulator slices");
    assert_u64_equal(0, acc->seq & 1u, "seqlock even at rest");

    /* replay what the ring still holds, plus the accumulator as the decoder emits it */
    tkc_tasks *ag = tkc_tasks_new();
    assert_non_null(ag);
    const tks_ring_header *rh =
        (const void *)(m + h->rings_offset + (size_t)ring * h->ring_stride);
    const tks_record *slots = (const void *)((const char *)rh + h->slots_offset);
    uint64_t head = rh->head, cap = h->ring_capacity;
    const double npt = 1e9 / tk_ticks_per_second();
    for (uint64_t i = head > cap ? head - cap : 0; i < head; i++) {
        tkc_event e;
        const tks_record *r = &slots[i & (cap - 1)];
        if (TKS_TAG_TYPE(r->tag) != TKS_REC_TASK || tkc_task_event_from_record(r, ring, &e) != 0)
            continue;
        e.mono_ns = (uint64_t)((double)e.ticks * npt);
        assert_int_equal(tkc_tasks_event(ag, 1, "subtask@test:1", &e), 0);
    }
    const uint64_t v[4][3] = {
        {acc->created, acc->completed, acc->failed},
        {acc->cancelled, acc->stillborn, acc->slices},
        {(uint64_t)(acc->exec_ticks * npt), (uint64_t)(acc->children_exec_ticks * npt),
         (uint64_t)(acc->wall_ticks * npt)},
        {(uint64_t)(acc->max_slice_ticks * npt), (uint64_t)(acc->max_exec_ticks * npt), acc->zombie},
    };
    for (unsigned part = 0; part < 4; part++) {
        tkc_event e = {.kind = TKC_EV_TASK, .name = acc->name, .ring = ring, .sub = TKC_TASK_TOTALS,
                       .a = v[part][0], .b = v[part][1], .c = v[part][2], .d = part | (uint64_t)index << 8};
        assert_int_equal(tkc_tasks_event(ag, 1, "subtask@test:1", &e), 0);
    }
    tkc_task_row rows[4];
    size_t nr = tkc_tasks_rows(ag, rows, 4);
    assert_int_equal(nr, 1);
    assert_u64_equal(c->completed, rows[0].calls, "aggregator calls from the exact totals");
    assert_true(hist_count(rows[0].slice_hist) > 0);
    assert_true(hist_count(rows[0].slice_hist) < N); /* only what the ring kept */
    tkc_tasks_free(ag);
    munmap((void *)m, (size_t)st.st_size);
}

static void forked_child_profiles_only_its_own_tasks(void **state)
{
    (void)state;
    tk_task_t t;
    assert_int_equal(tk_task_created(&t, TK_TASK_TYPE_OF(handler)), 0);
    assert_int_equal(tk_task_running(&t), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int bad = tk_task_paused(&t) != TK_ETASKSTATE; /* the parent's task is not continued */
        bad |= (tk_task_current() != NULL) << 1;
        tk_task_t c;
        bad |= (tk_task_created(&c, TK_TASK_TYPE_OF(spinner)) != 0) << 2;
        bad |= (tk_task_running(&c) != 0) << 3;
        bad |= (tk_task_completed(&c) != 0) << 4;
        tk_task_stats s[8];
        size_t n = 0;
        bad |= (tk_task_snapshot(s, 8, &n) != 0 || n != 1 || s[0].completed != 1) << 5;
        _exit(bad);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(tk_task_completed(&t), 0);
}

#if defined(__SANITIZE_THREAD__)
/* The fork test forks while the library's calibration thread runs: the child only records and
 * exits, which TSan allows with this option. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) { return "die_after_fork=0"; }
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(snapshot_separates_a_synchronous_child_from_its_parent),
        cmocka_unit_test(out_of_order_and_zombie_calls_are_refused_and_counted),
        cmocka_unit_test(registration_gives_one_type_per_triple_and_checks_names),
        cmocka_unit_test(each_thread_has_its_own_tasks_and_totals),
        cmocka_unit_test(totals_stay_exact_when_the_ring_overflows),
        cmocka_unit_test(forked_child_profiles_only_its_own_tasks),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
