"""The store: one narrow interface (interface.py) with value types and neutral helpers.

Backends in store/sqlite/ and store/postgres/, chosen by location in backends.py.
"""
