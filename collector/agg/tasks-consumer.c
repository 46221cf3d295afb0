/* agg/tasks-consumer.c — the task aggregator plugged into the pipeline as a consumer. */
#include "agg/tasks.h"

static void on_event(void *ctx, const tkc_proc *p, const tkc_event *e)
{
    if (e->kind == TKC_EV_TASK)
        tkc_tasks_event(ctx, p->key, tkc_proc_name(p, e->name), e);
}

static void on_gone(void *ctx, const tkc_proc *p) { tkc_tasks_proc_gone(ctx, p->key); }

tkc_consumer tkc_tasks_consumer(tkc_tasks *ag)
{
    tkc_consumer c = {0};
    c.ctx = ag;
    c.event = on_event;
    c.proc_gone = on_gone;
    return c;
}
