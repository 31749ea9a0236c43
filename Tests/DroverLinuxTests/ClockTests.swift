import DroverLinux
import Testing

/// Timestamps as users see them (events, `ps`, lameduck deadlines): RFC 3339, UTC, milliseconds.
struct ClockTests {
    @Test(arguments: [
        (0.0, "1970-01-01T00:00:00.000Z"),
        (1_764_468_717.765, "2025-11-30T02:11:57.765Z"),
        (1_764_468_717.0004, "2025-11-30T02:11:57.000Z"),
        (1_764_468_717.9996, "2025-11-30T02:11:58.000Z"), // rounds up into the next second
        (951_782_400.05, "2000-02-29T00:00:00.050Z"), // a leap day
        (1_798_761_599.5, "2026-12-31T23:59:59.500Z"),
    ])
    func formatsRFC3339(seconds: Double, text: String) {
        #expect(SystemClock.rfc3339(secondsSinceEpoch: seconds) == text)
    }

    @Test func theClocksMoveForward() {
        let wall = SystemClock.now()
        let monotonic = SystemClock.monotonicMilliseconds()
        #expect(wall.sinceEpoch > .seconds(1_700_000_000))
        #expect(SystemClock.monotonicMilliseconds() >= monotonic)
    }
}
