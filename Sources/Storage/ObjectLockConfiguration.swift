/// A bucket's object lock: whether it is on (it cannot be turned off, and it needs versioning) and
/// the retention a new object gets when its request names none.
public struct ObjectLockConfiguration: Codable, Equatable, Sendable {
    public struct DefaultRetention: Codable, Equatable, Sendable {
        public var mode: ObjectRetention.Mode
        /// The period: days, or years (exactly one is set).
        public var days: Int?
        public var years: Int?

        public init(mode: ObjectRetention.Mode, days: Int? = nil, years: Int? = nil) {
            self.mode = mode
            self.days = days
            self.years = years
        }
    }

    public var enabled: Bool
    public var defaultRetention: DefaultRetention?

    public init(enabled: Bool, defaultRetention: DefaultRetention? = nil) {
        self.enabled = enabled
        self.defaultRetention = defaultRetention
    }
}
