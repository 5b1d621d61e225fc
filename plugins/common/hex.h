/* Hexadecimal digits, as the plugins read them in names and manifests
 * (Maildir++ "\2f" escapes, imap-backup's "%2f;", an archive manifest's
 * *_hex fields). */
#ifndef MP_HEX_H
#define MP_HEX_H

/* The value of hexadecimal digit C, either case, or -1 when C is none. */
static inline int mp_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
