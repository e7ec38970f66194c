"""Carrier tracking pushes: Kuaidi100, AfterShip and Standard Webhooks."""
