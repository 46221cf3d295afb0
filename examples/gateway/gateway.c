/* gateway.c — an example actor pipeline (ingest → sequencer → risk → publisher, one thread each)
 * whose messages are dressed with their origin: every actor's receive records latency since the
 * input entered the gateway and the actor's processing time, without the actors timing anything.
 * It counts what goes in and out (counters gw.messages_in, gw.published) and has two stages that
 * TK_DISABLE_STAGES=risk,publish switches off, to see what each costs. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <timekeeper.h>

/* ---- messages: the program's own struct, with the origin header embedded ---------------------- */
typedef struct message {
    tk_origin_t origin; /* stamped at ingest, inherited by every derived message */
    uint64_t client;
    uint64_t seq;
    double price;
    int qty;
} message;

/* ---- a bounded blocking queue (mutex + condition variables) ------------------------------------ */
#define QCAP 4096
typedef struct queue {
    pthread_mutex_t mu;
    pthread_cond_t nonempty, nonfull;
    message items[QCAP];
    size_t head, len;
    int closed;
} queue;

static void queue_init(queue *q)
{
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->nonempty, NULL);
    pthread_cond_init(&q->nonfull, NULL);
    q->head = q->len = 0;
    q->closed = 0;
}

static void queue_push(queue *q, const message *m)
{
    pthread_mutex_lock(&q->mu);
    while (q->len == QCAP && !q->closed)
        pthread_cond_wait(&q->nonfull, &q->mu);
    if (!q->closed) {
        q->items[(q->head + q->len++) % QCAP] = *m;
        pthread_cond_signal(&q->nonempty);
    }
    pthread_mutex_unlock(&q->mu);
}

/* Returns 0 with a message, -1 when the queue is closed and empty. */
static int queue_pop(queue *q, message *m)
{
    pthread_mutex_lock(&q->mu);
    while (q->len == 0 && !q->closed)
        pthread_cond_wait(&q->nonempty, &q->mu);
    int rc = -1;
    if (q->len) {
        *m = q->items[q->head];
        q->head = (q->head + 1) % QCAP;
        q->len--;
        pthread_cond_signal(&q->nonfull);
        rc = 0;
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

static void queue_close(queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->nonempty);
    pthread_cond_broadcast(&q->nonfull);
    pthread_mutex_unlock(&q->mu);
}

/* ---- actors: the framework times every receive; handlers just handle --------------------------- */
typedef struct actor actor;
struct actor {
    const char *name;
    void (*handle)(actor *self, message *m);
    queue in;
    actor *next;
    tk_timer_t *timer;
    pthread_t thread;
    uint64_t handled;
};

static void *actor_main(void *arg)
{
    actor *a = arg;
    tk_thread_name(a->name);
    message m;
    while (queue_pop(&a->in, &m) == 0) {
        tk_span_t span = tk_origin_receive(a->timer, &m.origin); /* latency: now - origin */
        a->handle(a, &m);
        tk_origin_done(&span);                                    /* processing: now - receive */
        a->handled++;
    }
    if (a->next)
        queue_close(&a->next->in);
    return NULL;
}

/* Sends a message derived from `cause` to the next actor: it inherits the origin. */
static void actor_send(actor *a, const message *cause, message *derived)
{
    tk_origin_inherit(&derived->origin, &cause->origin);
    if (a->next)
        queue_push(&a->next->in, derived);
}

static _Thread_local volatile uint64_t work_sink; /* per thread: actors on several threads spin */
static void busy_work(unsigned iterations)
{
    uint64_t x = work_sink + 1;
    for (unsigned i = 0; i < iterations; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    work_sink = x;
}

static uint64_t next_seq;
static void sequencer_handle(actor *self, message *m)
{
    message out = *m;
    out.seq = ++next_seq;
    {
        TK_SCOPE("sequencer.journal"); /* a finer-grained timer inside one actor */
        busy_work(200 + (unsigned)(out.seq % 7) * 40);
    }
    actor_send(self, m, &out);
}

static void risk_handle(actor *self, message *m)
{
    message out = *m;
    if (TK_STAGE_ON("risk"))
        busy_work(m->qty > 900 ? 3000 : 300); /* large orders take the slow path */
    actor_send(self, m, &out);
}

static uint64_t published_checksum;
static void publisher_handle(actor *self, message *m)
{
    (void)self;
    static tk_counter_t *published;
    if (!published)
        published = tk_counter("gw.published");
    if (!TK_STAGE_ON("publish"))
        return;
    busy_work(150);
    published_checksum += m->seq ^ m->client;
    tk_counter_add(published, 1);
}

/* ---- ingest: where inputs enter the program and get their origin -------------------------------- */
static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: gateway [--duration S] [--rate N]\n"
               "  --duration S  run S seconds (default: until interrupted)\n"
               "  --rate N      input messages per second (default 20000, max 1000000)\n");
}

int main(int argc, char **argv)
{
    double duration = 0;
    long rate = 20000;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--duration") && i + 1 < argc) {
            duration = strtod(argv[++i], &end);
            if (*end || duration < 0) {
                fprintf(stderr, "gateway: bad --duration '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--rate") && i + 1 < argc) {
            rate = strtol(argv[++i], &end, 10);
            if (*end || rate < 1 || rate > 1000000) {
                fprintf(stderr, "gateway: bad --rate '%s'\n", argv[i]);
                return 2;
            }
        } else {
            usage(stderr);
            return 2;
        }
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    actor publisher = {"publisher", publisher_handle, .timer = tk_timer("gw.publisher")};
    actor risk = {"risk", risk_handle, .next = &publisher, .timer = tk_timer("gw.risk")};
    actor sequencer = {"sequencer", sequencer_handle, .next = &risk, .timer = tk_timer("gw.sequencer")};
    actor *actors[] = {&sequencer, &risk, &publisher};
    for (int i = 0; i < 3; i++) {
        queue_init(&actors[i]->in);
        if (pthread_create(&actors[i]->thread, NULL, actor_main, actors[i]) != 0) {
            fprintf(stderr, "gateway: cannot start thread: %s\n", strerror(errno));
            return 1;
        }
    }
    tk_thread_name("ingest");
    tk_timer_t *ingest = tk_timer("gw.ingest");
    tk_counter_t *messages_in = tk_counter("gw.messages_in");
    fprintf(stderr, "gateway: pid %d, segment %s, %ld msg/s%s\n", (int)getpid(), tk_segment_path(),
            rate, duration > 0 ? "" : ", Ctrl-C to stop");

    const uint64_t start = mono_ns(), period = 1000000000u / (uint64_t)rate;
    const double ticks_per_ns = tk_ticks_per_second() / 1e9;
    uint64_t sent = 0, rng = 88172645463325252ull;
    while (!stop) {
        uint64_t now = mono_ns();
        if (duration > 0 && now - start >= (uint64_t)(duration * 1e9))
            break;
        uint64_t due = (now - start) / period;
        if (sent >= due) { /* ahead of schedule: sleep a little (bursts keep it realistic) */
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
            continue;
        }
        for (; sent < due && !stop; sent++) {
            message m;
            /* the input "arrived" at its scheduled time: inputs that arrived while the ingest
             * thread slept wait in the socket buffer, which is the ingest latency */
            tk_origin_stamp(&m.origin);
            uint64_t waited_ns = mono_ns() - (start + sent * period);
            m.origin.origin -= (uint64_t)((double)waited_ns * ticks_per_ns);
            tk_span_t span = tk_start_from(ingest, m.origin.origin);
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            m.client = rng % 64;
            m.seq = 0;
            m.price = 100.0 + (double)(rng % 1000) / 100.0;
            m.qty = (int)(rng >> 20) % 1000 + 1;
            busy_work(100); /* decode */
            tk_stop(&span);
            tk_counter_add(messages_in, 1);
            queue_push(&sequencer.in, &m);
        }
    }
    queue_close(&sequencer.in);
    for (int i = 0; i < 3; i++)
        pthread_join(actors[i]->thread, NULL);
    fprintf(stderr, "gateway: %llu messages in, %llu published\n", (unsigned long long)sent,
            (unsigned long long)publisher.handled);
    return 0;
}
