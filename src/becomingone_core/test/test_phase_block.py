from becomingone_core.phase_block import pack, RejectedInput, unpack
import numpy as np
import pytest

EPOCH = 1_764_000_000 * 1_000_000_000  # a 2025 epoch: far from zero, as in real streams


def test_pack_unpack_round_trip_keeps_sub_microsecond_spacing():
    t = 1000.0 + np.arange(48) / 48000.0
    phase = np.exp(1j * np.arange(96)).reshape(48, 2)
    fields = pack(t, phase, epoch_ns=EPOCH)
    t2, phase2 = unpack(fields['stamp_ns'], fields['stamps_offset'], fields['real'],
                        fields['imag'], fields['channels'], epoch_ns=EPOCH)
    np.testing.assert_allclose(t2, t, rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.diff(t2), 1 / 48000.0, rtol=1e-6)
    np.testing.assert_array_equal(phase2, phase)


def test_single_sample_infers_channels():
    t, phase = unpack(EPOCH + 5, [], [1.0, 2.0, 3.0], [0.0, 0.0, 1.0], epoch_ns=EPOCH)
    assert t.tolist() == [5e-9] and phase.shape == (1, 3)


@pytest.mark.parametrize('args, reason', [
    (([], [], []), 'empty'),
    (([], [1.0], [1.0, 2.0]), 'size_mismatch'),
    (([0.0, 0.1], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0]), 'size_mismatch'),
    (([], [float('nan')], [0.0]), 'non_finite'),
    (([], [1.0], [float('inf')]), 'non_finite'),
    (([0.0, float('nan')], [1.0, 1.0], [0.0, 0.0]), 'non_finite'),
    (([0.0, 0.0], [1.0, 1.0], [0.0, 0.0]), 'time_order'),
    (([-0.1, 0.0], [1.0, 1.0], [0.0, 0.0]), 'time_order'),
])
def test_bad_blocks_are_refused_with_a_reason(args, reason):
    offsets, real, imag = args
    with pytest.raises(RejectedInput) as caught:
        unpack(EPOCH, offsets, real, imag, epoch_ns=EPOCH)
    assert caught.value.reason == reason


def test_declared_channels_must_divide_the_block():
    with pytest.raises(RejectedInput, match='size_mismatch'):
        unpack(EPOCH, [0.0, 0.1], [1.0] * 6, [0.0] * 6, channels=2, epoch_ns=EPOCH)


def test_giant_block_is_refused():
    with pytest.raises(RejectedInput, match='too_large'):
        unpack(EPOCH, [], [0.0] * 11, [0.0] * 11, max_samples=10)
