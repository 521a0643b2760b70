"""Reconcile the desired provider tree with Placement."""
