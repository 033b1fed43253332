import Testing

@testable import Launcher

@Suite("verify report")
struct VerificationTests {
    func line(_ key: String, shard: Int, status: String = "ok", time: Int64 = 1, placed: Int? = nil) -> ShardReport {
        ShardReport(
            bucket: "b1b", key: key, versionId: "null", modTime: time, etag: "e\(time)", size: 10, shard: shard,
            shards: 4, dataShards: 2, status: status, detail: "", bytes: 8, placed: placed ?? shard)
    }

    let nodes = ["node1", "node2", "node3", "node4"]

    @Test("every node holding a good, different shard of the same write is clean")
    func clean() {
        let reports = Dictionary(
            uniqueKeysWithValues: nodes.enumerated().map { ($0.element, [line("a", shard: $0.offset)]) })
        let r = VerifyReport.merge(nodes: nodes, reports: reports, unchecked: [:])
        #expect(r.isClean && r.objects == 1 && r.fullyRedundant == 1 && r.readable == 1)
    }

    @Test("a shard on a node its placement does not name is a problem, though still readable")
    func misplaced() {
        var reports = Dictionary(
            uniqueKeysWithValues: nodes.enumerated().map { ($0.element, [line("a", shard: $0.offset)]) })
        // node1 and node2 swapped shards: each good, neither where the placement says.
        reports["node1"] = [line("a", shard: 1, placed: 0)]
        reports["node2"] = [line("a", shard: 0, placed: 1)]
        let r = VerifyReport.merge(nodes: nodes, reports: reports, unchecked: [:])
        #expect(r.problems.map(\.kind) == ["misplaced-shard", "misplaced-shard"] && !r.isClean && r.readable == 1)
        #expect(r.problems[0].detail == "holds shard 1, where its placement puts shard 0")
        // A node too old to say where its shard belongs is not blamed.
        reports["node1"] = [line("a", shard: 0)]
        reports["node2"] = [
            ShardReport(
                bucket: "b1b", key: "a", versionId: "null", modTime: 1, etag: "e1", size: 10, shard: 1, shards: 4,
                dataShards: 2, status: "ok", detail: "", bytes: 8, placed: nil)
        ]
        #expect(VerifyReport.merge(nodes: nodes, reports: reports, unchecked: [:]).isClean)
    }

    @Test("missing, stale, corrupt and duplicate shards are problems; k good ones keep it readable")
    func problems() {
        let r = VerifyReport.merge(
            nodes: nodes,
            reports: [
                "node1": [line("a", shard: 0)], "node2": [line("a", shard: 0)], "node3": [line("a", shard: 2, time: 0)],
                "node4": [line("a", shard: 3, status: "corrupt")],
            ], unchecked: [:])
        #expect(Set(r.problems.map(\.kind)) == ["duplicate-shard", "stale-version", "corrupt-shard", "unreadable"])
        #expect(r.readable == 0 && r.problems.contains { $0.kind == "unreadable" })
        let one = VerifyReport.merge(
            nodes: nodes,
            reports: ["node1": [line("b", shard: 0)], "node2": [line("b", shard: 1)], "node3": [], "node4": []],
            unchecked: [:])
        #expect(one.readable == 1 && one.fullyRedundant == 0 && one.problems.count { $0.kind == "missing-shard" } == 2)
    }

    @Test("a copy held by fewer than k nodes is a stray; a node not asked makes the report unclean")
    func strayAndUnchecked() {
        let r = VerifyReport.merge(
            nodes: nodes, reports: ["node1": [line("s", shard: 0)], "node2": [], "node3": []],
            unchecked: ["node4": "not running"])
        #expect(r.objects == 0 && r.problems.map(\.kind) == ["stray-copy"] && !r.isClean)
    }
}
