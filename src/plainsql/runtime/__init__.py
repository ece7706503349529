"""The query runtime: everything a call travels through, from the pool to the unit of work.

Users import its public names from :mod:`plainsql`; the modules here with a ``_`` prefix are
internal.
"""
