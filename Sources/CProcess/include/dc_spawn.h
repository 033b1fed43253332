#ifndef DC_SPAWN_H
#define DC_SPAWN_H
#include <sys/types.h>

/// Starts `path` as a detached process: its own session (no controlling terminal, not killed with the
/// launcher's process group), standard input from /dev/null, standard output and error appended to
/// `log_path`, every other descriptor closed, signal mask empty and every signal at its default.
/// Returns 0 and sets *pid, or an errno value.
int dc_spawn_detached(pid_t *pid, const char *path, char *const argv[], char *const envp[], const char *log_path,
                      const char *working_directory);

#endif
