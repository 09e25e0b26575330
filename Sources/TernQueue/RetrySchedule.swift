// When a temporarily failed recipient is tried again, and when the queue gives up.
//
// Default: 1 min, 5 min, 15 min, 30 min, 1 h after the 1st…5th failed attempt, then every 2 h, until
// `max_queue_days` (5) after arrival: then the recipient expires and the sender gets a DSN. A delay warning DSN
// goes out once after `delay_warning_hours` (4). RFC 5321 §4.5.4.1 asks for at least 30 minutes between tries
// to one destination and at least 4–5 days of trying; the short first steps catch greylisting.

public struct RetrySchedule: Sendable, Equatable {
    /// Seconds to wait after the 1st, 2nd… failed attempt; the last step repeats.
    public var steps: [Int]
    /// Seconds after arrival when pending recipients expire.
    public var maxQueueTime: Int
    /// Seconds after arrival when a delay warning is sent (0 = never).
    public var delayWarningAfter: Int

    public static let defaultSteps = [60, 300, 900, 1800, 3600, 7200]

    public init(steps: [Int] = RetrySchedule.defaultSteps, maxQueueTime: Int = 5 * 86400,
                delayWarningAfter: Int = 4 * 3600) {
        precondition(!steps.isEmpty && steps.allSatisfy { $0 > 0 }, "retry steps must be positive")
        self.steps = steps
        self.maxQueueTime = maxQueueTime
        self.delayWarningAfter = delayWarningAfter
    }

    /// The delay before the next try after `attempts` failed attempts (1 = the first one failed).
    public func delay(afterAttempts attempts: Int) -> Int {
        steps[min(max(attempts, 1), steps.count) - 1]
    }

    /// The next try for a recipient that has now failed `attempts` times, never later than its expiry (so the
    /// expiry DSN goes out on time).
    public func nextAttempt(afterAttempts attempts: Int, now: Int64, arrival: Int64) -> Int64 {
        min(now + Int64(delay(afterAttempts: attempts)), expiry(arrival: arrival))
    }

    public func expiry(arrival: Int64) -> Int64 { arrival + Int64(maxQueueTime) }

    public func isExpired(arrival: Int64, now: Int64) -> Bool { now >= expiry(arrival: arrival) }

    public func isDelayWarningDue(arrival: Int64, now: Int64) -> Bool {
        delayWarningAfter > 0 && now >= arrival + Int64(delayWarningAfter)
    }
}
