import Core

/// A scenario played in the console, a step at a time or to the end: which step is next, which runs,
/// what each found. Pure: the console performs the steps (`ScenarioRun`) and reports back here.
struct ScenarioGuide {
    let scenario: Scenario
    let run: ScenarioRun
    /// Outcomes so far, by step index (a step tried again replaces its outcome).
    private(set) var results: [Int: ScenarioRun.StepResult] = [:]
    /// The next step to perform.
    private(set) var next = 0
    /// The step under way, if any.
    private(set) var running: Int?
    /// Go on to the next step when one holds.
    var playing = false

    init(scenario: Scenario, run: ScenarioRun) {
        self.scenario = scenario
        self.run = run
    }

    var isDone: Bool { next >= scenario.steps.count }

    /// The next step that is not narration (the narration before it counts as read), now under way;
    /// nil when one already runs or none is left (which ends playing).
    mutating func beginStep() -> (index: Int, step: Scenario.Step)? {
        guard running == nil else { return nil }
        while !isDone, case .say = scenario.steps[next].action { next += 1 }
        guard !isDone else {
            playing = false
            return nil
        }
        running = next
        return (next, scenario.steps[next])
    }

    /// A begun step that could not be started after all: it is next again, and playing stops.
    mutating func abandon(_ index: Int) {
        guard running == index else { return }
        running = nil
        playing = false
    }

    /// Records what a step found; true when the next one should begin (playing, and this one held).
    mutating func finish(_ index: Int, _ result: ScenarioRun.StepResult) -> Bool {
        guard running == index else { return false }
        running = nil
        results[index] = result
        if result.ok {
            next = index + 1
        } else {
            playing = false
        }
        return playing && !isDone
    }

    /// The scenario and where it is, for the page.
    var document: JSONValue {
        .object([
            ("name", .string(scenario.name)),
            ("summary", .array(scenario.summary.map(JSONValue.string))),
            ("playing", .bool(playing)), ("done", .bool(isDone)),
            ("steps", .array(scenario.steps.indices.map(stepDocument))),
        ])
    }

    private func stepDocument(_ index: Int) -> JSONValue {
        let step = scenario.steps[index]
        var fields: [(String, JSONValue)] = [
            ("line", .int(Int64(step.line))), ("verb", .string(step.verb)), ("text", .string(step.text)),
        ]
        if running == index {
            fields.append(("state", .string("running")))
        } else if let result = results[index] {
            fields += [
                ("state", .string(result.ok ? "ok" : "failed")), ("summary", .string(result.summary)),
                ("seconds", .double(Double(result.took.nanoseconds) / 1e9)),
                (
                    "commands",
                    .array(
                        result.commands.map { .object([("line", .string($0.line)), ("output", .string($0.output))]) })
                ),
            ]
        } else {
            fields.append(("state", .string(index < next ? "ok" : "pending")))
        }
        return .object(fields)
    }
}
