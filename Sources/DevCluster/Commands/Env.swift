import ArgumentParser
import Launcher

extension DevCluster {
    struct Env: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the environment that points AWS SDKs, the aws cli and devcluster at this cluster.",
            discussion: """
                eval "$(devcluster env)"                 # sh, bash, zsh
                devcluster env --format fish | source
                devcluster env --format dotenv > .env    # docker --env-file, python-dotenv
                devcluster env --format json
                devcluster env --node node3              # AWS_ENDPOINT_URL of node3
                """)

        @OptionGroup var cluster: ClusterOptions

        @Option(name: .long, help: ArgumentHelp("sh, fish, dotenv or json.", valueName: "format"))
        var format: ClusterEnvironment.Format = .sh

        @Option(
            name: .long, help: ArgumentHelp("The node for AWS_ENDPOINT_URL (default: the first).", valueName: "node"))
        var node: String?

        func run() throws {
            let launcher = try cluster.launcher()
            let variables = try launching { () throws(LauncherError) in
                try ClusterEnvironment.variables(try launcher.home.load(), home: launcher.home, node: node)
            }
            say(ClusterEnvironment.render(variables, as: format))
        }
    }
}

extension ClusterEnvironment.Format: ExpressibleByArgument {}
