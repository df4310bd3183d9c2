"""The store: one narrow interface (interface.py) with value types and neutral helpers; backends in store/sqlite/ and store/postgres/, chosen by location in backends.py."""
