"""The reference schema's services: async, they take a pool and own their transactions.

Domain code lives here, apart from the toolkit: plainsql's toolkit modules never import it.
"""
