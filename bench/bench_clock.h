/* bench_clock.h: the one clock reader every bench uses (seconds as a double). */
#ifndef HWJ_BENCH_CLOCK_H
#define HWJ_BENCH_CLOCK_H

#include <time.h>

/* CLOCK_MONOTONIC for wall time, CLOCK_THREAD_CPUTIME_ID / CLOCK_PROCESS_CPUTIME_ID for CPU. */
static inline double bench_clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
