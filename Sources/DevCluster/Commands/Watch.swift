import ArgumentParser
import Core
import Launcher

#if canImport(Glibc)
import Glibc
#endif

extension DevCluster {
    struct Watch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A live view of the cluster: nodes, who sees whom, healing, the latest events.",
            discussion: """
                devcluster watch              # full screen, redrawn in place; Ctrl-C to leave
                devcluster watch | tee log    # not a terminal: a line per event and per change of state
                """)

        @OptionGroup var cluster: ClusterOptions

        @Option(name: .long, help: ArgumentHelp("How often to redraw.", valueName: "duration"))
        var interval: String = "500ms"

        @Option(name: .long, help: ArgumentHelp("Events shown on screen.", valueName: "N"))
        var events: Int = 8

        func run() throws {
            let every = try parseDuration(interval, option: "--interval")
            let launcher = try cluster.launcher()
            var record = try launching { () throws(LauncherError) in try launcher.home.load() }
            var cursors =
                [Timeline.Cursor(path: launcher.home.eventsPath)]
                + record.nodes.map { Timeline.Cursor(path: launcher.home.logPath($0.id)) }
            var recent = Array(Timeline.sorted(cursors.indices.flatMap { cursors[$0].readEvents() }).suffix(events))
            let s = style
            // Full screen on a terminal (colours or not); a plain log of changes anywhere else.
            let screen = isatty(STDOUT_FILENO) != 0 && getenv("TERM").map { String(cString: $0) } != "dumb"
            var lastStates: [String] = []
            if screen {
                print("\u{1B}[?25l\u{1B}[2J", terminator: "")  // hide the cursor while redrawing
                // Ctrl-C (or a kill) leaves the terminal as it found it.
                for sig in [SIGINT, SIGTERM, SIGHUP] {
                    signal(sig) { _ in
                        let restore = "\u{1B}[?25h\n"
                        _ = restore.withCString { write(STDOUT_FILENO, $0, strlen($0)) }
                        _exit(0)
                    }
                }
            }
            while true {
                if let fresh = try? launcher.home.load() { record = fresh }
                let snapshot = launcher.snapshot(record, probeTimeout: .milliseconds(500))
                let new = Timeline.sorted(cursors.indices.flatMap { cursors[$0].readEvents() })
                if screen {
                    recent = Array((recent + new).suffix(events))
                    var text =
                        s.dim("devcluster watch · \(WallTime.now().localClock) · every \(interval) · Ctrl-C leaves")
                        + "\n\n"
                    text += Status.screen(record, snapshot, launcher, style: s) + "\n"
                    text += s.bold("latest events") + "\n"
                    text += recent.map { Timeline.format($0, style: s) }.joined(separator: "\n")
                    // Redrawn over the last screen, each line's rest and the screen's rest erased: no flicker.
                    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                    print("\u{1B}[H" + lines.joined(separator: "\u{1B}[K\n") + "\u{1B}[K\n\u{1B}[J", terminator: "")
                    fflush(nil)
                } else {
                    for e in new { say(Timeline.format(e, style: s)) }
                    let states = snapshot.nodes.map {
                        "\($0.id)=\($0.process.rawValue)/\(snapshot.seenAs($0.id))/\(Status.dataCell($0.status?.healing).text)"
                    }
                    if states != lastStates {
                        say(
                            "\(WallTime.now().localClock)  \(snapshot.verdict.rawValue): "
                                + states.joined(separator: " "))
                        lastStates = states
                    }
                }
                usleep(UInt32(max(50, every.milliseconds) * 1000))
            }
        }
    }
}
