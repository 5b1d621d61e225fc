/* imap-backup's flag names. It keeps the flags Ruby's Net::IMAP returned:
 * system flags as symbols, written without their backslash ("Seen",
 * "Answered", "Flagged", "Deleted", "Draft"; "Recent" too, which is
 * session state), and keywords as the strings the server sent
 * ("$Forwarded", "Work"). See Serializer::Message#to_h. */
#ifndef IB_FLAGS_H
#define IB_FLAGS_H

#include <stddef.h>

typedef struct ib_flag_set {
    unsigned flags; /* MP_FLAG_* */
    char *keywords; /* space-separated, malloc'd; NULL when none */
} ib_flag_set;

/* Add flag NAME to SET. System flag names match in any case, with or
 * without a leading '\' (or the ':' of a Ruby symbol) so that hand-edited
 * files read too; "$Forwarded" is MP_FLAG_FORWARDED, as the IMAP source
 * reads it; "Recent" is dropped; any other valid IMAP atom is a keyword
 * (once); anything else is dropped and counted in *DROPPED. Returns -1 when
 * out of memory, else 0. */
int ib_flag_add(ib_flag_set *set, const char *name, size_t *dropped);

void ib_flag_set_free(ib_flag_set *set);

#endif
