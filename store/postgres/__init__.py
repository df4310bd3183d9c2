"""The PostgreSQL backend: psycopg 3, weekly partitions, COPY batches, tsvector search, advisory-lock claims for several replicas."""
