"""Repositories: typed access to the documents of one collection, through the DocumentStore port."""
