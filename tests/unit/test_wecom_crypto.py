"""The callback envelope against WeCom's official sample vectors and wechatpy, in both directions."""

from __future__ import annotations

import base64
import random

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy.crypto import base as wechatpy_base
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException

from integrations.callback_crypto import BadCiphertext, MessageCrypto, SignatureMismatch, WrongReceiver

# sbzhu/weworkapi_python@16e0b05 callback/Sample.py
OFFICIAL = ("hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo", "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", "ww1436e0e65a779aee")
ECHOSTR = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
DECRYPT_MSG = (
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD"
    "+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7il"
    "EbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg"
    "84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+"
)
DECRYPTED = (
    "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName><CreateTime>1476422779"
    "</CreateTime><MsgType>text</MsgType><Content>你好</Content><MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>"
)
# wechatpy tests/test_crypto.py
WECHATPY = ("123456", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wx49f0ab532d5d035a")
WECHATPY_ECHO = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
WECHATPY_ENCRYPT_PREFIX = "9s4gMv99m88kKTh/H8Idk"  # its deterministic encrypt, random prefix "1234567890123456"


@pytest.fixture
def official() -> MessageCrypto:
    return MessageCrypto(*OFFICIAL)


def test_official_url_check_vector(official):
    assert official.signature("1476416373", "47744683", ECHOSTR) == "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb"
    assert official.open("012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683", ECHOSTR) == (
        "1288432023552776189"
    )


def test_official_decrypt_msg_vector_with_chinese(official):
    signature = "0c3914025cb4b4d68103f6bfc8db550f79dcf48e"
    assert official.open(signature, "1476422779", "1597212914", DECRYPT_MSG) == DECRYPTED


def test_wechatpy_vectors():
    crypto = MessageCrypto(*WECHATPY)
    signature = "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96"
    assert crypto.open(signature, "1411443780", "437374425", WECHATPY_ECHO) == "5927782489442352469"
    # The first AES block depends only on the fixed prefix: the published ciphertext starts the same.
    assert crypto.encrypt("anything", random_prefix=b"1234567890123456").startswith(WECHATPY_ENCRYPT_PREFIX)


def test_wechatpy_deterministic_encrypt_vector_in_full():
    """wechatpy's tests/test_crypto.py::test_encrypt_message, its random prefix fixed: we produce
    the same ciphertext and the same signature, byte for byte."""
    reply = (
        "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n"
        "<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n<ToUserName><![CDATA[messense]]></ToUserName>\n"
        "<AgentID>1</AgentID>\n<CreateTime>1411525903</CreateTime>\n</xml>"
    )
    expected = (
        "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZ"
        "gURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/"
        "WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQ"
        "mmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
    )
    sealed = MessageCrypto(*WECHATPY).seal(reply, "1411525903", "461056294", random_prefix=b"1234567890123456")
    assert sealed.encrypt == expected
    assert sealed.signature == "407518b7649e86ef23978113f92d27afa9296533"


def _messages() -> list[str]:
    rng = random.Random(7)
    out = ["", "a", "你好", "查单 SO-100001", "<xml><Content>审批通过 ✅</Content></xml>"]
    for length in (1, 7, 11, 12, 13, 31, 32, 33, 63, 64, 65, 100):
        out.append("".join(rng.choice("ab中文茶😀") for _ in range(length)))
    return out


@pytest.mark.parametrize("text", _messages())
def test_wechatpy_decrypts_ours_and_we_decrypt_theirs(text):
    ours = MessageCrypto(*OFFICIAL)
    theirs = WeChatCrypto(*OFFICIAL)
    sealed = ours.seal(text, "1476422779", "nonce1")
    xml = f"<xml><Encrypt><![CDATA[{sealed.encrypt}]]></Encrypt></xml>"
    if text:  # wechatpy returns the empty message as-is too, but its to_text of b"" is fine either way
        assert theirs.decrypt_message(xml, sealed.signature, sealed.timestamp, sealed.nonce) == text
    reply = theirs.encrypt_message(text, "nonce2", "1476422780")
    encrypted = reply.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    signature = reply.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    assert ours.open(signature, "1476422780", "nonce2", encrypted) == text


def test_fixed_prefix_reproduces_wechatpy_byte_for_byte(monkeypatch):
    monkeypatch.setattr(wechatpy_base.BasePrpCrypto, "get_random_string", lambda self: "1234567890123456")
    theirs = WeChatCrypto(*WECHATPY)
    for text in ["<xml><Content>test</Content></xml>", "中文" * 17, "x" * 31]:
        reply = theirs.encrypt_message(text, "461056294", "1411525903")
        sealed = MessageCrypto(*WECHATPY).seal(text, "1411525903", "461056294", random_prefix=b"1234567890123456")
        assert f"<Encrypt><![CDATA[{sealed.encrypt}]]></Encrypt>" in reply
        assert f"<MsgSignature><![CDATA[{sealed.signature}]]></MsgSignature>" in reply


def test_byte_lengths_round_trip_near_block_boundaries(official):
    for n in range(0, 70):
        text = "茶" * n
        assert official.decrypt(official.encrypt(text)) == text


def test_forged_signature(official):
    with pytest.raises(SignatureMismatch):
        official.open("0" * 40, "1476416373", "47744683", ECHOSTR)
    with pytest.raises(SignatureMismatch):  # right signature, other timestamp
        official.open("012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416374", "47744683", ECHOSTR)


def test_wrong_receiver_refused_by_us_and_by_wechatpy():
    other = MessageCrypto(OFFICIAL[0], OFFICIAL[1], "ww0000000000000000")
    encrypted = other.encrypt("hello")
    with pytest.raises(WrongReceiver):
        MessageCrypto(*OFFICIAL).decrypt(encrypted)
    with pytest.raises(InvalidCorpIdException):
        WeChatCrypto(*OFFICIAL).check_signature(
            MessageCrypto(*OFFICIAL).signature("1", "2", encrypted), "1", "2", encrypted
        )


@pytest.mark.parametrize(
    "encrypted",
    [
        ECHOSTR[:-8] + "====",  # truncated (not whole blocks)
        ECHOSTR[:44],  # truncated to whole blocks: padding no longer valid
        "not base64 at all!",
        base64.b64encode(b"x" * 20).decode(),  # not a multiple of 16
        "",
    ],
)
def test_bad_ciphertext(official, encrypted):
    with pytest.raises(BadCiphertext):
        official.decrypt(encrypted)


def _raw_encrypt(key43: str, plain: bytes) -> str:
    key = base64.b64decode(key43 + "=")
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


@pytest.mark.parametrize("tail", [b"\x00" * 32, b"\x21" * 32, b"\x05" * 31 + b"\x04", b"\x03" * 29 + b"\x02\x03\x03"])
def test_padding_is_validated(official, tail):
    body = b"r" * 16 + (5).to_bytes(4, "big") + b"hello" + OFFICIAL[2].encode()
    encrypted = _raw_encrypt(OFFICIAL[1], body[: len(body) // 32 * 32] + tail)
    with pytest.raises(BadCiphertext):
        official.decrypt(encrypted)


def test_length_field_past_the_end_is_refused(official):
    body = b"r" * 16 + (1000).to_bytes(4, "big") + b"hello" + OFFICIAL[2].encode()
    n = 32 - len(body) % 32
    with pytest.raises(BadCiphertext):
        official.decrypt(_raw_encrypt(OFFICIAL[1], body + bytes([n]) * n))


def test_key_must_be_43_base64_characters():
    with pytest.raises(ValueError):
        MessageCrypto("t", "short", "id")
