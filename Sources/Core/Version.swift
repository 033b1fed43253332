/// The product version, reported by `--version`, status and the Server header.
public enum Version {
    public static let string = "0.1.0"
}
