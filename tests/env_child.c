/* env_child.c — a tiny instrumented program for test_env: its first call into libtimekeeper reads
 * the environment; it records a few spans and a point, prints what the library made of it on
 * stdout ("enabled=", "clock=", "path=" lines) and exits 0 by returning from main (atexit runs). */
#include <stdio.h>

#include <timekeeper.h>

int main(void)
{
    tk_timer_t *t = tk_timer("env.child");
    for (int i = 0; i < 10; i++) {
        uint64_t s = tk_now();
        tk_record(t, s, tk_now(), 0);
    }
    tk_label_t l = tk_label("ENV_POINT");
    if (l)
        tk_point(l, 1, 2, 3, "k=v");
    printf("enabled=%d\nclock=%d\npath=%s\n", tk_enabled(), (int)tk_clock_source(),
           tk_segment_path());
    return 0;
}
