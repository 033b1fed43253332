import ArgumentParser
import Launcher
import S3

extension DevCluster {
    struct Bucket: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open a bucket (or a prefix of it) to anonymous callers, or close it again.",
            subcommands: [Public.self, Private.self])

        /// `BUCKET` or `BUCKET/PREFIX`.
        static func split(_ target: String) -> (bucket: String, prefix: String) {
            let parts = target.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }

        struct Public: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Let anyone download (or upload) without credentials: sets the bucket's policy.",
                discussion: """
                    devcluster bucket public photos                  # anyone may list and download
                    devcluster bucket public photos/thumbs/          # only keys under thumbs/
                    devcluster bucket public drop --access upload    # anyone may upload, not read
                    curl http://127.0.0.1:8080/photos/cat.jpg        # then: no signature needed
                    """)

            @OptionGroup var cluster: ClusterOptions

            @Argument(help: ArgumentHelp("The bucket, or a prefix in it.", valueName: "bucket[/prefix]"))
            var target: String

            @Option(
                name: .long,
                help: ArgumentHelp(
                    "download (list and read), upload (write only) or public (all of them and delete).",
                    valueName: "level"))
            var access: String = "download"

            func run() throws {
                guard let level = CannedPolicy.Access(rawValue: access) else {
                    throw ValidationError("--access is download, upload or public, not '\(access)'")
                }
                let (bucket, prefix) = Bucket.split(target)
                let launcher = try cluster.launcher()
                try launching { () throws(LauncherError) in
                    try launcher.setAnonymousAccess(
                        try launcher.home.load(), bucket: bucket, prefix: prefix, access: level)
                }
                say(
                    "\(target): anyone may \(level == .download ? "list and download" : level == .upload ? "upload" : "list, download, upload and delete") without credentials"
                )
            }
        }

        struct Private: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Remove a bucket's policy: only signed requests again.")

            @OptionGroup var cluster: ClusterOptions

            @Argument(help: "The bucket.")
            var bucket: String

            func run() throws {
                let launcher = try cluster.launcher()
                try launching { () throws(LauncherError) in
                    try launcher.setAnonymousAccess(try launcher.home.load(), bucket: bucket, prefix: "", access: nil)
                }
                say("\(bucket): private (signed requests only)")
            }
        }
    }
}
