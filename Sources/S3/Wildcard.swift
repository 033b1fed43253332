/// Matching with S3's wildcards (policies, CORS rules): `*` stands for any run of characters, `?` for
/// any one. Pure.
enum Wildcard {
    static func matches(_ pattern: String, _ value: String, ignoringCase: Bool = false) -> Bool {
        let p = Array((ignoringCase ? pattern.lowercased() : pattern).unicodeScalars)
        let v = Array((ignoringCase ? value.lowercased() : value).unicodeScalars)
        // Greedy with backtracking to the last star: linear in practice, never exponential.
        var i = 0
        var j = 0
        var star: (p: Int, v: Int)?
        while j < v.count {
            if i < p.count && (p[i] == "?" || p[i] == v[j]) {
                i += 1
                j += 1
            } else if i < p.count && p[i] == "*" {
                star = (i, j)
                i += 1
            } else if let s = star {
                i = s.p + 1
                j = s.v + 1
                star = (s.p, s.v + 1)
            } else {
                return false
            }
        }
        while i < p.count && p[i] == "*" { i += 1 }
        return i == p.count
    }
}
