-- 0040_generate_id: generate_id(), the 21-character URL-safe random id the database gives
-- agents, meetings and the video library's rows when the caller gives none (the source
-- applications used nanoid in JavaScript; generating it in the database means every writer,
-- psql included, gets one).
--
-- pgcrypto is absent from the embedded server, so the randomness comes from two core
-- gen_random_uuid() values (version 4, from the server's strong random source). Each byte is
-- mapped onto the 64-letter alphabet A-Z a-z 0-9 _ - by its low 6 bits. Byte 6 of a v4 uuid
-- carries the version nibble in its high half, so its low 6 bits are not uniform: it is
-- skipped. Byte 8 carries the variant in its top 2 bits only, so its low 6 bits are random.
-- That leaves 15 usable bytes per uuid; 21 of the 30 are used: 126 random bits per id.

CREATE FUNCTION generate_id() RETURNS text
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT string_agg(
               substr('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-',
                      (get_byte(r.bytes, b.i) & 63) + 1, 1),
               '' ORDER BY b.i)
    FROM (SELECT uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()) AS bytes) AS r
    CROSS JOIN (
        SELECT i FROM generate_series(0, 31) AS g(i) WHERE i % 16 <> 6 ORDER BY i LIMIT 21
    ) AS b
$$;

COMMENT ON FUNCTION generate_id() IS
    'A 21-character URL-safe random id (126 random bits from gen_random_uuid()), nanoid-style.';
