"""
Plain numpy reference of the KAIROS resonance bank (readable first).

This module exists to check ``becomingone_cpp.ResonanceBank``; it is written
straight from the definition and is slow on purpose (one Python iteration per
sample, numpy across lags and channels).  It needs numpy only (no rclpy).

Definition
----------
Input: samples ``(t_n, phi_n)``, ``t_n`` strictly increasing seconds,
``phi_n`` a complex vector of C channels.

* Phase velocity ``v_n = (phi_n - phi_{n-1}) / (t_n - t_{n-1})``, stamped at
  ``t_n`` (none for the first sample).
* Lagged velocity ``v(t_n - tau_k)``: linear interpolation between the two
  stored velocity samples whose stamps bracket ``s = t_n - tau_k``, i.e.
  ``t_lo < s <= t_up``; ``h = (s - t_lo) / (t_up - t_lo)`` and
  ``v(s) = (1 - h) v_lo + h v_up``.  If ``s`` equals a stamp exactly, that
  sample is used as it is.
* ``alpha_n = exp(-(t_n - t_{n-1}) / W)``, ``<a, b> = sum_c a_c conj(b_c)``,
  ``theta_n = omega (t_n - t_0)`` reduced modulo 2 pi::

      T_k    <- alpha_n T_k    + (1 - alpha_n) <v_n, v(t_n - tau_k)> e^{i theta_n}
      E0_k   <- alpha_n E0_k   + (1 - alpha_n) |v_n|^2
      Etau_k <- alpha_n Etau_k + (1 - alpha_n) |v(t_n - tau_k)|^2

* ``gamma_k = T_k / sqrt(E0_k Etau_k)`` (0 when either energy is 0);
  coherence ``|gamma_k|^2`` in [0, 1].

Interpretation choices (shared with the C++ code)
------------------------------------------------
* A lag is "not updated" while history does not reach back: when
  ``s < t_1`` (the first velocity stamp) or the lower bracket sample would be
  the first phase sample, which has no velocity.  Not updated means T, E0 and
  Etau of that lag keep their values: no decay either.  A lag of 0 is allowed
  (``s = t_n`` is a stamp: the lagged velocity is the current one).
* ``1 - alpha_n`` is evaluated as ``-expm1(-dt / W)`` so that it stays
  accurate when ``dt << W``.
* ``theta_n`` is ``omega * (t_n - t_0)`` computed exactly (``t_n - t_0`` and
  the product in 60-digit decimal arithmetic) and then reduced modulo a
  50-digit 2 pi, so it stays accurate after days of streaming.
* Rejected, counted in ``rejected`` and not applied: non-finite ``t`` or
  phase, ``t <= `` the previous accepted ``t``, and a velocity that overflows
  to infinity.  The first accepted sample only sets ``t_0`` and ``phi_0``.
* The reference keeps all history; the C++ bank bounds it (``max_rate``).
"""

from __future__ import annotations

import decimal
import math
from typing import Sequence, Tuple, Union

import numpy as np

__all__ = ['KairosReference', 'reduced_phase', 'reference_run']

_TWO_PI = decimal.Decimal('6.28318530717958647692528676655900576839433879875021')
_CTX = decimal.Context(prec=60)


def reduced_phase(omega: float, t: float, t0: float) -> float:
    """``omega * (t - t0)`` modulo 2 pi, in [0, 2 pi), exact before rounding."""
    if omega == 0.0:
        return 0.0
    elapsed = _CTX.subtract(decimal.Decimal(t), decimal.Decimal(t0))
    arg = _CTX.multiply(decimal.Decimal(omega), elapsed)
    r = _CTX.remainder(arg, _TWO_PI)
    if r < 0:
        r = _CTX.add(r, _TWO_PI)
    return float(r)


class KairosReference:
    """Resonance bank evaluated sample by sample from the definition."""

    def __init__(
        self,
        lags: Union[Sequence[float], np.ndarray],
        window: float,
        omega: float = 0.0,
        channels: int = 1,
    ) -> None:
        self.lags = np.asarray(lags, dtype=float).reshape(-1)
        if self.lags.size == 0 or np.any(~np.isfinite(self.lags)) or np.any(self.lags < 0):
            raise ValueError('lags must be a non-empty sequence of finite seconds >= 0')
        if not (math.isfinite(window) and window > 0):
            raise ValueError('window must be > 0')
        if channels < 1:
            raise ValueError('channels must be >= 1')
        self.window = float(window)
        self.omega = float(omega)
        self.channels = int(channels)
        k = self.lags.size
        self.T = np.zeros(k, dtype=complex)
        self.E0 = np.zeros(k)
        self.Etau = np.zeros(k)
        self.samples = 0
        self.rejected = 0
        self._t0: float | None = None
        self._t_last = 0.0
        self._phi_last = np.zeros(self.channels, dtype=complex)
        # Velocity history (stamps and values), grown as needed.
        self._stamps = np.empty(1024)
        self._vel = np.empty((1024, self.channels), dtype=complex)
        self._count = 0

    def _store(self, t: float, v: np.ndarray) -> None:
        if self._count == self._stamps.size:
            self._stamps = np.resize(self._stamps, 2 * self._count)
            self._vel = np.resize(self._vel, (2 * self._count, self.channels))
        self._stamps[self._count] = t
        self._vel[self._count] = v
        self._count += 1

    def push(self, t: float, phase: Union[complex, Sequence[complex], np.ndarray]) -> bool:
        """Apply one sample; False (and counted) if it is rejected."""
        phi = np.asarray(phase, dtype=complex).reshape(-1)
        if phi.size != self.channels:
            raise ValueError(f'phase must have {self.channels} channel(s)')
        t = float(t)
        if not math.isfinite(t) or not np.all(np.isfinite(phi)):
            self.rejected += 1
            return False
        if self._t0 is None:
            self._t0, self._t_last, self._phi_last = t, t, phi
            self.samples += 1
            return True
        if not t > self._t_last:
            self.rejected += 1
            return False
        dt = t - self._t_last
        with np.errstate(over='ignore', invalid='ignore'):
            v = (phi - self._phi_last) / dt
            v_norm2 = float(np.sum(v.real**2 + v.imag**2))
        if not (np.all(np.isfinite(v)) and math.isfinite(v_norm2)):
            self.rejected += 1
            return False
        self._store(t, v)
        self._t_last, self._phi_last = t, phi
        self.samples += 1

        alpha = math.exp(-dt / self.window)
        one_minus_alpha = -math.expm1(-dt / self.window)
        rotation = np.exp(1j * reduced_phase(self.omega, t, self._t0))

        # Bracket of s = t - tau_k among the stored velocity stamps.
        stamps = self._stamps[: self._count]
        vel = self._vel[: self._count]
        s = t - self.lags
        up = np.searchsorted(stamps, s, side='left')  # first stamp >= s
        exact = stamps[up] == s
        reached = exact | (up >= 1)  # a lower sample with a velocity exists
        k = np.nonzero(reached)[0]
        if k.size == 0:
            return True
        up_k = up[k]
        lo_k = np.maximum(up_k - 1, 0)
        h = (s[k] - stamps[lo_k]) / (stamps[up_k] - stamps[lo_k] + (up_k == lo_k))
        h = np.where(exact[k], 1.0, h)[:, None]
        lagged = (1.0 - h) * vel[lo_k] + h * vel[up_k]  # (K', C)

        inner = lagged.conj() @ v  # <v_n, lagged> = sum_c v_c conj(lagged_c)
        self.T[k] = alpha * self.T[k] + one_minus_alpha * inner * rotation
        self.E0[k] = alpha * self.E0[k] + one_minus_alpha * v_norm2
        self.Etau[k] = alpha * self.Etau[k] + one_minus_alpha * np.sum(
            lagged.real**2 + lagged.imag**2, axis=1
        )
        return True

    def raw(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(T, E0, Etau) copies."""
        return self.T.copy(), self.E0.copy(), self.Etau.copy()

    def resonance(self) -> np.ndarray:
        """gamma_k = T_k / sqrt(E0_k Etau_k), 0 where either energy is 0."""
        den = np.sqrt(self.E0 * self.Etau)
        out = np.zeros_like(self.T)
        nz = den > 0
        out[nz] = self.T[nz] / den[nz]
        return out

    def coherence(self) -> np.ndarray:
        """|gamma_k|^2 clipped to [0, 1]."""
        return np.minimum(np.abs(self.resonance()) ** 2, 1.0)


def reference_run(
    t: np.ndarray,
    phase: np.ndarray,
    lags: Union[Sequence[float], np.ndarray],
    window: float,
    omega: float = 0.0,
) -> KairosReference:
    """Push a whole stream (phase shaped (N,) or (N, C)) and return the bank."""
    phase = np.asarray(phase, dtype=complex)
    if phase.ndim == 1:
        phase = phase[:, None]
    ref = KairosReference(lags, window, omega, channels=phase.shape[1])
    for tn, pn in zip(np.asarray(t, dtype=float), phase):
        ref.push(tn, pn)
    return ref
