"""
Text (std_msgs/String, e.g. from an LLM) to phase, the same on every process and machine.

* ``hash`` mode: the UTF-8 bytes go through BLAKE2b (keyless, so unlike Python's salted
  ``hash()`` it is identical everywhere) and the first 8 bytes give an angle on the full circle.
  Equal texts give equal phases; different texts are spread uniformly. It carries identity, not
  meaning.
* ``embedding`` mode: a sentence-embedding model installed locally (sentence-transformers, loaded
  with ``local_files_only``) embeds the text, and two fixed directions drawn from a seeded PCG64
  generator project the embedding onto the complex plane; the angle is kept. Similar sentences
  then get nearby phases. Without such a model the caller falls back to ``hash`` mode.
* ``tokens`` mode: an LLM token stream. Each message is one token, either plain text or JSON
  ``{"token": str, "position": int, "confidence": float}``. Channel 0 is the token's hash phase
  scaled by its confidence in [0, 1]; channel 1 turns once every ``position_period`` tokens, so
  the rhythm of generation is visible even when the tokens themselves are unrelated.
"""

import hashlib
import json
import math

from becomingone_core.input_rules import RejectedInput
import numpy as np


MODES = ('hash', 'embedding', 'tokens')
_PROJECTION_SEED = 20021


def text_angle(text):
    """Return the stable angle in [-pi, pi) of ``text``."""
    digest = hashlib.blake2b(text.encode('utf-8', 'surrogatepass'), digest_size=8).digest()
    return 2.0 * math.pi * int.from_bytes(digest, 'big') / 2.0**64 - math.pi


def check_text(text, max_chars):
    """Refuse non-strings, empty and oversized texts."""
    if not isinstance(text, str):
        raise RejectedInput('not_text', type(text).__name__)
    if not text:
        raise RejectedInput('empty', 'empty text')
    if len(text) > max_chars:
        raise RejectedInput('too_large', f'{len(text)} characters > {max_chars}')
    return text


def encode_hash(text, max_chars=100000):
    """Text -> (1, 1) unit phasor from its BLAKE2b angle."""
    return np.array([[np.exp(1j * text_angle(check_text(text, max_chars)))]])


def project_embedding(vector):
    """Project an embedding vector to a unit phasor, through two fixed seeded directions."""
    vector = np.asarray(vector, dtype=float).reshape(-1)
    if vector.size == 0 or not np.all(np.isfinite(vector)):
        raise RejectedInput('bad_embedding', 'empty or non-finite embedding')
    directions = np.random.Generator(np.random.PCG64(_PROJECTION_SEED)).standard_normal(
        (2, vector.size))
    z = complex(directions[0] @ vector, directions[1] @ vector)
    if abs(z) == 0.0:
        return 1.0 + 0.0j
    return z / abs(z)


def load_embedder(model_name):
    """
    Return ``embed(text) -> vector`` from a locally installed sentence-transformers model.

    Raises ImportError or OSError when the library or the model files are not on this machine
    (nothing is downloaded).
    """
    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(model_name, local_files_only=True)
    return lambda text: model.encode([text])[0]


class TokenStream:
    """Encodes an LLM token stream: token identity x confidence, and token position."""

    def __init__(self, position_period=64, max_chars=4096):
        if position_period < 1:
            raise ValueError('position_period must be >= 1')
        self.position_period = position_period
        self.max_chars = max_chars
        self.next_position = 0

    def parse(self, data):
        """Return (token, position, confidence) from a plain token or a JSON object."""
        check_text(data, self.max_chars)
        token, position, confidence = data, self.next_position, 1.0
        if data.lstrip().startswith('{'):
            try:
                record = json.loads(data)
            except ValueError as error:
                raise RejectedInput('bad_json', str(error)[:60]) from error
            if not isinstance(record, dict) or not isinstance(record.get('token'), str):
                raise RejectedInput('bad_json', 'needs a string "token"')
            token = record['token']
            position = record.get('position', self.next_position)
            confidence = record.get('confidence', 1.0)
            if isinstance(position, bool) or not isinstance(position, int) or position < 0:
                raise RejectedInput('bad_position', repr(position)[:40])
            if (isinstance(confidence, bool) or not isinstance(confidence, (int, float))
                    or not 0.0 <= confidence <= 1.0):
                raise RejectedInput('bad_confidence', repr(confidence)[:40])
        return token, position, float(confidence)

    def encode(self, data):
        """One token message -> (1, 2) phases; advances the expected position."""
        token, position, confidence = self.parse(data)
        self.next_position = position + 1
        identity = confidence * np.exp(1j * text_angle(token))
        rhythm = np.exp(2j * math.pi * (position % self.position_period) / self.position_period)
        return np.array([[identity, rhythm]])
