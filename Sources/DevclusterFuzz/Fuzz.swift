import CFuzzDriver
import FuzzTargets

#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer's entry points: built only by `make fuzz` (with `-sanitize=fuzzer,address`).
/// `FUZZ_TARGET` names the parser (`FuzzTarget`).
let target: FuzzTarget = {
    let name = getenv("FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let t = FuzzTarget(rawValue: name) else {
        fatalError("FUZZ_TARGET must be one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return t
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    target.run(count == 0 ? [] : Array(UnsafeBufferPointer(start: start, count: count)))
    return 0
}

/// The program's entry (SwiftPM links an executable's `main` to `<Target>_main`): libFuzzer's driver.
@_cdecl("DevclusterFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzOneInput(data, size) }
}
