from ._kairos import ResonanceBank as ResonanceBank, simd_path as simd_path

__all__ = ["ResonanceBank", "simd_path"]
