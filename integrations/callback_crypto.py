"""The signed, AES-encrypted callback envelope that WeCom and DingTalk both use (WXBizMsgCrypt).

Both platforms sign ``sha1(sorted(token, timestamp, nonce, encrypt))`` and encrypt
``random(16) + uint32_be(len(msg)) + msg + receive_id`` with AES-256-CBC (key = the 43-character
EncodingAESKey plus "=", base64-decoded; IV = its first 16 bytes), padded PKCS#7-style to 32-byte
blocks. The official samples accept any padding byte and never check where the receiver id ends;
this module refuses anything that is not exactly what a sender following the scheme produces, so a
forged or truncated envelope is an error and not a garbled message. Lengths are byte lengths, so
multibyte text (Chinese) round-trips. Nothing here knows either platform: callers pass the token,
the key and the receiver id (WeCom: the CorpID; DingTalk: the app key / suite key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # the scheme pads to 32 bytes, not AES's 16
_PREFIX = 16
_LENGTH = struct.Struct(">I")


class CryptoError(Exception):
    """An inbound envelope we refuse; subclasses say why."""


class SignatureMismatch(CryptoError):
    """``msg_signature`` does not match: not sent by someone who knows the token (refuse with 401/403)."""


class BadCiphertext(CryptoError):
    """Not valid base64, not whole AES blocks, bad padding or an impossible length (refuse with 400)."""


class WrongReceiver(CryptoError):
    """Decrypts, but was addressed to another corp / app (refuse with 403)."""


@dataclass(frozen=True)
class Sealed:
    """An encrypted message with its signature, ready for a reply body or a test request."""

    encrypt: str
    signature: str
    timestamp: str
    nonce: str


class MessageCrypto:
    """Signs, verifies, encrypts and decrypts envelopes for one (token, key, receiver id)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        if len(encoding_aes_key) != 43:
            raise ValueError("EncodingAESKey must be 43 characters")
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError("EncodingAESKey is not base64") from exc
        self.token = token
        self.receive_id = receive_id
        self._key = key
        self._iv = key[:16]

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        parts = sorted([self.token, str(timestamp), str(nonce), encrypted])
        return hashlib.sha1("".join(parts).encode()).hexdigest()

    def verify(self, signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        expected = self.signature(timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected.encode(), (signature or "").strip().lower().encode()):
            raise SignatureMismatch("msg_signature does not match")

    def open(self, signature: str, timestamp: str, nonce: str, encrypted: str) -> str:
        """Verify, then decrypt: the one call an inbound handler needs."""
        self.verify(signature, timestamp, nonce, encrypted)
        return self.decrypt(encrypted)

    def decrypt(self, encrypted: str) -> str:
        """The message as text; the receiver id must be ours."""
        message = self.decrypt_bytes(encrypted)
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadCiphertext("message is not UTF-8") from exc

    def decrypt_bytes(self, encrypted: str) -> bytes:
        message, receiver = self.unpack(encrypted)
        if receiver != self.receive_id.encode():
            raise WrongReceiver("message addressed to another receiver")
        return message

    def unpack(self, encrypted: str) -> tuple[bytes, bytes]:
        """(message, receiver id) without checking the receiver, for callers that accept several."""
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadCiphertext("not base64") from exc
        if not raw or len(raw) % 16:
            raise BadCiphertext("not whole AES blocks")
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).decryptor()
        plain = decryptor.update(raw) + decryptor.finalize()
        body = _unpad(plain)
        if len(body) < _PREFIX + _LENGTH.size:
            raise BadCiphertext("too short")
        (length,) = _LENGTH.unpack_from(body, _PREFIX)
        start = _PREFIX + _LENGTH.size
        if start + length > len(body):
            raise BadCiphertext("length field runs past the end")
        return body[start : start + length], body[start + length :]

    def encrypt(self, plaintext: str | bytes, random_prefix: bytes | None = None) -> str:
        """Base64 ciphertext; ``random_prefix`` (16 bytes) only to reproduce known vectors."""
        message = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
        prefix = os.urandom(_PREFIX) if random_prefix is None else random_prefix
        if len(prefix) != _PREFIX:
            raise ValueError("random_prefix must be 16 bytes")
        body = prefix + _LENGTH.pack(len(message)) + message + self.receive_id.encode()
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).encryptor()
        return base64.b64encode(encryptor.update(_pad(body)) + encryptor.finalize()).decode()

    def seal(self, plaintext: str | bytes, timestamp: str, nonce: str, random_prefix: bytes | None = None) -> Sealed:
        encrypted = self.encrypt(plaintext, random_prefix)
        return Sealed(encrypted, self.signature(timestamp, nonce, encrypted), str(timestamp), str(nonce))


def _pad(data: bytes) -> bytes:
    n = BLOCK - len(data) % BLOCK
    return data + bytes([n]) * n


def _unpad(data: bytes) -> bytes:
    n = data[-1]
    if not 1 <= n <= BLOCK or n > len(data) or data[-n:] != bytes([n]) * n:
        raise BadCiphertext("bad padding")
    return data[:-n]
