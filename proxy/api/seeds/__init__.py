"""Routes and translations that let a client written for a seed product (seeds/) work unchanged."""
