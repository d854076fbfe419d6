from ._kairos import ResonanceBank as ResonanceBank, simd_path as simd_path
from ._kairos import TRANSDUCER_REASONS as TRANSDUCER_REASONS, TransducerCore as TransducerCore

__all__ = ["ResonanceBank", "simd_path", "TRANSDUCER_REASONS", "TransducerCore"]
