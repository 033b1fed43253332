// The Swift side of the HTTP benchmark (make bench): the HTTP layer serving a 13-byte body at / and
// 1 MiB at /big, the same logic as bench/cserver/server.c, so the two are compared in one run.
// Not part of the product.
import Core
import HTTP
import Loop

#if canImport(Glibc)
import Glibc
#endif

let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 8098 : 8098
let small = ByteBuffer(Array("Hello, world!".utf8))
let big = ByteBuffer([UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20))
let loop = try EventLoop()
let server = try HTTPServer(loop: loop) { request, response in
    let body = request.head.path == "/big" ? big : small
    let type = request.head.path == "/big" ? "application/octet-stream" : "text/plain"
    response.send(status: 200, headers: ["Content-Type": type], body: body)
}
try server.listen(on: SocketAddress(ip: "127.0.0.1", port: port))
let stop = try SignalWatcher(loop: loop, label: "SIGTERM")
try stop.start(SIGTERM) { _ in
    server.close()
    stop.close()
}
loop.run()
loop.close()
