#ifndef DC_FILES_H
#define DC_FILES_H

/// rename(2) that fails with EEXIST instead of replacing an existing target (renameat2 with
/// RENAME_NOREPLACE, which Swift's Glibc module does not declare). Returns 0 or -1 with errno set.
int dc_rename_noreplace(const char *from, const char *to);

/// Whether `path` is on tmpfs (1), on another file system (0), or cannot be examined (-1).
int dc_is_tmpfs(const char *path);

#endif
