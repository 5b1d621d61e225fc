#include "privfile.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int mp_private_tmpfile(const char *dir)
{
    if (!dir) {
        dir = getenv("TMPDIR");
        if (!dir || !*dir)
            dir = "/tmp";
    }
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/.mailport-tmp-XXXXXX", dir) >=
        (int)sizeof path)
        return -1;
    fd = mkostemp(path, O_CLOEXEC); /* mkostemp creates with mode 0600 */
    if (fd >= 0)
        unlink(path);
    return fd;
}
