"""Recommender algorithms behind one interface (config + fit + batch scoring); see models/base.py."""
