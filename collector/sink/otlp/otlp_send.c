/* otlp_send.c — the OTLP/HTTP exporter: a bounded queue of encoded requests, one sender thread
 * that posts them with libcurl, and the retry policy of the OTLP specification (retry 429, 502,
 * 503, 504 and network errors, honouring Retry-After, else exponential backoff with jitter; never
 * retry other codes). The thread that enqueues only takes a mutex held for list operations. */
#include "sink/otlp/otlp.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct req {
    struct req *next;
    tk_otlp_signal sig;
    void *body;
    size_t len;
    uint64_t items;
    uint64_t first_try_ns; /* 0: not tried yet */
    unsigned attempts;
} req;

struct tk_otlp_exporter {
    pthread_mutex_t mu;
    pthread_cond_t wake;   /* the sender: work or stop */
    pthread_cond_t idle;   /* flushers: the queue emptied */
    req *head, *tail;
    size_t queued;         /* in the list, in-flight included */
    atomic_int stop;
    tk_otlp_stats st;
    tk_otlp_exporter_options o;
    char *url[TK_OTLP_SIGNALS];
    struct curl_slist *headers;
    CURL *curl;
    uint64_t next_try_ns;  /* the head's retry is not before this */
    uint64_t rng;
    pthread_t thread;
    /* set by the header callback during one request */
    uint64_t retry_after_ns;
    int has_retry_after;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct timespec abs_time(uint64_t ns)
{
    return (struct timespec){.tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u)};
}

int tk_otlp_status_retryable(long status)
{
    return status == 429 || status == 502 || status == 503 || status == 504;
}

/* ---- one HTTP request (sender thread only) ----------------------------------------------------- */

static size_t on_header(char *line, size_t size, size_t n, void *ctx)
{
    tk_otlp_exporter *e = ctx;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name - 1 && strncasecmp(line, name, sizeof name - 1) == 0) {
        char v[128];
        size_t vl = len - (sizeof name - 1);
        if (vl >= sizeof v)
            vl = sizeof v - 1;
        memcpy(v, line + sizeof name - 1, vl);
        v[vl] = 0;
        char *end;
        char *p = v + strspn(v, " \t");
        long secs = strtol(p, &end, 10);
        if (end != p && secs >= 0 && (*end == '\r' || *end == '\n' || *end == 0)) {
            e->retry_after_ns = (uint64_t)secs * 1000000000u;
            e->has_retry_after = 1;
        } else {
            time_t when = curl_getdate(p, NULL); /* an HTTP date */
            if (when >= 0) {
                time_t t = time(NULL);
                e->retry_after_ns = when > t ? (uint64_t)(when - t) * 1000000000u : 0;
                e->has_retry_after = 1;
            }
        }
    }
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n; /* the response (a partial success at most) is not used */
}

static int on_progress(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    tk_otlp_exporter *e = ctx;
    return atomic_load(&e->stop) ? 1 : 0; /* abort an in-flight request when stopping */
}

/* Posts r. Returns the HTTP status, 0 for a network error. */
static long post(tk_otlp_exporter *e, const req *r)
{
    CURL *c = e->curl;
    e->has_retry_after = 0;
    e->retry_after_ns = 0;
    curl_easy_setopt(c, CURLOPT_URL, e->url[r->sig]);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* The delay before retry number `attempt` (1, 2, ...) without Retry-After: backoff doubled per
 * attempt up to backoff_max, then a uniform jitter over its upper half. */
static uint64_t backoff(tk_otlp_exporter *e, unsigned attempt)
{
    uint64_t d = e->o.backoff_ns;
    for (unsigned i = 1; i < attempt && d < e->o.backoff_max_ns; i++)
        d *= 2;
    if (d > e->o.backoff_max_ns)
        d = e->o.backoff_max_ns;
    e->rng ^= e->rng << 13; /* xorshift64 */
    e->rng ^= e->rng >> 7;
    e->rng ^= e->rng << 17;
    return d / 2 + (d / 2 ? e->rng % (d / 2 + 1) : 0);
}

static void pop_head(tk_otlp_exporter *e)
{
    req *r = e->head;
    e->head = r->next;
    if (!e->head)
        e->tail = NULL;
    e->queued--;
    free(r->body);
    free(r);
    e->next_try_ns = 0;
    if (!e->head)
        pthread_cond_broadcast(&e->idle);
}

static void *sender(void *arg)
{
    tk_otlp_exporter *e = arg;
    pthread_mutex_lock(&e->mu);
    while (!atomic_load(&e->stop)) {
        if (!e->head) {
            pthread_cond_wait(&e->wake, &e->mu);
            continue;
        }
        uint64_t t = now_ns();
        if (t < e->next_try_ns) {
            struct timespec ts = abs_time(e->next_try_ns);
            pthread_cond_timedwait(&e->wake, &e->mu, &ts);
            continue;
        }
        req *r = e->head; /* stays queued while in flight: it counts against the bound */
        if (!r->first_try_ns)
            r->first_try_ns = t;
        pthread_mutex_unlock(&e->mu);
        long status = post(e, r);
        uint64_t done = now_ns();
        pthread_mutex_lock(&e->mu);
        e->st.send_ns += done - t;
        e->st.last_status = status;
        if (atomic_load(&e->stop))
            break;
        if (status >= 200 && status < 300) {
            e->st.sent++;
            e->st.sent_items += r->items;
            e->st.sent_bytes += r->len;
            pop_head(e);
        } else if (status == 0 || tk_otlp_status_retryable(status)) {
            uint64_t delay = e->has_retry_after ? e->retry_after_ns : backoff(e, ++r->attempts);
            if (done + delay - r->first_try_ns > e->o.retry_max_ns) {
                e->st.expired++;
                e->st.expired_items += r->items;
                pop_head(e);
            } else {
                e->st.retries++;
                e->next_try_ns = done + delay;
            }
        } else {
            e->st.rejected++;
            e->st.rejected_items += r->items;
            pop_head(e);
        }
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

/* ---- the public side ---------------------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct header_ctx {
    struct curl_slist *list;
    int oom;
} header_ctx;

static void add_header(void *ctx, const char *k, const char *v)
{
    header_ctx *h = ctx;
    char line[1400];
    snprintf(line, sizeof line, *v ? "%s: %s" : "%s:", k, v); /* "Name:" removes a header */
    struct curl_slist *l = curl_slist_append(h->list, line);
    if (!l)
        h->oom = 1;
    else
        h->list = l;
}

static char *signal_url(const tk_otlp_exporter_options *o, tk_otlp_signal sig)
{
    if (o->url[sig])
        return strdup(o->url[sig]);
    const char *path = sig == TK_OTLP_METRICS ? "v1/metrics" : "v1/traces";
    size_t n = strlen(o->endpoint);
    char *u = malloc(n + 16);
    if (u)
        snprintf(u, n + 16, "%s%s%s", o->endpoint, n && o->endpoint[n - 1] == '/' ? "" : "/", path);
    return u;
}

int tk_otlp_exporter_new(const tk_otlp_exporter_options *o, tk_otlp_exporter **out)
{
    *out = NULL;
    if ((!o->endpoint || !*o->endpoint) && (!o->url[0] || !o->url[1]))
        return -EINVAL;
    pthread_once(&curl_once, curl_init);
    tk_otlp_exporter *e = calloc(1, sizeof *e);
    if (!e)
        return -ENOMEM;
    int rc = -ENOMEM;
    e->o = *o;
    if (!e->o.queue_max)
        e->o.queue_max = 64;
    if (!e->o.timeout_ns)
        e->o.timeout_ns = 10000000000ull;
    if (!e->o.backoff_ns)
        e->o.backoff_ns = 1000000000ull;
    if (!e->o.backoff_max_ns)
        e->o.backoff_max_ns = 30000000000ull;
    if (!e->o.retry_max_ns)
        e->o.retry_max_ns = 300000000000ull;
    e->o.endpoint = e->o.headers = NULL;
    e->o.url[0] = e->o.url[1] = NULL;
    e->rng = now_ns() | 1;
    for (int s = 0; s < TK_OTLP_SIGNALS; s++)
        if (!(e->url[s] = signal_url(o, (tk_otlp_signal)s)))
            goto err;
    header_ctx h = {0};
    add_header(&h, "Content-Type",
               o->encoding == TK_OTLP_JSON ? "application/json" : "application/x-protobuf");
    add_header(&h, "Expect", ""); /* no 100-continue round trip */
    if (tk_otlp_parse_pairs(o->headers, add_header, &h) < 0) {
        rc = -EINVAL;
        curl_slist_free_all(h.list);
        goto err;
    }
    e->headers = h.list;
    if (h.oom || !(e->curl = curl_easy_init()))
        goto err;
    curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, e->headers);
    curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, (long)(e->o.timeout_ns / 1000000u));
    curl_easy_setopt(e->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e->curl, CURLOPT_HEADERDATA, e);
    curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e->curl, CURLOPT_XFERINFODATA, e);
    curl_easy_setopt(e->curl, CURLOPT_NOPROGRESS, 0L);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->wake, &ca);
    pthread_cond_init(&e->idle, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&e->mu, NULL);
    if (pthread_create(&e->thread, NULL, sender, e) != 0) {
        pthread_cond_destroy(&e->wake);
        pthread_cond_destroy(&e->idle);
        pthread_mutex_destroy(&e->mu);
        goto err;
    }
    *out = e;
    return 0;

err:
    if (e->curl)
        curl_easy_cleanup(e->curl);
    curl_slist_free_all(e->headers);
    for (int s = 0; s < TK_OTLP_SIGNALS; s++)
        free(e->url[s]);
    free(e);
    return rc;
}

int tk_otlp_exporter_enqueue(tk_otlp_exporter *e, tk_otlp_signal sig, void *body, size_t len,
                             uint64_t items)
{
    req *r = malloc(sizeof *r);
    pthread_mutex_lock(&e->mu);
    if (!r || e->queued >= e->o.queue_max) {
        e->st.overflow++;
        e->st.overflow_items += items;
        pthread_mutex_unlock(&e->mu);
        free(r);
        free(body);
        return -EAGAIN;
    }
    *r = (req){.sig = sig, .body = body, .len = len, .items = items};
    if (e->tail)
        e->tail->next = r;
    else
        e->head = r;
    e->tail = r;
    e->queued++;
    e->st.enqueued++;
    e->st.enqueued_items += items;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->mu);
    return 0;
}

int tk_otlp_exporter_flush(tk_otlp_exporter *e, uint64_t timeout_ns)
{
    uint64_t until = now_ns() + timeout_ns;
    pthread_mutex_lock(&e->mu);
    while (e->queued && now_ns() < until) {
        struct timespec ts = abs_time(until);
        pthread_cond_timedwait(&e->idle, &e->mu, &ts);
    }
    int rc = e->queued ? -ETIMEDOUT : 0;
    pthread_mutex_unlock(&e->mu);
    return rc;
}

void tk_otlp_exporter_stats(tk_otlp_exporter *e, tk_otlp_stats *out)
{
    pthread_mutex_lock(&e->mu);
    *out = e->st;
    out->queued = e->queued;
    pthread_mutex_unlock(&e->mu);
}

void tk_otlp_exporter_free(tk_otlp_exporter *e, tk_otlp_stats *final)
{
    if (!e)
        return;
    pthread_mutex_lock(&e->mu);
    atomic_store(&e->stop, 1);
    pthread_cond_broadcast(&e->wake);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->thread, NULL);
    while (e->head) {
        e->st.unsent++;
        e->st.unsent_items += e->head->items;
        pop_head(e);
    }
    if (final) {
        *final = e->st;
        final->queued = 0;
    }
    curl_easy_cleanup(e->curl);
    curl_slist_free_all(e->headers);
    for (int s = 0; s < TK_OTLP_SIGNALS; s++)
        free(e->url[s]);
    pthread_cond_destroy(&e->wake);
    pthread_cond_destroy(&e->idle);
    pthread_mutex_destroy(&e->mu);
    free(e);
}
