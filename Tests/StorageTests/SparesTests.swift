import Core
import Testing

@testable import Storage

#if canImport(Glibc)
import Glibc
#endif

@Suite("spare files and folders")
struct SparesTests {
    func inode(_ path: String) -> UInt64? {
        var s = stat()
        return lstat(path, &s) == 0 ? UInt64(s.st_ino) : nil
    }

    @Test("a deleted object's file and folder are kept, and the next write takes them instead of new ones")
    func reuse() throws {
        try withDisk(keepsSpares: true) { disk in
            try disk.makeBucket("b1b", created: 1)
            try disk.commit(bucket: "b1b", key: "a/k", version: version(), stagedUploadID: nil)
            let dir = try disk.objectPath(bucket: "b1b", key: "a/k")
            let oldFolder = inode(dir)
            try disk.deleteVersion(bucket: "b1b", key: "a/k", versionID: "null")
            #expect(inode(dir) == nil)
            // The object's folder and its parent "a" are kept, and its %meta.
            #expect(disk.spares.counts.folders == 2 && disk.spares.counts.files == 1)
            try disk.commit(bucket: "b1b", key: "x/y", version: version(time: 2), stagedUploadID: nil)
            #expect(disk.spares.counts.folders == 0, "both folders of x/y came from the spares")
            #expect(try disk.readMetadataFile(bucket: "b1b", key: "x/y").latest == version(time: 2))
            let reused = [
                inode(try disk.objectPath(bucket: "b1b", key: "x")),
                inode(try disk.objectPath(bucket: "b1b", key: "x/y")),
            ]
            #expect(reused.contains(oldFolder))
        }
    }

    @Test("an overwrite keeps the replaced metadata file as a spare, and a reopened folder counts its spares")
    func overwriteAndReopen() throws {
        try withDisk(keepsSpares: true) { disk in
            try disk.makeBucket("b1b", created: 1)
            try disk.commit(bucket: "b1b", key: "k", version: version(time: 1), stagedUploadID: nil)
            let before = disk.spares.counts.files
            try disk.commit(bucket: "b1b", key: "k", version: version(time: 2, etag: "two"), stagedUploadID: nil)
            #expect(disk.spares.counts.files == before + 1)
            let reopened = try Disk(root: disk.root, keepsSpares: true)
            #expect(reopened.spares.counts.files == before + 1)
            #expect(try reopened.readMetadata(bucket: "b1b", key: "k").latest?.etag == "two")
            // Off: the folder is emptied.
            let off = try Disk(root: disk.root, keepsSpares: false)
            #expect(off.spares.counts.files == 0)
            #expect(try FileOps.entries(disk.root + "/.dc/spare").isEmpty)
        }
    }

    @Test("a spare that is also a live file (a crash between link and rename) is never handed out")
    func linkedSpareIsNotTaken() throws {
        try withDisk(keepsSpares: true) { disk in
            try disk.makeBucket("b1b", created: 1)
            try disk.commit(bucket: "b1b", key: "k", version: version(), stagedUploadID: nil)
            let meta = try disk.objectPath(bucket: "b1b", key: "k") + "/" + ObjectKey.metadataFile
            let live = try FileOps.read(meta)
            disk.spares.keepLink(meta)  // and no rename after it
            #expect(disk.spares.counts.files == 1)
            #expect(!disk.spares.takeFile(at: disk.root + "/.dc/tmp/taken"))
            #expect(try FileOps.read(meta) == live)
            #expect(!FileOps.exists(disk.root + "/.dc/tmp/taken"))
        }
    }

    @Test("a folder that still holds something is not kept: an object's folder with another key below it stays")
    func nonEmptyFolderStays() throws {
        try withDisk(keepsSpares: true) { disk in
            try disk.makeBucket("b1b", created: 1)
            try disk.commit(bucket: "b1b", key: "a", version: version(), stagedUploadID: nil)
            try disk.commit(bucket: "b1b", key: "a/b", version: version(), stagedUploadID: nil)
            try disk.deleteVersion(bucket: "b1b", key: "a", versionID: "null")
            #expect(disk.spares.counts.folders == 0)
            #expect(try disk.readMetadataFile(bucket: "b1b", key: "a/b").latest == version())
            #expect(FileOps.isEmptyFolder(try disk.objectPath(bucket: "b1b", key: "a")) == false)
        }
    }

    @Test("a deleted object's shard files are deleted, not kept: a GET may still be reading them")
    func shardFilesAreNotKept() throws {
        try withDisk(keepsSpares: true) { disk in
            let folder = disk.root + "/.dc/tmp/upload"
            try disk.makeFolders(folder)
            try FileOps.writeSynced(folder + "/part.1", [1, 2, 3])
            let reader = open(folder + "/part.1", O_RDONLY)
            defer { close(reader) }
            #expect(disk.removeTree(folder))
            #expect(disk.spares.counts.files == 0 && disk.spares.counts.folders == 1)
            var byte: UInt8 = 0
            #expect(pread(reader, &byte, 1, 2) == 1 && byte == 3, "the open file keeps its bytes")
        }
    }
}
