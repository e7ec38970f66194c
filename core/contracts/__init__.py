"""Project contracts (工程服务): an order run as a contract with milestones, invoices and costs."""
