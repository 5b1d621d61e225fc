/*
 * Folder names (UTF-8, '/'-separated, "INBOX") to paths under a Maildir root
 * and back, for the two layouts. Shared by the maildir plugin and the targz
 * plugin (whose archives are Maildir++ trees), so both write one naming.
 *
 * maildir++ (Dovecot's and Courier's default): INBOX is the root itself;
 * folder "A/B" is the directory ".A.B" in the root, each component written
 * in modified UTF-7. '.' is the on-disk hierarchy separator, so a '.' inside
 * a component cannot be written plainly. We escape it the way Dovecot's
 * listescape plugin does, as a backslash and two hex digits: '.' is "\2e"
 * and the backslash itself "\5c" (so the mapping stays lossless). Escapes
 * are applied before modified UTF-7, which leaves them alone. A Dovecot
 * without listescape shows such a folder under its escaped name ("a\2eb"),
 * and loses nothing. On reading, "\XX" with two hex digits (either case) is
 * undone; a backslash not followed by two hex digits is kept as it is.
 *
 * fs: INBOX is the root; folder "A/B" is the directory A/B, names in UTF-8
 * as they are. A folder's own cur/, new/ and tmp/ live beside its child
 * folders, so a component named "cur", "new" or "tmp" would be taken for
 * them: such names are refused (MP_ERR_USAGE) rather than escaped, since any
 * escape would show up as a different name in other fs-layout readers.
 *
 * Both layouts refuse: the empty name, absolute names, empty components
 * ("a//b", "a/"), "." and ".." components, control characters (U+0000 to
 * U+001F and U+007F), invalid UTF-8, and names whose on-disk form exceeds
 * NAME_MAX per component. "INBOX" in any case is the root.
 */
#ifndef MD_FOLDER_H
#define MD_FOLDER_H

#include <stddef.h>

typedef enum md_layout {
    MD_LAYOUT_MAILDIRPP = 0,
    MD_LAYOUT_FS = 1,
} md_layout;

/* The path of folder NAME relative to the root ("" for INBOX), malloc'd.
 * NULL when the name is refused, with the reason written to ERR. */
char *md_folder_rel(md_layout layout, const char *name, char *err,
                    size_t err_size);

/* The folder name for Maildir++ directory entry ENTRY (".A.B"), malloc'd;
 * NULL when ENTRY is no Maildir++ folder name or decodes to a name the
 * mapping would refuse. Components that are not valid modified UTF-7 but
 * are valid UTF-8 are taken as they are (some tools write raw UTF-8). A
 * component holding an escaped '/' (".GPR\2fGPA", Dovecot's listescape)
 * cannot be one part of a '/'-separated name: with SUBSTITUTE (one UTF-8
 * character, namesub.h) each such '/' becomes it ("GPR_GPA") and
 * *SUBSTITUTED (when not NULL) is set; with SUBSTITUTE NULL the entry is
 * refused. md_folder_rel does not invert the substitution: a store that
 * lists such a name finds its directory through its listing. */
char *md_pp_name_of_entry(const char *entry, const char *substitute,
                          int *substituted);

/* Is COMPONENT acceptable as one fs-layout name component read from disk?
 * (Valid UTF-8, no control characters, not ".", "..", cur, new, tmp.) */
int md_fs_component_ok(const char *component);

/* Is NAME the inbox ("INBOX" in any case)? */
int md_is_inbox(const char *name);

#endif
