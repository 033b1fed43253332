#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "dc_files.h"

int dc_rename_noreplace(const char *from, const char *to) {
    return renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
}

int dc_is_tmpfs(const char *path) {
    struct statfs s;
    if (statfs(path, &s) != 0) return -1;
    return s.f_type == TMPFS_MAGIC ? 1 : 0;
}
