"""The reference applications' services: async; each is given the database handle
(:class:`plainsql.AsyncDatabase`) and typed queries, and owns its units of work."""
