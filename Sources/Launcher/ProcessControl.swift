import CProcess
import Core

#if canImport(Glibc)
import Glibc
#endif

/// A process the launcher started, identified by pid and kernel start time: a pid alone may be reused
/// by another program after the node dies, the pair never is.
public struct ProcessRecord: Codable, Equatable, Sendable {
    public var pid: Int32
    /// Field 22 of /proc/PID/stat: clock ticks after boot when the process started.
    public var startTicks: UInt64

    public init(pid: Int32, startTicks: UInt64) {
        self.pid = pid
        self.startTicks = startTicks
    }
}

/// Starting, inspecting and signalling node processes. Every signal goes through `signal(_:_:marker:)`,
/// which refuses unless pid, start time and command line all match the record.
public enum ProcessControl {
    public struct SpawnError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts `executable` detached in its own session with output appended to `logPath`.
    public static func spawnDetached(
        executable: String, arguments: [String], environment: [String: String], logPath: String,
        workingDirectory: String?
    ) throws(SpawnError) -> ProcessRecord {
        guard access(executable, X_OK) == 0 else {
            throw SpawnError(description: "\(executable) is not an executable file: build it first (make build)")
        }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let rc = argv.withUnsafeBufferPointer { a in
            envp.withUnsafeBufferPointer { e in
                dc_spawn_detached(&pid, executable, a.baseAddress, e.baseAddress, logPath, workingDirectory)
            }
        }
        guard rc == 0 else {
            throw SpawnError(description: "cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        // The start time exists from fork on, so it can be read at once.
        guard let ticks = stat(pid: pid)?.startTicks else {
            throw SpawnError(description: "\(executable) (pid \(pid)) exited at once; see \(logPath)")
        }
        return ProcessRecord(pid: pid, startTicks: ticks)
    }

    /// Runs `executable` with `arguments` to its end: its exit status (128 + the signal if one ended
    /// it) and the last `outputBytesMax` bytes of its output (stdout and stderr). `running` hears the
    /// child's pid once it runs and nil once it has ended, before it is reaped (so a signal sent to a pid
    /// it heard never reaches another process).
    public static func runToEnd(
        _ executable: String, _ arguments: [String], environment: [String: String], outputBytesMax: Int,
        running: (Int32?) -> Void = { _ in }
    ) -> (status: Int32, output: String) {
        guard let folder = TemporaryFolder.make(prefix: "devcluster-run", environment: environment) else {
            return (1, "cannot make a temporary folder for the command's output")
        }
        let log = folder + "/output"
        defer {
            unlink(log)
            rmdir(folder)
        }
        let process: ProcessRecord
        do {
            process = try spawnDetached(
                executable: executable, arguments: arguments, environment: environment, logPath: log,
                workingDirectory: nil)
        } catch {
            return (1, error.description)
        }
        running(process.pid)
        var info = siginfo_t()
        while waitid(P_PID, id_t(process.pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
        running(nil)
        var status: Int32 = 0
        while waitpid(process.pid, &status, 0) < 0 && errno == EINTR {}
        let bytes = Array((readSmallFile(log) ?? "").utf8)
        let output =
            (bytes.count > outputBytesMax ? "...\n" : "")
            + String(decoding: bytes.suffix(outputBytesMax), as: UTF8.self)
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (code, output)
    }

    struct Stat {
        var state: Character
        var startTicks: UInt64
    }

    /// Fields of /proc/PID/stat after the command name (which may itself contain spaces and parentheses).
    static func stat(pid: Int32) -> Stat? {
        guard let text = readSmallFile("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
        guard fields.count > 19, let state = fields[0].first, let ticks = UInt64(fields[19]) else { return nil }
        return Stat(state: state, startTicks: ticks)
    }

    /// CPU time the process has used, user and system (fields 14 and 15 of /proc/PID/stat); nil once
    /// it is gone.
    public static func cpuTime(pid: Int32) -> Duration? {
        guard let text = readSmallFile("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Int64(fields[11]), let system = Int64(fields[12]) else { return nil }
        let hz = Int64(sysconf(Int32(_SC_CLK_TCK)))
        return .microseconds((user + system) * 1_000_000 / max(hz, 1))
    }

    static func commandLine(pid: Int32) -> [String] {
        guard let text = readSmallFile("/proc/\(pid)/cmdline") else { return [] }
        return text.split(separator: "\0").map(String.init)
    }

    /// Running, paused (SIGSTOP) or stopped. A zombie, a vanished pid, or a pid now used by another
    /// program (different start time or command line) all count as stopped.
    public static func state(of record: ProcessRecord, marker: String) -> ProcessState {
        reapIfChild(record.pid)
        guard let s = stat(pid: record.pid), s.startTicks == record.startTicks, s.state != "Z", s.state != "X" else {
            return .stopped
        }
        // The start time names the process; the command line guards against a reused pid. It reads as
        // empty for a moment after posix_spawn returns (execve fills it in late): that is still ours.
        let command = commandLine(pid: record.pid)
        guard command.isEmpty || command.contains(where: { $0.contains(marker) }) else { return .stopped }
        return s.state == "T" || s.state == "t" ? .paused : .running
    }

    /// Sends `signum` only if `record` still names our process. Returns whether it was sent.
    @discardableResult
    public static func signal(_ record: ProcessRecord, _ signum: Int32, marker: String) -> Bool {
        guard state(of: record, marker: marker) != .stopped else { return false }
        return kill(record.pid, signum) == 0
    }

    /// Waits until the process is gone; returns false on timeout.
    public static func waitForExit(_ record: ProcessRecord, marker: String, timeout: Duration) -> Bool {
        let deadline = Instant.now() + timeout
        while Instant.now() < deadline {
            if state(of: record, marker: marker) == .stopped { return true }
            usleep(10_000)
        }
        return state(of: record, marker: marker) == .stopped
    }

    /// While the launcher is still the parent (during `up`/`start`), a dead node would stay a zombie.
    static func reapIfChild(_ pid: Int32) {
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
    }

    /// The start of a file, up to `bytesMax` bytes (nil if it cannot be opened).
    static func readSmallFile(_ path: String, bytesMax: Int = 1 << 20) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < bytesMax {
            let n = read(fd, &buffer, min(buffer.count, bytesMax - bytes.count))
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
