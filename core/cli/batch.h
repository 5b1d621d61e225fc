/* The job-file line parser of `mailport batch`, apart from mp_cmd_batch so
 * the fuzz target fuzz/fuzz_batch_line.c can reach it with a buffer. */
#ifndef MP_BATCH_H
#define MP_BATCH_H

/* One job-file line as batch reads it: cuts the line ending; a line whose
 * first non-blank is '#' is a comment. A line of imapsync's accounts list
 * ("host1;user1;password1;host2;user2;password2;[options]": at least five
 * ';' and a HOST[:PORT] first field) gives two imap(s) URLs, malloc'd into
 * *SRC and *DST and also WORDS[0..1], then the line's mailport options
 * (WORDS[2..], into LINE; imapsync's --tlsN/--sslN/--portN/--cafileN are
 * taken into the URLs). Any other line is blank-separated, quoted words
 * pointing into LINE, after cutting a " #" comment (WORDS needs MAX
 * entries). Returns the word count (0: a blank or comment line), -1 for an
 * open quote, a bad option or more than MAX words, -2 for an
 * imapsync-style line without its 6 fields. */
int mp_batch_parse_line(char *line, char **words, int max, char **src,
                        char **dst);

#endif
