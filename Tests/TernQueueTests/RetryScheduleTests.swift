// The backoff schedule: documented steps, the last step repeating, never past expiry.

import Testing
@testable import TernQueue

@Suite struct RetryScheduleTests {
    @Test func defaultStepsThenEveryTwoHours() {
        let schedule = RetrySchedule()
        #expect((1...8).map { schedule.delay(afterAttempts: $0) } == [60, 300, 900, 1800, 3600, 7200, 7200, 7200])
        #expect(schedule.maxQueueTime == 5 * 86400)
        #expect(schedule.delayWarningAfter == 4 * 3600)
    }

    @Test func nextAttemptIsCappedAtExpiry() {
        let schedule = RetrySchedule(steps: [60, 7200], maxQueueTime: 3600, delayWarningAfter: 600)
        #expect(schedule.nextAttempt(afterAttempts: 1, now: 1000, arrival: 1000) == 1060)
        #expect(schedule.nextAttempt(afterAttempts: 2, now: 1100, arrival: 1000) == 4600)
        #expect(!schedule.isExpired(arrival: 1000, now: 4599))
        #expect(schedule.isExpired(arrival: 1000, now: 4600))
        #expect(!schedule.isDelayWarningDue(arrival: 1000, now: 1599))
        #expect(schedule.isDelayWarningDue(arrival: 1000, now: 1600))
        #expect(!RetrySchedule(delayWarningAfter: 0).isDelayWarningDue(arrival: 0, now: 1 << 40))
    }
}
