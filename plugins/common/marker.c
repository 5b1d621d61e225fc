#include "marker.h"

#include <time.h>

static uint64_t mix(uint64_t h, uint64_t v)
{
    /* FNV-1a over the value's bytes: cheap, and any field changing moves
     * the result. */
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 1099511628211u;
    }
    return h;
}

uint64_t mp_marker_fold(uint64_t seed, int first, const struct stat *st)
{
    if (!first && seed == 0)
        return 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (st->st_mtim.tv_sec + MP_MARKER_SETTLE_SECONDS > now.tv_sec ||
        st->st_ctim.tv_sec + MP_MARKER_SETTLE_SECONDS > now.tv_sec)
        return 0;
    uint64_t h = first ? 14695981039346656037u : seed;
    h = mix(h, (uint64_t)st->st_dev);
    h = mix(h, (uint64_t)st->st_ino);
    h = mix(h, (uint64_t)st->st_size);
    h = mix(h, (uint64_t)st->st_mtim.tv_sec);
    h = mix(h, (uint64_t)st->st_mtim.tv_nsec);
    h = mix(h, (uint64_t)st->st_ctim.tv_sec);
    h = mix(h, (uint64_t)st->st_ctim.tv_nsec);
    return h ? h : 1;
}
