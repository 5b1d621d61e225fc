/* A minimal IMAP4rev1 client over a plain socket, written for the model
 * test and independent of mailport's IMAP plugin: it changes an IMAP
 * source the way another mail client would (APPEND, STORE, MOVE, EXPUNGE,
 * CREATE, RENAME, DELETE) and finds messages again by a token in their
 * body (UID SEARCH BODY). Every call returns 0 on a tagged OK and -1
 * otherwise, with the server's words in imapc_last(). */
#ifndef MP_MODEL_IMAPC_H
#define MP_MODEL_IMAPC_H

#include <stddef.h>
#include <time.h>

typedef struct imapc imapc;

/* Connect to 127.0.0.1:PORT and LOGIN. NULL (with a message on stderr)
 * when the server cannot be reached or refuses the login. */
imapc *imapc_open(int port, const char *user, const char *pass);
void imapc_close(imapc *c); /* LOGOUT; NULL is ignored */

/* The untagged lines and the tagged reply of the last command. */
const char *imapc_last(const imapc *c);

/* One command (without tag, no literals); untagged lines in imapc_last. */
int imapc_cmd(imapc *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* APPEND DATA (LEN bytes, sent as given) to FOLDER with FLAGS (the text
 * between the parentheses, may be "") and internal date DATE (UTC). */
int imapc_append(imapc *c, const char *folder, const char *flags, time_t date,
                 const char *data, size_t len);

/* SELECT FOLDER. */
int imapc_select(imapc *c, const char *folder);
/* The UIDVALIDITY the last SELECT reported (0 when none). */
unsigned long imapc_uidvalidity(const imapc *c);

/* The UID of the one message of the selected folder whose body holds
 * TOKEN; 0 when there is none or more than one. */
unsigned long imapc_find(imapc *c, const char *token);

#endif
