/* hello.c — the first program of the README: one timer that records, for every order, its latency
 * (now - the origin stamped at ingest) and its processing time, complete and ready to build:
 *     cc hello.c $(pkg-config --cflags --libs timekeeper) -o hello && ./hello
 * then `timekeeper report --once` shows the timer `orders.handle` (the segment stays after exit). */
#include <stdio.h>

#include <timekeeper.h>

struct order {
    tk_origin_t hdr; /* stamped when the order enters the program, carried with it */
    unsigned qty;
};

static unsigned long handle(const struct order *o) /* the work being timed */
{
    unsigned long sum = 0;
    for (unsigned i = 0; i < 1000 + o->qty; i++)
        sum += i ^ o->qty;
    return sum;
}

static unsigned long on_order(struct order *o)
{
    static tk_timer_t *t;
    if (!t)
        t = tk_timer("orders.handle");                /* register once, keep the pointer */
    tk_span_t span = tk_origin_receive(t, &o->hdr);   /* latency: now - origin */
    unsigned long r = handle(o);
    tk_origin_done(&span);                            /* processing: now - receive */
    return r;
}

int main(void)
{
    unsigned long total = 0;
    for (unsigned i = 0; i < 1000; i++) {
        struct order o = {.qty = i % 7};
        tk_origin_stamp(&o.hdr);
        total += on_order(&o);
    }
    if (tk_enabled())
        printf("hello: 1000 orders timed (checksum %lu) into %s\n", total, tk_segment_path());
    else
        printf("hello: 1000 orders run (checksum %lu), recording off\n", total);
    return 0;
}
