import ArgumentParser
import Core
import Launcher
import Loop

#if canImport(Glibc)
import Glibc
#endif

extension DevCluster {
    struct UI: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ui",
            abstract: "Serve a console for the cluster in the browser: nodes, detection lanes, timeline, controls.",
            discussion: """
                devcluster ui                    # http://127.0.0.1:PORT/ (printed; opened when a browser is there)
                devcluster ui --port 9090 --no-open
                devcluster ui --endpoints http://node{1...4}:9000   # devnodes started by hand (devcluster deploy)

                Log in with the cluster's access key and secret key. The console reaches every node itself, so
                it keeps working while any of them is down; its controls are the devcluster commands (kill,
                stop, start, restart, pause, resume, isolate, slow, disk-full, wipe, partition, heal, verify,
                corrupt), each asked to confirm. It listens on loopback only unless --address says otherwise.
                For a deployment devcluster did not start (--endpoints) it shows the nodes, the timeline (each
                node's events, over HTTP), the charts and the object browser; its nodes are controlled on their
                hosts, so there are no controls and no scenarios. Ctrl-C stops it.
                """)

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var deployment: DeploymentOptions

        @Option(name: .long, help: ArgumentHelp("Port to listen on (default: any free one).", valueName: "port"))
        var port: Int = 0

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Address to listen on (other than loopback: anyone who can reach it may try to log in).",
                valueName: "ip"))
        var address = "127.0.0.1"

        @Flag(inversion: .prefixedNo, help: "Open the console in a browser (when one can be started here).")
        var open = true

        func run() throws {
            // Before libuv starts its pool (unless the user chose).
            setenv("UV_THREADPOOL_SIZE", String(ConsoleServer.threadPoolSize), 0)
            let (launcher, record) = try deployment.resolve(cluster)
            let console: ConsoleServer
            let bound: SocketAddress
            do {
                console = try ConsoleServer(launcher: launcher, record: record)
                bound = try console.listen(on: try SocketAddress(ip: address, port: port))
            } catch {
                throw fail("cannot serve the console on \(address):\(port): \(error)")
            }
            let url = "http://\(bound)/"
            if !bound.host.hasPrefix("127.") && bound.host != "::1" {
                sayToStandardError(
                    "warning: the console listens on \(bound), not loopback: its login goes over plain HTTP, "
                        + "so anyone who can reach it can try the credentials and see the traffic")
            }
            let what = launcher.isRemote ? "the deployment at \(launcher.location(record))" : "cluster '\(record.name)'"
            say(
                "devcluster console for \(what): \(url) (log in with the cluster's access and secret key; Ctrl-C stops it)"
            )
            if open { UI.openBrowser(url, environment: cluster.environment) }
            try console.run()
        }

        /// Starts the desktop's browser on `url` when there is a desktop (nothing happens on a server).
        static func openBrowser(_ url: String, environment: [String: String]) {
            let openers: [String] = ["/usr/bin/xdg-open", "/usr/bin/sensible-browser"]
            guard environment["DISPLAY"] != nil || environment["WAYLAND_DISPLAY"] != nil,
                let opener = openers.first(where: { access($0, X_OK) == 0 })
            else { return }
            _ = try? ProcessControl.spawnDetached(
                executable: opener, arguments: [url], environment: environment, logPath: "/dev/null",
                workingDirectory: nil)
        }
    }
}
