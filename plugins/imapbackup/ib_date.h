/* A message's date. imap-backup does not keep the server's INTERNALDATE;
 * the best there is is the Date: header (read with GMime's RFC 5322
 * parser, as the core reads it for any message whose store knows no
 * date), else the date on the From_ line imap-backup wrote (the Ruby mail
 * gem's reading of that same header, as asctime in the header's own zone
 * with the zone left out, taken as UTC; it can hold a date GMime cannot
 * read, such as "2012-12-08 00:48"). */
#ifndef IB_DATE_H
#define IB_DATE_H

#include <stddef.h>
#include <stdint.h>

/* HDR is the header block (quoting undone), FROM the From_ line without
 * its line break. Seconds since the epoch, or MP_DATE_UNKNOWN. */
int64_t ib_message_date(const char *hdr, size_t hdr_len, const char *from,
                        size_t from_len);

#endif
