"""Sales channels: orders born on Shopify, WooCommerce, Douyin or any signed webhook, taken in once."""
