#ifndef MP_TARGZ_SOURCE_H
#define MP_TARGZ_SOURCE_H

#include <mailport/plugin.h>

extern const mp_source_ops targz_source_ops;

#endif
