/* Private temporary files for plugins that must hold more than fits in
 * memory (IMAP literals, tar entries, decompressed mbox files). */
#ifndef MP_COMMON_PRIVFILE_H
#define MP_COMMON_PRIVFILE_H

/* A file only this process can reach, gone when closed: an unnamed file
 * (O_TMPFILE) in DIR (NULL: $TMPDIR, else /tmp) where the file system has
 * them, else a mkstemp name (mode 0600) unlinked at once. Returns the
 * descriptor (close-on-exec), or -1 with errno set. */
int mp_private_tmpfile(const char *dir);

#endif
