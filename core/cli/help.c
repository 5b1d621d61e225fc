/* The --help texts. They are the user's manual: keep them in step with
 * CLI.md and the README. */
#include "options.h"

#include <stdio.h>
#include <string.h>

static const char overview[] =
    "Usage: mailport COMMAND [options] ...\n"
    "\n"
    "Moves mail between stores - IMAP accounts, mbox files, Maildir trees and\n"
    "compressed, encrypted archives - incrementally and verifiably.\n"
    "\n"
    "Commands:\n"
    "  copy   SOURCE DEST   copy/sync one way, incrementally\n"
    "  verify SOURCE [DEST] compare; exit 0 only if every selected source\n"
    "                       message is in DEST with the same content and "
    "flags\n"
    "  list   SOURCE        folders, message counts and sizes\n"
    "  batch  JOBFILE       many accounts; one job per line\n"
    "  plugins              the plugins plugins.conf loaded\n"
    "\n"
    "Endpoints:\n"
    "  mbox:PATH                 an mbox file (folder INBOX) or a folder of "
    "them\n"
    "  maildir:PATH              a Maildir (?layout=maildir++ default, or fs)\n"
    "  imap://USER@HOST[:PORT]   IMAP with STARTTLS required (?tls=none: "
    "plain)\n"
    "  imaps://USER@HOST[:PORT]  IMAP over TLS\n"
    "  targz:PATH                a tar.gz/.tar.zst archive; PATH.age encrypts\n"
    "  imap-backup:PATH          an imap-backup account directory (read only)\n"
    "\n"
    "Exit codes: 0 all done; 1 some messages failed; 2 usage or configuration\n"
    "error; 3 cannot reach or log in to an endpoint; 4 verify found "
    "differences;\n128+N stopped by signal N (130: Ctrl-C; run again to "
    "resume).\n"
    "\n"
    "'mailport COMMAND --help' tells more. mailport --version prints the "
    "version.\n";

static const char copy_help[] =
    "Usage: mailport copy SOURCE DEST [options]\n"
    "\n"
    "Copies every selected folder and message of SOURCE into DEST with flags,\n"
    "keywords and internal dates. Runs are incremental: what DEST already "
    "holds\n"
    "(known from the sync state, else found by Message-ID, size and date) is "
    "not\n"
    "copied again, and flags changed in SOURCE since the last run are "
    "updated.\n"
    "SOURCE is never modified. A run stopped at any moment can simply be run\n"
    "again. Message bytes are copied as they are; only line endings change "
    "where\n"
    "the destination needs it (CRLF for IMAP, LF for Maildir).\n"
    "\n"
    "Options:\n"
    "  --include GLOB      take only folders matching GLOB (repeatable); '*'\n"
    "                      crosses '/', and a folder's sub-folders follow it\n"
    "  --exclude GLOB      leave out folders matching GLOB (repeatable)\n"
    "  --map OLD=NEW       rename folder OLD (and its sub-folders) to NEW\n"
    "  --automap           put special folders (Sent, Trash, Junk, ...) into "
    "the\n"
    "                      destination folder of the same special use\n"
    "  --since YYYY-MM-DD  only messages with an internal date on or after\n"
    "  --before YYYY-MM-DD only messages with an internal date before\n"
    "  --max-size BYTES    leave out larger messages (counted as 'filtered')\n"
    "  --dry-run           print what would be copied; change nothing\n"
    "  --delete            remove from DEST the messages copied by earlier "
    "runs\n"
    "                      that are gone from SOURCE (for the final pass)\n"
    "  --jobs N            N folders at once, each with its own connections\n"
    "  --state PATH        sync-state database (default: $XDG_STATE_HOME/\n"
    "                      mailport/, named after SOURCE and DEST)\n"
    "  --no-state          keep no state; find copies by content alone\n"
    "  --report PATH       write a JSON report of the run\n"
    "  --progress          show a progress line even when stderr is not a\n"
    "                      terminal (default: only on a terminal)\n"
    "  --no-progress       never show it\n"
    "  -q, --quiet         print errors only\n"
    "  -v, --verbose       say more (twice: debug)\n"
    "\n"
    "URL parameters configure an endpoint, e.g.\n"
    "  imaps://alice@mail.example.org?password_file=/run/pw\n"
    "IMAP: password_file=, password_env=, password_cmd= (else a prompt),\n"
    "  auth=xoauth2 with token_file=/token_env=/token_cmd=, cafile=, "
    "insecure=1,\n"
    "  tls=none (imap:// only), timeout=SECONDS, delimiter_substitute=C "
    "(stands\n"
    "  for the other side's hierarchy delimiter inside a folder name; default "
    "_).\n"
    "mbox: format=mboxrd (default), mboxo, mboxcl, mboxcl2. Thunderbird local\n"
    "  folders are read as they are: .msf files skipped, X-Mozilla-Status and\n"
    "  X-Mozilla-Keys taken as flags and keywords.\n"
    "Maildir: layout=maildir++ (default) or layout=fs.\n"
    "Archives: recipient=age1... (repeatable), recipients_file=,\n"
    "  passphrase_file= to encrypt; identity= or passphrase_file= to decrypt.\n"
    "\n"
    "Exit codes: 0 all done; 1 some messages failed (the rest was copied; the\n"
    "report lists them); 2 usage error; 3 cannot reach or log in; 128+N stopped\n"
    "by signal N (130: Ctrl-C). Ctrl-C stops after the current message and\n"
    "keeps what was copied; run the same command again to resume.\n";

static const char verify_help[] =
    "Usage: mailport verify SOURCE [DEST] [options]\n"
    "\n"
    "With DEST: pairs each selected SOURCE folder with its DEST folder as "
    "copy\n"
    "did (--map/--automap, else the mapping recorded in the sync state), "
    "pairs\n"
    "every message with its copy by content (Message-ID or a header hash, the\n"
    "internal date, and a content hash where an identity is shared), and\n"
    "compares the full content (line endings normalised) and the flags. "
    "Prints\n"
    "one line per difference:\n"
    "  missing       a source message has no copy in DEST\n"
    "  different     paired, other content (the kind is named: line endings\n"
    "                only, bytes a server replaces, or content)\n"
    "  flags_differ  paired, other flags or keywords (named)\n"
    "  unreadable    a message could not be read\n"
    "  duplicate     a message is more often in DEST than in SOURCE\n"
    "  no_folder     a source folder has no DEST folder (with its count)\n"
    "  extra         only in DEST (listed, not a failure: DEST may hold more)\n"
    "Without DEST: reads every message of SOURCE and checks it is intact (an\n"
    "archive checks each message against its manifest).\n"
    "\n"
    "Options: --include, --exclude, --map, --automap, --since, --before,\n"
    "--max-size select as for copy; --state PATH / --no-state as for copy;\n"
    "--report PATH writes the differences as JSON; -q, -v.\n"
    "\n"
    "Exit codes: 0 no difference but extra; 4 differences found; 1, 2, 3 as "
    "for\n"
    "copy.\n";

static const char list_help[] =
    "Usage: mailport list SOURCE [--include GLOB] [--exclude GLOB]\n"
    "\n"
    "Prints every folder of SOURCE with its number of messages and bytes.\n";

static const char batch_help[] =
    "Usage: mailport batch JOBFILE [options]\n"
    "\n"
    "Runs one copy job per line of JOBFILE:\n"
    "  SOURCE DEST [options]      # options of 'mailport copy'\n"
    "'#' starts a comment; words may be quoted. For people coming from\n"
    "imapsync batch scripts, a line "
    "host1;user1;password1;host2;user2;password2\n"
    "copies imaps://user1@host1 to imaps://user2@host2 (a warning says the "
    "file\n"
    "holds passwords; such a file readable by others is refused unless "
    "--force).\n"
    "Options given here apply to every job; a line's own options win.\n"
    "\n"
    "  --shard K/N   run only jobs whose index (from 0) modulo N is K, to "
    "spread\n"
    "                one job file over N machines or processes\n"
    "  --force       accept a job file with passwords that others can read\n"
    "\n"
    "The exit code is the worst of the jobs'.\n";

static const char plugins_help[] =
    "Usage: mailport plugins\n"
    "\n"
    "Lists the plugins that plugins.conf names: name, version, ABI, whether\n"
    "it reads and writes, and its URL schemes; refused plugins with the "
    "reason.\n"
    "plugins.conf is read from $MAILPORT_PLUGINS_CONF, else beside the "
    "mailport\n"
    "binary, else from ../lib/mailport/.\n";

void mp_print_help(const char *command)
{
    const char *text = overview;
    if (strcmp(command, "copy") == 0)
        text = copy_help;
    else if (strcmp(command, "verify") == 0)
        text = verify_help;
    else if (strcmp(command, "list") == 0)
        text = list_help;
    else if (strcmp(command, "batch") == 0)
        text = batch_help;
    else if (strcmp(command, "plugins") == 0)
        text = plugins_help;
    fputs(text, stdout);
}
