"""The reference applications: the data layers of five applications on one PostgreSQL schema.

An application built on plainsql as any user would build one: its SQL lives at the top of the
repository (``sql/``, ``migrations/``, ``seeds/``), its typed queries are generated into
:mod:`reference_apps.db` by ``plainsql typegen``, and :mod:`reference_apps.services` holds
the services (auth, teams, audit, workspaces, content, git, deployments, projects, agent
states, meetings, videos). It uses only plainsql's public API, and plainsql's wheel does not
ship it: it is developed in this repository beside the toolkit (see the README).
"""
