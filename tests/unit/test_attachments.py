"""The size check for images and files sent into chat, and how DingTalk names a file's type."""

from __future__ import annotations

import pytest

from bot.attachments import AttachmentTooLarge, check, reference
from bot.views import Attachment
from core.config import Settings
from integrations.dingtalk.render import media_message

SETTINGS = Settings(max_image_bytes=2 * 2**20, max_file_bytes=3 * 2**20)


def test_each_kind_has_its_own_limit_and_the_refusal_names_both_sizes():
    check(SETTINGS, Attachment("a.png", "image/png", bytes(2 * 2**20), kind="image"))
    check(SETTINGS, Attachment("a.pdf", "application/pdf", bytes(3 * 2**20)))
    with pytest.raises(AttachmentTooLarge) as refused:
        check(SETTINGS, Attachment("a.png", "image/png", bytes(2 * 2**20 + 1), kind="image"))
    assert refused.value.message == "a.png is 2.1 MB; at most 2 MB can be sent into chat."  # never "2.0 MB"
    with pytest.raises(AttachmentTooLarge):
        check(SETTINGS, Attachment("a.pdf", "application/pdf", bytes(3 * 2**20 + 1)))


def test_an_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="kind"):
        check(SETTINGS, Attachment("a.png", "image/png", b"x", kind="photo"))


def test_the_payload_names_the_attachment_without_its_bytes():
    assert reference(Attachment("a.pdf", "application/pdf", b"12345")) == {
        "filename": "a.pdf",
        "media_type": "application/pdf",
        "kind": "file",
        "size": 5,
    }


def test_dingtalk_image_and_file_messages():
    assert media_message(Attachment("c.png", "image/png", b"", kind="image"), "@m1") == (
        "sampleImageMsg",
        {"photoURL": "@m1"},
    )
    assert media_message(Attachment("送货单.PDF", "application/pdf", b""), "@m2") == (
        "sampleFile",
        {"mediaId": "@m2", "fileName": "送货单.PDF", "fileType": "pdf"},
    )
