import ArgumentParser
import Core
import Launcher

#if canImport(Glibc)
import Glibc
#endif

extension DevCluster {
    struct Events: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One timeline of every node's events and the launcher's actions, ordered by time.",
            discussion: """
                devcluster events                 # everything so far
                devcluster events -f              # and follow, as it happens
                devcluster events --json -n 20    # the last 20, as JSON lines
                """)

        @OptionGroup var cluster: ClusterOptions

        @Flag(name: .shortAndLong, help: "Keep printing new events as they happen.")
        var follow = false

        @Flag(name: .long, help: "JSON lines instead of text.")
        var json = false

        @Option(name: .short, help: ArgumentHelp("Only the last N events so far.", valueName: "N"))
        var n: Int?

        /// In follow mode, events younger than this wait, so a slightly late line from another node still
        /// lands in time order.
        static let reorderWindow: Duration = .milliseconds(300)

        func run() throws {
            let launcher = try cluster.launcher()
            let record = try launching { () throws(LauncherError) in try launcher.home.load() }
            var cursors =
                [Timeline.Cursor(path: launcher.home.eventsPath)]
                + record.nodes.map { Timeline.Cursor(path: launcher.home.logPath($0.id)) }
            var events = Timeline.sorted(cursors.indices.flatMap { cursors[$0].readEvents() })
            if let n { events = Array(events.suffix(max(0, n))) }
            let s = style
            let show = { (e: Event) in say(self.json ? e.json.text : Timeline.format(e, style: s)) }
            events.forEach(show)
            guard follow else { return }
            var held: [Event] = []
            while true {
                usleep(100_000)
                held += cursors.indices.flatMap { cursors[$0].readEvents() }
                let cutoff = WallTime(
                    millisecondsSinceEpoch: WallTime.now().millisecondsSinceEpoch - Events.reorderWindow.milliseconds)
                let ready = Timeline.sorted(held.filter { $0.time <= cutoff })
                held.removeAll { $0.time <= cutoff }
                ready.forEach(show)
            }
        }
    }
}
