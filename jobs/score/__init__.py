"""Scoring: every user's top-N from the champion, in shards (``shards``); the fallback list (``popular``); the
similar_items table (``similar``)."""
