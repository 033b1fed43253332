import Testing

@testable import Launcher

@Suite("verify report")
struct VerificationTests {
    func line(_ key: String, shard: Int, status: String = "ok", time: Int64 = 1) -> ShardReport {
        ShardReport(
            bucket: "b1b", key: key, versionId: "null", modTime: time, etag: "e\(time)", size: 10, shard: shard,
            shards: 4, dataShards: 2, status: status, detail: "", bytes: 8)
    }

    let nodes = ["node1", "node2", "node3", "node4"]

    @Test("every node holding a good, different shard of the same write is clean")
    func clean() {
        let reports = Dictionary(
            uniqueKeysWithValues: nodes.enumerated().map { ($0.element, [line("a", shard: $0.offset)]) })
        let r = VerifyReport.merge(nodes: nodes, reports: reports, unchecked: [:])
        #expect(r.isClean && r.objects == 1 && r.fullyRedundant == 1 && r.readable == 1)
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
