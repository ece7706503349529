"""Everything about migrations, one job per module.

- :mod:`~plainsql.migrate.files`: discovery, headers and directives, parsed once;
- :mod:`~plainsql.migrate.ledger`: what is applied, checksums, dirty records (the only module
  that knows yoyo's tables);
- :mod:`~plainsql.migrate.plan`: what to apply or roll back, and the rails that refuse;
- :mod:`~plainsql.migrate.runner`: applies a plan (:class:`~plainsql.migrate.runner.Migrator`);
- beside them: :mod:`~plainsql.migrate.lock` (one runner at a time),
  :mod:`~plainsql.migrate.lint`, :mod:`~plainsql.migrate.verify`,
  :mod:`~plainsql.migrate.drift`, :mod:`~plainsql.migrate.dump` (schema.sql),
  :mod:`~plainsql.migrate.baseline` (adopt an existing database),
  :mod:`~plainsql.migrate.squash` (replace the start of a history) and
  :mod:`~plainsql.migrate.catalog` (catalog snapshots they compare).
"""
