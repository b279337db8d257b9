"""The statistics engine: sufficient statistics in, frozen results out, no I/O.

Intervals and p-values (``intervals``), A/B tests (``abstats``), survival curves (``survival``), the BG/NBD and
Gamma-Gamma models (``bgnbd``, ``gamma_gamma``). Nothing here reads the database or imports another layer.
"""
