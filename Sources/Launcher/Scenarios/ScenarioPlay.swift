import Core

/// `devcluster scenario`: a whole scenario played in a terminal, narrated for a reader (each step's
/// commands and their output) or as a check (one line a step).
extension ScenarioRun {
    /// Plays every step in order and stops at the first that fails (or when cancelled); true when all
    /// held.
    public func play(_ scenario: Scenario, narrated: Bool, say: (String) -> Void) -> Bool {
        let began = Instant.now()
        var done = 0
        for step in scenario.steps {
            guard !isCancelled else {
                say("stopped before \(scenario.name).scenario:\(step.line)")
                return false
            }
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
                    + (result.summary.isEmpty ? "" : ": \(result.summary)") + " (\(DurationText.format(result.took)))")
        }
        say(
            "scenario \(scenario.name): \(done) steps passed in \(DurationText.format(Instant.now().since(began)))")
        return true
    }
}
