-- 0044_video_library rollback: drop the keyframes, links, tags, categories, video summaries
-- and the processing_status enum.

DROP TABLE keyframes;

DROP TABLE video_summary_categories;

DROP TABLE video_summary_tags;

DROP TABLE categories;

DROP TABLE tags;

DROP TABLE video_summaries;

DROP TYPE processing_status;
