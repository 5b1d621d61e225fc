/* The plugin's one ops table (ib_source.c): it reads, it does not write. */
#ifndef IB_OPS_H
#define IB_OPS_H

#include <mailport/plugin.h>

extern const mp_source_ops ib_source_ops;

#endif
