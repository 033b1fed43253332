import Core
import Testing

@testable import Loop

#if canImport(Glibc)
import Glibc
#endif

@Suite("file system")
struct FileSystemTests {
    @Test("write, fsync, rename, stat, read back, unlink: all asynchronous on the pool")
    func roundTrip() throws {
        let dir = "/tmp/dc-fs-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let data = ByteBuffer((0..<10_000).map { UInt8(truncatingIfNeeded: $0) })
        var readBack: [UInt8] = []
        var finalStat: FileSystem.Status?
        var missingAfterUnlink = false
        try withLoop { loop in
            FileSystem.mkdir(loop: loop, path: dir) { error in
                #expect(error == nil)
                FileSystem.open(loop: loop, path: dir + "/staged", flags: O_WRONLY | O_CREAT | O_TRUNC) { r in
                    let fd = try! r.get()
                    FileSystem.write(loop: loop, descriptor: fd, buffer: data, offset: 0) { w in
                        #expect(try! w.get() == 10_000)
                        FileSystem.fsync(loop: loop, descriptor: fd) { error in
                            #expect(error == nil)
                            FileSystem.close(loop: loop, descriptor: fd) { _ in
                                FileSystem.rename(loop: loop, from: dir + "/staged", to: dir + "/final") { error in
                                    #expect(error == nil)
                                    FileSystem.stat(loop: loop, path: dir + "/final") { s in
                                        finalStat = try? s.get()
                                        FileSystem.open(loop: loop, path: dir + "/final", flags: O_RDONLY) { r in
                                            let fd = try! r.get()
                                            let buffer = ByteBuffer(capacity: 20_000)
                                            FileSystem.read(loop: loop, descriptor: fd, into: buffer, offset: 0) { n in
                                                #expect(try! n.get() == 10_000)
                                                readBack = buffer.array
                                                FileSystem.close(loop: loop, descriptor: fd) { _ in
                                                    FileSystem.unlink(loop: loop, path: dir + "/final") { _ in
                                                        FileSystem.stat(loop: loop, path: dir + "/final") { s in
                                                            if case .failure(let e) = s {
                                                                missingAfterUnlink = e.isNotFound
                                                            }
                                                            rmdir(dir)
                                                        }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        #expect(readBack == data.array)
        #expect(finalStat?.size == 10_000)
        #expect(finalStat?.isRegularFile == true)
        #expect(missingAfterUnlink)
    }

    @Test("disk space of /tmp is reported and plausible")
    func diskSpace() throws {
        var space: FileSystem.DiskSpace?
        try withLoop { loop in
            FileSystem.diskSpace(loop: loop, path: "/tmp") { space = try? $0.get() }
        }
        let s = try #require(space)
        #expect(s.totalBytes > 0)
        #expect(s.availableBytes <= s.totalBytes)
    }

    @Test("opening a missing file fails with ENOENT through the completion")
    func missing() throws {
        var error: UVError?
        try withLoop { loop in
            FileSystem.open(loop: loop, path: "/nonexistent/dir/file", flags: O_RDONLY) { r in
                if case .failure(let e) = r { error = e }
            }
        }
        #expect(error?.isNotFound == true)
    }
}
