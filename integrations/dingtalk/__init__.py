"""DingTalk (钉钉): Stream mode (no public URL) or HTTP callbacks in, robot messages and interactive cards out."""
