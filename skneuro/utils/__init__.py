"""Utilities for users and for the test suite."""
