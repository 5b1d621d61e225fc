/* The plugin's two ops tables (mbox_source.c, mbox_sink.c). */
#ifndef MBOX_OPS_H
#define MBOX_OPS_H

#include <mailport/plugin.h>

extern const mp_source_ops mbox_source_ops;
extern const mp_sink_ops mbox_sink_ops;

#endif
