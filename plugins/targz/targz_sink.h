#ifndef MP_TARGZ_SINK_H
#define MP_TARGZ_SINK_H

#include <mailport/plugin.h>

extern const mp_sink_ops targz_sink_ops;

#endif
