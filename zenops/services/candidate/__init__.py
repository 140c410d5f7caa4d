"""A data scientist's rebuilt model, brought back through the promotion gate."""
