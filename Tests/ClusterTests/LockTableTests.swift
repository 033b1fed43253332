import Core
import Testing

@testable import Cluster

@Suite("lock table")
struct LockTableTests {
    let t0 = Instant(nanoseconds: 1_000_000_000)
    let ttl: Duration = .seconds(5)

    @Test("one owner at a time; the owner may take it again")
    func exclusive() {
        var table = LockTable()
        do {
            let r = table.acquire("b/k", owner: "a", now: t0, ttl: ttl)
            #expect(r)
        }
        do {
            let r = table.acquire("b/k", owner: "b", now: t0 + .seconds(1), ttl: ttl)
            #expect(!r)
        }
        do {
            let r = table.acquire("b/k", owner: "a", now: t0 + .seconds(1), ttl: ttl)
            #expect(r)
        }
        do {
            let r = table.acquire("b/other", owner: "b", now: t0, ttl: ttl)
            #expect(r)
        }
    }

    @Test("a grant not refreshed expires, and then goes to another owner; refreshing keeps it")
    func expiry() {
        var table = LockTable()
        do {
            let r = table.acquire("b/k", owner: "a", now: t0, ttl: ttl)
            #expect(r)
        }
        do {
            let r = table.refresh("b/k", owner: "a", now: t0 + .seconds(4), ttl: ttl)
            #expect(r)
        }
        do {
            let r = table.acquire("b/k", owner: "b", now: t0 + .seconds(8), ttl: ttl)
            #expect(!r)
        }
        do {
            let r = table.acquire("b/k", owner: "b", now: t0 + .seconds(9) + .nanoseconds(1), ttl: ttl)
            #expect(r)
        }
        do {
            let r = table.refresh("b/k", owner: "a", now: t0 + .seconds(10), ttl: ttl)
            #expect(!r)
        }
    }

    @Test("only the owner releases; expired grants are forgotten")
    func release() {
        var table = LockTable()
        _ = table.acquire("b/k", owner: "a", now: t0, ttl: ttl)
        table.release("b/k", owner: "b")
        do {
            let r = table.acquire("b/k", owner: "b", now: t0, ttl: ttl)
            #expect(!r)
        }
        table.release("b/k", owner: "a")
        do {
            let r = table.acquire("b/k", owner: "b", now: t0, ttl: ttl)
            #expect(r)
        }
        table.expire(now: t0 + .seconds(6))
        #expect(table.grants.isEmpty)
    }

    @Test("at the edge of expiry the grant still holds; a clock that goes back does not free it")
    func edges() {
        var table = LockTable()
        _ = table.acquire("b/k", owner: "a", now: t0, ttl: ttl)
        do {
            let r = table.acquire("b/k", owner: "b", now: t0 + ttl - .nanoseconds(1), ttl: ttl)
            #expect(!r)
        }
        do {
            let r = table.acquire("b/k", owner: "b", now: t0 + ttl, ttl: ttl)
            #expect(r)
        }
        do {
            let r = table.acquire("b/k", owner: "c", now: t0, ttl: ttl)
            #expect(!r)
        }
    }
}
