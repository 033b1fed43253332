import Core
import HTTP

/// The console's guided scenarios: the shipped tutorials played on the console's own cluster, a step
/// at a time or to the end (`ScenarioGuide`), with `devcluster scenario`'s own steps (`ScenarioRun`),
/// so the console checks exactly what `make test` does. A step blocks, so it runs on the console's
/// work queue; one at a time.
extension ConsoleServer {
    /// `GET /api/scenarios`: the scenarios devcluster ships, each with what it shows.
    func listScenarios(_ response: HTTPServerResponse) {
        do throws(LauncherError) {
            let names = try ScenarioLibrary.names(environment: launcher.environment, executable: launcher.executable)
            let list = try names.map { name throws(LauncherError) in
                let s = try ScenarioLibrary.loadShipped(
                    name, environment: launcher.environment, executable: launcher.executable)
                return JSONValue.object([("name", .string(name)), ("summary", .string(s.summary.first ?? ""))])
            }
            sendJSON(response, .array(list))
        } catch {
            text(response, 500, error.description)
        }
    }

    /// What a page asks of the guide.
    enum ScenarioCall: String {
        /// `{name}`: load a shipped scenario (replacing one not under way).
        case open
        /// Perform the next step.
        case step
        /// Perform the steps to the end, stopping at one that fails.
        case play
        /// Stop after the step under way.
        case pause
        /// Put the scenario away.
        case close
    }

    /// The largest `/api/scenario` body.
    static let scenarioCallBytesMax: Int64 = 8 << 10

    /// `POST /api/scenario` `{action, name?}`: answers the scenario's document (progress comes with
    /// each poll).
    func scenarioCall(_ request: HTTPServerRequest, _ response: HTTPServerResponse) {
        request.readBody(limit: ConsoleServer.scenarioCallBytesMax) { [unowned self] result in
            guard case .success(let body) = result, let json = try? JSONValue.parse(body) else {
                return text(response, 400, "the body must be a JSON object")
            }
            guard let call = json["action"]?.stringValue.flatMap(ScenarioCall.init(rawValue:)) else {
                return text(response, 400, "the action is open, step, play, pause or close")
            }
            if call == .open || call == .close, guide?.running != nil {
                return text(response, 409, "a step is under way: pause, and wait for it to end")
            }
            switch call {
            case .open:
                do throws(LauncherError) {
                    let scenario = try ScenarioLibrary.loadShipped(
                        json["name"]?.stringValue ?? "", environment: launcher.environment,
                        executable: launcher.executable)
                    let run = ScenarioRun(
                        home: launcher.home, environment: launcher.environment, executable: launcher.executable,
                        basePort: record.nodes.first?.port ?? Launcher.defaultPort)
                    guide = ScenarioGuide(scenario: scenario, run: run)
                } catch {
                    return text(response, error.isUsage ? 400 : 500, error.description)
                }
            case .step, .play:
                guard guide != nil else { return text(response, 409, "open a scenario first") }
                guard !guide!.isDone else { return text(response, 409, "the scenario is over: open it again") }
                guide!.playing = call == .play
                if guide!.running == nil, !performNextStep() {
                    return text(response, 503, "the console is busy running controls: try again in a moment")
                }
            case .pause:
                guide?.playing = false
            case .close:
                guide = nil
            }
            sendJSON(response, guide?.document ?? .null)
        }
    }

    /// Performs the guide's next step off the loop, then the next while playing and the steps hold.
    /// False when the work queue is full (the step stays next).
    @discardableResult
    private func performNextStep() -> Bool {
        guard let (index, step) = guide?.beginStep(), let run = guide?.run else { return true }
        do {
            try work.submit(
                { run.perform(step) },
                then: { [unowned self] outcome in
                    // The guide was closed, or another opened, meanwhile: this outcome is no one's.
                    guard guide?.run === run else { return }
                    let result =
                        (try? outcome.get()) ?? ScenarioRun.StepResult(ok: false, summary: "the step did not run")
                    if guide!.finish(index, result), !isStopping { performNextStep() }
                })
            return true
        } catch {
            guide?.abandon(index)
            return false
        }
    }
}
