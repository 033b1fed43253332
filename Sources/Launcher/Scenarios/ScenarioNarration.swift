import Core

/// `devcluster scenario`: a whole scenario played in a terminal, narrated for a reader (each step's
/// commands and their output) or as a check (one line a step).
extension ScenarioRun {
    /// Plays every step in order and stops at the first that fails; true when all held.
    public func play(_ scenario: Scenario, narrated: Bool, say: (String) -> Void) -> Bool {
        let began = Instant.now()
        var done = 0
        for step in scenario.steps {
            if case .say(let text) = step.action {
                say(narrated ? "\n== \(text)" : "   \(text)")
                continue
            }
            let result = perform(step)
            if narrated || !result.ok {
                for command in result.commands {
                    say("  $ \(command.line)")
                    for line in command.output.split(separator: "\n") { say("    \(line)") }
                }
            }
            guard result.ok else {
                say("FAIL \(scenario.name).scenario:\(step.line): \(step.verb) \(step.text)\n     \(result.summary)")
                return false
            }
            done += 1
            say(
                "\(narrated ? "  ->" : "ok  ") \(step.verb) \(step.text)"
                    + (result.summary.isEmpty ? "" : ": \(result.summary)") + " (\(Self.tenths(result.seconds))s)")
        }
        let seconds = Double(Instant.now().since(began).nanoseconds) / 1e9
        say("scenario \(scenario.name): \(done) steps passed in \(Self.tenths(seconds))s")
        return true
    }

    static func tenths(_ seconds: Double) -> String {
        let t = Int((seconds * 10).rounded())
        return "\(t / 10).\(t % 10)"
    }
}
