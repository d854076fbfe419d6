"""
KAIROS kernel: temporal resonance of phase streams (C++ core, typed API).

``ResonanceBank`` keeps, for every lag tau_k, an exponentially windowed
correlation between the phase velocity now and the phase velocity tau_k ago:

* velocity ``v_n = (phi_n - phi_{n-1}) / (t_n - t_{n-1})`` stamped at t_n;
* lagged velocity ``v(t_n - tau_k)`` linearly interpolated between the two
  stored velocity samples whose stamps bracket t_n - tau_k;
* with ``alpha_n = exp(-(t_n - t_{n-1}) / W)`` and
  ``theta_n = omega (t_n - t_0) mod 2 pi``::

      T_k   <- alpha_n T_k   + (1 - alpha_n) <v_n, v(t_n - tau_k)> e^{i theta_n}
      E0_k  <- alpha_n E0_k  + (1 - alpha_n) |v_n|^2
      Etau_k <- alpha_n Etau_k + (1 - alpha_n) |v(t_n - tau_k)|^2

* ``resonance()`` is ``gamma_k = T_k / sqrt(E0_k Etau_k)`` (0 while either
  energy is 0) and ``coherence()`` is ``|gamma_k|^2`` in [0, 1].

A lag whose history does not reach back tau_k yet is not updated at all (no
decay either).  Bad samples (non-finite, t not increasing, velocity overflow)
are rejected and counted in ``rejected``; wrong shapes raise ``ValueError``
(and count as rejected).  See the package README for every interpretation
choice.

Example::

    import numpy as np
    from becomingone_cpp import ResonanceBank

    bank = ResonanceBank(lags=[0.0, 0.01, 0.05], window=2.0)
    t = np.arange(1000) / 500.0
    bank.push_block(t, np.exp(1j * 2 * np.pi * 5.0 * t)[:, None])
    bank.coherence()  # -> close to 1 for every lag
"""

from ._kairos import ResonanceBank, simd_path, TRANSDUCER_REASONS, TransducerCore

ResonanceBank.__doc__ = """Bank of K lagged phase-velocity resonances over C channels.

ResonanceBank(lags, window, omega=0.0, channels=1, max_rate=1000.0)

lags      -- 1-D sequence of lags tau_k in seconds (>= 0, not empty)
window    -- integration window W in seconds (> 0)
omega     -- demodulation angular frequency (rad/s); theta_n = omega (t_n - t_0)
channels  -- number of complex channels C (>= 1)
max_rate  -- highest expected sample rate (Hz); bounds the stored history to
             about max(lags) * max_rate samples.  If the real rate is higher,
             lags whose bracket fell out of that history are not updated and
             counted in ``overrun``.

``dissipate(factor)`` multiplies T, E0 and Etau of every lag by factor in
(0, 1] (forgets the share 1 - factor of the past at once; ValueError
otherwise; 1 is a no-op).

Raises ValueError for bad constructor arguments.  Instances pickle through
``to_bytes()`` / ``from_bytes()``.
"""

TransducerCore.__doc__ = """The per-sample half of becomingone_core.transducer.Transducer.

TransducerCore(bank, channels, sample_rate_hz, max_delay_s, max_input_rate_hz,
               max_clock_skew_s, max_age_s, source_timeout_s)

Feeds ``bank`` (a ResonanceBank with ``channels`` channels, kept alive by the
core) from several sources: the source table (names -> bank channels, takeover
of silent sources' channels, re-join without jumps), the receiver-clock, order
and rate rules per sample, and the integration bins of 1 / sample_rate_hz
(0: every sample as it comes, one active source).  ``push(source, t[N],
phase[N, width], now_s)`` takes one message block and returns ``(accepted,
rejected, reason, cycles, newest_t, counts)``: ``reason`` the last rejection
reason, ``counts`` a dict of this call's rejections by reason (None without).
Reasons: TRANSDUCER_REASONS.  The rules are those of the Transducer's module
docstring; ``Transducer`` is the documented API.
"""

__all__ = ['ResonanceBank', 'simd_path', 'TRANSDUCER_REASONS', 'TransducerCore']
