/* Special use (RFC 6154) of a folder by its name, for stores that keep no
 * special-use metadata (Maildir, archives of a Maildir): --automap then
 * goes by the names mail clients and servers give these folders. */
#ifndef MP_COMMON_SPECIAL_USE_H
#define MP_COMMON_SPECIAL_USE_H

/* MP_SPECIAL_SENT, _DRAFTS, _TRASH, _JUNK or _ARCHIVE for a
 * folder named NAME with one of the usual names of that use ("Sent Items",
 * "Deleted Messages", "Spam", ...; case does not matter), else 0. */
unsigned mp_special_use_by_name(const char *name);

#endif
