import Core
import HTTP

/// A scenario played in the console on the console's own cluster, a step at a time or to the end:
/// the narration beside the pictures, each step's outcome and its commands' output shown as it
/// happens. The steps are `devcluster scenario`'s own (`ScenarioRun`), so the console checks exactly
/// what `make test` does. A step blocks, so it runs on the console's work queue; one at a time.
struct ScenarioGuide {
    let scenario: Scenario
    let run: ScenarioRun
    /// Outcomes so far, by step index.
    var results: [Int: ScenarioRun.StepResult] = [:]
    /// The next step to perform.
    var next = 0
    /// The step under way, if any.
    var running: Int?
    /// Go on to the next step when one holds.
    var playing = false

    var isDone: Bool { next >= scenario.steps.count }

    /// The scenario and where it is, for the page.
    var document: JSONValue {
        .object([
            ("name", .string(scenario.name)),
            ("summary", .array(scenario.summary.map(JSONValue.string))),
            ("playing", .bool(playing)), ("done", .bool(isDone)),
            (
                "steps",
                .array(
                    scenario.steps.enumerated().map { index, step in
                        var fields: [(String, JSONValue)] = [
                            ("line", .int(Int64(step.line))), ("verb", .string(step.verb)),
                            ("text", .string(step.text)),
                        ]
                        if running == index {
                            fields.append(("state", .string("running")))
                        } else if let result = results[index] {
                            fields += [
                                ("state", .string(result.ok ? "ok" : "failed")), ("summary", .string(result.summary)),
                                ("seconds", .double(result.seconds)),
                                (
                                    "commands",
                                    .array(
                                        result.commands.map {
                                            .object([("line", .string($0.line)), ("output", .string($0.output))])
                                        })
                                ),
                            ]
                        } else {
                            fields.append(("state", .string(index < next ? "ok" : "pending")))
                        }
                        return .object(fields)
                    })
            ),
        ])
    }
}

extension ConsoleServer {
    /// `GET /api/scenarios`: the scenarios devcluster ships, each with what it shows.
    func listScenarios(_ response: HTTPServerResponse) {
        do throws(LauncherError) {
            let names = try ScenarioLibrary.names(environment: launcher.environment, executable: launcher.executable)
            let list = try names.map { name throws(LauncherError) in
                let s = try ScenarioLibrary.load(
                    name, environment: launcher.environment, executable: launcher.executable)
                return JSONValue.object([("name", .string(name)), ("summary", .string(s.summary.first ?? ""))])
            }
            sendJSON(response, .array(list))
        } catch {
            text(response, 500, error.description)
        }
    }

    /// `POST /api/scenario` `{action: "open", name}` loads a scenario (replacing one not under way);
    /// `{action: "step"}` performs the next step; `{action: "play"}` performs the steps to the end,
    /// stopping at one that fails; `{action: "pause"}` stops after the step under way; `{action:
    /// "close"}` puts the scenario away. Answers the scenario's document (progress comes with each poll).
    func scenarioCall(_ request: HTTPServerRequest, _ response: HTTPServerResponse) {
        request.readBody(limit: 8 << 10) { [unowned self] result in
            guard case .success(let body) = result, let call = try? JSONValue.parse(body) else {
                return text(response, 400, "the body must be a JSON object")
            }
            let action = call["action"]?.stringValue ?? ""
            if ["open", "close"].contains(action), guide?.running != nil {
                return text(response, 409, "a step is under way: pause, and wait for it to end")
            }
            switch action {
            case "open":
                do throws(LauncherError) {
                    let name = call["name"]?.stringValue ?? ""
                    guard !name.isEmpty, !name.contains("/") else { throw .usage("name a scenario") }
                    let scenario = try ScenarioLibrary.load(
                        name, environment: launcher.environment, executable: launcher.executable)
                    let run = ScenarioRun(
                        home: launcher.home, environment: launcher.environment, executable: launcher.executable,
                        basePort: record.nodes.first?.port ?? Launcher.defaultPort)
                    guide = ScenarioGuide(scenario: scenario, run: run)
                } catch {
                    return text(response, error.isUsage ? 400 : 500, error.description)
                }
            case "step", "play":
                guard guide != nil else { return text(response, 409, "open a scenario first") }
                guard !guide!.isDone else { return text(response, 409, "the scenario is over: open it again") }
                guide!.playing = action == "play"
                if guide!.running == nil { performNextStep() }
            case "pause":
                guide?.playing = false
            case "close":
                guide = nil
            default:
                return text(response, 400, "the action is open, step, play, pause or close")
            }
            sendJSON(response, guide?.document ?? .null)
        }
    }

    /// Performs the next step that is not narration (narration before it is passed at once), off the
    /// loop; then the next, while playing and the step held.
    private func performNextStep() {
        guard var current = guide, current.running == nil else { return }
        while !current.isDone, case .say = current.scenario.steps[current.next].action { current.next += 1 }
        guard !current.isDone else {
            current.playing = false
            guide = current
            return
        }
        let index = current.next
        let step = current.scenario.steps[index]
        let run = current.run
        current.running = index
        guide = current
        do {
            try work.submit(
                { run.perform(step) },
                then: { [unowned self] outcome in
                    // The guide was closed, or another opened, meanwhile: this outcome is no one's.
                    guard var now = guide, now.run === run else { return }
                    let result =
                        (try? outcome.get())
                        ?? ScenarioRun.StepResult(ok: false, summary: "the step did not run", commands: [], seconds: 0)
                    now.running = nil
                    now.results[index] = result
                    if result.ok {
                        now.next = index + 1
                    } else {
                        now.playing = false
                    }
                    guide = now
                    if now.playing && !isStopping { performNextStep() }
                })
        } catch {
            current.running = nil
            current.playing = false
            current.results[index] = ScenarioRun.StepResult(
                ok: false, summary: "the console is busy: try the step again", commands: [], seconds: 0)
            guide = current
        }
    }
}
