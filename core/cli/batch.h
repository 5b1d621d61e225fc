/* The job-file line parser of `mailport batch`, apart from mp_cmd_batch so
 * the fuzz target fuzz/fuzz_batch_line.c can reach it with a buffer. */
#ifndef MP_BATCH_H
#define MP_BATCH_H

/* One job-file line as batch reads it: cuts the line ending and a comment,
 * then takes either the imapsync form (two imaps URLs, malloc'd into *SRC
 * and *DST, also WORDS[0..1]) or blank-separated, quoted words pointing
 * into LINE (WORDS needs MAX entries). Returns the word count (0: a blank
 * or comment line), -1 for an open quote or more than MAX words, -2 for an
 * imapsync-style line without 6 fields. */
int mp_batch_parse_line(char *line, char **words, int max, char **src,
                        char **dst);

#endif
