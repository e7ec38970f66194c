"""dingtalk adapter."""
