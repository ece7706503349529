"""The meeting worker's queue: claim the meetings in processing, then complete each with its
transcript, recording and summary, or fail it with a reason.

A meeting enters ``processing`` when its owner ends it. A worker (the job behind the
transcription webhook) runs :meth:`MeetingWorkerQueue.claim` (one committed unit: the claimed
meetings are leased to it until ``claimed_until``), works on them outside any transaction, and
reports each with :meth:`complete` or :meth:`fail`, passing the claim back. Claims use ``FOR
UPDATE SKIP LOCKED``: concurrent workers never wait for each other nor take the same meeting
while its lease runs.

Semantics (migration 20261207042941_meeting_worker), those of the video queue:

- **At least once, completed exactly once.** A worker that dies (or stalls past its lease)
  loses its meetings to the next claim once the lease ran out; its late ``complete`` then
  returns False and changes nothing: only the newest claim's token completes a meeting, and
  only while it is in ``processing`` (an owner who completed it by hand wins too).
- **Bounded attempts.** Every claim counts one attempt. A failure keeps its reason in
  ``processing_error`` and leaves the meeting claimable again while fewer than
  ``max_attempts`` claims were made; after that the meeting is given up
  (``processing_failed_at`` set) and never claimed again. It stays in ``processing``, the
  contract's ``meeting_status`` having no failed label.
- **Its own role.** The worker acts for no user: the three SECURITY DEFINER functions
  (``app_claim_meetings``, ``app_complete_meeting``, ``app_fail_meeting``) are granted one by
  one to ``reference_worker``, which every unit here acts as.
"""

from __future__ import annotations

from reference_apps.db.records import UpdateMeetingClaimFailRow, UpdateMeetingsClaimRow
from reference_apps.services.base import WorkerQueue

# A claimed meeting: what the worker needs of it, processing_attempts (this claim's number),
# claimed_until and claim_token (pass the claim back to complete/fail).
ClaimedMeeting = UpdateMeetingsClaimRow
# A failed attempt: the attempts made, and processing_failed_at when the meeting was given up
# (None: it will be claimed again).
FailedAttempt = UpdateMeetingClaimFailRow


class MeetingWorkerQueue(WorkerQueue):
    """The meeting queue as one worker sees it (a :class:`.base.WorkerQueue`)."""

    async def claim(self, batch_size: int = 10) -> list[ClaimedMeeting]:
        """Up to ``batch_size`` meetings in processing, the earliest ended first, now leased to
        this worker (committed when this returns); an empty list when none is claimable."""
        return await self.claiming(self.q.meetings.update_meetings_claim, batch_size)

    async def complete(
        self, claim: ClaimedMeeting, *, transcript_url: str, recording_url: str, summary: str
    ) -> bool:
        """``processing -> completed`` with the transcript and recording urls and the summary;
        False (and nothing changed) when this claim is no longer the meeting's newest (the
        lease ran out and another worker took it), or the meeting is gone or already
        completed."""
        return await self.working().run(
            self.q.meetings.update_meeting_claim_complete,
            meeting_id=claim.id,
            claim_token=claim.claim_token,
            transcript_url=transcript_url,
            recording_url=recording_url,
            summary=summary,
        )

    async def fail(self, claim: ClaimedMeeting, reason: str) -> FailedAttempt | None:
        """Record a failed attempt with its reason: the meeting is claimable again while
        attempts are left, else given up; None when this claim is no longer the meeting's
        newest."""
        return await self.working().run(
            self.q.meetings.update_meeting_claim_fail,
            meeting_id=claim.id,
            claim_token=claim.claim_token,
            processing_error=reason,
            max_attempts=self.max_attempts,
        )
