"""The reference applications' services: async, they take a pool and own their transactions."""
