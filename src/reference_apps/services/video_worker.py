"""The summarising worker's queue: claim pending videos, then complete or fail each claim.

A worker runs :meth:`VideoWorkerQueue.claim` (one committed unit: the claimed videos are
``processing`` with a lease until ``claimed_until``), works on them outside any transaction,
and reports each with :meth:`complete` or :meth:`fail`, passing the claim back. Claims use
``FOR UPDATE SKIP LOCKED``: concurrent workers never wait for each other nor take the same
video while its lease runs.

Semantics (migration 0052):

- **At least once, completed exactly once.** A worker that dies (or stalls past its lease)
  loses its videos to the next claim once the lease ran out; its late ``complete`` then returns
  False and changes nothing, because only the newest claim's token can complete a video.
- **Bounded attempts.** Every claim counts one attempt. A failure puts the video back to
  ``pending`` (the error kept in ``processing_error``) while fewer than ``max_attempts``
  claims were made, else it ends ``failed``; a video whose lease ran out on its last attempt
  is marked ``failed`` by the next claim.
- **Its own role.** The worker acts for no user: the queue's three SECURITY DEFINER functions
  (``app_claim_videos``, ``app_complete_video``, ``app_fail_video``) are granted one by one to
  the worker role ``reference_worker`` (not to the application role), which every unit here
  acts as (:meth:`~reference_apps.services.base.Service.working`).
"""

from __future__ import annotations

from reference_apps.db.records import JSONParam, ProcessingStatus, UpdateVideosClaimRow
from reference_apps.services.base import WorkerQueue

# A claimed video: its columns the worker needs, processing_attempts (this claim's number),
# claimed_until and claim_token (pass the claim back to complete/fail).
ClaimedVideo = UpdateVideosClaimRow


class VideoWorkerQueue(WorkerQueue):
    """The video queue as one worker sees it (a :class:`.base.WorkerQueue`)."""

    async def claim(self, batch_size: int = 10) -> list[ClaimedVideo]:
        """Up to ``batch_size`` videos, oldest first, now ``processing`` under this worker's
        lease (committed when this returns); an empty list when nothing is claimable."""
        return await self.claiming(self.q.videos.update_videos_claim, batch_size)

    async def complete(self, claim: ClaimedVideo, content: JSONParam) -> bool:
        """``processing -> completed`` with the AI content; False (and nothing changed) when
        this claim is no longer the video's newest: the lease ran out and another worker took
        it, or the video was deleted."""
        return await self.working().run(
            self.q.videos.update_video_complete,
            video_summary_id=claim.id,
            claim_token=claim.claim_token,
            ai_generated_content=content,
        )

    async def fail(self, claim: ClaimedVideo, error: str) -> ProcessingStatus | None:
        """Record a failed attempt with its error: ``pending`` again while attempts are left,
        else ``failed``; None when this claim is no longer the video's newest."""
        return await self.working().run(
            self.q.videos.update_video_fail,
            video_summary_id=claim.id,
            claim_token=claim.claim_token,
            processing_error=error,
            max_attempts=self.max_attempts,
        )
