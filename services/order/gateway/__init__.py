"""What the order service calls outside its own tables: the saga's task tokens."""
