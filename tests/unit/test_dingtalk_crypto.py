"""DingTalk's encrypted event envelope, through the crypto shared with WeCom, on the published vector."""

from __future__ import annotations

import base64
import json

import pytest

from integrations.callback_crypto import MessageCrypto, SignatureMismatch, WrongReceiver
from integrations.dingtalk.webhook import Callback

# open-dingtalk/DingTalk-Callback-Crypto DingCallbackCrypto3.py __main__ (research notes §3.1b)
TOKEN = "mryue"
AES_KEY = "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7"
OWNER_KEY = "ding6ccabc44d2c8d38b"
SIGNATURE = "03044561471240d4a14bb09372dfcfd4fd0e40cb"
TIMESTAMP = "1608001896814"
NONCE = "WL4PK6yA"
ENCRYPT = "0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NRPvNvmBKyDCYxxOK+HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3"  # noqa: E501 (verbatim vector)


def crypto(owner: str = OWNER_KEY) -> MessageCrypto:
    return MessageCrypto(TOKEN, AES_KEY, owner)


def test_published_vector_verifies_and_decrypts_to_check_url():
    assert crypto().signature(TIMESTAMP, NONCE, ENCRYPT) == SIGNATURE
    assert json.loads(crypto().open(SIGNATURE, TIMESTAMP, NONCE, ENCRYPT)) == {"EventType": "check_url"}


def test_a_wrong_signature_or_another_apps_key_is_refused():
    with pytest.raises(SignatureMismatch):
        crypto().open("0" * 40, TIMESTAMP, NONCE, ENCRYPT)
    with pytest.raises(WrongReceiver):
        crypto("dingotherapp").open(SIGNATURE, TIMESTAMP, NONCE, ENCRYPT)


@pytest.mark.parametrize("size", [0, 1, 11, 12, 13, 31, 32, 33, 100])
def test_chinese_round_trips_whatever_its_byte_length(size):
    message = json.dumps({"EventType": "审批", "text": "王芳批准了订单" * size}, ensure_ascii=False)
    sealed = crypto().seal(message, TIMESTAMP, NONCE)
    assert crypto().open(sealed.signature, TIMESTAMP, NONCE, sealed.encrypt) == message


def test_the_reply_is_an_encrypted_success_the_platform_can_check():
    reply = Callback(client_secret="s", crypto=crypto(), schedule=lambda *_: None, claim=_unused, max_depth=32).success()
    assert set(reply) == {"msg_signature", "timeStamp", "nonce", "encrypt"}
    assert crypto().open(reply["msg_signature"], reply["timeStamp"], reply["nonce"], reply["encrypt"]) == "success"


async def _unused(credential: str, body: bytes):
    raise AssertionError("no robot message here")


def test_interoperates_with_an_independent_implementation():
    from wechatpy.crypto import PrpCrypto  # test oracle only: the same envelope, written by others

    oracle = PrpCrypto(base64.b64decode(AES_KEY + "="))
    text = "钉钉：SO-100001 已批准 ✓"
    assert crypto().decrypt(oracle.encrypt(text, OWNER_KEY).decode()) == text
    assert oracle.decrypt(crypto().encrypt(text), OWNER_KEY) == text
