#if canImport(Glibc)
import Glibc
#endif

/// Runs a user's command in the foreground for `devcluster exec`: same terminal, same standard
/// streams, same process group (so Ctrl-C reaches it from the terminal), its environment extended.
/// While `exec` starts and tears down its cluster, a signal is only remembered, so the teardown always
/// happens; while the command runs, SIGTERM and SIGHUP (a CI runner cancelling the job) are passed on
/// to it.
public enum ForegroundCommand {
    /// The running child (0: none). Only the signal handler reads it, between `run`'s writes.
    nonisolated(unsafe) private static var child: pid_t = 0
    /// The last signal that came while no child ran (0: none).
    nonisolated(unsafe) private static var pending: Int32 = 0

    /// Installs the handlers for SIGINT, SIGTERM and SIGHUP, for the rest of the process.
    public static func holdSignals() {
        let handler: @convention(c) (Int32) -> Void = { signum in
            if ForegroundCommand.child > 0 {
                if signum != SIGINT { kill(ForegroundCommand.child, signum) }  // Ctrl-C reached it already
            } else {
                ForegroundCommand.pending = signum
            }
        }
        for signum in [SIGINT, SIGTERM, SIGHUP] { signal(signum, handler) }
    }

    /// A signal that came while no command ran (devcluster was asked to stop), if any.
    public static var interruption: Int32? { pending == 0 ? nil : pending }

    /// Runs `arguments` (the program found on PATH; caught signals revert to their defaults in it) and
    /// answers its exit status as a shell would: its code, or 128 + the signal that ended it; 127 when it
    /// is not found, 126 when it cannot be started.
    public static func run(_ arguments: [String], environment: [String: String]) -> Int32 {
        precondition(!arguments.isEmpty, "a command to run")
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, arguments[0], nil, nil, argv, envp)
        guard spawned == 0 else {
            let text = "devcluster exec: \(arguments[0]): \(String(cString: strerror(spawned)))\n"
            _ = text.withCString { write(2, $0, strlen($0)) }
            return spawned == ENOENT ? 127 : 126
        }
        child = pid
        defer { child = 0 }
        // One that came while it was being started.
        if pending != 0 && pending != SIGINT { kill(pid, pending) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return 126 }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift does not import.
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }
}
