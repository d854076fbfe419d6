"""
The cell's temporal memory: durable signatures, history and witness logs, queried by time.

Pure modules (no rclpy): :mod:`records` (what is stored), :mod:`schema` (file format and
migrations), :mod:`retention` (tiered downsampling), :mod:`store` (the SQLite store),
:mod:`witness_ledger` (the witness chains and signed heads inside it), :mod:`arrays` (bulk
reads as numpy arrays), :mod:`mcap_io` (export to and import from MCAP) and :mod:`cli`
(``becomingone-memory``).
"""
