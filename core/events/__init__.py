"""Domain events: facts the core records with the change behind them, for the chat layer to hear.

``catalogue`` declares them (one frozen dataclass each, past tense); ``store`` writes them into
the ``domain_event`` row of the same transaction and reads them back as typed events.
"""
