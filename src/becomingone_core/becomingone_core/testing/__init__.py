"""Helpers for BecomingONE's node-level tests: real processes, real DDS, bounded waits."""
