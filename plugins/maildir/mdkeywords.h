/*
 * Dovecot's dovecot-keywords file: one line "N name" per keyword, where
 * Maildir info letter 'a'+N stands for NAME (so at most 26 per folder).
 * Lines that do not fit the form are ignored, as Dovecot does.
 */
#ifndef MD_KEYWORDS_H
#define MD_KEYWORDS_H

#include <stddef.h>
#include <stdint.h>

#define MD_MAX_KEYWORDS 26

/* MP_FLAG_FORWARDED as a keyword: Dovecot 2.3 serves this letter as the
 * IMAP $Forwarded flag and ignores the info letter 'P'. */
#define MD_FORWARDED_KEYWORD "$Forwarded"

typedef struct md_keywords {
    char *names[MD_MAX_KEYWORDS]; /* NULL where the letter is unused */
    int dirty;                    /* changed since loaded or saved */
} md_keywords;

/* Read DIRFD/dovecot-keywords into KW (empty when the file is missing).
 * Returns 0, or -1 with errno set on a read error. */
int md_keywords_load(int dirfd, md_keywords *kw);
void md_keywords_free(md_keywords *kw);

/* One line of that file (NUL-terminated, its '\n' cut) into KW; a line
 * that does not fit the form is ignored. What md_keywords_load does per
 * line, apart so fuzz/fuzz_maildir_keywords.c can reach it without a
 * file. */
void md_keywords_parse_line(md_keywords *kw, char *line);

/* The letter index (0..25) of keyword NAME, or -1. With ADD, a keyword not
 * yet known takes the first free letter (marking KW dirty); -1 then means
 * all 26 are taken. */
int md_keywords_index(md_keywords *kw, const char *name, int add);

/* The letter index of keyword NAME compared without regard to case (IMAP
 * keywords are case-insensitive), or -1. */
int md_keywords_find(const md_keywords *kw, const char *name);

/* Keyword bits for the space-separated list WORDS (may be NULL). With ADD,
 * unknown ones are added. The names of keywords that found no letter are
 * appended to DROPPED (space-separated, truncated to DROPPED_SIZE) so the
 * caller can report them. */
uint32_t md_keywords_bits(md_keywords *kw, const char *words, int add,
                          char *dropped, size_t dropped_size);

/* The space-separated names for LETTERS into OUT; letters with no name in
 * the file are left out. Returns OUT. */
char *md_keywords_string(const md_keywords *kw, uint32_t letters, char *out,
                         size_t out_size);

/* Write KW to DIRFD/dovecot-keywords atomically (a temporary file renamed
 * over it), mode 0600. Durability is the caller's (its next sync). Returns
 * 0, or -1 with errno set. */
int md_keywords_save(int dirfd, md_keywords *kw);

#endif
