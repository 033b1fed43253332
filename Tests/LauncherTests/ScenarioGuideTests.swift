import Core
import Testing

@testable import Launcher

@Suite("console scenario guide")
struct ScenarioGuideTests {
    func guide() throws -> ScenarioGuide {
        let scenario = try Scenario.parse(
            """
            # A test.
            say First.
            run devcluster up 4 --fresh
            say Then.
            expect all=online within 5s
            check objects
            """, name: "t")
        let run = ScenarioRun(
            home: ClusterHome(root: "/nonexistent", name: "dev"), environment: [:], executable: "/bin/false",
            basePort: 8080)
        return ScenarioGuide(scenario: scenario, run: run)
    }

    let held = ScenarioRun.StepResult(ok: true, summary: "fine")
    let missed = ScenarioRun.StepResult(ok: false, summary: "not in time")

    func states(_ g: ScenarioGuide) -> [String] {
        guard case .array(let steps)? = g.document["steps"] else { return [] }
        return steps.compactMap { $0["state"]?.stringValue }
    }

    @Test("a step at a time: narration passed, one step running, the next after it held")
    func stepping() throws {
        var g = try guide()
        let first = g.beginStep()
        #expect(first?.index == 1 && first?.step.verb == "run")
        let meanwhile = g.beginStep()
        #expect(meanwhile == nil, "one step at a time")
        var goOn = g.finish(1, held)
        #expect(!goOn, "not playing: wait for the user")
        let second = g.beginStep()
        #expect(second?.index == 3 && second?.step.verb == "expect")
        goOn = g.finish(3, held)
        let third = g.beginStep()
        #expect(!goOn && third?.index == 4)
        goOn = g.finish(4, held)
        let after = g.beginStep()
        #expect(!goOn && g.isDone && after == nil)
        #expect(states(g) == ["ok", "ok", "ok", "ok", "ok"])
    }

    @Test("playing goes on while steps hold, stops at one that fails, which is tried again")
    func playing() throws {
        var g = try guide()
        g.playing = true
        _ = g.beginStep()
        let goOn = g.finish(1, held)
        #expect(goOn, "playing: the next step begins")
        let begunFailing = g.beginStep()
        let failing = try #require(begunFailing)
        let afterFailure = g.finish(failing.index, missed)
        #expect(!afterFailure && !g.playing && !g.isDone)
        #expect(states(g) == ["ok", "ok", "ok", "failed", "pending"])
        let again = g.beginStep()
        #expect(again?.index == failing.index, "the failed step is next again")
        _ = g.finish(failing.index, held)
        #expect(g.results[failing.index]?.ok == true, "its new outcome replaces the old")
    }

    @Test("pause stops after the step under way; an abandoned step is next again; stale outcomes are ignored")
    func pauseAndAbandon() throws {
        var g = try guide()
        g.playing = true
        let begunFirst = g.beginStep()
        let begun = try #require(begunFirst)
        g.playing = false
        let goOn = g.finish(begun.index, held)
        #expect(!goOn)
        let begunNext = g.beginStep()
        let next = try #require(begunNext)
        g.abandon(next.index)
        let retried = g.beginStep()
        #expect(retried?.index == next.index)
        let stale = g.finish(99, held)
        #expect(!stale && g.running == next.index, "an outcome for another step changes nothing")
    }

    @Test("the document says each step's state and outcome")
    func document() throws {
        var g = try guide()
        _ = g.beginStep()
        #expect(states(g) == ["ok", "running", "pending", "pending", "pending"], "the narration before it is read")
        _ = g.finish(1, missed)
        #expect(states(g) == ["ok", "failed", "pending", "pending", "pending"])
        guard case .array(let steps)? = g.document["steps"] else { return #expect(Bool(false)) }
        #expect(steps[1]["summary"]?.stringValue == "not in time")
    }
}
