/* sink/sink.c — looking up the built-in text sinks and calling a sink's optional operations. */
#include "sink/sink.h"

#include <errno.h>
#include <string.h>

const tk_sink_ops *tk_sink_find(const char *name)
{
    static const tk_sink_ops *const all[] = {&tk_sink_table, &tk_sink_json, &tk_sink_csv};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

int tk_sink_open(tk_sink *s, const tk_sink_ops *ops, FILE *out)
{
    memset(s, 0, sizeof *s);
    s->ops = ops;
    s->out = out;
    return 0;
}

int tk_sink_window(tk_sink *s, const tk_window_view *v)
{
    return s->ops->window ? s->ops->window(s, v) : 0;
}

int tk_sink_analysis(tk_sink *s, const struct analyze *a)
{
    return s->ops->analysis ? s->ops->analysis(s, a) : 0;
}

int tk_sink_close(tk_sink *s)
{
    int r = s->ops && s->ops->close ? s->ops->close(s) : 0;
    if (s->out && fflush(s->out) != 0 && r == 0)
        r = -errno;
    return r;
}
