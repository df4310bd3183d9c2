"""The PostgreSQL backend: psycopg 3.

Weekly partitions, COPY batches, tsvector search, advisory-lock claims for several replicas.
"""
