#include "special_use.h"

#include <mailport/plugin.h>

#include <stddef.h>
#include <strings.h>

unsigned mp_special_use_by_name(const char *name)
{
    static const struct {
        const char *name;
        unsigned use;
    } known[] = {
        {"Sent", MP_SPECIAL_SENT},
        {"Sent Messages", MP_SPECIAL_SENT},
        {"Sent Items", MP_SPECIAL_SENT},
        {"Sent Mail", MP_SPECIAL_SENT},
        {"Drafts", MP_SPECIAL_DRAFTS},
        {"Draft", MP_SPECIAL_DRAFTS},
        {"Trash", MP_SPECIAL_TRASH},
        {"Deleted Messages", MP_SPECIAL_TRASH},
        {"Deleted Items", MP_SPECIAL_TRASH},
        {"Junk", MP_SPECIAL_JUNK},
        {"Junk E-mail", MP_SPECIAL_JUNK}, /* Outlook, Exchange */
        {"Junk Email", MP_SPECIAL_JUNK},  /* Microsoft 365 */
        {"Junk Mail", MP_SPECIAL_JUNK},
        {"Bulk Mail", MP_SPECIAL_JUNK}, /* Yahoo */
        {"Spam", MP_SPECIAL_JUNK},
        {"Archive", MP_SPECIAL_ARCHIVE},
        {"Archives", MP_SPECIAL_ARCHIVE},
    };
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strcasecmp(name, known[i].name) == 0)
            return known[i].use;
    return 0;
}
