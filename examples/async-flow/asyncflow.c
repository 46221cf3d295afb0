/* asyncflow.c — the async-flow example's C library: requests completed by a worker thread after a
 * delay, completion signalled on a per-request eventfd. Points (labels in the C_ namespace) mark
 * where the C side spends its time; they carry the same client, command and session ids as the
 * Python caller's points, so `timekeeper analyze` puts both sides of a request in one sequence. */
#include "asyncflow.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <timekeeper.h>

#define AF_MAX_DELAY_NS 3600000000000ULL

/* One request, from af_send() until its response is taken. */
typedef struct request {
    uint64_t command, session;
    uint64_t due_ns;        /* CLOCK_MONOTONIC when the worker completes it */
    int64_t value, result;
    int done;
    int efd;                /* -1 until a check found it pending */
    struct request *next;   /* all requests of the client (a list: a few in flight at a time) */
    struct request *qnext;  /* the worker's queue, by due time */
} request;

struct af_client {
    pthread_mutex_t mu;
    pthread_cond_t wake;    /* CLOCK_MONOTONIC: the worker sleeps until the first due time */
    pthread_t worker;
    int stop;
    uint64_t client_id;
    uint64_t next_command;
    uint64_t pending;
    request *all;
    request *queue;         /* not yet completed, earliest due first */
};

/* Labels are registered once; 0 (registration impossible, recording off) records nothing. */
static tk_label_t L_QUEUED, L_CB_ENTRY, L_CB_EXIT, L_EFD_W0, L_EFD_W1, L_EFD_C0, L_EFD_C1;
static pthread_once_t labels_once = PTHREAD_ONCE_INIT;

static void labels_init(void)
{
    L_QUEUED = tk_label("C_OP_QUEUED");
    L_CB_ENTRY = tk_label("C_CALLBACK_ENTRY");
    L_CB_EXIT = tk_label("C_CALLBACK_EXIT");
    L_EFD_W0 = tk_label("C_BEFORE_EFD_WRITE");
    L_EFD_W1 = tk_label("C_AFTER_EFD_WRITE");
    L_EFD_C0 = tk_label("C_BEFORE_EFD_CREATE");
    L_EFD_C1 = tk_label("C_AFTER_EFD_CREATE");
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The completion callback: stores the result and signals the eventfd of a waiting caller. Called
 * with c->mu held, on the worker thread (or inline for a zero delay). */
static void complete(af_client *c, request *r)
{
    tk_point(L_CB_ENTRY, c->client_id, r->command, r->session, NULL);
    r->result = r->value * 2;
    r->done = 1;
    if (r->efd >= 0) {
        tk_point(L_EFD_W0, c->client_id, r->command, r->session, NULL);
        uint64_t one = 1;
        ssize_t w;
        do
            w = write(r->efd, &one, sizeof one);
        while (w < 0 && errno == EINTR);
        tk_point(L_EFD_W1, c->client_id, r->command, r->session, NULL);
    }
    tk_point(L_CB_EXIT, c->client_id, r->command, r->session, NULL);
}

static void *worker_main(void *arg)
{
    af_client *c = arg;
    tk_thread_name("af-worker");
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        request *r = c->queue;
        if (!r) {
            pthread_cond_wait(&c->wake, &c->mu);
            continue;
        }
        uint64_t now = mono_ns();
        if (now < r->due_ns) {
            struct timespec until = {(time_t)(r->due_ns / 1000000000u),
                                     (long)(r->due_ns % 1000000000u)};
            pthread_cond_timedwait(&c->wake, &c->mu, &until);
            continue; /* the queue may have changed */
        }
        c->queue = r->qnext;
        complete(c, r);
    }
    pthread_mutex_unlock(&c->mu);
    tk_thread_exit();
    return NULL;
}

int af_client_new(uint64_t client_id, af_client **out)
{
    pthread_once(&labels_once, labels_init);
    af_client *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->client_id = client_id;
    c->next_command = 1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&c->mu, NULL);
    int rc = pthread_create(&c->worker, NULL, worker_main, c);
    if (rc) {
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->mu);
        free(c);
        return -rc;
    }
    *out = c;
    return 0;
}

void af_client_free(af_client *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->worker, NULL);
    for (request *r = c->all, *next; r; r = next) {
        next = r->next;
        if (r->efd >= 0)
            close(r->efd);
        free(r);
    }
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

int64_t af_send(af_client *c, uint64_t session, uint64_t delay_ns, int64_t value)
{
    if (delay_ns > AF_MAX_DELAY_NS)
        return -EINVAL;
    request *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->session = session;
    r->value = value;
    r->efd = -1;
    pthread_mutex_lock(&c->mu);
    r->command = c->next_command++;
    if (L_QUEUED) { /* 0: recording is off, don't format */
        char ctx[40];
        int n = snprintf(ctx, sizeof ctx, "delay_ns=%llu", (unsigned long long)delay_ns);
        tk_point_at(L_QUEUED, tk_now(), c->client_id, r->command, session, ctx, (size_t)n);
    }
    r->due_ns = mono_ns() + delay_ns; /* after the point: queued -> callback >= delay */
    r->next = c->all;
    c->all = r;
    c->pending++;
    if (delay_ns == 0) {
        complete(c, r); /* a cache hit: done before the caller even checks */
    } else {
        request **p = &c->queue;
        while (*p && (*p)->due_ns <= r->due_ns)
            p = &(*p)->qnext;
        r->qnext = *p;
        *p = r;
        if (c->queue == r)
            pthread_cond_signal(&c->wake); /* a new earliest due time */
    }
    pthread_mutex_unlock(&c->mu);
    return (int64_t)r->command;
}

int af_get_response(af_client *c, uint64_t command, int64_t *result, int *efd)
{
    pthread_mutex_lock(&c->mu);
    request **p = &c->all;
    while (*p && (*p)->command != command)
        p = &(*p)->next;
    request *r = *p;
    if (!r) {
        pthread_mutex_unlock(&c->mu);
        return -ENOENT;
    }
    if (r->done) {
        *p = r->next;
        c->pending--;
        pthread_mutex_unlock(&c->mu);
        *result = r->result;
        if (r->efd >= 0)
            close(r->efd);
        free(r);
        return 1;
    }
    if (r->efd < 0) {
        tk_point(L_EFD_C0, c->client_id, command, r->session, NULL);
        r->efd = eventfd(0, EFD_CLOEXEC);
        int err = errno;
        tk_point(L_EFD_C1, c->client_id, command, r->session, NULL);
        if (r->efd < 0) {
            pthread_mutex_unlock(&c->mu);
            return -err;
        }
    }
    *efd = r->efd;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

uint64_t af_pending(af_client *c)
{
    pthread_mutex_lock(&c->mu);
    uint64_t n = c->pending;
    pthread_mutex_unlock(&c->mu);
    return n;
}
