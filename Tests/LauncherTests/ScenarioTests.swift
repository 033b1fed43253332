import Core
import Testing

@testable import Launcher

@Suite("scenarios")
struct ScenarioTests {
    @Test("each step of the language parses to what it does; the leading comment is the summary")
    func steps() throws {
        let s = try Scenario.parse(
            """
            # Lose a disk.
            # Watch it rebuild.

            say Four nodes.
            run devcluster up 4 --fresh --demo --base-port {port}
            show devcluster verify
            expect node3,node4=offline seen by node1,node2 within 5s
            expect all=online within 10s
            write 300 objects of 1KiB-3MiB to photos/before/
            write 5 objects of 512B-1MiB to photos/during/ refused
            check objects
            read the objects 2 times via node1 within 500ms
            verify within 30s
            event heal_started from node2 within 15s
            # a comment between steps is not the summary
            event bitrot_detected about node3 within 5s
            """, name: "demo")
        #expect(s.summary == ["Lose a disk.", "Watch it rebuild."])
        #expect(
            s.steps.map(\.action) == [
                .say("Four nodes."),
                .run(arguments: ["up", "4", "--fresh", "--demo", "--base-port", "{port}"], mustSucceed: true),
                .run(arguments: ["verify"], mustSucceed: false),
                .expect(condition: "node3,node4=offline", seenBy: "node1,node2", within: .seconds(5)),
                .expect(condition: "all=online", seenBy: nil, within: .seconds(10)),
                .write(count: 300, sizes: 1024...(3 << 20), bucket: "photos", prefix: "before/", refused: false),
                .write(count: 5, sizes: 512...(1 << 20), bucket: "photos", prefix: "during/", refused: true),
                .checkObjects,
                .read(times: 2, node: "node1", within: .milliseconds(500)),
                .verify(within: .seconds(30)),
                .event(kind: EventKind("heal_started"), relation: .from, node: "node2", within: .seconds(15)),
                .event(kind: EventKind("bitrot_detected"), relation: .about, node: "node3", within: .seconds(5)),
            ])
        #expect(s.steps[1].line == 5 && s.steps[1].verb == "run")
        #expect(s.steps[1].text == "devcluster up 4 --fresh --demo --base-port {port}")
    }

    @Test("a malformed step is refused with its line and the form it should have")
    func refusals() {
        func refusal(_ line: String) -> String {
            do {
                _ = try Scenario.parse("say hello\n" + line, name: "x")
                return "parsed"
            } catch {
                return error.description
            }
        }
        #expect(refusal("run rm -rf /").hasPrefix("x.scenario:2: a scenario runs devcluster commands"))
        #expect(refusal("expect node2=offline within soon").contains("not a duration"))
        #expect(refusal("expect node2=offline seen node1 within 5s").contains("expect NODES=STATE"))
        #expect(refusal("write 3 objects of 3MiB-1KiB to b/p").contains("the smaller size comes first"))
        #expect(refusal("write 3 objects of 1KiB-65MiB to b/p").contains("at most 64MiB"))
        #expect(refusal("write 0 objects of 1KiB-2KiB to b/p").contains("write N objects"))
        #expect(refusal("write 3 objects of 1KiB-2KiB to nobucket").contains("is not BUCKET/PREFIX"))
        #expect(refusal("check everything") == "x.scenario:2: check objects")
        #expect(refusal("event heal_started near node2 within 5s").contains("from|about"))
        #expect(refusal("dance").contains("unknown step 'dance'"))
        #expect(refusal("say only narration") == "x.scenario has no steps")
    }

    @Test("every scenario devcluster ships parses")
    func shipped() throws {
        let folder = try #require(
            try ScenarioLibrary.folder(environment: [:], executable: #filePath))
        let names = try ScenarioLibrary.names(environment: [:], executable: #filePath)
        #expect(names == ["bitrot", "partition", "rebuild", "slow"])
        for name in names {
            let s = try ScenarioLibrary.load(name, environment: [:], executable: #filePath)
            #expect(!s.summary.isEmpty && s.steps.count > 5, "\(folder)/\(name)")
        }
    }
}
